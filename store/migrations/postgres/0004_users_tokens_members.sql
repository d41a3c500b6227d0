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
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text        NOT NULL UNIQUE,
    display_name  text        NOT NULL,
    server_admin  boolean     NOT NULL DEFAULT false,
    password_hash text        NOT NULL DEFAULT '',
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL
);

CREATE TABLE sessions (
    id_hash    text        NOT NULL PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_hash  text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX sessions_user ON sessions (user_id);

-- used_at is set by the one use a link allows.
CREATE TABLE sign_in_links (
    hash       text        NOT NULL PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE INDEX sign_in_links_user ON sign_in_links (user_id);

-- project is NULL for a token valid in all of its user's projects. A name
-- is unique among a user's tokens that are not revoked.
CREATE TABLE tokens (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL,
    hash         text        NOT NULL UNIQUE,
    prefix       text        NOT NULL,
    project      text        REFERENCES projects (slug) ON DELETE CASCADE,
    role         text        NOT NULL CHECK (role IN ('viewer', 'editor', 'deployer', 'admin')),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE UNIQUE INDEX tokens_user_name_live ON tokens (user_id, name) WHERE revoked_at IS NULL;
CREATE INDEX tokens_user_id ON tokens (user_id, id);
CREATE INDEX tokens_project ON tokens (project);

CREATE TABLE project_members (
    project  text        NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    user_id  bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role     text        NOT NULL CHECK (role IN ('viewer', 'editor', 'deployer', 'admin')),
    added_at timestamptz NOT NULL,
    PRIMARY KEY (project, user_id)
);

CREATE INDEX project_members_user ON project_members (user_id, project);

-- Who called from which address ('' when unknown, and for older entries).
ALTER TABLE audit ADD COLUMN address text NOT NULL DEFAULT '';
ALTER TABLE deleted_audit ADD COLUMN address text NOT NULL DEFAULT '';

-- The audit log is append-only: no statement may change an entry. Rows
-- still leave it the two ways the store moves them: DeleteProject (to
-- deleted_audit) and PurgeDeleted.
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;

CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER deleted_audit_append_only BEFORE UPDATE ON deleted_audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
