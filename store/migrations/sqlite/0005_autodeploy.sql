-- Auto-deploy from git: each project's webhook secret (sealed by serve,
-- never in clear), the webhook deliveries seen (replays are ignored), the
-- commit each element built from source runs, and the per-element queue of
-- deploys (one row per element: the newest commit asked for).
CREATE TABLE hook_secrets (
    project    TEXT NOT NULL PRIMARY KEY REFERENCES projects (slug) ON DELETE CASCADE,
    sealed     BLOB NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE hook_deliveries (
    project     TEXT NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    delivery    TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (project, delivery)
) STRICT;

CREATE TABLE element_commits (
    project    TEXT NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    element    TEXT NOT NULL,
    sha        TEXT NOT NULL,
    author     TEXT NOT NULL,
    message    TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (project, element)
) STRICT;

-- claimed_by is the replica deploying the row's element, until
-- claimed_until; a newer push updates sha and requested_at but keeps the
-- claim, so the element's deploys never overlap.
CREATE TABLE deploy_queue (
    project       TEXT NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    element       TEXT NOT NULL,
    sha           TEXT NOT NULL,
    trigger       TEXT NOT NULL,
    actor         TEXT NOT NULL,
    author        TEXT NOT NULL,
    message       TEXT NOT NULL,
    requested_at  TEXT NOT NULL,
    claimed_by    TEXT NOT NULL DEFAULT '',
    claimed_until TEXT,
    PRIMARY KEY (project, element)
) STRICT;

CREATE INDEX deploy_queue_requested ON deploy_queue (requested_at);

-- What started a deployment (user, webhook, poll) and the commit it pinned.
ALTER TABLE deployments ADD COLUMN trigger TEXT NOT NULL DEFAULT 'user';
ALTER TABLE deployments ADD COLUMN git_sha TEXT NOT NULL DEFAULT '';
ALTER TABLE deleted_deployments ADD COLUMN trigger TEXT NOT NULL DEFAULT 'user';
ALTER TABLE deleted_deployments ADD COLUMN git_sha TEXT NOT NULL DEFAULT '';
