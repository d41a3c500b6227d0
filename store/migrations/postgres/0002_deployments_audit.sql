-- Deployments and the audit log.
CREATE TABLE deployments (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project    text        NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    revision   bigint      NOT NULL,
    action     text        NOT NULL,
    author     text        NOT NULL,
    status     text        NOT NULL,
    summary    text        NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE INDEX deployments_project_id ON deployments (project, id);

-- project is NULL for an event that belongs to no project.
CREATE TABLE audit (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project    text        REFERENCES projects (slug) ON DELETE CASCADE,
    actor      text        NOT NULL,
    action     text        NOT NULL,
    detail     text        NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE INDEX audit_project_id ON audit (project, id);
