package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteBusyTimeout is how long a write waits for another process's write
// lock on the same file before it fails with SQLITE_BUSY.
const sqliteBusyTimeout = 10 * time.Second

// sqliteStore is the embedded store: one SQLite file in WAL mode, through
// the shared database/sql implementation (sqlStore).
//
// Every connection begins its transactions with BEGIN IMMEDIATE (the
// driver's _txlock=immediate), which takes the database's write lock at
// once. Only write methods open transactions, so two writers, in this
// process or another, never interleave: the second waits (busy_timeout)
// until the first commits, then reads what it wrote. That is what makes
// SaveRevision's head check atomic here, with no row lock. Within the
// process a one-slot semaphore (sqlStore.write) queues writers first, so
// they wait on a channel rather than in SQLite's sleep-and-retry busy
// handler. Reads are single statements outside a transaction and run
// alongside a writer (WAL).
type sqliteStore struct {
	*sqlStore
	file string
}

// sqliteDialect: times as fixed-width UTC text, no row locks (BEGIN
// IMMEDIATE), a deleted project's rows copied and then removed by the
// cascade of the project's deletion.
var sqliteDialect = &dialect{
	name:         KindSQLite,
	timeArg:      func(t time.Time) any { return formatSQLiteTime(t) },
	lockRow:      "",
	isForeignKey: sqliteIsForeignKey,
	moveHistory: []string{
		`INSERT INTO deleted_revisions (deleted_project, project, number, yaml, author, message, created_at, digest)
		 SELECT $1, project, number, yaml, author, message, created_at, digest FROM revisions WHERE project = $2`,
		`INSERT INTO deleted_deployments (id, deleted_project, project, revision, action, author, status, summary, created_at, updated_at, trigger, git_sha)
		 SELECT id, $1, project, revision, action, author, status, summary, created_at, updated_at, trigger, git_sha FROM deployments WHERE project = $2`,
		`INSERT INTO deleted_audit (id, deleted_project, project, actor, action, detail, address, created_at)
		 SELECT id, $1, project, actor, action, detail, address, created_at FROM audit WHERE project = $2`,
	},
	migrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at TEXT    NOT NULL
	) STRICT`,
}

var (
	_ Store     = (*sqliteStore)(nil)
	_ Describer = (*sqliteStore)(nil)
)

// openSQLite opens (creating it if needed) the database file and migrates it.
func openSQLite(ctx context.Context, file string) (Store, error) {
	params := url.Values{
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()),
			"foreign_keys(1)",
			"journal_mode(WAL)",
			"synchronous(NORMAL)",
		},
		"_txlock": {"immediate"},
	}
	db, err := sql.Open("sqlite", file+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", file, err)
	}
	s := &sqliteStore{sqlStore: &sqlStore{db: db, d: sqliteDialect, write: make(chan struct{}, 1)}, file: file}
	if err := pingSQLite(ctx, db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", file, err)
	}
	s.migrated, err = runMigrations(ctx, "sqlite", s.applyMigration)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: migrate sqlite %s: %w", file, err)
	}
	return s, nil
}

// pingSQLite makes the first connection, retrying while the file is busy.
// Turning a new file to WAL needs an exclusive lock, and SQLite reports
// SQLITE_BUSY at once, without its busy handler, when another process (or
// handle) opens the same new file at the same moment. Once the file is in
// WAL mode, which it keeps, connections no longer contend here.
func pingSQLite(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(sqliteBusyTimeout)
	delay := 5 * time.Millisecond
	for {
		err := db.PingContext(ctx)
		if err == nil || !sqliteIsBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// sqliteIsBusy reports whether err is SQLITE_BUSY or one of its extended
// codes: another connection holds a lock this one needs.
func sqliteIsBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// Kind implements Describer.
func (s *sqliteStore) Kind() string { return KindSQLite }

// Describe implements Describer: "sqlite /path/to/backplane.db".
func (s *sqliteStore) Describe() string { return KindSQLite + " " + s.file }

// Close closes the database; the WAL is checkpointed into the file.
func (s *sqliteStore) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close sqlite %s: %w", s.file, err)
	}
	return nil
}

// sqliteIsForeignKey reports whether err is a foreign key violation: a row
// that names a project that does not exist.
func sqliteIsForeignKey(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}
