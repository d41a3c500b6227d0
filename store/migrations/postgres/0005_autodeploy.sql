-- Auto-deploy from git: each project's webhook secret (sealed by serve,
-- never in clear), the webhook deliveries seen (replays are ignored), the
-- commit each element built from source runs, and the per-element queue of
-- deploys (one row per element: the newest commit asked for).
CREATE TABLE hook_secrets (
    project    text NOT NULL PRIMARY KEY REFERENCES projects (slug) ON DELETE CASCADE,
    sealed     bytea NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE hook_deliveries (
    project     text NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    delivery    text NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (project, delivery)
);

CREATE TABLE element_commits (
    project    text NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    element    text NOT NULL,
    sha        text NOT NULL,
    author     text NOT NULL,
    message    text NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (project, element)
);

-- claimed_by is the replica deploying the row's element, until
-- claimed_until; a newer push updates sha and requested_at but keeps the
-- claim, so the element's deploys never overlap.
CREATE TABLE deploy_queue (
    project       text NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    element       text NOT NULL,
    sha           text NOT NULL,
    trigger       text NOT NULL,
    actor         text NOT NULL,
    author        text NOT NULL,
    message       text NOT NULL,
    requested_at  timestamptz NOT NULL,
    claimed_by    text NOT NULL DEFAULT '',
    claimed_until timestamptz,
    PRIMARY KEY (project, element)
);

CREATE INDEX deploy_queue_requested ON deploy_queue (requested_at);

-- What started a deployment (user, webhook, poll) and the commit it pinned.
ALTER TABLE deployments ADD COLUMN trigger text NOT NULL DEFAULT 'user';
ALTER TABLE deployments ADD COLUMN git_sha text NOT NULL DEFAULT '';
ALTER TABLE deleted_deployments ADD COLUMN trigger text NOT NULL DEFAULT 'user';
ALTER TABLE deleted_deployments ADD COLUMN git_sha text NOT NULL DEFAULT '';
