-- A deleted project keeps its history. DeleteProject copies the project,
-- its revisions, deployments and audit entries here, in the transaction
-- that deletes it (the cascade then removes the live rows), and
-- PurgeDeleted removes them after the retention period. Deployments and
-- audit entries keep their IDs, which the live tables never reuse.
-- Additive only: a replica of the previous release still runs against
-- these tables (its deletes just do not keep the history).
CREATE TABLE deleted_projects (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug       text        NOT NULL,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    head       bigint      NOT NULL,
    deleted_at timestamptz NOT NULL,
    deleted_by text        NOT NULL
);

CREATE INDEX deleted_projects_slug_id ON deleted_projects (slug, id);
CREATE INDEX deleted_projects_deleted_at ON deleted_projects (deleted_at);

CREATE TABLE deleted_revisions (
    deleted_project bigint      NOT NULL REFERENCES deleted_projects (id) ON DELETE CASCADE,
    project         text        NOT NULL,
    number          bigint      NOT NULL,
    yaml            text        NOT NULL,
    author          text        NOT NULL,
    message         text        NOT NULL,
    created_at      timestamptz NOT NULL,
    digest          text        NOT NULL,
    PRIMARY KEY (deleted_project, number)
);

CREATE TABLE deleted_deployments (
    id              bigint      NOT NULL PRIMARY KEY,
    deleted_project bigint      NOT NULL REFERENCES deleted_projects (id) ON DELETE CASCADE,
    project         text        NOT NULL,
    revision        bigint      NOT NULL,
    action          text        NOT NULL,
    author          text        NOT NULL,
    status          text        NOT NULL,
    summary         text        NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);

CREATE INDEX deleted_deployments_deleted_project_id ON deleted_deployments (deleted_project, id);

CREATE TABLE deleted_audit (
    id              bigint      NOT NULL PRIMARY KEY,
    deleted_project bigint      NOT NULL REFERENCES deleted_projects (id) ON DELETE CASCADE,
    project         text        NOT NULL,
    actor           text        NOT NULL,
    action          text        NOT NULL,
    detail          text        NOT NULL,
    created_at      timestamptz NOT NULL
);

CREATE INDEX deleted_audit_project_id ON deleted_audit (project, id);
CREATE INDEX deleted_audit_deleted_project ON deleted_audit (deleted_project);
