package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/backplane-dev/backplane/store"
	"github.com/backplane-dev/backplane/store/storetest"
)

// postgresURLEnv names the PostgreSQL database the tests use, e.g.
// postgres://backplane:backplane@127.0.0.1:5432/backplane_test?sslmode=disable.
// The role must be allowed to create schemas in it. Each test works in a
// schema of its own, dropped when the test ends.
const postgresURLEnv = "BACKPLANE_TEST_POSTGRES_URL"

// postgresURL returns the test database URL, or skips the test when none
// is set (fails instead when REQUIRE_AGENTS=1, as in make test-integration).
func postgresURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv(postgresURLEnv)
	if u == "" {
		msg := postgresURLEnv + " is not set: the PostgreSQL store tests need a real server " +
			"(e.g. postgres://backplane:backplane@127.0.0.1:5432/backplane_test?sslmode=disable)"
		if os.Getenv("REQUIRE_AGENTS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return u
}

// freshSchema creates an empty schema for this test, drops it when the test
// ends, and returns base with search_path set to it.
func freshSchema(t *testing.T, base string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "bp_test_" + hex.EncodeToString(b)

	ctx := t.Context()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", postgresURLEnv, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})

	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", postgresURLEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// openPostgres opens a store on dsn and closes it before the schema is
// dropped (cleanups run last-in, first-out).
func openPostgres(t *testing.T, dsn string) store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestPostgres(t *testing.T) {
	base := postgresURL(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return openPostgres(t, freshSchema(t, base))
	})
}

// TestPostgresAuditAppendOnly: see checkAuditAppendOnly.
func TestPostgresAuditAppendOnly(t *testing.T) {
	checkAuditAppendOnly(t, openPostgres(t, freshSchema(t, postgresURL(t))))
}

func TestPostgresReopen(t *testing.T) {
	dsn := freshSchema(t, postgresURL(t))
	ctx := t.Context()

	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := store.MigrationsApplied(t, s), store.KnownMigrations(t, "postgres"); got != want {
		t.Errorf("first Open applied %d migrations, want %d", got, want)
	}
	if _, err := s.CreateProject(ctx, "shop", "Shop"); err != nil {
		t.Fatal(err)
	}
	rev, err := s.SaveRevision(ctx, "shop", store.NewRevision{YAML: "version: 1\n", Author: "alice", Base: 0})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := openPostgres(t, dsn)
	if got := store.MigrationsApplied(t, s2); got != 0 {
		t.Errorf("reopen applied %d migrations, want 0", got)
	}
	got, err := s2.GetRevision(ctx, "shop", 0)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *rev {
		t.Errorf("head after reopen = %+v, want %+v", got, rev)
	}
}

// TestPostgresConcurrentOpen opens the same empty database from several
// replicas at once: every Open succeeds and each migration is applied once.
func TestPostgresConcurrentOpen(t *testing.T) {
	dsn := freshSchema(t, postgresURL(t))
	const replicas = 6
	stores := make([]store.Store, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			stores[i], errs[i] = store.Open(t.Context(), dsn)
		}()
	}
	close(start)
	wg.Wait()
	applied := 0
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: Open: %v", i, err)
			continue
		}
		t.Cleanup(func() { _ = stores[i].Close() })
		applied += store.MigrationsApplied(t, stores[i])
	}
	if t.Failed() {
		t.FailNow()
	}
	want := store.KnownMigrations(t, "postgres")
	if applied != want {
		t.Errorf("replicas applied %d migrations in all, want %d (each once)", applied, want)
	}

	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var rows int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != want {
		t.Errorf("schema_migrations has %d rows, want %d", rows, want)
	}

	// The replicas share one head: a save through one makes the same base
	// stale for the others.
	if _, err := stores[0].CreateProject(t.Context(), "shop", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[1].SaveRevision(t.Context(), "shop", store.NewRevision{YAML: "a", Base: 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[2].SaveRevision(t.Context(), "shop", store.NewRevision{YAML: "b", Base: 0}); err == nil {
		t.Error("a stale save through another replica succeeded")
	}
}

func TestPostgresDescribe(t *testing.T) {
	base := postgresURL(t)
	s := openPostgres(t, freshSchema(t, base))
	if got := store.Kind(s); got != store.KindPostgres {
		t.Errorf("Kind = %q, want postgres", got)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	// Host, port and database; no user, no password, no options.
	want := "postgres " + net.JoinHostPort(u.Hostname(), port) + u.Path
	if got := store.Describe(s); got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
}

func TestPostgresBadURL(t *testing.T) {
	// No server needed: the URL does not parse, and the error must not
	// repeat the password.
	_, err := store.Open(t.Context(), "postgres://user:s3cret@host:notaport/db")
	if err == nil {
		t.Fatal("Open with a bad URL succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q shows the password", err)
	}
}

// TestPostgresNotifyBetweenStores: a notification sent through one store
// reaches a listener of another on the same schema (another replica), and
// not one on a different schema (another installation).
func TestPostgresNotifyBetweenStores(t *testing.T) {
	base := postgresURL(t)
	dsn := freshSchema(t, base)
	a, b := openPostgres(t, dsn), openPostgres(t, dsn)
	elsewhere := openPostgres(t, freshSchema(t, base))
	got, _ := storetest.ListenForTest(t, b.(store.Notifier), "events")
	stray, _ := storetest.ListenForTest(t, elsewhere.(store.Notifier), "events")

	start := time.Now()
	if err := a.(store.Notifier).Notify(t.Context(), "events", "hello"); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "hello" {
			t.Errorf("payload = %q, want hello", p)
		}
		t.Logf("notification between stores took %v", time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatal("notification did not reach the other store")
	}
	select {
	case p := <-stray:
		t.Errorf("a store on another schema heard %q", p)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestPostgresListenReconnects: when the listening connection is killed,
// Listen reports it, reconnects, says it resumed, and hears what is sent
// afterwards.
func TestPostgresListenReconnects(t *testing.T) {
	dsn := freshSchema(t, postgresURL(t))
	s := openPostgres(t, dsn)
	n := s.(store.Notifier)
	got, states := storetest.ListenForTest(t, n, "events")

	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var killed int
	if err := conn.QueryRow(t.Context(),
		`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		 WHERE datname = current_database() AND query LIKE 'LISTEN %' AND query LIKE '%' || current_schema() || '%'`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d listening backends, want 1", killed)
	}
	for _, want := range []string{"lost", "resumed"} {
		select {
		case m := <-states:
			if (want == "lost" && !m.Lost) || (want == "resumed" && !(m.Listening && m.Resumed)) {
				t.Fatalf("notification %+v, want %s", m, want)
			}
			if m.Lost && m.Err == nil {
				t.Error("Lost without the error")
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("no %s notification after the connection was killed", want)
		}
	}
	if err := n.Notify(t.Context(), "events", "after"); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "after" {
			t.Errorf("payload = %q, want after", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notification after reconnecting")
	}
}
