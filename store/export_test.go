package store

import (
	"database/sql"
	"testing"
)

// Hooks for the external tests (package store_test), which cannot be
// internal because they import storetest, which imports store.

// MigrationsApplied reports how many migrations Open applied to s.
func MigrationsApplied(t *testing.T, s Store) int {
	t.Helper()
	switch s := s.(type) {
	case *sqliteStore:
		return s.migrated
	case *pgStore:
		return s.migrated
	}
	t.Fatalf("MigrationsApplied: unknown store %T", s)
	return 0
}

// KnownMigrations is the number of migrations this build carries for
// dialect ("sqlite" or "postgres").
func KnownMigrations(t *testing.T, dialect string) int {
	t.Helper()
	ms, err := loadMigrations(dialect)
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

// SQLiteDB returns the connection pool of a SQLite store.
func SQLiteDB(t *testing.T, s Store) *sql.DB {
	t.Helper()
	ss, ok := s.(*sqliteStore)
	if !ok {
		t.Fatalf("SQLiteDB: %T is not the SQLite store", s)
	}
	return ss.db
}

// DB returns the database/sql handle of either store.
func DB(t *testing.T, s Store) *sql.DB {
	t.Helper()
	switch s := s.(type) {
	case *sqliteStore:
		return s.db
	case *pgStore:
		return s.db
	}
	t.Fatalf("DB: unknown store %T", s)
	return nil
}
