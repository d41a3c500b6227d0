package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Limits of the List methods.
const (
	// DefaultLimit is the page size when a List method gets limit <= 0.
	DefaultLimit = 50
	// MaxLimit caps the page size; a larger limit is lowered to it.
	MaxLimit = 500
)

// Deployment states set by the store. Other values of Deployment.Status and
// Deployment.Action are the caller's (see the Deployment type).
const (
	// StatusRunning is the status CreateDeployment records when the
	// deployment it gets has none.
	StatusRunning = "running"
)

// clampLimit turns a caller's limit into the page size actually used.
func clampLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultLimit
	case limit > MaxLimit:
		return MaxLimit
	default:
		return limit
	}
}

// Digest returns the hex SHA-256 of a schema's YAML, as Revision.Digest
// holds it.
func Digest(yaml string) string {
	sum := sha256.Sum256([]byte(yaml))
	return hex.EncodeToString(sum[:])
}

// now returns the current time as the store records it: UTC, truncated to
// the microsecond, which both SQLite (as text) and PostgreSQL (timestamptz)
// keep exactly. A value returned by a write therefore equals the one a later
// read returns.
func now() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond)
}

// sqliteTimeLayout is how SQLite keeps a time: fixed-width RFC 3339 in UTC
// with microseconds, so that text order is time order.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

func formatSQLiteTime(t time.Time) string {
	return t.UTC().Format(sqliteTimeLayout)
}

func parseSQLiteTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %q in database: %w", s, err)
	}
	return t.UTC(), nil
}

// nullIfEmpty maps the empty string to SQL NULL (audit events that belong
// to no project).
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Errors with a subject; each wraps a sentinel.
var (
	errEmptySlug    = errors.New("empty project slug")
	errNoProject    = fmt.Errorf("project %w", ErrNotFound)
	errNoRevision   = fmt.Errorf("revision %w", ErrNotFound)
	errNoDeployment = fmt.Errorf("deployment %w", ErrNotFound)
	errNoDeleted    = fmt.Errorf("deleted project %w", ErrNotFound)
)

// annotate prefixes a non-nil *err with "store: " and the operation, so
// that "project not found" reads "store: get project shop: project not
// found"; errors.Is still finds the sentinel.
func annotate(err *error, format string, args ...any) {
	if *err != nil {
		*err = fmt.Errorf("store: %s: %w", fmt.Sprintf(format, args...), *err)
	}
}

// annotateRevision is annotate for GetRevision, where n == 0 is the head.
func annotateRevision(err *error, slug string, n int64) {
	if n == 0 {
		annotate(err, "get head revision of %s", slug)
	} else {
		annotate(err, "get revision %d of %s", n, slug)
	}
}

// annotateDeletedRevision is annotateRevision for a deleted project.
func annotateDeletedRevision(err *error, id, n int64) {
	if n == 0 {
		annotate(err, "get head revision of deleted project %d", id)
	} else {
		annotate(err, "get revision %d of deleted project %d", n, id)
	}
}

// purgeDetail is the detail of the AuditProjectPurge event for a purged
// deleted project.
func purgeDetail(id int64, slug string, deletedAt time.Time) string {
	return fmt.Sprintf("%s (deleted project %d, deleted %s)", slug, id, deletedAt.UTC().Format(time.RFC3339))
}

// purgeActor is the actor of the AuditProjectPurge events.
const purgeActor = "backplane"

// orAll names the subject of a List call whose empty slug means all.
func orAll(slug string) string {
	if slug == "" {
		return "all projects"
	}
	return slug
}

// conflictError reports a stale base; it wraps ErrConflict.
func conflictError(base, head int64) error {
	return fmt.Errorf("base revision %d is not the head %d: %w", base, head, ErrConflict)
}

// requireProject returns ErrNotFound when slug names no project. A lookup
// or list that came back empty calls it to tell "none yet" from "no such
// project".
func requireProject(ctx context.Context, slug string, exists func(context.Context, string) (bool, error)) error {
	ok, err := exists(ctx, slug)
	if err != nil {
		return err
	}
	if !ok {
		return errNoProject
	}
	return nil
}
