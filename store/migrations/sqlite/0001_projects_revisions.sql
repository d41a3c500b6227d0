-- Projects and their schema revisions. Times are UTC text,
-- 'YYYY-MM-DDTHH:MM:SS.ffffffZ', so that text order is time order.
CREATE TABLE projects (
    slug       TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    head       INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE revisions (
    project    TEXT    NOT NULL REFERENCES projects (slug) ON DELETE CASCADE,
    number     INTEGER NOT NULL,
    yaml       TEXT    NOT NULL,
    author     TEXT    NOT NULL,
    message    TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    digest     TEXT    NOT NULL,
    PRIMARY KEY (project, number)
) STRICT;
