-- Users, sessions, one-time sign-in links, API tokens and project members
-- (store.Auth), and the address of each audit event. Secrets are stored as
-- hashes only: password_hash is an encoded argon2id hash ('' when the user
-- has none yet); sessions, links and tokens are keyed by the hex SHA-256 of
-- the value the client holds.
--
-- A user's sessions, links, tokens and memberships go with the user (ON
-- DELETE CASCADE). A project's members and project tokens go with the
-- project: DeleteProject keeps the history (0003), not who had access, so
-- a project created later with the same slug starts with no members and no
-- token of the old one can reach it.
--
-- Additive only: a replica of the previous release still runs against
-- these tables (it never reads the new ones, and audit.address defaults
-- to '').
CREATE TABLE users (
    id            INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    server_admin  INTEGER NOT NULL DEFAULT 0 CHECK (server_admin IN (0, 1)),
    password_hash TEXT    NOT NULL DEFAULT '',
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    TEXT    NOT NULL
) STRICT;

CREATE TABLE sessions (
    id_hash    TEXT    NOT NULL PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_hash  TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL
) STRICT;

CREATE INDEX sessions_user ON sessions (user_id);

-- used_at is set by the one use a link allows.
CREATE TABLE sign_in_links (
    hash       TEXT    NOT NULL PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL,
    used_at    TEXT
) STRICT;

CREATE INDEX sign_in_links_user ON sign_in_links (user_id);

-- project is NULL for a token valid in all of its user's projects. A name
-- is unique among a user's tokens that are not revoked.
CREATE TABLE tokens (
    id           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    hash         TEXT    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    project      TEXT    REFERENCES projects (slug) ON DELETE CASCADE,
    role         TEXT    NOT NULL CHECK (role IN ('viewer', 'editor', 'deployer', 'admin')),
    created_at   TEXT    NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT,
    revoked_at   TEXT
) STRICT;

CREATE UNIQUE INDEX tokens_user_name_live ON tokens (user_id, name) WHERE revoked_at IS NULL;
CREATE INDEX tokens_user_id ON tokens (user_id, id);
CREATE INDEX tokens_project ON tokens (project);

CREATE TABLE project_members (
    project  TEXT    NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role     TEXT    NOT NULL CHECK (role IN ('viewer', 'editor', 'deployer', 'admin')),
    added_at TEXT    NOT NULL,
    PRIMARY KEY (project, user_id)
) STRICT;

CREATE INDEX project_members_user ON project_members (user_id, project);

-- Who called from which address ('' when unknown, and for older entries).
ALTER TABLE audit ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE deleted_audit ADD COLUMN address TEXT NOT NULL DEFAULT '';

-- The audit log is append-only: no statement may change an entry. Rows
-- still leave it the two ways the store moves them: DeleteProject (to
-- deleted_audit) and PurgeDeleted.
CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER deleted_audit_append_only BEFORE UPDATE ON deleted_audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
