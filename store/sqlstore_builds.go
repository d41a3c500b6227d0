package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Builds and upload tokens: see Builds and the 0006 migration.

var (
	errNoBuild           = fmt.Errorf("build %w", ErrNotFound)
	errNoUploadToken     = fmt.Errorf("upload token %w", ErrNotFound)
	errUploadTokenExists = fmt.Errorf("upload token %w", ErrExists)
)

const buildCols = `id, project, element, sha, region, job_id, status, trigger, actor, started_at, finished_at,
	digest, size, log_tail, error, pruned`

func scanBuild(r rowScanner) (*Build, error) {
	var b Build
	var finished *time.Time
	if err := r.Scan(&b.ID, &b.Project, &b.Element, &b.SHA, &b.Region, &b.JobID, &b.Status, &b.Trigger, &b.Actor,
		sqlTime{&b.StartedAt}, sqlNullTime{&finished}, &b.Digest, &b.Size, &b.LogTail, &b.Error, &b.Pruned); err != nil {
		return nil, err
	}
	if finished != nil {
		b.FinishedAt = *finished
	}
	return &b, nil
}

// CreateBuild records a build with StartedAt now; the Status defaults to
// BuildRunning, and ID, FinishedAt, the result fields and Pruned are
// ignored.
func (s *sqlStore) CreateBuild(ctx context.Context, b Build) (_ *Build, err error) {
	defer annotate(&err, "create build of %s in %s", b.Element, b.Project)
	if b.Status == "" {
		b.Status = BuildRunning
	}
	if !validBuildStatus(b.Status) {
		return nil, fmt.Errorf("unknown build status %q", b.Status)
	}
	out := Build{Project: b.Project, Element: b.Element, SHA: b.SHA, Region: b.Region, JobID: b.JobID,
		Status: b.Status, Trigger: b.Trigger, Actor: b.Actor, StartedAt: now()}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx,
			`INSERT INTO builds (project, element, sha, region, job_id, status, trigger, actor, started_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			out.Project, out.Element, out.SHA, out.Region, out.JobID, out.Status, out.Trigger, out.Actor,
			s.d.timeArg(out.StartedAt)).Scan(&out.ID)
		if s.d.isForeignKey(err) {
			return errNoProject
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// validBuildStatus reports a status the builds table accepts.
func validBuildStatus(status string) bool {
	switch status {
	case BuildRunning, BuildSucceeded, BuildFailed:
		return true
	}
	return false
}

// FinishBuild records how build id of slug ended, with FinishedAt now.
func (s *sqlStore) FinishBuild(ctx context.Context, slug string, id int64, f BuildResult) (_ *Build, err error) {
	defer annotate(&err, "finish build %d of %s", id, slug)
	if f.Status != BuildSucceeded && f.Status != BuildFailed {
		return nil, fmt.Errorf("a build ends %s or %s, not %q", BuildSucceeded, BuildFailed, f.Status)
	}
	var b *Build
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		b, err = scanBuild(tx.QueryRowContext(ctx,
			`UPDATE builds SET status = $1, digest = $2, size = $3, log_tail = $4, error = $5, finished_at = $6
			 WHERE project = $7 AND id = $8 RETURNING `+buildCols,
			f.Status, f.Digest, f.Size, f.LogTail, f.Error, s.d.timeArg(now()), slug, id))
		if errors.Is(err, sql.ErrNoRows) {
			return errNoBuild
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// GetBuild returns build id of slug.
func (s *sqlStore) GetBuild(ctx context.Context, slug string, id int64) (_ *Build, err error) {
	defer annotate(&err, "get build %d of %s", id, slug)
	b, err := scanBuild(s.db.QueryRowContext(ctx,
		`SELECT `+buildCols+` FROM builds WHERE project = $1 AND id = $2`, slug, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoBuild
	}
	return b, err
}

// ReusableBuild returns the newest succeeded, unpruned build of element
// at sha.
func (s *sqlStore) ReusableBuild(ctx context.Context, slug, element, sha string) (_ *Build, err error) {
	defer annotate(&err, "find a build of %s at %s in %s", element, sha, slug)
	b, err := scanBuild(s.db.QueryRowContext(ctx,
		`SELECT `+buildCols+` FROM builds
		 WHERE project = $1 AND element = $2 AND sha = $3 AND status = $4 AND NOT pruned
		 ORDER BY id DESC LIMIT 1`, slug, element, sha, BuildSucceeded))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoBuild
	}
	return b, err
}

// ListBuilds returns the builds of slug (of one element when element is
// not empty), newest first. ErrNotFound if there is no such project.
func (s *sqlStore) ListBuilds(ctx context.Context, slug, element string, limit int) (_ []Build, err error) {
	if element == "" {
		defer annotate(&err, "list builds of %s", slug)
	} else {
		defer annotate(&err, "list builds of %s in %s", element, slug)
	}
	var rows *sql.Rows
	if element == "" {
		rows, err = s.db.QueryContext(ctx,
			`SELECT `+buildCols+` FROM builds WHERE project = $1 ORDER BY id DESC LIMIT $2`, slug, clampLimit(limit))
	} else {
		rows, err = s.db.QueryContext(ctx,
			`SELECT `+buildCols+` FROM builds WHERE project = $1 AND element = $2 ORDER BY id DESC LIMIT $3`,
			slug, element, clampLimit(limit))
	}
	if err != nil {
		return nil, err
	}
	out, err := collect(rows, scanBuild)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		if err := requireProject(ctx, slug, s.projectExists); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PruneBuild marks build id of slug pruned.
func (s *sqlStore) PruneBuild(ctx context.Context, slug string, id int64) (err error) {
	defer annotate(&err, "prune build %d of %s", id, slug)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE builds SET pruned = TRUE WHERE project = $1 AND id = $2`, slug, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errNoBuild
		}
		return nil
	})
}

// keyProject is the project of an artifact key: its first segment.
func keyProject(key string) string {
	p, _, _ := strings.Cut(key, "/")
	return p
}

// CreateUploadToken stores a token by its hash, for the project that is
// the key's first segment, and in the same transaction removes the
// tokens that have expired.
func (s *sqlStore) CreateUploadToken(ctx context.Context, hash []byte, key string, expires time.Time) (err error) {
	defer annotate(&err, "create an upload token for %s", key)
	if len(hash) == 0 {
		return errors.New("empty token hash")
	}
	t := now()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM upload_tokens WHERE expires_at <= $1`, s.d.timeArg(t)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx,
			`INSERT INTO upload_tokens (hash, project, object_key, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
			 ON CONFLICT (hash) DO NOTHING`,
			hash, keyProject(key), key, s.d.timeArg(t), s.d.timeArg(storeTime(expires)))
		if s.d.isForeignKey(err) {
			return errNoProject
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errUploadTokenExists
		}
		return nil
	})
}

// UseUploadToken spends a token in one conditional UPDATE: it matches
// only an unused, unexpired token for key, so of concurrent uses exactly
// one changes the row (PostgreSQL re-checks the condition on the row the
// winner committed; SQLite's writers never overlap). Every other case
// answers ErrNotFound, without saying which (the caller holds a
// credential, and learns nothing more from a wrong one).
func (s *sqlStore) UseUploadToken(ctx context.Context, hash []byte, key string) (err error) {
	defer annotate(&err, "use an upload token for %s", key)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		t := s.d.timeArg(now())
		res, err := tx.ExecContext(ctx,
			`UPDATE upload_tokens SET used_at = $1
			 WHERE hash = $2 AND object_key = $3 AND used_at IS NULL AND expires_at > $1`, t, hash, key)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return errNoUploadToken
		}
		return nil
	})
}
