package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Deleted projects: see DeleteProject and the 0003 migration.

const deletedCols = `id, slug, name, created_at, updated_at, head, deleted_at, deleted_by`

func scanDeleted(r rowScanner) (*DeletedProject, error) {
	var p DeletedProject
	if err := r.Scan(&p.ID, &p.Slug, &p.Name, sqlTime{&p.CreatedAt}, sqlTime{&p.UpdatedAt}, &p.Head,
		sqlTime{&p.DeletedAt}, &p.DeletedBy); err != nil {
		return nil, err
	}
	return &p, nil
}

// DeleteProject holds the project row for itself (as SaveRevision does;
// new deployments and audit entries wait on it through their foreign
// keys), records the deletion in the project's audit trail, copies the
// project to deleted_projects, moves its history there (the dialect's
// moveHistory), and deletes it, in one transaction. Its members and
// project tokens are not kept: the deletion of the project row removes
// them (ON DELETE CASCADE, migration 0004). ErrNotFound if the project
// does not exist.
func (s *sqlStore) DeleteProject(ctx context.Context, slug, actor string) (_ *DeletedProject, err error) {
	defer annotate(&err, "delete project %s", slug)
	var dp *DeletedProject
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		p, err := scanProject(tx.QueryRowContext(ctx,
			`SELECT `+projectCols+` FROM projects WHERE slug = $1 `+s.d.lockRow, slug))
		if errors.Is(err, sql.ErrNoRows) {
			return errNoProject
		}
		if err != nil {
			return err
		}
		t := now()
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO audit (project, actor, action, detail, created_at) VALUES ($1, $2, $3, $4, $5)`,
			slug, actor, AuditProjectDelete, p.Name, s.d.timeArg(t)); err != nil {
			return err
		}
		dp = &DeletedProject{Slug: p.Slug, Name: p.Name, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
			Head: p.Head, DeletedAt: t, DeletedBy: actor}
		if err := tx.QueryRowContext(ctx,
			`INSERT INTO deleted_projects (slug, name, created_at, updated_at, head, deleted_at, deleted_by)
			 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			p.Slug, p.Name, s.d.timeArg(p.CreatedAt), s.d.timeArg(p.UpdatedAt), p.Head, s.d.timeArg(t), actor).Scan(&dp.ID); err != nil {
			return err
		}
		for _, q := range s.d.moveHistory {
			if _, err := tx.ExecContext(ctx, q, dp.ID, slug); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM projects WHERE slug = $1`, slug)
		return err
	})
	if err != nil {
		return nil, err
	}
	return dp, nil
}

// ListDeletedProjects returns deleted projects, the last deleted first:
// those that had slug, or all with an empty slug.
func (s *sqlStore) ListDeletedProjects(ctx context.Context, slug string, limit int) (_ []DeletedProject, err error) {
	defer annotate(&err, "list deleted projects of %s", orAll(slug))
	var rows *sql.Rows
	if slug == "" {
		rows, err = s.db.QueryContext(ctx,
			`SELECT `+deletedCols+` FROM deleted_projects ORDER BY id DESC LIMIT $1`, clampLimit(limit))
	} else {
		rows, err = s.db.QueryContext(ctx,
			`SELECT `+deletedCols+` FROM deleted_projects WHERE slug = $1 ORDER BY id DESC LIMIT $2`, slug, clampLimit(limit))
	}
	if err != nil {
		return nil, err
	}
	return collect(rows, scanDeleted)
}

// GetDeletedProject returns deleted project id, or ErrNotFound.
func (s *sqlStore) GetDeletedProject(ctx context.Context, id int64) (_ *DeletedProject, err error) {
	defer annotate(&err, "get deleted project %d", id)
	p, err := scanDeleted(s.db.QueryRowContext(ctx,
		`SELECT `+deletedCols+` FROM deleted_projects WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoDeleted
	}
	return p, err
}

// requireDeleted returns ErrNotFound when there is no deleted project id.
func (s *sqlStore) requireDeleted(ctx context.Context, id int64) error {
	var ok bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM deleted_projects WHERE id = $1)`, id).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return errNoDeleted
	}
	return nil
}

// GetDeletedRevision returns revision n (0: the head) of deleted project
// id; ErrNotFound if either does not exist.
func (s *sqlStore) GetDeletedRevision(ctx context.Context, id, n int64) (_ *Revision, err error) {
	defer annotateDeletedRevision(&err, id, n)
	return s.getRevision(ctx, s.deletedHistory(id), n)
}

// ListDeletedRevisions is ListRevisions for deleted project id.
func (s *sqlStore) ListDeletedRevisions(ctx context.Context, id int64, limit int, before int64) (_ []Revision, err error) {
	defer annotate(&err, "list revisions of deleted project %d", id)
	return s.listRevisions(ctx, s.deletedHistory(id), limit, before)
}

// deletedHistory is the revision archive of deleted project id.
func (s *sqlStore) deletedHistory(id int64) revisionHistory {
	return revisionHistory{projects: "deleted_projects", projectKey: "id", revisions: "deleted_revisions", key: "deleted_project", arg: id,
		exists: func(ctx context.Context) error { return s.requireDeleted(ctx, id) }}
}

// ListDeletedDeployments returns the deployments of deleted project id,
// newest first.
func (s *sqlStore) ListDeletedDeployments(ctx context.Context, id int64, limit int) (_ []Deployment, err error) {
	defer annotate(&err, "list deployments of deleted project %d", id)
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+deploymentCols+` FROM deleted_deployments WHERE deleted_project = $1 ORDER BY id DESC LIMIT $2`,
		id, clampLimit(limit))
	if err != nil {
		return nil, err
	}
	out, err := collect(rows, scanDeployment)
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
// each, in one transaction. In PostgreSQL a replica purging at the same
// time waits on the row locks of the DELETE and then skips the rows
// already gone, so each purge is recorded once; SQLite's writers never
// overlap.
func (s *sqlStore) PurgeDeleted(ctx context.Context, cutoff time.Time) (n int, err error) {
	defer annotate(&err, "purge projects deleted before %s", cutoff.UTC().Format(time.RFC3339))
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		rows, err := tx.QueryContext(ctx,
			`DELETE FROM deleted_projects WHERE deleted_at < $1 RETURNING id, slug, deleted_at`,
			s.d.timeArg(cutoff.UTC().Truncate(time.Microsecond)))
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
			if err := rows.Scan(&p.id, &p.slug, sqlTime{&p.at}); err != nil {
				rows.Close()
				return err
			}
			gone = append(gone, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		t := s.d.timeArg(now())
		for _, p := range gone {
			if _, err := tx.ExecContext(ctx,
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
