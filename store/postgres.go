package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgStore is the store for several replicas: PostgreSQL through a pgx
// pool, used by the shared database/sql implementation (sqlStore) through
// pgx's stdlib driver, and directly by the Notifier.
//
// Transactions run at READ COMMITTED. SaveRevision locks the project row
// with SELECT ... FOR UPDATE before it reads the head, so of two concurrent
// saves from the same base the second blocks until the first commits, then
// reads the new head and fails with ErrConflict. Tables are named without a
// schema, so the connection's search_path chooses the schema.
type pgStore struct {
	*sqlStore
	pool *pgxpool.Pool
	desc string // host:port/database, without credentials
	// connCfg makes Listen's own connections (a copy each time).
	connCfg *pgx.ConnConfig
	// schema is the current schema, which scopes notification channels.
	schema string
}

// pgDialect: timestamptz, SELECT ... FOR UPDATE on the project row, the
// advisory lock for migrations, and a deleted project's rows moved with
// DELETE ... RETURNING, which takes each row's lock, so a FinishDeployment
// running at the same time is either waited for and carried over, or
// waits and then updates the moved copy.
var pgDialect = &dialect{
	name:         KindPostgres,
	timeArg:      func(t time.Time) any { return t },
	lockRow:      "FOR UPDATE",
	skipLocked:   "FOR UPDATE SKIP LOCKED",
	isForeignKey: pgIsForeignKey,
	moveHistory: []string{
		`WITH moved AS (DELETE FROM revisions WHERE project = $2
		   RETURNING project, number, yaml, author, message, created_at, digest)
		 INSERT INTO deleted_revisions (deleted_project, project, number, yaml, author, message, created_at, digest)
		 SELECT $1, project, number, yaml, author, message, created_at, digest FROM moved`,
		`WITH moved AS (DELETE FROM deployments WHERE project = $2
		   RETURNING id, project, revision, action, author, status, summary, created_at, updated_at, trigger, git_sha)
		 INSERT INTO deleted_deployments (id, deleted_project, project, revision, action, author, status, summary, created_at, updated_at, trigger, git_sha)
		 SELECT id, $1, project, revision, action, author, status, summary, created_at, updated_at, trigger, git_sha FROM moved`,
		`WITH moved AS (DELETE FROM audit WHERE project = $2
		   RETURNING id, project, actor, action, detail, address, created_at)
		 INSERT INTO deleted_audit (id, deleted_project, project, actor, action, detail, address, created_at)
		 SELECT id, $1, project, actor, action, detail, address, created_at FROM moved`,
	},
	migrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    bigint      NOT NULL PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL
	)`,
	migrateLock: `SELECT pg_advisory_xact_lock($1)`,
}

var (
	_ Store     = (*pgStore)(nil)
	_ Describer = (*pgStore)(nil)
	_ Notifier  = (*pgStore)(nil)
)

// openPostgres connects, checks the connection and migrates.
func openPostgres(ctx context.Context, dsn string) (Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's error may quote the URL with its password; say less.
		return nil, errors.New("store: open postgres: invalid connection URL (check its syntax and options)")
	}
	cc := cfg.ConnConfig
	desc := net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port))) + "/" + cc.Database
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres %s: %w", desc, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: open postgres %s: %w", desc, err)
	}
	s := &pgStore{sqlStore: &sqlStore{db: stdlib.OpenDBFromPool(pool), d: pgDialect}, pool: pool, desc: desc, connCfg: cfg.ConnConfig}
	s.migrated, err = runMigrations(ctx, "postgres", s.applyMigration)
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("store: migrate postgres %s: %w", desc, err)
	}
	if err := pool.QueryRow(ctx, `SELECT coalesce(current_schema(), '')`).Scan(&s.schema); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("store: open postgres %s: current schema: %w", desc, err)
	}
	return s, nil
}

// Kind implements Describer.
func (s *pgStore) Kind() string { return KindPostgres }

// Describe implements Describer: "postgres host:port/database".
func (s *pgStore) Describe() string { return KindPostgres + " " + s.desc }

// Close closes the database/sql handle and every connection of the pool.
func (s *pgStore) Close() error {
	err := s.db.Close()
	s.pool.Close()
	if err != nil {
		return fmt.Errorf("store: close postgres %s: %w", s.desc, err)
	}
	return nil
}

// pgIsForeignKey reports whether err is a foreign key violation: a row that
// names a project that does not exist.
func pgIsForeignKey(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}
