package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// sqlStore is the one implementation of Store, over database/sql: SQLite
// through modernc.org/sqlite, PostgreSQL through pgx's stdlib driver on a
// pgxpool. The SQL is shared: both dialects take $1-style parameters,
// RETURNING, ON CONFLICT, and the same table and column names. A dialect
// value holds the few places where they differ (how a time is written,
// how the head is locked, how a foreign key violation looks, how a
// deleted project's rows are moved, how migrations are serialised).
type sqlStore struct {
	db *sql.DB
	d  *dialect
	// write, when not nil, holds a token while a write transaction runs:
	// SQLite's writers queue on it rather than in the busy handler.
	write chan struct{}
	// migrated counts the migrations Open applied (0 on a reopen).
	migrated int
}

// dialect is what differs between the databases.
type dialect struct {
	// name is the migrations folder: "sqlite" or "postgres".
	name string
	// timeArg turns a time (UTC, truncated to the microsecond) into the
	// value stored: fixed-width text in SQLite, time.Time for timestamptz.
	timeArg func(time.Time) any
	// lockRow ends the SELECT of a project row that a transaction goes on
	// to change (SaveRevision, DeleteProject): "FOR UPDATE" in
	// PostgreSQL; empty in SQLite, where BEGIN IMMEDIATE already holds the
	// database's write lock.
	lockRow string
	// isForeignKey reports a foreign key violation: a row naming a
	// project that does not exist.
	isForeignKey func(error) bool
	// moveHistory moves a project's revisions, deployments and audit
	// entries to the deleted_* tables ($1: the deleted project's ID, $2:
	// the slug), after which the project row is deleted.
	moveHistory []string
	// skipLocked ends a SELECT that claims a queue row: "FOR UPDATE SKIP
	// LOCKED" in PostgreSQL; empty in SQLite (one writer at a time).
	skipLocked string
	// migrationsTable creates schema_migrations if it is missing.
	migrationsTable string
	// migrateLock, if not empty, is run first in each migration's
	// transaction to serialise replicas ($1: migrateLockKey).
	migrateLock string
}

// sqlTime scans a stored time: text in SQLite, time.Time from PostgreSQL.
// The result is in UTC.
type sqlTime struct{ t *time.Time }

func (s sqlTime) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*s.t = v.UTC()
	case string:
		t, err := parseSQLiteTime(v)
		if err != nil {
			return err
		}
		*s.t = t
	case []byte:
		t, err := parseSQLiteTime(string(v))
		if err != nil {
			return err
		}
		*s.t = t
	default:
		return fmt.Errorf("cannot scan %T into a time", src)
	}
	return nil
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// collect scans every row with scan and closes rows; the result is empty,
// never nil, when there are none.
func collect[T any](rows *sql.Rows, scan func(rowScanner) (*T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, rows.Err()
}

// inTx runs fn in a write transaction and commits it when fn returns nil;
// otherwise nothing fn did is kept. SQLite's transactions begin IMMEDIATE
// (the driver's _txlock), PostgreSQL's at READ COMMITTED.
func (s *sqlStore) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if s.write != nil {
		select {
		case s.write <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-s.write }()
	}
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

// applyMigration applies m unless schema_migrations lists it, in one
// transaction that first takes the dialect's lock (SQLite: BEGIN
// IMMEDIATE; PostgreSQL: the advisory lock migrateLockKey), so replicas
// that Open the same database at once apply each version one after the
// other, and the later ones find it applied.
func (s *sqlStore) applyMigration(ctx context.Context, m migration) (bool, error) {
	applied := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if s.d.migrateLock != "" {
			if _, err := tx.ExecContext(ctx, s.d.migrateLock, migrateLockKey); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.d.migrationsTable); err != nil {
			return err
		}
		var done bool
		if err := tx.QueryRowContext(ctx,
			`SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.version).Scan(&done); err != nil {
			return err
		}
		if done {
			return nil
		}
		// No arguments: both drivers run it as a script of several
		// statements (pgx with the simple protocol).
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.version, m.name, s.d.timeArg(now())); err != nil {
			return err
		}
		applied = true
		return nil
	})
	return applied, err
}

// projectExists reports whether the project exists; List methods call it
// only when they found nothing, to tell "none" from "no such project".
func (s *sqlStore) projectExists(ctx context.Context, slug string) (bool, error) {
	var ok bool
	err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM projects WHERE slug = $1)`, slug).Scan(&ok)
	return ok, err
}

// slugKnown reports whether a project, live or deleted, has had the slug.
func (s *sqlStore) slugKnown(ctx context.Context, slug string) (bool, error) {
	var ok bool
	err := s.db.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM projects WHERE slug = $1) OR EXISTS (SELECT 1 FROM deleted_projects WHERE slug = $1)`,
		slug).Scan(&ok)
	return ok, err
}

// --- projects ---

const projectCols = `slug, name, created_at, updated_at, head`

func scanProject(r rowScanner) (*Project, error) {
	var p Project
	if err := r.Scan(&p.Slug, &p.Name, sqlTime{&p.CreatedAt}, sqlTime{&p.UpdatedAt}, &p.Head); err != nil {
		return nil, err
	}
	return &p, nil
}

// CreateProject adds a project with head 0. The name defaults to the slug.
// A slug that is taken fails with ErrExists.
func (s *sqlStore) CreateProject(ctx context.Context, slug, name string) (_ *Project, err error) {
	defer annotate(&err, "create project %s", slug)
	if slug == "" {
		return nil, errEmptySlug
	}
	if name == "" {
		name = slug
	}
	t := now()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO projects (slug, name, created_at, updated_at, head) VALUES ($1, $2, $3, $3, 0)
			 ON CONFLICT (slug) DO NOTHING`,
			slug, name, s.d.timeArg(t))
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
	return &Project{Slug: slug, Name: name, CreatedAt: t, UpdatedAt: t}, nil
}

// ListProjects returns every project, by slug.
func (s *sqlStore) ListProjects(ctx context.Context) (_ []Project, err error) {
	defer annotate(&err, "list projects")
	rows, err := s.db.QueryContext(ctx, `SELECT `+projectCols+` FROM projects ORDER BY slug`)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanProject)
}

// GetProject returns one project, or ErrNotFound.
func (s *sqlStore) GetProject(ctx context.Context, slug string) (_ *Project, err error) {
	defer annotate(&err, "get project %s", slug)
	p, err := scanProject(s.db.QueryRowContext(ctx,
		`SELECT `+projectCols+` FROM projects WHERE slug = $1`, slug))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoProject
	}
	return p, err
}

// RenameProject sets the display name and updated_at; ErrNotFound if the
// project does not exist. The name defaults to the slug.
func (s *sqlStore) RenameProject(ctx context.Context, slug, name string) (_ *Project, err error) {
	defer annotate(&err, "rename project %s", slug)
	if name == "" {
		name = slug
	}
	var p *Project
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = scanProject(tx.QueryRowContext(ctx,
			`UPDATE projects SET name = $1, updated_at = $2 WHERE slug = $3 RETURNING `+projectCols,
			name, s.d.timeArg(now()), slug))
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

// --- revisions ---

// SaveRevision appends revision head+1 and moves the head to it, in one
// transaction that holds the project for itself from before the head is
// read until the commit (SQLite: BEGIN IMMEDIATE's write lock; PostgreSQL:
// SELECT ... FOR UPDATE), so a concurrent save waits and then reads the
// new head. Unless r.Force, r.Base must equal the head, or the save fails
// with ErrConflict and writes nothing. ErrNotFound if the project does not
// exist.
func (s *sqlStore) SaveRevision(ctx context.Context, slug string, r NewRevision) (_ *Revision, err error) {
	defer annotate(&err, "save revision of %s", slug)
	var rev *Revision
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var head int64
		err := tx.QueryRowContext(ctx, `SELECT head FROM projects WHERE slug = $1 `+s.d.lockRow, slug).Scan(&head)
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
			 VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			rev.Project, rev.Number, rev.YAML, rev.Author, rev.Message, s.d.timeArg(t), rev.Digest); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE projects SET head = $1, updated_at = $2 WHERE slug = $3`,
			rev.Number, s.d.timeArg(t), slug)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rev, nil
}

// revisionCols lists a revision with its YAML (scanRevision); the List
// methods leave the YAML out (scanRevisionItem).
const (
	revisionCols     = `project, number, yaml, author, message, created_at, digest`
	revisionItemCols = `project, number, author, message, created_at, digest`
)

func scanRevision(r rowScanner) (*Revision, error) {
	var rev Revision
	if err := r.Scan(&rev.Project, &rev.Number, &rev.YAML, &rev.Author, &rev.Message, sqlTime{&rev.CreatedAt}, &rev.Digest); err != nil {
		return nil, err
	}
	return &rev, nil
}

func scanRevisionItem(r rowScanner) (*Revision, error) {
	var rev Revision
	if err := r.Scan(&rev.Project, &rev.Number, &rev.Author, &rev.Message, sqlTime{&rev.CreatedAt}, &rev.Digest); err != nil {
		return nil, err
	}
	return &rev, nil
}

// revisionHistory is where a project's revisions are read: a live
// project's, keyed by slug, or a deleted project's archive, keyed by its ID.
type revisionHistory struct {
	projects, projectKey string // the project table and its key column
	revisions, key       string // the revision table and its project column
	arg                  any    // the slug or the deleted project's ID
	// exists says whether the project exists, with the error to return.
	exists func(context.Context) error
}

func (s *sqlStore) liveHistory(slug string) revisionHistory {
	return revisionHistory{projects: "projects", projectKey: "slug", revisions: "revisions", key: "project", arg: slug,
		exists: func(ctx context.Context) error { return requireProject(ctx, slug, s.projectExists) }}
}

// getRevision reads revision n of a history; n == 0 means the head.
func (s *sqlStore) getRevision(ctx context.Context, h revisionHistory, n int64) (*Revision, error) {
	var row *sql.Row
	if n == 0 {
		row = s.db.QueryRowContext(ctx,
			`SELECT r.project, r.number, r.yaml, r.author, r.message, r.created_at, r.digest
			 FROM `+h.projects+` p JOIN `+h.revisions+` r ON r.`+h.key+` = p.`+h.projectKey+` AND r.number = p.head
			 WHERE p.`+h.projectKey+` = $1`, h.arg)
	} else {
		row = s.db.QueryRowContext(ctx,
			`SELECT `+revisionCols+` FROM `+h.revisions+` WHERE `+h.key+` = $1 AND number = $2`, h.arg, n)
	}
	r, err := scanRevision(row)
	if errors.Is(err, sql.ErrNoRows) {
		if err := h.exists(ctx); err != nil {
			return nil, err
		}
		return nil, errNoRevision
	}
	return r, err
}

// listRevisions reads a history's revisions newest first, without their
// YAML: at most limit, only numbers below before when before > 0.
func (s *sqlStore) listRevisions(ctx context.Context, h revisionHistory, limit int, before int64) ([]Revision, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+revisionItemCols+` FROM `+h.revisions+` WHERE `+h.key+` = $1 AND number < $2
		 ORDER BY number DESC LIMIT $3`, h.arg, before, clampLimit(limit))
	if err != nil {
		return nil, err
	}
	out, err := collect(rows, scanRevisionItem)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		if err := h.exists(ctx); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GetRevision returns revision n with its YAML; n == 0 means the head.
// ErrNotFound if the project or the revision does not exist (a project
// with no revision has no head).
func (s *sqlStore) GetRevision(ctx context.Context, slug string, n int64) (_ *Revision, err error) {
	defer annotateRevision(&err, slug, n)
	return s.getRevision(ctx, s.liveHistory(slug), n)
}

// ListRevisions returns revisions newest first without their YAML: at most
// limit (DefaultLimit when <= 0, at most MaxLimit), only numbers below
// before when before > 0. ErrNotFound if the project does not exist.
func (s *sqlStore) ListRevisions(ctx context.Context, slug string, limit int, before int64) (_ []Revision, err error) {
	defer annotate(&err, "list revisions of %s", slug)
	return s.listRevisions(ctx, s.liveHistory(slug), limit, before)
}

// --- deployments ---

const deploymentCols = `id, project, revision, action, author, status, summary, created_at, updated_at, trigger, git_sha`

func scanDeployment(r rowScanner) (*Deployment, error) {
	var d Deployment
	if err := r.Scan(&d.ID, &d.Project, &d.Revision, &d.Action, &d.Author, &d.Status, &d.Summary,
		sqlTime{&d.CreatedAt}, sqlTime{&d.UpdatedAt}, &d.Trigger, &d.GitSHA); err != nil {
		return nil, err
	}
	return &d, nil
}

// CreateDeployment records a deployment of d.Project and returns it with
// its new ID and times; Status defaults to "running". ErrNotFound if the
// project does not exist.
func (s *sqlStore) CreateDeployment(ctx context.Context, d Deployment) (_ *Deployment, err error) {
	defer annotate(&err, "create deployment of %s", d.Project)
	if d.Status == "" {
		d.Status = StatusRunning
	}
	if d.Trigger == "" {
		d.Trigger = TriggerUser
	}
	t := now()
	d.CreatedAt, d.UpdatedAt = t, t
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx,
			`INSERT INTO deployments (project, revision, action, author, status, summary, created_at, updated_at, trigger, git_sha)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9) RETURNING id`,
			d.Project, d.Revision, d.Action, d.Author, d.Status, d.Summary, s.d.timeArg(t), d.Trigger, d.GitSHA).Scan(&d.ID)
		if s.d.isForeignKey(err) {
			return errNoProject
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// FinishDeployment sets the status, summary and updated_at of deployment
// id; ErrNotFound if there is no such deployment.
func (s *sqlStore) FinishDeployment(ctx context.Context, id int64, status, summary string) (err error) {
	defer annotate(&err, "finish deployment %d", id)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		t := s.d.timeArg(now())
		// A live project's deployment, or else one whose project was
		// deleted while it ran. In PostgreSQL a concurrent DeleteProject
		// moves the row with DELETE ... RETURNING, which waits for this
		// update (or this one waits for the move and then finds the row
		// gone, and updates the moved copy).
		for _, table := range []string{"deployments", "deleted_deployments"} {
			res, err := tx.ExecContext(ctx,
				`UPDATE `+table+` SET status = $1, summary = $2, updated_at = $3 WHERE id = $4`,
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

// GetDeployment returns deployment id of a live project, or ErrNotFound.
func (s *sqlStore) GetDeployment(ctx context.Context, id int64) (_ *Deployment, err error) {
	defer annotate(&err, "get deployment %d", id)
	d, err := scanDeployment(s.db.QueryRowContext(ctx,
		`SELECT `+deploymentCols+` FROM deployments WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoDeployment
	}
	return d, err
}

// ListDeployments returns the project's deployments newest first, at most
// limit (DefaultLimit when <= 0, at most MaxLimit); an empty slug lists
// those of every project. ErrNotFound if a named project does not exist.
func (s *sqlStore) ListDeployments(ctx context.Context, slug string, limit int) (_ []Deployment, err error) {
	defer annotate(&err, "list deployments of %s", orAll(slug))
	var rows *sql.Rows
	if slug == "" {
		rows, err = s.db.QueryContext(ctx,
			`SELECT `+deploymentCols+` FROM deployments ORDER BY id DESC LIMIT $1`, clampLimit(limit))
	} else {
		rows, err = s.db.QueryContext(ctx,
			`SELECT `+deploymentCols+` FROM deployments WHERE project = $1 ORDER BY id DESC LIMIT $2`, slug, clampLimit(limit))
	}
	if err != nil {
		return nil, err
	}
	out, err := collect(rows, scanDeployment)
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

// --- audit ---

// AppendAudit records e with a new ID and the current time (e.ID and
// e.CreatedAt are ignored), with its Address. An event with an empty Project belongs to no
// project; one that names a project that does not exist fails with
// ErrNotFound.
func (s *sqlStore) AppendAudit(ctx context.Context, e AuditEvent) (err error) {
	defer annotate(&err, "append audit event %s", e.Action)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO audit (project, actor, action, detail, address, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			nullIfEmpty(e.Project), e.Actor, e.Action, e.Detail, e.Address, s.d.timeArg(now()))
		if s.d.isForeignKey(err) {
			return errNoProject
		}
		return err
	})
}

func scanAudit(r rowScanner) (*AuditEvent, error) {
	var e AuditEvent
	if err := r.Scan(&e.ID, &e.Project, &e.Actor, &e.Action, &e.Detail, &e.Address, sqlTime{&e.CreatedAt}, &e.DeletedProject); err != nil {
		return nil, err
	}
	return &e, nil
}

// ListAudit returns audit events newest first, at most limit (DefaultLimit
// when <= 0, at most MaxLimit): those recorded under slug, by the live
// project and by deleted ones, or with an empty slug every event,
// including those of no project. ErrNotFound if no project, live or
// deleted, has had the slug.
func (s *sqlStore) ListAudit(ctx context.Context, slug string, limit int) (_ []AuditEvent, err error) {
	defer annotate(&err, "list audit events of %s", orAll(slug))
	var rows *sql.Rows
	if slug == "" {
		rows, err = s.db.QueryContext(ctx, `SELECT * FROM (
			SELECT id, coalesce(project, ''), actor, action, detail, address, created_at, CAST(0 AS bigint) FROM audit
			UNION ALL
			SELECT id, project, actor, action, detail, address, created_at, deleted_project FROM deleted_audit
		) AS a ORDER BY 1 DESC LIMIT $1`, clampLimit(limit))
	} else {
		rows, err = s.db.QueryContext(ctx, `SELECT * FROM (
			SELECT id, project, actor, action, detail, address, created_at, CAST(0 AS bigint) FROM audit WHERE project = $1
			UNION ALL
			SELECT id, project, actor, action, detail, address, created_at, deleted_project FROM deleted_audit WHERE project = $1
		) AS a ORDER BY 1 DESC LIMIT $2`, slug, clampLimit(limit))
	}
	if err != nil {
		return nil, err
	}
	out, err := collect(rows, scanAudit)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 && slug != "" {
		if err := requireProject(ctx, slug, s.slugKnown); err != nil {
			return nil, err
		}
	}
	return out, nil
}
