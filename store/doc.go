// Package store keeps Backplane's state: projects, their schema revisions,
// deployments and the audit log, and (Auth, migration 0004) who may touch
// them: users, browser sessions, one-time sign-in links, personal API
// tokens and each project's members with their roles.
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
//     shop: ..."), and the sentinels ErrNotFound, ErrExists, ErrConflict
//     and ErrGone stay matchable with errors.Is.
//   - Secret values are never stored here; a revision's YAML holds secret
//     names only.
//   - Credentials are stored as hashes only, and callers hash before they
//     call: a password as its encoded argon2id hash, a session ID, its CSRF
//     token, a sign-in link and an API token as the hex SHA-256 of the
//     value the client holds (a token also keeps its short, non-secret
//     Prefix for lists). The store only compares hashes in SQL; no error
//     or log line of this package quotes a hash or a secret.
//   - The audit log is append-only. No method changes an entry, and the
//     databases refuse UPDATE on audit and deleted_audit (triggers of
//     migration 0004); entries leave the live table only when
//     DeleteProject moves them to deleted_audit, and the database only
//     when PurgeDeleted removes a deleted project. Each entry records who
//     (Actor) called from which address (Address).
//
// Users, sessions, links and tokens (see Auth). A user's name is the
// lowercase sign-in name, unique. Sessions and sign-in links expire; an
// expired one answers ErrGone (a session is deleted then), and a link is
// used at most once: UseLink marks it used in one conditional UPDATE, so of
// concurrent uses exactly one wins. SetPassword and disabling a user end
// the user's sessions in the same transaction, and CreateSession refuses a
// disabled user. A token's name is unique among its user's tokens that are
// not revoked; a revoked or expired token answers ErrGone. EnsureToken
// stores the bootstrap token once however many replicas call it. A user's
// sessions, links, tokens and memberships go with the user (foreign keys
// ON DELETE CASCADE; there is no DeleteUser yet, disabling is how a user
// is shut out). Server admins are a flag on the user; MemberRole reports
// memberships only, so the caller gives server admins RoleAdmin itself.
//
// Deleting a project keeps its history. DeleteProject records the deletion
// (action project.delete, with the actor) in the project's audit trail and,
// in the same transaction, moves the project, its revisions, deployments
// and audit entries to the deleted_* tables (migration 0003) under a new
// DeletedProject ID. The slug is free at once. A project created with it
// later starts from scratch: head 0, no deployments, its own trail; it
// inherits nothing, and nothing clashes, because the old history is
// addressed by the deleted project's ID, never by the slug. Who had access
// is not history: the project's members and its project-scoped tokens are
// removed with it (ON DELETE CASCADE), so a project created later with the
// slug has no members, and no old token reaches it. Deployment and
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
