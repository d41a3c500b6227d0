package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DefaultFileName is the SQLite file Open creates in a directory.
const DefaultFileName = "backplane.db"

// Backend kinds that Kind reports.
const (
	KindSQLite   = "sqlite"
	KindPostgres = "postgres"
	KindUnknown  = "unknown"
)

// Open opens the store that dsn names and applies any missing migrations.
//
// A DSN that starts with postgres:// or postgresql:// opens PostgreSQL with
// a connection pool (pgxpool; the URL may carry pgx's options such as
// sslmode, pool_max_conns or search_path). Anything else is a SQLite path:
//
//   - an existing directory, a path that ends in a separator, or a missing
//     path whose last element has no extension ("data", ".backplane") is a
//     directory: the store is the file backplane.db inside it, and a
//     missing directory is created with mode 0700;
//   - any other path (an existing file, or "state.db") is the database file
//     itself; its missing parent directories are created with mode 0700.
//
// SQLite runs in WAL mode with foreign keys on, synchronous=NORMAL and a
// busy timeout, so several readers work alongside one writer and a second
// process on the same file waits instead of failing.
func Open(ctx context.Context, dsn string) (Store, error) {
	lower := strings.ToLower(dsn)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return openPostgres(ctx, dsn)
	case strings.TrimSpace(dsn) == "":
		return nil, errors.New("store: open: empty DSN")
	default:
		file, err := sqliteFile(dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite %s: %w", dsn, err)
		}
		return openSQLite(ctx, file)
	}
}

// sqliteFile resolves a SQLite DSN to the absolute path of the database
// file, creating the directory it goes in (see Open).
func sqliteFile(p string) (string, error) {
	if strings.ContainsAny(p, "?#") {
		// The driver reads options after '?'; a path must not carry any.
		return "", errors.New("path must not contain '?' or '#'")
	}
	endsInSep := strings.HasSuffix(p, "/") || strings.HasSuffix(p, string(filepath.Separator))
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	dir, file := abs, ""
	fi, err := os.Stat(abs)
	switch {
	case err == nil && fi.IsDir():
		file = filepath.Join(abs, DefaultFileName)
	case err == nil:
		if endsInSep {
			return "", fmt.Errorf("%s is a file, not a directory", abs)
		}
		dir, file = filepath.Dir(abs), abs
	case !errors.Is(err, os.ErrNotExist):
		return "", err
	case endsInSep || !hasExtension(filepath.Base(abs)):
		file = filepath.Join(abs, DefaultFileName)
	default:
		dir, file = filepath.Dir(abs), abs
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create directory: %w", err)
	}
	return file, nil
}

// hasExtension reports whether a file name has an extension after a
// non-empty stem: "state.db" has one, "data" and ".backplane" do not.
func hasExtension(name string) bool {
	i := strings.LastIndexByte(name, '.')
	return i > 0 && i < len(name)-1
}

// Describer is implemented by both stores. The health endpoint and the
// startup log use it to say which store is in use.
type Describer interface {
	// Kind is KindSQLite or KindPostgres.
	Kind() string
	// Describe names the backend and where it keeps its data, without
	// credentials: "sqlite /var/lib/backplane/backplane.db" or
	// "postgres db.internal:5432/backplane".
	Describe() string
}

// Kind reports which backend s uses: "sqlite", "postgres", or "unknown"
// for a Store that does not implement Describer (a test fake, say).
func Kind(s Store) string {
	if d, ok := s.(Describer); ok {
		return d.Kind()
	}
	return KindUnknown
}

// Describe returns s.Describe() when s implements Describer, else Kind(s).
func Describe(s Store) string {
	if d, ok := s.(Describer); ok {
		return d.Describe()
	}
	return KindUnknown
}
