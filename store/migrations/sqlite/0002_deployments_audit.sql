-- Deployments and the audit log. AUTOINCREMENT keeps IDs from being reused
-- after a project is deleted, so an old deployment URL never names a new one.
CREATE TABLE deployments (
    id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    project    TEXT    NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    revision   INTEGER NOT NULL,
    action     TEXT    NOT NULL,
    author     TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    summary    TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
) STRICT;

CREATE INDEX deployments_project_id ON deployments (project, id);

-- project is NULL for an event that belongs to no project.
CREATE TABLE audit (
    id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    project    TEXT    REFERENCES projects (slug) ON DELETE CASCADE,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    created_at TEXT    NOT NULL
) STRICT;

CREATE INDEX audit_project_id ON audit (project, id);
