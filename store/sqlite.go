package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteBusyTimeout is how long a write waits for another process's write
// lock on the same file before it fails with SQLITE_BUSY.
const sqliteBusyTimeout = 10 * time.Second

// sqliteStore is the embedded store: one SQLite file in WAL mode.
//
// Every connection begins its transactions with BEGIN IMMEDIATE (the
// driver's _txlock=immediate), which takes the database's write lock at
// once. Only write methods open transactions, so two writers, in this
// process or another, never interleave: the second waits (busy_timeout)
// until the first commits, then reads what it wrote. Within the process a
// one-slot semaphore queues writers first, so they wait on a channel
// rather than in SQLite's sleep-and-retry busy handler. Reads are single
// statements outside a transaction and run alongside a writer (WAL).
type sqliteStore struct {
	db    *sql.DB
	file  string
	write chan struct{} // holds a token while a write transaction runs
	// migrated counts the migrations Open applied (0 on a reopen).
	migrated int
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
	s := &sqliteStore{db: db, file: file, write: make(chan struct{}, 1)}
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

// applyMigration applies m unless schema_migrations lists it, in one
// BEGIN IMMEDIATE transaction, so a second process opening the same file
// waits and then sees the version applied.
func (s *sqliteStore) applyMigration(ctx context.Context, m migration) (bool, error) {
	applied := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER NOT NULL PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at TEXT    NOT NULL
		) STRICT`); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx,
			`SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, formatSQLiteTime(now())); err != nil {
			return err
		}
		applied = true
		return nil
	})
	return applied, err
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE) and commits it when
// fn returns nil; otherwise nothing fn did is kept.
func (s *sqliteStore) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	select {
	case s.write <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.write }()

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// sqliteIsForeignKey reports whether err is a foreign key violation: a row
// that names a project that does not exist.
func sqliteIsForeignKey(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// projectExists reports whether the project exists; List methods call it
// only when they found nothing, to tell "none" from "no such project".
func (s *sqliteStore) projectExists(ctx context.Context, slug string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM projects WHERE slug = ?`, slug).Scan(&n)
	return n > 0, err
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

func scanSQLiteProject(r rowScanner) (*Project, error) {
	var p Project
	var created, updated string
	if err := r.Scan(&p.Slug, &p.Name, &created, &updated, &p.Head); err != nil {
		return nil, err
	}
	var err error
	if p.CreatedAt, err = parseSQLiteTime(created); err != nil {
		return nil, err
	}
	if p.UpdatedAt, err = parseSQLiteTime(updated); err != nil {
		return nil, err
	}
	return &p, nil
}

const sqliteProjectCols = `slug, name, created_at, updated_at, head`

// CreateProject adds a project with head 0. The name defaults to the slug.
// A slug that is taken fails with ErrExists.
func (s *sqliteStore) CreateProject(ctx context.Context, slug, name string) (_ *Project, err error) {
	defer annotate(&err, "create project %s", slug)
	if slug == "" {
		return nil, errEmptySlug
	}
	if name == "" {
		name = slug
	}
	t := now()
	p := &Project{Slug: slug, Name: name, CreatedAt: t, UpdatedAt: t}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO projects (slug, name, created_at, updated_at, head) VALUES (?, ?, ?, ?, 0)
			 ON CONFLICT (slug) DO NOTHING`,
			slug, name, formatSQLiteTime(t), formatSQLiteTime(t))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrExists
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ListProjects returns every project, by slug.
func (s *sqliteStore) ListProjects(ctx context.Context) (_ []Project, err error) {
	defer annotate(&err, "list projects")
	rows, err := s.db.QueryContext(ctx, `SELECT `+sqliteProjectCols+` FROM projects ORDER BY slug`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Project{}
	for rows.Next() {
		p, err := scanSQLiteProject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// GetProject returns one project, or ErrNotFound.
func (s *sqliteStore) GetProject(ctx context.Context, slug string) (_ *Project, err error) {
	defer annotate(&err, "get project %s", slug)
	p, err := scanSQLiteProject(s.db.QueryRowContext(ctx,
		`SELECT `+sqliteProjectCols+` FROM projects WHERE slug = ?`, slug))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoProject
	}
	return p, err
}

// RenameProject sets the display name and updated_at; ErrNotFound if the
// project does not exist. The name defaults to the slug.
func (s *sqliteStore) RenameProject(ctx context.Context, slug, name string) (_ *Project, err error) {
	defer annotate(&err, "rename project %s", slug)
	if name == "" {
		name = slug
	}
	var p *Project
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = scanSQLiteProject(tx.QueryRowContext(ctx,
			`UPDATE projects SET name = ?, updated_at = ? WHERE slug = ? RETURNING `+sqliteProjectCols,
			name, formatSQLiteTime(now()), slug))
		if errors.Is(err, sql.ErrNoRows) {
			return errNoProject
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// SaveRevision appends revision head+1 and moves the head to it, in one
// BEGIN IMMEDIATE transaction: the write lock is held from before the head
// is read until the commit, so no other save can pass the Base check in
// between. Unless r.Force, r.Base must equal the head, or the save fails
// with ErrConflict and writes nothing. ErrNotFound if the project does not
// exist.
func (s *sqliteStore) SaveRevision(ctx context.Context, slug string, r NewRevision) (_ *Revision, err error) {
	defer annotate(&err, "save revision of %s", slug)
	var rev *Revision
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var head int64
		err := tx.QueryRowContext(ctx, `SELECT head FROM projects WHERE slug = ?`, slug).Scan(&head)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoProject
		}
		if err != nil {
			return err
		}
		if !r.Force && r.Base != head {
			return conflictError(r.Base, head)
		}
		t := now()
		rev = &Revision{
			Project: slug, Number: head + 1, YAML: r.YAML, Author: r.Author,
			Message: r.Message, CreatedAt: t, Digest: Digest(r.YAML),
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO revisions (project, number, yaml, author, message, created_at, digest)
			 VALUES (?, ?, ?, ?, ?, ?, ?)`,
			rev.Project, rev.Number, rev.YAML, rev.Author, rev.Message, formatSQLiteTime(t), rev.Digest); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE projects SET head = ?, updated_at = ? WHERE slug = ?`,
			rev.Number, formatSQLiteTime(t), slug)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rev, nil
}

// GetRevision returns revision n with its YAML; n == 0 means the head.
// ErrNotFound if the project or the revision does not exist (a project
// with no revision has no head).
func (s *sqliteStore) GetRevision(ctx context.Context, slug string, n int64) (_ *Revision, err error) {
	defer annotateRevision(&err, slug, n)
	var row *sql.Row
	if n == 0 {
		row = s.db.QueryRowContext(ctx,
			`SELECT r.project, r.number, r.yaml, r.author, r.message, r.created_at, r.digest
			 FROM projects p JOIN revisions r ON r.project = p.slug AND r.number = p.head
			 WHERE p.slug = ?`, slug)
	} else {
		row = s.db.QueryRowContext(ctx,
			`SELECT project, number, yaml, author, message, created_at, digest
			 FROM revisions WHERE project = ? AND number = ?`, slug, n)
	}
	var r Revision
	var created string
	err = row.Scan(&r.Project, &r.Number, &r.YAML, &r.Author, &r.Message, &created, &r.Digest)
	if errors.Is(err, sql.ErrNoRows) {
		if err := requireProject(ctx, slug, s.projectExists); err != nil {
			return nil, err
		}
		return nil, errNoRevision
	}
	if err != nil {
		return nil, err
	}
	if r.CreatedAt, err = parseSQLiteTime(created); err != nil {
		return nil, err
	}
	return &r, nil
}

// ListRevisions returns revisions newest first without their YAML: at most
// limit (DefaultLimit when <= 0, at most MaxLimit), only numbers below
// before when before > 0. ErrNotFound if the project does not exist.
func (s *sqliteStore) ListRevisions(ctx context.Context, slug string, limit int, before int64) (_ []Revision, err error) {
	defer annotate(&err, "list revisions of %s", slug)
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT project, number, author, message, created_at, digest
		 FROM revisions WHERE project = ? AND number < ?
		 ORDER BY number DESC LIMIT ?`, slug, before, clampLimit(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Revision{}
	for rows.Next() {
		var r Revision
		var created string
		if err := rows.Scan(&r.Project, &r.Number, &r.Author, &r.Message, &created, &r.Digest); err != nil {
			return nil, err
		}
		if r.CreatedAt, err = parseSQLiteTime(created); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		if err := requireProject(ctx, slug, s.projectExists); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CreateDeployment records a deployment of d.Project and returns it with
// its new ID and times; Status defaults to "running". ErrNotFound if the
// project does not exist.
func (s *sqliteStore) CreateDeployment(ctx context.Context, d Deployment) (_ *Deployment, err error) {
	defer annotate(&err, "create deployment of %s", d.Project)
	if d.Status == "" {
		d.Status = StatusRunning
	}
	t := now()
	d.CreatedAt, d.UpdatedAt = t, t
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO deployments (project, revision, action, author, status, summary, created_at, updated_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			d.Project, d.Revision, d.Action, d.Author, d.Status, d.Summary, formatSQLiteTime(t), formatSQLiteTime(t))
		if sqliteIsForeignKey(err) {
			return errNoProject
		}
		if err != nil {
			return err
		}
		d.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// FinishDeployment sets the status, summary and updated_at of deployment
// id; ErrNotFound if there is no such deployment.
func (s *sqliteStore) FinishDeployment(ctx context.Context, id int64, status, summary string) (err error) {
	defer annotate(&err, "finish deployment %d", id)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		t := formatSQLiteTime(now())
		// A live project's deployment, or else one whose project was
		// deleted while it ran.
		for _, table := range []string{"deployments", "deleted_deployments"} {
			res, err := tx.ExecContext(ctx,
				`UPDATE `+table+` SET status = ?, summary = ?, updated_at = ? WHERE id = ?`,
				status, summary, t, id)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n > 0 {
				return nil
			}
		}
		return errNoDeployment
	})
}

const sqliteDeploymentCols = `id, project, revision, action, author, status, summary, created_at, updated_at`

func scanSQLiteDeployment(r rowScanner) (*Deployment, error) {
	var d Deployment
	var created, updated string
	if err := r.Scan(&d.ID, &d.Project, &d.Revision, &d.Action, &d.Author, &d.Status, &d.Summary,
		&created, &updated); err != nil {
		return nil, err
	}
	var err error
	if d.CreatedAt, err = parseSQLiteTime(created); err != nil {
		return nil, err
	}
	if d.UpdatedAt, err = parseSQLiteTime(updated); err != nil {
		return nil, err
	}
	return &d, nil
}

// GetDeployment returns deployment id of a live project, or ErrNotFound.
func (s *sqliteStore) GetDeployment(ctx context.Context, id int64) (_ *Deployment, err error) {
	defer annotate(&err, "get deployment %d", id)
	d, err := scanSQLiteDeployment(s.db.QueryRowContext(ctx,
		`SELECT `+sqliteDeploymentCols+` FROM deployments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoDeployment
	}
	return d, err
}

// ListDeployments returns the project's deployments newest first, at most
// limit (DefaultLimit when <= 0, at most MaxLimit); an empty slug lists
// those of every project. ErrNotFound if a named project does not exist.
func (s *sqliteStore) ListDeployments(ctx context.Context, slug string, limit int) (_ []Deployment, err error) {
	defer annotate(&err, "list deployments of %s", orAll(slug))
	var rows *sql.Rows
	if slug == "" {
		rows, err = s.db.QueryContext(ctx,
			`SELECT `+sqliteDeploymentCols+` FROM deployments ORDER BY id DESC LIMIT ?`, clampLimit(limit))
	} else {
		rows, err = s.db.QueryContext(ctx,
			`SELECT `+sqliteDeploymentCols+` FROM deployments WHERE project = ? ORDER BY id DESC LIMIT ?`, slug, clampLimit(limit))
	}
	if err != nil {
		return nil, err
	}
	out, err := collectSQLiteDeployments(rows)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 && slug != "" {
		if err := requireProject(ctx, slug, s.projectExists); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// collectSQLiteDeployments scans and closes rows of sqliteDeploymentCols.
func collectSQLiteDeployments(rows *sql.Rows) ([]Deployment, error) {
	defer rows.Close()
	out := []Deployment{}
	for rows.Next() {
		d, err := scanSQLiteDeployment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

// AppendAudit records e with a new ID and the current time (e.ID and
// e.CreatedAt are ignored). An event with an empty Project belongs to no
// project; one that names a project that does not exist fails with
// ErrNotFound.
func (s *sqliteStore) AppendAudit(ctx context.Context, e AuditEvent) (err error) {
	defer annotate(&err, "append audit event %s", e.Action)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO audit (project, actor, action, detail, created_at) VALUES (?, ?, ?, ?, ?)`,
			nullIfEmpty(e.Project), e.Actor, e.Action, e.Detail, formatSQLiteTime(now()))
		if sqliteIsForeignKey(err) {
			return errNoProject
		}
		return err
	})
}

// ListAudit returns audit events newest first, at most limit (DefaultLimit
// when <= 0, at most MaxLimit): those recorded under slug, by the live
// project and by deleted ones, or with an empty slug every event,
// including those of no project. ErrNotFound if no project, live or
// deleted, has had the slug.
func (s *sqliteStore) ListAudit(ctx context.Context, slug string, limit int) (_ []AuditEvent, err error) {
	defer annotate(&err, "list audit events of %s", orAll(slug))
	var rows *sql.Rows
	if slug == "" {
		rows, err = s.db.QueryContext(ctx, `SELECT * FROM (
			SELECT id, coalesce(project, ''), actor, action, detail, created_at, 0 FROM audit
			UNION ALL
			SELECT id, project, actor, action, detail, created_at, deleted_project FROM deleted_audit
		) ORDER BY 1 DESC LIMIT ?`, clampLimit(limit))
	} else {
		rows, err = s.db.QueryContext(ctx, `SELECT * FROM (
			SELECT id, project, actor, action, detail, created_at, 0 FROM audit WHERE project = ?1
			UNION ALL
			SELECT id, project, actor, action, detail, created_at, deleted_project FROM deleted_audit WHERE project = ?1
		) ORDER BY 1 DESC LIMIT ?2`, slug, clampLimit(limit))
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []AuditEvent{}
	for rows.Next() {
		var e AuditEvent
		var created string
		if err := rows.Scan(&e.ID, &e.Project, &e.Actor, &e.Action, &e.Detail, &created, &e.DeletedProject); err != nil {
			return nil, err
		}
		if e.CreatedAt, err = parseSQLiteTime(created); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 && slug != "" {
		if err := requireProject(ctx, slug, s.slugKnown); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// slugKnown reports whether a project, live or deleted, has had the slug.
func (s *sqliteStore) slugKnown(ctx context.Context, slug string) (bool, error) {
	var ok bool
	err := s.db.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM projects WHERE slug = ?1) OR EXISTS (SELECT 1 FROM deleted_projects WHERE slug = ?1)`,
		slug).Scan(&ok)
	return ok, err
}
