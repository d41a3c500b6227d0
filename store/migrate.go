package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migrations.
//
// Each dialect has its own numbered SQL files under migrations/<dialect>/,
// named NNNN_what.sql; both dialects carry the same versions. The table
// schema_migrations lists the versions applied, with their name and time.
//
// Open applies the missing versions in order, each in a transaction of its
// own that also records the version, so a migration is applied completely or
// not at all. Each transaction first takes the dialect's write lock
// (PostgreSQL: pg_advisory_xact_lock on migrateLockKey; SQLite: BEGIN
// IMMEDIATE), creates schema_migrations if it is missing and checks again
// whether the version is applied. So several replicas may Open the same
// database at once: one applies each version and the others wait, then skip
// it. Reopening an up-to-date database applies nothing.
//
// Rules for new migrations: never edit an applied file, add a new version;
// keep a version backward compatible with the previous release (add tables
// and columns, do not drop or rename them in the same release), because
// during a rolling upgrade old replicas run against the new tables. For the
// same reason a database that carries versions this binary does not know is
// accepted, not refused.

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migration is one numbered SQL file.
type migration struct {
	version int64
	name    string // file name without .sql, e.g. 0001_projects_revisions
	sql     string
}

// migrateLockKey is the PostgreSQL advisory lock key that serialises
// migrations ("backplane" in ASCII, as an int64).
const migrateLockKey int64 = 0x6261636b706c616e

// loadMigrations reads migrations/<dialect>/ in version order.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("read %s migrations: %w", dialect, err)
	}
	var ms []migration
	seen := map[int64]string{}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".sql")
		if !ok || e.IsDir() {
			continue
		}
		num, _, _ := strings.Cut(name, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%s migration %s: name must start with a positive version number", dialect, e.Name())
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("%s migrations %s and %s: same version %d", dialect, prev, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read %s migration %s: %w", dialect, e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// runMigrations applies each migration with apply, which reports whether it
// applied it (false: it was already applied). It returns how many it applied.
func runMigrations(ctx context.Context, dialect string, apply func(context.Context, migration) (bool, error)) (int, error) {
	ms, err := loadMigrations(dialect)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range ms {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		applied, err := apply(ctx, m)
		if err != nil {
			return n, fmt.Errorf("migration %s: %w", m.name, err)
		}
		if applied {
			n++
		}
	}
	return n, nil
}
