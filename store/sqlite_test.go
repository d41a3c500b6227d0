package store_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/backplane-dev/backplane/store"
	"github.com/backplane-dev/backplane/store/storetest"
)

// openSQLite opens a store at path and closes it when the test ends.
func openSQLite(t *testing.T, path string) store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openSQLite(t, t.TempDir())
	})
}

func TestSQLitePragmas(t *testing.T) {
	s := openSQLite(t, t.TempDir())
	db := store.SQLiteDB(t, s)
	for _, tc := range []struct {
		pragma, want string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"synchronous", "1"}, // NORMAL
		{"busy_timeout", "10000"},
	} {
		var got string
		if err := db.QueryRowContext(t.Context(), "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
		}
		if strings.ToLower(got) != tc.want {
			t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
		}
	}
}

func TestSQLiteReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()

	s, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := store.MigrationsApplied(t, s), store.KnownMigrations(t, "sqlite"); got != want {
		t.Errorf("first Open applied %d migrations, want %d", got, want)
	}
	if _, err := s.CreateProject(ctx, "shop", "Shop"); err != nil {
		t.Fatal(err)
	}
	rev, err := s.SaveRevision(ctx, "shop", store.NewRevision{YAML: "version: 1\n", Author: "alice", Base: 0})
	if err != nil {
		t.Fatal(err)
	}
	dep, err := s.CreateDeployment(ctx, store.Deployment{Project: "shop", Revision: 1, Action: "deploy"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, store.AuditEvent{Project: "shop", Actor: "alice", Action: "schema.save"}); err != nil {
		t.Fatal(err)
	}
	applied := migrationRows(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopen by the file's path this time.
	s2 := openSQLite(t, filepath.Join(dir, store.DefaultFileName))
	if got := store.MigrationsApplied(t, s2); got != 0 {
		t.Errorf("reopen applied %d migrations, want 0", got)
	}
	if got := migrationRows(t, s2); got != applied {
		t.Errorf("schema_migrations changed on reopen:\nbefore %s\nafter  %s", applied, got)
	}
	got, err := s2.GetRevision(ctx, "shop", 0)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *rev {
		t.Errorf("head after reopen = %+v, want %+v", got, rev)
	}
	deps, err := s2.ListDeployments(ctx, "shop", 0)
	if err != nil || len(deps) != 1 || deps[0] != *dep {
		t.Errorf("deployments after reopen = %+v, %v; want [%+v]", deps, err, *dep)
	}
	events, err := s2.ListAudit(ctx, "shop", 0)
	if err != nil || len(events) != 1 {
		t.Errorf("audit after reopen = %+v, %v", events, err)
	}
	// The next save continues the numbering.
	if next, err := s2.SaveRevision(ctx, "shop", store.NewRevision{YAML: "v2", Base: 1}); err != nil || next.Number != 2 {
		t.Errorf("save after reopen = %+v, %v; want number 2", next, err)
	}
}

// migrationRows returns schema_migrations as text.
func migrationRows(t *testing.T, s store.Store) string {
	t.Helper()
	rows, err := store.SQLiteDB(t, s).QueryContext(t.Context(),
		`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var v int64
		var name, at string
		if err := rows.Scan(&v, &name, &at); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%d %s %s; ", v, name, at)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestSQLiteTwoHandles opens the same file twice, as two processes would,
// and races saves from the same base through both: the in-process queue of
// one handle cannot help here, only SQLite's write lock (BEGIN IMMEDIATE).
func TestSQLiteTwoHandles(t *testing.T) {
	dir := t.TempDir()
	var handles [2]store.Store
	var wg sync.WaitGroup
	for i := range handles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.Open(t.Context(), dir)
			if err != nil {
				t.Errorf("concurrent Open %d: %v", i, err)
				return
			}
			t.Cleanup(func() { _ = s.Close() })
			handles[i] = s
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if sum := store.MigrationsApplied(t, handles[0]) + store.MigrationsApplied(t, handles[1]); sum != store.KnownMigrations(t, "sqlite") {
		t.Errorf("the two Opens applied %d migrations in all, want %d", sum, store.KnownMigrations(t, "sqlite"))
	}
	if _, err := handles[0].CreateProject(t.Context(), "shop", ""); err != nil {
		t.Fatal(err)
	}

	const workers = 8
	errs := make([]error, workers)
	start := make(chan struct{})
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = handles[i%2].SaveRevision(t.Context(), "shop", store.NewRevision{YAML: fmt.Sprint(i), Base: 0})
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if ok != 1 {
		t.Errorf("%d saves from base 0 succeeded across two handles, want 1", ok)
	}
	p, err := handles[1].GetProject(t.Context(), "shop")
	if err != nil || p.Head != 1 {
		t.Errorf("head = %+v, %v; want 1", p, err)
	}
}

func TestOpenPaths(t *testing.T) {
	root := t.TempDir()
	existingDir := filepath.Join(root, "existing")
	if err := os.Mkdir(existingDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		dsn     string
		file    string // the database file Open must create
		dirMode os.FileMode
	}{
		{"ExistingDir", existingDir, filepath.Join(existingDir, "backplane.db"), 0},
		{"MissingDirTrailingSlash", filepath.Join(root, "new.d") + "/", filepath.Join(root, "new.d", "backplane.db"), 0o700},
		{"MissingDirNoExtension", filepath.Join(root, "data"), filepath.Join(root, "data", "backplane.db"), 0o700},
		{"MissingDotDir", filepath.Join(root, ".backplane"), filepath.Join(root, ".backplane", "backplane.db"), 0o700},
		{"NestedMissingDir", filepath.Join(root, "a", "b"), filepath.Join(root, "a", "b", "backplane.db"), 0o700},
		{"File", filepath.Join(root, "state.db"), filepath.Join(root, "state.db"), 0},
		{"FileInMissingDir", filepath.Join(root, "var", "state.sqlite"), filepath.Join(root, "var", "state.sqlite"), 0o700},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openSQLite(t, tc.dsn)
			if _, err := os.Stat(tc.file); err != nil {
				t.Fatalf("database file: %v", err)
			}
			if got, want := store.Describe(s), "sqlite "+tc.file; got != want {
				t.Errorf("Describe = %q, want %q", got, want)
			}
			if tc.dirMode != 0 {
				fi, err := os.Stat(filepath.Dir(tc.file))
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != tc.dirMode {
					t.Errorf("directory mode = %v, want %v", got, tc.dirMode)
				}
			}
		})
	}

	t.Run("ExistingFileWithoutExtension", func(t *testing.T) {
		// Made by a first Open as a file, it must stay one.
		file := filepath.Join(root, "statefile")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		s := openSQLite(t, file)
		if got := store.Describe(s); got != "sqlite "+file {
			t.Errorf("Describe = %q", got)
		}
	})

	for _, tc := range []struct{ name, dsn string }{
		{"Empty", ""},
		{"Blank", "  "},
		{"QueryInPath", filepath.Join(root, "x.db?mode=ro")},
		{"FileAsDir", filepath.Join(root, "state.db") + "/"},
	} {
		t.Run("Bad"+tc.name, func(t *testing.T) {
			s, err := store.Open(t.Context(), tc.dsn)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tc.dsn)
			}
			if !strings.HasPrefix(err.Error(), "store: open") {
				t.Errorf("error %q does not say what failed", err)
			}
		})
	}
}

// fakeStore stands for a test fake that is not one of the backends.
type fakeStore struct{ store.Store }

func TestKind(t *testing.T) {
	s := openSQLite(t, t.TempDir())
	if got := store.Kind(s); got != store.KindSQLite {
		t.Errorf("Kind = %q, want sqlite", got)
	}
	if got := store.Kind(fakeStore{}); got != store.KindUnknown {
		t.Errorf("Kind(fake) = %q, want unknown", got)
	}
	if got := store.Describe(fakeStore{}); got != store.KindUnknown {
		t.Errorf("Describe(fake) = %q, want unknown", got)
	}
}

// TestSQLiteUpgradeKeepsData: a database of an older release (through
// migration 0002, with data) is brought up to date by Open, keeps its
// data, and deleting a project then keeps the history.
func TestSQLiteUpgradeKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateProject(ctx, "shop", "Shop"); err != nil {
		t.Fatal(err)
	}
	rev, err := s.SaveRevision(ctx, "shop", store.NewRevision{YAML: "version: 1\n", Author: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	// Back to 0002: as an older release left it (0006, 0005, then 0004 undone first).
	db := store.SQLiteDB(t, s)
	for _, q := range []string{
		`DROP TABLE upload_tokens`, `DROP TABLE builds`,
		`DROP TABLE deploy_queue`, `DROP TABLE element_commits`, `DROP TABLE hook_deliveries`, `DROP TABLE hook_secrets`,
		`ALTER TABLE deployments DROP COLUMN trigger`, `ALTER TABLE deployments DROP COLUMN git_sha`,
		`DROP TRIGGER audit_append_only`, `DROP TRIGGER deleted_audit_append_only`,
		`DROP TABLE project_members`, `DROP TABLE tokens`, `DROP TABLE sign_in_links`,
		`DROP TABLE sessions`, `DROP TABLE users`, `ALTER TABLE audit DROP COLUMN address`,
		`DROP TABLE deleted_audit`, `DROP TABLE deleted_deployments`, `DROP TABLE deleted_revisions`,
		`DROP TABLE deleted_projects`, `DELETE FROM schema_migrations WHERE version >= 3`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := openSQLite(t, dir)
	if got, want := store.MigrationsApplied(t, s2), store.KnownMigrations(t, "sqlite")-2; got != want {
		t.Errorf("upgrade applied %d migrations, want %d", got, want)
	}
	if got, err := s2.GetRevision(ctx, "shop", 0); err != nil || *got != *rev {
		t.Fatalf("head after upgrade = %+v, %v; want %+v", got, err, rev)
	}
	dp, err := s2.DeleteProject(ctx, "shop", "carol")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.GetDeletedRevision(ctx, dp.ID, 1); err != nil || got.YAML != rev.YAML {
		t.Errorf("deleted project's revision 1 after upgrade = %+v, %v", got, err)
	}
}

// TestSQLiteAuditAppendOnly: see checkAuditAppendOnly.
func TestSQLiteAuditAppendOnly(t *testing.T) {
	checkAuditAppendOnly(t, openSQLite(t, t.TempDir()))
}

// checkAuditAppendOnly: the database itself refuses to change an audit
// entry, live or of a deleted project (migration 0004's triggers).
func checkAuditAppendOnly(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.CreateProject(ctx, "shop", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, store.AuditEvent{Project: "shop", Actor: "alice", Action: "deploy", Address: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	db := store.DB(t, s)
	if _, err := db.ExecContext(ctx, `UPDATE audit SET actor = 'mallory'`); err == nil {
		t.Error("UPDATE audit succeeded")
	}
	if _, err := s.DeleteProject(ctx, "shop", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE deleted_audit SET actor = 'mallory'`); err == nil {
		t.Error("UPDATE deleted_audit succeeded")
	}
	events, err := s.ListAudit(ctx, "shop", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Actor != "alice" {
			t.Errorf("event %d: actor %q, want alice", e.ID, e.Actor)
		}
	}
}
