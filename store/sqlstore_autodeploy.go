package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

func (s *sqlStore) SetHookSecret(ctx context.Context, slug string, sealed []byte) (err error) {
	defer annotate(&err, "set the webhook secret of %s", slug)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO hook_secrets (project, sealed, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (project) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at`,
			slug, sealed, s.d.timeArg(now()))
		if s.d.isForeignKey(err) {
			return errNoProject
		}
		return err
	})
}

func (s *sqlStore) HookSecret(ctx context.Context, slug string) (_ []byte, err error) {
	defer annotate(&err, "read the webhook secret of %s", slug)
	var sealed []byte
	err = s.db.QueryRowContext(ctx, `SELECT sealed FROM hook_secrets WHERE project = $1`, slug).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return sealed, err
}

func (s *sqlStore) RecordDelivery(ctx context.Context, slug, delivery string, keep time.Duration) (err error) {
	defer annotate(&err, "record webhook delivery %q of %s", delivery, slug)
	t := now()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM hook_deliveries WHERE received_at < $1`, s.d.timeArg(t.Add(-keep))); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO hook_deliveries (project, delivery, received_at) VALUES ($1, $2, $3)
			ON CONFLICT (project, delivery) DO NOTHING`, slug, delivery, s.d.timeArg(t))
		if s.d.isForeignKey(err) {
			return errNoProject
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrExists
		}
		return nil
	})
}

func (s *sqlStore) ForgetDelivery(ctx context.Context, slug, delivery string) (err error) {
	defer annotate(&err, "forget webhook delivery %q of %s", delivery, slug)
	_, err = s.db.ExecContext(ctx, `DELETE FROM hook_deliveries WHERE project = $1 AND delivery = $2`, slug, delivery)
	return err
}

func (s *sqlStore) SetElementCommit(ctx context.Context, slug string, c ElementCommit) (err error) {
	defer annotate(&err, "record the commit of %s in %s", c.Element, slug)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO element_commits (project, element, sha, author, message, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (project, element) DO UPDATE SET sha = excluded.sha, author = excluded.author,
				message = excluded.message, updated_at = excluded.updated_at`,
			slug, c.Element, c.SHA, c.Author, c.Message, s.d.timeArg(now()))
		if s.d.isForeignKey(err) {
			return errNoProject
		}
		return err
	})
}

func (s *sqlStore) ElementCommits(ctx context.Context, slug string) (_ []ElementCommit, err error) {
	defer annotate(&err, "list the element commits of %s", slug)
	rows, err := s.db.QueryContext(ctx, `SELECT element, sha, author, message, updated_at FROM element_commits
		WHERE project = $1 ORDER BY element`, slug)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (*ElementCommit, error) {
		var c ElementCommit
		if err := r.Scan(&c.Element, &c.SHA, &c.Author, &c.Message, sqlTime{&c.UpdatedAt}); err != nil {
			return nil, err
		}
		return &c, nil
	})
}

func (s *sqlStore) Enqueue(ctx context.Context, q QueuedDeploy) (err error) {
	defer annotate(&err, "queue a deploy of %s in %s", q.Element, q.Project)
	// A poll never replaces a queued deploy: it may have read the branch
	// before a push whose webhook queued a newer commit. It asks again on
	// its next round if the branch still differs.
	conflict := `DO UPDATE SET sha = excluded.sha, trigger = excluded.trigger,
				actor = excluded.actor, author = excluded.author, message = excluded.message,
				requested_at = excluded.requested_at`
	if q.Trigger == TriggerPoll {
		conflict = `DO NOTHING`
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO deploy_queue (project, element, sha, trigger, actor, author, message, requested_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (project, element) `+conflict,
			q.Project, q.Element, q.SHA, q.Trigger, q.Actor, q.Author, q.Message, s.d.timeArg(now()))
		if s.d.isForeignKey(err) {
			return errNoProject
		}
		return err
	})
}

const queueCols = `project, element, sha, trigger, actor, author, message, requested_at, claimed_by`

func scanQueued(r rowScanner) (*QueuedDeploy, error) {
	var q QueuedDeploy
	if err := r.Scan(&q.Project, &q.Element, &q.SHA, &q.Trigger, &q.Actor, &q.Author, &q.Message,
		sqlTime{&q.RequestedAt}, &q.ClaimedBy); err != nil {
		return nil, err
	}
	return &q, nil
}

func (s *sqlStore) Claim(ctx context.Context, owner string, settled time.Time, lease time.Duration) (_ *QueuedDeploy, err error) {
	defer annotate(&err, "claim a queued deploy")
	t := now()
	// A read first: an idle queue costs no write transaction (SQLite's
	// writer lock), which workers would otherwise take twice a second.
	var one int
	err = s.db.QueryRowContext(ctx, `SELECT 1 FROM deploy_queue
		WHERE requested_at <= $1 AND (claimed_until IS NULL OR claimed_until < $2) LIMIT 1`,
		s.d.timeArg(settled.UTC().Truncate(time.Microsecond)), s.d.timeArg(t)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var got *QueuedDeploy
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		// PostgreSQL: SKIP LOCKED lets replicas claim side by side, each
		// a different row; SQLite's writer lock already serialises them.
		q, err := scanQueued(tx.QueryRowContext(ctx, `SELECT `+queueCols+` FROM deploy_queue
			WHERE requested_at <= $1 AND (claimed_until IS NULL OR claimed_until < $2)
			ORDER BY requested_at LIMIT 1 `+s.d.skipLocked, s.d.timeArg(settled.UTC().Truncate(time.Microsecond)), s.d.timeArg(t)))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deploy_queue SET claimed_by = $1, claimed_until = $2 WHERE project = $3 AND element = $4`,
			owner, s.d.timeArg(t.Add(lease)), q.Project, q.Element); err != nil {
			return err
		}
		q.ClaimedBy = owner
		got = q
		return nil
	})
	return got, err
}

func (s *sqlStore) RenewClaim(ctx context.Context, q QueuedDeploy, lease time.Duration) (err error) {
	defer annotate(&err, "renew the claim on the queued deploy of %s in %s", q.Element, q.Project)
	res, err := s.db.ExecContext(ctx, `UPDATE deploy_queue SET claimed_until = $1 WHERE project = $2 AND element = $3 AND claimed_by = $4`,
		s.d.timeArg(now().Add(lease)), q.Project, q.Element, q.ClaimedBy)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *sqlStore) FinishQueued(ctx context.Context, q QueuedDeploy) (err error) {
	defer annotate(&err, "finish the queued deploy of %s in %s", q.Element, q.Project)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM deploy_queue WHERE project = $1 AND element = $2 AND requested_at = $3 AND sha = $4`,
			q.Project, q.Element, s.d.timeArg(q.RequestedAt), q.SHA)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		// A newer commit was asked for while this one deployed.
		_, err = tx.ExecContext(ctx, `UPDATE deploy_queue SET claimed_by = '', claimed_until = NULL
			WHERE project = $1 AND element = $2 AND claimed_by = $3`, q.Project, q.Element, q.ClaimedBy)
		return err
	})
}

func (s *sqlStore) ListQueued(ctx context.Context, slug string) (_ []QueuedDeploy, err error) {
	defer annotate(&err, "list the queued deploys of %s", slug)
	rows, err := s.db.QueryContext(ctx, `SELECT `+queueCols+` FROM deploy_queue WHERE project = $1 ORDER BY requested_at`, slug)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanQueued)
}
