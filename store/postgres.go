package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgStore is the store for several replicas: PostgreSQL through a pgx pool.
//
// Transactions run at READ COMMITTED. SaveRevision locks the project row
// with SELECT ... FOR UPDATE before it reads the head, so of two concurrent
// saves from the same base the second blocks until the first commits, then
// reads the new head and fails with ErrConflict. Tables are named without a
// schema, so the connection's search_path chooses the schema.
type pgStore struct {
	pool *pgxpool.Pool
	desc string // host:port/database, without credentials
	// connCfg makes Listen's own connections (a copy each time).
	connCfg *pgx.ConnConfig
	// schema is the current schema, which scopes notification channels.
	schema string
	// migrated counts the migrations Open applied (0 on a reopen).
	migrated int
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
	s := &pgStore{pool: pool, desc: desc, connCfg: cfg.ConnConfig}
	s.migrated, err = runMigrations(ctx, "postgres", s.applyMigration)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: migrate postgres %s: %w", desc, err)
	}
	if err := pool.QueryRow(ctx, `SELECT coalesce(current_schema(), '')`).Scan(&s.schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: open postgres %s: current schema: %w", desc, err)
	}
	return s, nil
}

// Kind implements Describer.
func (s *pgStore) Kind() string { return KindPostgres }

// Describe implements Describer: "postgres host:port/database".
func (s *pgStore) Describe() string { return KindPostgres + " " + s.desc }

// Close closes every connection of the pool.
func (s *pgStore) Close() error {
	s.pool.Close()
	return nil
}

// applyMigration applies m unless schema_migrations lists it. The
// transaction first takes the advisory lock migrateLockKey, held until it
// ends, so replicas that Open the same database at once apply each version
// one after the other, and the later ones find it applied.
func (s *pgStore) applyMigration(ctx context.Context, m migration) (bool, error) {
	applied := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    bigint      NOT NULL PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL
		)`); err != nil {
			return err
		}
		var done bool
		if err := tx.QueryRow(ctx,
			`SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.version).Scan(&done); err != nil {
			return err
		}
		if done {
			return nil
		}
		// No arguments: pgx sends it with the simple protocol, which
		// allows several statements.
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx,
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.version, m.name, now()); err != nil {
			return err
		}
		applied = true
		return nil
	})
	return applied, err
}

// inTx runs fn in a transaction and commits it when fn returns nil;
// otherwise it rolls back and nothing fn did is kept.
func (s *pgStore) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		// After Commit this is a no-op. Otherwise roll back even when ctx
		// is done, but do not wait long on a broken connection.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = tx.Rollback(rctx)
	}()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// pgIsForeignKey reports whether err is a foreign key violation: a row that
// names a project that does not exist.
func pgIsForeignKey(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

// projectExists reports whether the project exists; List methods call it
// only when they found nothing, to tell "none" from "no such project".
func (s *pgStore) projectExists(ctx context.Context, slug string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM projects WHERE slug = $1)`, slug).Scan(&ok)
	return ok, err
}

const pgProjectCols = `slug, name, created_at, updated_at, head`

func scanPGProject(r pgx.Row) (*Project, error) {
	var p Project
	if err := r.Scan(&p.Slug, &p.Name, &p.CreatedAt, &p.UpdatedAt, &p.Head); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return &p, nil
}

// CreateProject adds a project with head 0. The name defaults to the slug.
// A slug that is taken fails with ErrExists.
func (s *pgStore) CreateProject(ctx context.Context, slug, name string) (_ *Project, err error) {
	defer annotate(&err, "create project %s", slug)
	if slug == "" {
		return nil, errEmptySlug
	}
	if name == "" {
		name = slug
	}
	t := now()
	tag, err := s.pool.Exec(ctx,
		`INSERT INTO projects (slug, name, created_at, updated_at, head) VALUES ($1, $2, $3, $3, 0)
		 ON CONFLICT (slug) DO NOTHING`, slug, name, t)
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() == 0 {
		return nil, ErrExists
	}
	return &Project{Slug: slug, Name: name, CreatedAt: t, UpdatedAt: t}, nil
}

// ListProjects returns every project, by slug.
func (s *pgStore) ListProjects(ctx context.Context) (_ []Project, err error) {
	defer annotate(&err, "list projects")
	rows, err := s.pool.Query(ctx, `SELECT `+pgProjectCols+` FROM projects ORDER BY slug`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Project{}
	for rows.Next() {
		p, err := scanPGProject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// GetProject returns one project, or ErrNotFound.
func (s *pgStore) GetProject(ctx context.Context, slug string) (_ *Project, err error) {
	defer annotate(&err, "get project %s", slug)
	p, err := scanPGProject(s.pool.QueryRow(ctx,
		`SELECT `+pgProjectCols+` FROM projects WHERE slug = $1`, slug))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoProject
	}
	return p, err
}

// RenameProject sets the display name and updated_at; ErrNotFound if the
// project does not exist. The name defaults to the slug.
func (s *pgStore) RenameProject(ctx context.Context, slug, name string) (_ *Project, err error) {
	defer annotate(&err, "rename project %s", slug)
	if name == "" {
		name = slug
	}
	p, err := scanPGProject(s.pool.QueryRow(ctx,
		`UPDATE projects SET name = $1, updated_at = $2 WHERE slug = $3 RETURNING `+pgProjectCols,
		name, now(), slug))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoProject
	}
	return p, err
}

// SaveRevision appends revision head+1 and moves the head to it, in one
// transaction that reads the head with SELECT ... FOR UPDATE: the row lock
// is held until the commit, so a concurrent save waits and then reads the
// new head. Unless r.Force, r.Base must equal the head, or the save fails
// with ErrConflict and writes nothing. ErrNotFound if the project does not
// exist.
func (s *pgStore) SaveRevision(ctx context.Context, slug string, r NewRevision) (_ *Revision, err error) {
	defer annotate(&err, "save revision of %s", slug)
	var rev *Revision
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var head int64
		err := tx.QueryRow(ctx, `SELECT head FROM projects WHERE slug = $1 FOR UPDATE`, slug).Scan(&head)
		if errors.Is(err, pgx.ErrNoRows) {
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
		if _, err := tx.Exec(ctx,
			`INSERT INTO revisions (project, number, yaml, author, message, created_at, digest)
			 VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			rev.Project, rev.Number, rev.YAML, rev.Author, rev.Message, t, rev.Digest); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE projects SET head = $1, updated_at = $2 WHERE slug = $3`,
			rev.Number, t, slug)
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
func (s *pgStore) GetRevision(ctx context.Context, slug string, n int64) (_ *Revision, err error) {
	defer annotateRevision(&err, slug, n)
	var row pgx.Row
	if n == 0 {
		row = s.pool.QueryRow(ctx,
			`SELECT r.project, r.number, r.yaml, r.author, r.message, r.created_at, r.digest
			 FROM projects p JOIN revisions r ON r.project = p.slug AND r.number = p.head
			 WHERE p.slug = $1`, slug)
	} else {
		row = s.pool.QueryRow(ctx,
			`SELECT project, number, yaml, author, message, created_at, digest
			 FROM revisions WHERE project = $1 AND number = $2`, slug, n)
	}
	var r Revision
	err = row.Scan(&r.Project, &r.Number, &r.YAML, &r.Author, &r.Message, &r.CreatedAt, &r.Digest)
	if errors.Is(err, pgx.ErrNoRows) {
		if err := requireProject(ctx, slug, s.projectExists); err != nil {
			return nil, err
		}
		return nil, errNoRevision
	}
	if err != nil {
		return nil, err
	}
	r.CreatedAt = r.CreatedAt.UTC()
	return &r, nil
}

// ListRevisions returns revisions newest first without their YAML: at most
// limit (DefaultLimit when <= 0, at most MaxLimit), only numbers below
// before when before > 0. ErrNotFound if the project does not exist.
func (s *pgStore) ListRevisions(ctx context.Context, slug string, limit int, before int64) (_ []Revision, err error) {
	defer annotate(&err, "list revisions of %s", slug)
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := s.pool.Query(ctx,
		`SELECT project, number, author, message, created_at, digest
		 FROM revisions WHERE project = $1 AND number < $2
		 ORDER BY number DESC LIMIT $3`, slug, before, clampLimit(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Revision{}
	for rows.Next() {
		var r Revision
		if err := rows.Scan(&r.Project, &r.Number, &r.Author, &r.Message, &r.CreatedAt, &r.Digest); err != nil {
			return nil, err
		}
		r.CreatedAt = r.CreatedAt.UTC()
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
func (s *pgStore) CreateDeployment(ctx context.Context, d Deployment) (_ *Deployment, err error) {
	defer annotate(&err, "create deployment of %s", d.Project)
	if d.Status == "" {
		d.Status = StatusRunning
	}
	t := now()
	d.CreatedAt, d.UpdatedAt = t, t
	err = s.pool.QueryRow(ctx,
		`INSERT INTO deployments (project, revision, action, author, status, summary, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id`,
		d.Project, d.Revision, d.Action, d.Author, d.Status, d.Summary, t).Scan(&d.ID)
	if pgIsForeignKey(err) {
		return nil, errNoProject
	}
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// FinishDeployment sets the status, summary and updated_at of deployment
// id; ErrNotFound if there is no such deployment.
func (s *pgStore) FinishDeployment(ctx context.Context, id int64, status, summary string) (err error) {
	defer annotate(&err, "finish deployment %d", id)
	t := now()
	// A live project's deployment, or else one whose project was deleted
	// while it ran. A row moves only while its project is locked for
	// deletion, so one of the two updates finds it.
	for _, table := range []string{"deployments", "deleted_deployments"} {
		tag, err := s.pool.Exec(ctx,
			`UPDATE `+table+` SET status = $1, summary = $2, updated_at = $3 WHERE id = $4`,
			status, summary, t, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() > 0 {
			return nil
		}
	}
	return errNoDeployment
}

const pgDeploymentCols = `id, project, revision, action, author, status, summary, created_at, updated_at`

func scanPGDeployment(r pgx.Row) (*Deployment, error) {
	var d Deployment
	if err := r.Scan(&d.ID, &d.Project, &d.Revision, &d.Action, &d.Author, &d.Status, &d.Summary,
		&d.CreatedAt, &d.UpdatedAt); err != nil {
		return nil, err
	}
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return &d, nil
}

// GetDeployment returns deployment id of a live project, or ErrNotFound.
func (s *pgStore) GetDeployment(ctx context.Context, id int64) (_ *Deployment, err error) {
	defer annotate(&err, "get deployment %d", id)
	d, err := scanPGDeployment(s.pool.QueryRow(ctx,
		`SELECT `+pgDeploymentCols+` FROM deployments WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoDeployment
	}
	return d, err
}

// collectPGDeployments scans and closes rows of pgDeploymentCols.
func collectPGDeployments(rows pgx.Rows) ([]Deployment, error) {
	defer rows.Close()
	out := []Deployment{}
	for rows.Next() {
		d, err := scanPGDeployment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

// ListDeployments returns the project's deployments newest first, at most
// limit (DefaultLimit when <= 0, at most MaxLimit); an empty slug lists
// those of every project. ErrNotFound if a named project does not exist.
func (s *pgStore) ListDeployments(ctx context.Context, slug string, limit int) (_ []Deployment, err error) {
	defer annotate(&err, "list deployments of %s", orAll(slug))
	var rows pgx.Rows
	if slug == "" {
		rows, err = s.pool.Query(ctx,
			`SELECT `+pgDeploymentCols+` FROM deployments ORDER BY id DESC LIMIT $1`, clampLimit(limit))
	} else {
		rows, err = s.pool.Query(ctx,
			`SELECT `+pgDeploymentCols+` FROM deployments WHERE project = $1 ORDER BY id DESC LIMIT $2`, slug, clampLimit(limit))
	}
	if err != nil {
		return nil, err
	}
	out, err := collectPGDeployments(rows)
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

// AppendAudit records e with a new ID and the current time (e.ID and
// e.CreatedAt are ignored). An event with an empty Project belongs to no
// project; one that names a project that does not exist fails with
// ErrNotFound.
func (s *pgStore) AppendAudit(ctx context.Context, e AuditEvent) (err error) {
	defer annotate(&err, "append audit event %s", e.Action)
	_, err = s.pool.Exec(ctx,
		`INSERT INTO audit (project, actor, action, detail, created_at) VALUES ($1, $2, $3, $4, $5)`,
		nullIfEmpty(e.Project), e.Actor, e.Action, e.Detail, now())
	if pgIsForeignKey(err) {
		return errNoProject
	}
	return err
}

// ListAudit returns audit events newest first, at most limit (DefaultLimit
// when <= 0, at most MaxLimit): those recorded under slug, by the live
// project and by deleted ones, or with an empty slug every event,
// including those of no project. ErrNotFound if no project, live or
// deleted, has had the slug.
func (s *pgStore) ListAudit(ctx context.Context, slug string, limit int) (_ []AuditEvent, err error) {
	defer annotate(&err, "list audit events of %s", orAll(slug))
	var rows pgx.Rows
	if slug == "" {
		rows, err = s.pool.Query(ctx, `SELECT * FROM (
			SELECT id, coalesce(project, ''), actor, action, detail, created_at, 0::bigint FROM audit
			UNION ALL
			SELECT id, project, actor, action, detail, created_at, deleted_project FROM deleted_audit
		) AS a ORDER BY 1 DESC LIMIT $1`, clampLimit(limit))
	} else {
		rows, err = s.pool.Query(ctx, `SELECT * FROM (
			SELECT id, project, actor, action, detail, created_at, 0::bigint FROM audit WHERE project = $1
			UNION ALL
			SELECT id, project, actor, action, detail, created_at, deleted_project FROM deleted_audit WHERE project = $1
		) AS a ORDER BY 1 DESC LIMIT $2`, slug, clampLimit(limit))
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []AuditEvent{}
	for rows.Next() {
		var e AuditEvent
		var created time.Time
		if err := rows.Scan(&e.ID, &e.Project, &e.Actor, &e.Action, &e.Detail, &created, &e.DeletedProject); err != nil {
			return nil, err
		}
		e.CreatedAt = created.UTC()
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
func (s *pgStore) slugKnown(ctx context.Context, slug string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM projects WHERE slug = $1) OR EXISTS (SELECT 1 FROM deleted_projects WHERE slug = $1)`,
		slug).Scan(&ok)
	return ok, err
}
