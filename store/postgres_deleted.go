package store

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// Deleted projects in PostgreSQL: see DeleteProject and the 0003 migration.

const pgDeletedCols = `id, slug, name, created_at, updated_at, head, deleted_at, deleted_by`

func scanPGDeleted(r pgx.Row) (*DeletedProject, error) {
	var p DeletedProject
	if err := r.Scan(&p.ID, &p.Slug, &p.Name, &p.CreatedAt, &p.UpdatedAt, &p.Head, &p.DeletedAt, &p.DeletedBy); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt, p.DeletedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC(), p.DeletedAt.UTC()
	return &p, nil
}

// DeleteProject locks the project row (as SaveRevision does, and as the
// foreign key checks of new deployments and audit entries wait for),
// records the deletion in the project's audit trail, moves its history to
// the deleted_* tables with DELETE ... RETURNING (which waits for, and
// then carries, a concurrent FinishDeployment), and deletes the project,
// in one transaction. ErrNotFound if the project does not exist.
func (s *pgStore) DeleteProject(ctx context.Context, slug, actor string) (_ *DeletedProject, err error) {
	defer annotate(&err, "delete project %s", slug)
	var dp *DeletedProject
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		p, err := scanPGProject(tx.QueryRow(ctx,
			`SELECT `+pgProjectCols+` FROM projects WHERE slug = $1 FOR UPDATE`, slug))
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoProject
		}
		if err != nil {
			return err
		}
		t := now()
		if _, err := tx.Exec(ctx,
			`INSERT INTO audit (project, actor, action, detail, created_at) VALUES ($1, $2, $3, $4, $5)`,
			slug, actor, AuditProjectDelete, p.Name, t); err != nil {
			return err
		}
		dp = &DeletedProject{Slug: p.Slug, Name: p.Name, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
			Head: p.Head, DeletedAt: t, DeletedBy: actor}
		if err := tx.QueryRow(ctx,
			`INSERT INTO deleted_projects (slug, name, created_at, updated_at, head, deleted_at, deleted_by)
			 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			p.Slug, p.Name, p.CreatedAt, p.UpdatedAt, p.Head, t, actor).Scan(&dp.ID); err != nil {
			return err
		}
		for _, q := range []string{
			`WITH moved AS (DELETE FROM revisions WHERE project = $2
			   RETURNING project, number, yaml, author, message, created_at, digest)
			 INSERT INTO deleted_revisions (deleted_project, project, number, yaml, author, message, created_at, digest)
			 SELECT $1, project, number, yaml, author, message, created_at, digest FROM moved`,
			`WITH moved AS (DELETE FROM deployments WHERE project = $2
			   RETURNING id, project, revision, action, author, status, summary, created_at, updated_at)
			 INSERT INTO deleted_deployments (id, deleted_project, project, revision, action, author, status, summary, created_at, updated_at)
			 SELECT id, $1, project, revision, action, author, status, summary, created_at, updated_at FROM moved`,
			`WITH moved AS (DELETE FROM audit WHERE project = $2
			   RETURNING id, project, actor, action, detail, created_at)
			 INSERT INTO deleted_audit (id, deleted_project, project, actor, action, detail, created_at)
			 SELECT id, $1, project, actor, action, detail, created_at FROM moved`,
		} {
			if _, err := tx.Exec(ctx, q, dp.ID, slug); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `DELETE FROM projects WHERE slug = $1`, slug)
		return err
	})
	if err != nil {
		return nil, err
	}
	return dp, nil
}

// ListDeletedProjects returns deleted projects, the last deleted first:
// those that had slug, or all with an empty slug.
func (s *pgStore) ListDeletedProjects(ctx context.Context, slug string, limit int) (_ []DeletedProject, err error) {
	defer annotate(&err, "list deleted projects of %s", orAll(slug))
	var rows pgx.Rows
	if slug == "" {
		rows, err = s.pool.Query(ctx,
			`SELECT `+pgDeletedCols+` FROM deleted_projects ORDER BY id DESC LIMIT $1`, clampLimit(limit))
	} else {
		rows, err = s.pool.Query(ctx,
			`SELECT `+pgDeletedCols+` FROM deleted_projects WHERE slug = $1 ORDER BY id DESC LIMIT $2`, slug, clampLimit(limit))
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []DeletedProject{}
	for rows.Next() {
		p, err := scanPGDeleted(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// GetDeletedProject returns deleted project id, or ErrNotFound.
func (s *pgStore) GetDeletedProject(ctx context.Context, id int64) (_ *DeletedProject, err error) {
	defer annotate(&err, "get deleted project %d", id)
	p, err := scanPGDeleted(s.pool.QueryRow(ctx,
		`SELECT `+pgDeletedCols+` FROM deleted_projects WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoDeleted
	}
	return p, err
}

// requireDeleted returns ErrNotFound when there is no deleted project id.
func (s *pgStore) requireDeleted(ctx context.Context, id int64) error {
	var ok bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM deleted_projects WHERE id = $1)`, id).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return errNoDeleted
	}
	return nil
}

// GetDeletedRevision returns revision n (0: the head) of deleted project
// id; ErrNotFound if either does not exist.
func (s *pgStore) GetDeletedRevision(ctx context.Context, id, n int64) (_ *Revision, err error) {
	defer annotateDeletedRevision(&err, id, n)
	var row pgx.Row
	if n == 0 {
		row = s.pool.QueryRow(ctx,
			`SELECT r.project, r.number, r.yaml, r.author, r.message, r.created_at, r.digest
			 FROM deleted_projects p JOIN deleted_revisions r ON r.deleted_project = p.id AND r.number = p.head
			 WHERE p.id = $1`, id)
	} else {
		row = s.pool.QueryRow(ctx,
			`SELECT project, number, yaml, author, message, created_at, digest
			 FROM deleted_revisions WHERE deleted_project = $1 AND number = $2`, id, n)
	}
	var r Revision
	err = row.Scan(&r.Project, &r.Number, &r.YAML, &r.Author, &r.Message, &r.CreatedAt, &r.Digest)
	if errors.Is(err, pgx.ErrNoRows) {
		if err := s.requireDeleted(ctx, id); err != nil {
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

// ListDeletedRevisions is ListRevisions for deleted project id.
func (s *pgStore) ListDeletedRevisions(ctx context.Context, id int64, limit int, before int64) (_ []Revision, err error) {
	defer annotate(&err, "list revisions of deleted project %d", id)
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := s.pool.Query(ctx,
		`SELECT project, number, author, message, created_at, digest
		 FROM deleted_revisions WHERE deleted_project = $1 AND number < $2
		 ORDER BY number DESC LIMIT $3`, id, before, clampLimit(limit))
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
		if err := s.requireDeleted(ctx, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ListDeletedDeployments returns the deployments of deleted project id,
// newest first.
func (s *pgStore) ListDeletedDeployments(ctx context.Context, id int64, limit int) (_ []Deployment, err error) {
	defer annotate(&err, "list deployments of deleted project %d", id)
	rows, err := s.pool.Query(ctx,
		`SELECT `+pgDeploymentCols+` FROM deleted_deployments WHERE deleted_project = $1 ORDER BY id DESC LIMIT $2`,
		id, clampLimit(limit))
	if err != nil {
		return nil, err
	}
	out, err := collectPGDeployments(rows)
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
// each, in one transaction. A replica purging at the same time waits on
// the row locks of the DELETE and then skips the rows already gone, so
// each purge is recorded once.
func (s *pgStore) PurgeDeleted(ctx context.Context, cutoff time.Time) (n int, err error) {
	defer annotate(&err, "purge projects deleted before %s", cutoff.UTC().Format(time.RFC3339))
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		n = 0
		rows, err := tx.Query(ctx,
			`DELETE FROM deleted_projects WHERE deleted_at < $1 RETURNING id, slug, deleted_at`, cutoff)
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
			if err := rows.Scan(&p.id, &p.slug, &p.at); err != nil {
				rows.Close()
				return err
			}
			gone = append(gone, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		t := now()
		for _, p := range gone {
			if _, err := tx.Exec(ctx,
				`INSERT INTO audit (project, actor, action, detail, created_at) VALUES (NULL, $1, $2, $3, $4)`,
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
