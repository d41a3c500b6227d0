// Package store keeps Backplane's state: projects, their schema revisions,
// deployments and the audit log. Users and tokens come later.
//
// There are two backends behind one interface, and both pass the same
// conformance suite (package storetest):
//
//   - SQLite, embedded and the default: a single file (modernc.org/sqlite,
//     pure Go, no cgo) in WAL mode.
//   - PostgreSQL, for several replicas behind a load balancer
//     (github.com/jackc/pgx/v5: a pgxpool, used through pgx's stdlib
//     driver).
//
// Both run the same code (sqlStore, over database/sql) and the same SQL:
// both dialects take $1-style parameters (modernc binds $N to the Nth
// argument), RETURNING and ON CONFLICT, and the row scanning is written
// once (sqlTime reads SQLite's text times and PostgreSQL's timestamptz
// alike). A dialect value holds what differs: how a time is written
// (fixed-width UTC text, or timestamptz), how SaveRevision and
// DeleteProject hold the project row (SQLite's BEGIN IMMEDIATE write lock,
// or SELECT ... FOR UPDATE), how a foreign key violation is recognised,
// how a deleted project's rows are moved, and how migrations are
// serialised (BEGIN IMMEDIATE, or pg_advisory_xact_lock). The two stores
// were separate, pgx-native and database/sql, until the deleted-project
// history doubled the duplicated scanning; the suite checked the merge
// (atomic head check under concurrent saves, concurrent Opens applying
// each migration once, conflict and not-found semantics, UTC times
// truncated to the microsecond that read back equal). The PostgreSQL
// store keeps its pgxpool for what database/sql cannot do: Notifier's
// LISTEN connection.
//
// Open picks one from its DSN and brings the tables up to date with
// versioned migrations (see migrate.go) before it returns.
//
// Rules every method keeps:
//
//   - Every write is one transaction. A crash never leaves a half-written
//     revision, and a failed call writes nothing.
//   - Saves are optimistic: SaveRevision succeeds only while NewRevision.Base
//     is still the project's head, and two concurrent saves from the same
//     base never both succeed. The loser gets ErrConflict.
//   - Times are stored and returned in UTC, truncated to the microsecond.
//   - Errors name the operation and its subject ("store: save revision of
//     shop: ..."), and the sentinels ErrNotFound, ErrExists and ErrConflict
//     stay matchable with errors.Is.
//   - Secret values are never stored here; a revision's YAML holds secret
//     names only.
//
// Deleting a project keeps its history. DeleteProject records the deletion
// (action project.delete, with the actor) in the project's audit trail and,
// in the same transaction, moves the project, its revisions, deployments
// and audit entries to the deleted_* tables (migration 0003) under a new
// DeletedProject ID. The slug is free at once. A project created with it
// later starts from scratch: head 0, no deployments, its own trail; it
// inherits nothing, and nothing clashes, because the old history is
// addressed by the deleted project's ID, never by the slug. Deployment and
// audit IDs are kept as they were (the live tables never reuse an ID).
// ListAudit(slug) returns the events of every project that has had the slug,
// live and deleted, newest first, each deleted one's marked with its
// DeletedProject ID, so the trail reads "created, saved, deployed, deleted,
// created again" without mixing the two lives up.
//
// How long: until PurgeDeleted removes the projects deleted before a
// cutoff. `backplane serve` runs it at start and hourly with the cutoff
// now - --keep-deleted (BACKPLANE_KEEP_DELETED, default 90 days; 0 keeps
// deleted projects forever). A purge removes the revisions, deployments
// and audit entries of the deleted project for good and records one
// project.purge event of no project that names the slug and the ID.
//
// Between processes: the PostgreSQL store also implements Notifier (see
// notify.go), LISTEN/NOTIFY on channels scoped to its schema, which is how
// several `serve` replicas on one database pass each other their project
// events; Listen keeps a connection of its own and reconnects with
// backoff. The SQLite store does not: one process is all a SQLite file
// serves, and callers find that out with a type assertion. Notifier's
// interface carries strings and knows nothing of the web's events.
//
// This package imports no other package of this module. In particular it
// must not import jobs or web: they depend on it, never the other way round.
package store
