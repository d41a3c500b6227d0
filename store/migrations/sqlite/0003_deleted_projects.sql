-- A deleted project keeps its history. DeleteProject copies the project,
-- its revisions, deployments and audit entries here, in the transaction
-- that deletes it (the cascade then removes the live rows), and
-- PurgeDeleted removes them after the retention period. Deployments and
-- audit entries keep their IDs, which the live tables (AUTOINCREMENT)
-- never reuse; deleted projects are AUTOINCREMENT for the same reason.
CREATE TABLE deleted_projects (
    id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    slug       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    head       INTEGER NOT NULL,
    deleted_at TEXT    NOT NULL,
    deleted_by TEXT    NOT NULL
) STRICT;

CREATE INDEX deleted_projects_slug_id ON deleted_projects (slug, id);
CREATE INDEX deleted_projects_deleted_at ON deleted_projects (deleted_at);

CREATE TABLE deleted_revisions (
    deleted_project INTEGER NOT NULL REFERENCES deleted_projects (id) ON DELETE CASCADE,
    project         TEXT    NOT NULL,
    number          INTEGER NOT NULL,
    yaml            TEXT    NOT NULL,
    author          TEXT    NOT NULL,
    message         TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    digest          TEXT    NOT NULL,
    PRIMARY KEY (deleted_project, number)
) STRICT;

CREATE TABLE deleted_deployments (
    id              INTEGER NOT NULL PRIMARY KEY,
    deleted_project INTEGER NOT NULL REFERENCES deleted_projects (id) ON DELETE CASCADE,
    project         TEXT    NOT NULL,
    revision        INTEGER NOT NULL,
    action          TEXT    NOT NULL,
    author          TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    summary         TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
) STRICT;

CREATE INDEX deleted_deployments_deleted_project_id ON deleted_deployments (deleted_project, id);

CREATE TABLE deleted_audit (
    id              INTEGER NOT NULL PRIMARY KEY,
    deleted_project INTEGER NOT NULL REFERENCES deleted_projects (id) ON DELETE CASCADE,
    project         TEXT    NOT NULL,
    actor           TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    detail          TEXT    NOT NULL,
    created_at      TEXT    NOT NULL
) STRICT;

CREATE INDEX deleted_audit_project_id ON deleted_audit (project, id);
CREATE INDEX deleted_audit_deleted_project ON deleted_audit (deleted_project);
