package store

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"time"
)

// Deleted projects in SQLite: see DeleteProject and the 0003 migration.

const sqliteDeletedCols = `id, slug, name, created_at, updated_at, head, deleted_at, deleted_by`

func scanSQLiteDeleted(r rowScanner) (*DeletedProject, error) {
	var p DeletedProject
	var created, updated, deleted string
	if err := r.Scan(&p.ID, &p.Slug, &p.Name, &created, &updated, &p.Head, &deleted, &p.DeletedBy); err != nil {
		return nil, err
	}
	var err error
	if p.CreatedAt, err = parseSQLiteTime(created); err != nil {
		return nil, err
	}
	if p.UpdatedAt, err = parseSQLiteTime(updated); err != nil {
		return nil, err
	}
	if p.DeletedAt, err = parseSQLiteTime(deleted); err != nil {
		return nil, err
	}
	return &p, nil
}

// DeleteProject records the deletion in the project's audit trail, copies
// the project and its history to the deleted_* tables, and deletes the
// live rows (ON DELETE CASCADE), in one BEGIN IMMEDIATE transaction.
// ErrNotFound if the project does not exist.
func (s *sqliteStore) DeleteProject(ctx context.Context, slug, actor string) (_ *DeletedProject, err error) {
	defer annotate(&err, "delete project %s", slug)
	var dp *DeletedProject
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		p, err := scanSQLiteProject(tx.QueryRowContext(ctx,
			`SELECT `+sqliteProjectCols+` FROM projects WHERE slug = ?`, slug))
		if errors.Is(err, sql.ErrNoRows) {
			return errNoProject
		}
		if err != nil {
			return err
		}
		t := now()
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO audit (project, actor, action, detail, created_at) VALUES (?, ?, ?, ?, ?)`,
			slug, actor, AuditProjectDelete, p.Name, formatSQLiteTime(t)); err != nil {
			return err
		}
		dp = &DeletedProject{Slug: p.Slug, Name: p.Name, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
			Head: p.Head, DeletedAt: t, DeletedBy: actor}
		if err := tx.QueryRowContext(ctx,
			`INSERT INTO deleted_projects (slug, name, created_at, updated_at, head, deleted_at, deleted_by)
			 SELECT slug, name, created_at, updated_at, head, ?, ? FROM projects WHERE slug = ?
			 RETURNING id`, formatSQLiteTime(t), actor, slug).Scan(&dp.ID); err != nil {
			return err
		}
		for _, q := range []string{
			`INSERT INTO deleted_revisions (deleted_project, project, number, yaml, author, message, created_at, digest)
			 SELECT ?1, project, number, yaml, author, message, created_at, digest FROM revisions WHERE project = ?2`,
			`INSERT INTO deleted_deployments (id, deleted_project, project, revision, action, author, status, summary, created_at, updated_at)
			 SELECT id, ?1, project, revision, action, author, status, summary, created_at, updated_at FROM deployments WHERE project = ?2`,
			`INSERT INTO deleted_audit (id, deleted_project, project, actor, action, detail, created_at)
			 SELECT id, ?1, project, actor, action, detail, created_at FROM audit WHERE project = ?2`,
			`DELETE FROM projects WHERE slug = ?2`,
		} {
			if _, err := tx.ExecContext(ctx, q, dp.ID, slug); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return dp, nil
}

// ListDeletedProjects returns deleted projects, the last deleted first:
// those that had slug, or all with an empty slug.
func (s *sqliteStore) ListDeletedProjects(ctx context.Context, slug string, limit int) (_ []DeletedProject, err error) {
	defer annotate(&err, "list deleted projects of %s", orAll(slug))
	var rows *sql.Rows
	if slug == "" {
		rows, err = s.db.QueryContext(ctx,
			`SELECT `+sqliteDeletedCols+` FROM deleted_projects ORDER BY id DESC LIMIT ?`, clampLimit(limit))
	} else {
		rows, err = s.db.QueryContext(ctx,
			`SELECT `+sqliteDeletedCols+` FROM deleted_projects WHERE slug = ? ORDER BY id DESC LIMIT ?`, slug, clampLimit(limit))
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []DeletedProject{}
	for rows.Next() {
		p, err := scanSQLiteDeleted(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// GetDeletedProject returns deleted project id, or ErrNotFound.
func (s *sqliteStore) GetDeletedProject(ctx context.Context, id int64) (_ *DeletedProject, err error) {
	defer annotate(&err, "get deleted project %d", id)
	p, err := scanSQLiteDeleted(s.db.QueryRowContext(ctx,
		`SELECT `+sqliteDeletedCols+` FROM deleted_projects WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoDeleted
	}
	return p, err
}

// deletedExists reports whether deleted project id exists.
func (s *sqliteStore) deletedExists(ctx context.Context, id int64) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM deleted_projects WHERE id = ?`, id).Scan(&n)
	return n > 0, err
}

// requireDeleted returns ErrNotFound when there is no deleted project id.
func (s *sqliteStore) requireDeleted(ctx context.Context, id int64) error {
	ok, err := s.deletedExists(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return errNoDeleted
	}
	return nil
}

// GetDeletedRevision returns revision n (0: the head) of deleted project
// id; ErrNotFound if either does not exist.
func (s *sqliteStore) GetDeletedRevision(ctx context.Context, id, n int64) (_ *Revision, err error) {
	defer annotateDeletedRevision(&err, id, n)
	var row *sql.Row
	if n == 0 {
		row = s.db.QueryRowContext(ctx,
			`SELECT r.project, r.number, r.yaml, r.author, r.message, r.created_at, r.digest
			 FROM deleted_projects p JOIN deleted_revisions r ON r.deleted_project = p.id AND r.number = p.head
			 WHERE p.id = ?`, id)
	} else {
		row = s.db.QueryRowContext(ctx,
			`SELECT project, number, yaml, author, message, created_at, digest
			 FROM deleted_revisions WHERE deleted_project = ? AND number = ?`, id, n)
	}
	var r Revision
	var created string
	err = row.Scan(&r.Project, &r.Number, &r.YAML, &r.Author, &r.Message, &created, &r.Digest)
	if errors.Is(err, sql.ErrNoRows) {
		if err := s.requireDeleted(ctx, id); err != nil {
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

// ListDeletedRevisions is ListRevisions for deleted project id.
func (s *sqliteStore) ListDeletedRevisions(ctx context.Context, id int64, limit int, before int64) (_ []Revision, err error) {
	defer annotate(&err, "list revisions of deleted project %d", id)
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT project, number, author, message, created_at, digest
		 FROM deleted_revisions WHERE deleted_project = ? AND number < ?
		 ORDER BY number DESC LIMIT ?`, id, before, clampLimit(limit))
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
		if err := s.requireDeleted(ctx, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ListDeletedDeployments returns the deployments of deleted project id,
// newest first.
func (s *sqliteStore) ListDeletedDeployments(ctx context.Context, id int64, limit int) (_ []Deployment, err error) {
	defer annotate(&err, "list deployments of deleted project %d", id)
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+sqliteDeploymentCols+` FROM deleted_deployments WHERE deleted_project = ? ORDER BY id DESC LIMIT ?`,
		id, clampLimit(limit))
	if err != nil {
		return nil, err
	}
	out, err := collectSQLiteDeployments(rows)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		if err := s.requireDeleted(ctx, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PurgeDeleted removes the projects deleted before cutoff with their
// history (ON DELETE CASCADE) and records an AuditProjectPurge event for
// each, in one transaction.
func (s *sqliteStore) PurgeDeleted(ctx context.Context, cutoff time.Time) (n int, err error) {
	defer annotate(&err, "purge projects deleted before %s", cutoff.UTC().Format(time.RFC3339))
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		rows, err := tx.QueryContext(ctx,
			`DELETE FROM deleted_projects WHERE deleted_at < ? RETURNING id, slug, deleted_at`,
			formatSQLiteTime(cutoff))
		if err != nil {
			return err
		}
		type purged struct {
			id   int64
			slug string
			at   time.Time
		}
		var gone []purged
		for rows.Next() {
			var p purged
			var at string
			if err := rows.Scan(&p.id, &p.slug, &at); err != nil {
				rows.Close()
				return err
			}
			if p.at, err = parseSQLiteTime(at); err != nil {
				rows.Close()
				return err
			}
			gone = append(gone, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		t := formatSQLiteTime(now())
		for _, p := range gone {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO audit (project, actor, action, detail, created_at) VALUES (NULL, ?, ?, ?, ?)`,
				purgeActor, AuditProjectPurge, purgeDetail(p.id, p.slug, p.at), t); err != nil {
				return err
			}
		}
		n = len(gone)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
