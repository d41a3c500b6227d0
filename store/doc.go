// Package store keeps Backplane's state: projects, their schema revisions,
// deployments and the audit log. Users and tokens come later.
//
// There are two implementations of Store behind one interface, and both pass
// the same conformance suite (package storetest):
//
//   - SQLite, embedded and the default: a single file (modernc.org/sqlite,
//     pure Go, no cgo) in WAL mode.
//   - PostgreSQL, for several replicas behind a load balancer
//     (github.com/jackc/pgx/v5, pgxpool).
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
// This package imports no other package of this module. In particular it
// must not import jobs or web: they depend on it, never the other way round.
package store
