-- Build once, run many: the builds of elements built from source (one
-- row per build; a commit may be built again after a failure), the
-- artifact each successful one made (its digest and size; the bytes are
-- in the artifact store), and the one-time tokens a build uploads with.
-- Both go with their project (ON DELETE CASCADE); a deleted project's
-- builds are not kept in its history.
CREATE TABLE builds (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project     text        NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    element     text        NOT NULL,
    sha         text        NOT NULL,
    region      text        NOT NULL,
    job_id      text        NOT NULL,
    status      text        NOT NULL CHECK (status IN ('building', 'succeeded', 'failed')),
    trigger     text        NOT NULL,
    actor       text        NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    digest      text        NOT NULL DEFAULT '',
    size        bigint      NOT NULL DEFAULT 0,
    log_tail    text        NOT NULL DEFAULT '',
    error       text        NOT NULL DEFAULT '',
    pruned      boolean     NOT NULL DEFAULT false
);

CREATE INDEX builds_project_id ON builds (project, id);
CREATE INDEX builds_element_sha ON builds (project, element, sha, id);

-- hash is the SHA-256 of the token (never the token); project is the
-- first segment of object_key, the artifact the token may upload.
CREATE TABLE upload_tokens (
    hash       bytea       NOT NULL PRIMARY KEY,
    project    text        NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    object_key text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE INDEX upload_tokens_project ON upload_tokens (project);
CREATE INDEX upload_tokens_expires ON upload_tokens (expires_at);
