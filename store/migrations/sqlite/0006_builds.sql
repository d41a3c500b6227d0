-- Build once, run many: the builds of elements built from source (one
-- row per build; a commit may be built again after a failure), the
-- artifact each successful one made (its digest and size; the bytes are
-- in the artifact store), and the one-time tokens a build uploads with.
-- Both go with their project (ON DELETE CASCADE); a deleted project's
-- builds are not kept in its history.
CREATE TABLE builds (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    project     TEXT    NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    element     TEXT    NOT NULL,
    sha         TEXT    NOT NULL,
    region      TEXT    NOT NULL,
    job_id      TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('building', 'succeeded', 'failed')),
    trigger     TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    started_at  TEXT    NOT NULL,
    finished_at TEXT,
    digest      TEXT    NOT NULL DEFAULT '',
    size        INTEGER NOT NULL DEFAULT 0,
    log_tail    TEXT    NOT NULL DEFAULT '',
    error       TEXT    NOT NULL DEFAULT '',
    pruned      INTEGER NOT NULL DEFAULT 0 CHECK (pruned IN (0, 1))
) STRICT;

CREATE INDEX builds_project_id ON builds (project, id);
CREATE INDEX builds_element_sha ON builds (project, element, sha, id);

-- hash is the SHA-256 of the token (never the token); project is the
-- first segment of object_key, the artifact the token may upload.
CREATE TABLE upload_tokens (
    hash       BLOB NOT NULL PRIMARY KEY,
    project    TEXT NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    object_key TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
) STRICT;

CREATE INDEX upload_tokens_project ON upload_tokens (project);
CREATE INDEX upload_tokens_expires ON upload_tokens (expires_at);
