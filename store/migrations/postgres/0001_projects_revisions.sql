-- Projects and their schema revisions.
CREATE TABLE projects (
    slug       text        NOT NULL PRIMARY KEY,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    head       bigint      NOT NULL DEFAULT 0
);

CREATE TABLE revisions (
    project    text        NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    number     bigint      NOT NULL,
    yaml       text        NOT NULL,
    author     text        NOT NULL,
    message    text        NOT NULL,
    created_at timestamptz NOT NULL,
    digest     text        NOT NULL,
    PRIMARY KEY (project, number)
);
