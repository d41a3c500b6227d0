package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Users, sessions, sign-in links, API tokens and project members: Auth,
// over the tables of migration 0004.
//
// Secrets arrive hashed (see Auth) and are only ever compared in SQL
// (WHERE hash = $1); no error built here quotes a hash, a password hash or
// the value a driver was given, and a unique violation is turned into
// ErrExists by ON CONFLICT DO NOTHING rather than by reading the driver's
// message, which may quote the key.

// Errors with a subject; each wraps a sentinel where callers branch.
var (
	errNoUser        = fmt.Errorf("user %w", ErrNotFound)
	errNoSession     = fmt.Errorf("session %w", ErrNotFound)
	errNoLink        = fmt.Errorf("sign-in link %w", ErrNotFound)
	errNoToken       = fmt.Errorf("token %w", ErrNotFound)
	errNoMember      = fmt.Errorf("member %w", ErrNotFound)
	errNoProjectUser = fmt.Errorf("project or user %w", ErrNotFound)

	errUserExists    = fmt.Errorf("user name %w", ErrExists)
	errSessionExists = fmt.Errorf("session %w", ErrExists)
	errLinkExists    = fmt.Errorf("sign-in link %w", ErrExists)
	errTokenExists   = fmt.Errorf("a token with that name or value %w", ErrExists)

	errSessionGone = fmt.Errorf("session has expired: %w", ErrGone)
	errLinkGone    = fmt.Errorf("sign-in link: %w", ErrGone)
	errTokenGone   = fmt.Errorf("token has expired: %w", ErrGone)
	errTokenRevokd = fmt.Errorf("token was revoked: %w", ErrGone)

	errEmptyUserName = errors.New("empty user name")
	errUpperUserName = errors.New("user name must be lowercase")
	errEmptyHash     = errors.New("empty hash")
	errEmptyToken    = errors.New("empty token name")
	errNoExpiry      = errors.New("no expiry time")
	errUserDisabled  = errors.New("user is disabled")
)

// expiredGrace is how long an expired session or a used or expired sign-in
// link is kept before the next CreateSession or CreateLink of its user
// removes it: meanwhile it answers ErrGone rather than ErrNotFound.
const expiredGrace = 24 * time.Hour

// touchEvery is how often TouchToken records a token's use at most.
const touchEvery = time.Minute

func badRole(r Role) error { return fmt.Errorf("unknown role %q", string(r)) }

// sqlNullTime scans a nullable stored time into a *time.Time (nil for
// NULL), in UTC.
type sqlNullTime struct{ t **time.Time }

func (s sqlNullTime) Scan(src any) error {
	if src == nil {
		*s.t = nil
		return nil
	}
	var t time.Time
	if err := (sqlTime{&t}).Scan(src); err != nil {
		return err
	}
	*s.t = &t
	return nil
}

// nullTimeArg is timeArg for an optional time: NULL for nil. The time is
// truncated to the microsecond and made UTC first.
func (s *sqlStore) nullTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.d.timeArg(storeTime(*t))
}

// storeTime is a caller's time as the store keeps it: UTC, truncated to
// the microsecond.
func storeTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// optTime is storeTime for an optional time.
func optTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := storeTime(*t)
	return &v
}

// rowsAffected returns how many rows res changed.
func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// userExists reports whether user id exists, within tx.
func userExists(ctx context.Context, tx *sql.Tx, id int64) (bool, error) {
	var ok bool
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)`, id).Scan(&ok)
	return ok, err
}

// txProjectExists reports whether project slug exists, within tx.
func txProjectExists(ctx context.Context, tx *sql.Tx, slug string) (bool, error) {
	var ok bool
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM projects WHERE slug = $1)`, slug).Scan(&ok)
	return ok, err
}

// --- users ---

const userCols = `id, name, display_name, server_admin, password_hash <> '', disabled, created_at`

func scanUser(r rowScanner) (*User, error) {
	var u User
	if err := r.Scan(&u.ID, &u.Name, &u.DisplayName, &u.ServerAdmin, &u.HasPassword, &u.Disabled, sqlTime{&u.CreatedAt}); err != nil {
		return nil, err
	}
	return &u, nil
}

// CountUsers returns the number of users.
func (s *sqlStore) CountUsers(ctx context.Context) (n int, err error) {
	defer annotate(&err, "count users")
	err = s.db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// CreateUser adds a user. The name must be non-empty and lowercase (so
// that names are unique whatever case they are typed in: UserByName
// lowercases); an empty DisplayName defaults to the name. ErrExists if the
// name is taken.
func (s *sqlStore) CreateUser(ctx context.Context, nu NewUser) (_ *User, err error) {
	defer annotate(&err, "create user %s", nu.Name)
	switch {
	case nu.Name == "":
		return nil, errEmptyUserName
	case nu.Name != strings.ToLower(nu.Name):
		return nil, errUpperUserName
	}
	if nu.DisplayName == "" {
		nu.DisplayName = nu.Name
	}
	u := &User{Name: nu.Name, DisplayName: nu.DisplayName, ServerAdmin: nu.ServerAdmin,
		HasPassword: nu.PasswordHash != "", CreatedAt: now()}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx,
			`INSERT INTO users (name, display_name, server_admin, password_hash, disabled, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id`,
			u.Name, u.DisplayName, u.ServerAdmin, nu.PasswordHash, false, s.d.timeArg(u.CreatedAt)).Scan(&u.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return errUserExists
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// GetUser returns user id, or ErrNotFound.
func (s *sqlStore) GetUser(ctx context.Context, id int64) (_ *User, err error) {
	defer annotate(&err, "get user %d", id)
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoUser
	}
	return u, err
}

// UserByName returns the user with sign-in name name (compared
// lowercased) and their password hash, "" when none is set; ErrNotFound.
func (s *sqlStore) UserByName(ctx context.Context, name string) (_ *User, _ string, err error) {
	defer annotate(&err, "get user %s", name)
	var u User
	var hash string
	err = s.db.QueryRowContext(ctx,
		`SELECT id, name, display_name, server_admin, password_hash, disabled, created_at FROM users WHERE name = $1`,
		strings.ToLower(name)).Scan(&u.ID, &u.Name, &u.DisplayName, &u.ServerAdmin, &hash, &u.Disabled, sqlTime{&u.CreatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", errNoUser
	}
	if err != nil {
		return nil, "", err
	}
	u.HasPassword = hash != ""
	return &u, hash, nil
}

// ListUsers returns every user, by name.
func (s *sqlStore) ListUsers(ctx context.Context) (_ []User, err error) {
	defer annotate(&err, "list users")
	rows, err := s.db.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanUser)
}

// updateUser runs set (an UPDATE of users with $1 the user's ID, and args
// after it) and, when endSessions, deletes the user's sessions, in one
// transaction; ErrNotFound if there is no such user.
func (s *sqlStore) updateUser(ctx context.Context, id int64, endSessions bool, set string, args ...any) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.ExecContext(ctx, set, append([]any{id}, args...)...))
		if err != nil {
			return err
		}
		if n == 0 {
			return errNoUser
		}
		if endSessions {
			_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, id)
		}
		return err
	})
}

// SetPassword replaces the user's password hash and ends their sessions.
func (s *sqlStore) SetPassword(ctx context.Context, userID int64, hash string) (err error) {
	defer annotate(&err, "set password of user %d", userID)
	return s.updateUser(ctx, userID, true, `UPDATE users SET password_hash = $2 WHERE id = $1`, hash)
}

// SetServerAdmin grants or withdraws the server admin right.
func (s *sqlStore) SetServerAdmin(ctx context.Context, userID int64, admin bool) (err error) {
	defer annotate(&err, "set server admin of user %d", userID)
	return s.updateUser(ctx, userID, false, `UPDATE users SET server_admin = $2 WHERE id = $1`, admin)
}

// SetDisabled disables a user, ending their sessions, or enables them.
func (s *sqlStore) SetDisabled(ctx context.Context, userID int64, disabled bool) (err error) {
	if disabled {
		defer annotate(&err, "disable user %d", userID)
	} else {
		defer annotate(&err, "enable user %d", userID)
	}
	return s.updateUser(ctx, userID, disabled, `UPDATE users SET disabled = $2 WHERE id = $1`, disabled)
}

// --- sessions ---

// CreateSession stores a session of an enabled user, with CreatedAt now,
// and removes that user's sessions that expired more than expiredGrace
// ago. ErrNotFound if there is no such user, ErrExists if the ID hash is
// taken; a disabled user gets an error (checked in the same transaction,
// so a session never outlives a concurrent SetDisabled).
func (s *sqlStore) CreateSession(ctx context.Context, ss Session) (err error) {
	defer annotate(&err, "create session for user %d", ss.UserID)
	if ss.IDHash == "" || ss.CSRFHash == "" {
		return errEmptyHash
	}
	if ss.ExpiresAt.IsZero() {
		return errNoExpiry
	}
	t := now()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var disabled bool
		err := tx.QueryRowContext(ctx, `SELECT disabled FROM users WHERE id = $1 `+s.d.lockRow, ss.UserID).Scan(&disabled)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoUser
		}
		if err != nil {
			return err
		}
		if disabled {
			return errUserDisabled
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND expires_at < $2`,
			ss.UserID, s.d.timeArg(t.Add(-expiredGrace))); err != nil {
			return err
		}
		n, err := rowsAffected(tx.ExecContext(ctx,
			`INSERT INTO sessions (id_hash, user_id, csrf_hash, created_at, expires_at)
			 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
			ss.IDHash, ss.UserID, ss.CSRFHash, s.d.timeArg(t), s.d.timeArg(storeTime(ss.ExpiresAt))))
		if err != nil {
			return err
		}
		if n == 0 {
			return errSessionExists
		}
		return nil
	})
}

// GetSession returns the session with ID hash idHash; ErrNotFound when
// there is none, ErrGone when it has expired (it is deleted then).
func (s *sqlStore) GetSession(ctx context.Context, idHash string) (_ *Session, err error) {
	defer annotate(&err, "get session")
	var ss Session
	err = s.db.QueryRowContext(ctx,
		`SELECT id_hash, user_id, csrf_hash, created_at, expires_at FROM sessions WHERE id_hash = $1`, idHash).
		Scan(&ss.IDHash, &ss.UserID, &ss.CSRFHash, sqlTime{&ss.CreatedAt}, sqlTime{&ss.ExpiresAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	if t := now(); !t.Before(ss.ExpiresAt) {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1 AND expires_at <= $2`, idHash, s.d.timeArg(t))
			return err
		})
		if err != nil {
			return nil, err
		}
		return nil, errSessionGone
	}
	return &ss, nil
}

// DeleteSession deletes the session with ID hash idHash, if there is one.
func (s *sqlStore) DeleteSession(ctx context.Context, idHash string) (err error) {
	defer annotate(&err, "delete session")
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash)
		return err
	})
}

// --- one-time sign-in links ---

// CreateLink stores a sign-in link for user userID, valid until expires,
// and removes that user's links that expired more than expiredGrace ago.
// ErrNotFound if there is no such user, ErrExists if the hash is taken.
func (s *sqlStore) CreateLink(ctx context.Context, hash string, userID int64, expires time.Time) (err error) {
	defer annotate(&err, "create sign-in link for user %d", userID)
	if hash == "" {
		return errEmptyHash
	}
	if expires.IsZero() {
		return errNoExpiry
	}
	t := now()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if ok, err := userExists(ctx, tx, userID); err != nil {
			return err
		} else if !ok {
			return errNoUser
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sign_in_links WHERE user_id = $1 AND expires_at < $2`,
			userID, s.d.timeArg(t.Add(-expiredGrace))); err != nil {
			return err
		}
		n, err := rowsAffected(tx.ExecContext(ctx,
			`INSERT INTO sign_in_links (hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)
			 ON CONFLICT DO NOTHING`,
			hash, userID, s.d.timeArg(t), s.d.timeArg(storeTime(expires))))
		if err != nil {
			return err
		}
		if n == 0 {
			return errLinkExists
		}
		return nil
	})
}

// UseLink marks the link used and returns its user, in one conditional
// UPDATE: of concurrent uses exactly one finds it unused (PostgreSQL
// re-checks the condition on the row the winner committed; SQLite's
// writers never overlap). ErrNotFound for an unknown link, ErrGone for a
// used or expired one.
func (s *sqlStore) UseLink(ctx context.Context, hash string) (userID int64, err error) {
	defer annotate(&err, "use sign-in link")
	t := now()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx,
			`UPDATE sign_in_links SET used_at = $1 WHERE hash = $2 AND used_at IS NULL AND expires_at > $1
			 RETURNING user_id`, s.d.timeArg(t), hash).Scan(&userID)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var known bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sign_in_links WHERE hash = $1)`, hash).Scan(&known); err != nil {
			return err
		}
		if known {
			return errLinkGone
		}
		return errNoLink
	})
	if err != nil {
		return 0, err
	}
	return userID, nil
}

// --- API tokens ---

const tokenCols = `id, user_id, name, prefix, coalesce(project, ''), role, created_at, expires_at, last_used_at, revoked_at`

func scanToken(r rowScanner) (*Token, error) {
	var t Token
	if err := r.Scan(&t.ID, &t.UserID, &t.Name, &t.Prefix, &t.Project, &t.Role, sqlTime{&t.CreatedAt},
		sqlNullTime{&t.ExpiresAt}, sqlNullTime{&t.LastUsedAt}, sqlNullTime{&t.RevokedAt}); err != nil {
		return nil, err
	}
	return &t, nil
}

// checkNewToken validates t before it is inserted.
func checkNewToken(t NewToken) error {
	switch {
	case t.Hash == "":
		return errEmptyHash
	case t.Name == "":
		return errEmptyToken
	case !t.Role.Valid():
		return badRole(t.Role)
	}
	return nil
}

// insertToken inserts t unless its hash, or its name among the user's
// tokens that are not revoked, is taken; it reports whether it did. The
// user and the project (if any) must exist: ErrNotFound.
func (s *sqlStore) insertToken(ctx context.Context, tx *sql.Tx, t NewToken, created time.Time) (*Token, error) {
	if ok, err := userExists(ctx, tx, t.UserID); err != nil {
		return nil, err
	} else if !ok {
		return nil, errNoUser
	}
	if t.Project != "" {
		if ok, err := txProjectExists(ctx, tx, t.Project); err != nil {
			return nil, err
		} else if !ok {
			return nil, errNoProject
		}
	}
	tok := &Token{UserID: t.UserID, Name: t.Name, Prefix: t.Prefix, Project: t.Project, Role: t.Role,
		CreatedAt: created, ExpiresAt: optTime(t.ExpiresAt)}
	err := tx.QueryRowContext(ctx,
		`INSERT INTO tokens (user_id, name, hash, prefix, project, role, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id`,
		t.UserID, t.Name, t.Hash, t.Prefix, nullIfEmpty(t.Project), string(t.Role), s.d.timeArg(created),
		s.nullTimeArg(t.ExpiresAt)).Scan(&tok.ID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case s.d.isForeignKey(err):
		// The user or project went away since the check above.
		return nil, errNoProjectUser
	case err != nil:
		return nil, err
	}
	return tok, nil
}

// CreateToken stores a token. ErrExists when its hash, or its name among
// the user's tokens that are not revoked, is taken; ErrNotFound when the
// user or the project does not exist.
func (s *sqlStore) CreateToken(ctx context.Context, t NewToken) (_ *Token, err error) {
	defer annotate(&err, "create token for user %d", t.UserID)
	if err := checkNewToken(t); err != nil {
		return nil, err
	}
	var tok *Token
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		tok, err = s.insertToken(ctx, tx, t, now())
		if err == nil && tok == nil {
			err = errTokenExists
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return tok, nil
}

// EnsureToken stores t unless a token with its hash exists, and returns
// the token with that hash: the one stored, or the one found as it is
// (revoked or expired included: EnsureToken never revives a token; check
// RevokedAt and ExpiresAt, or call TokenByHash). Concurrent calls with the
// same token store it once. ErrExists when the hash is new but the user
// already has a token of that name that is not revoked; ErrNotFound when
// the user or project does not exist.
func (s *sqlStore) EnsureToken(ctx context.Context, t NewToken) (_ *Token, err error) {
	defer annotate(&err, "ensure token %s for user %d", t.Name, t.UserID)
	if err := checkNewToken(t); err != nil {
		return nil, err
	}
	var tok *Token
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		tok, err = s.insertToken(ctx, tx, t, now())
		if err != nil || tok != nil {
			return err
		}
		// A conflict: read the token with this hash (at READ COMMITTED
		// this statement sees the one a concurrent call committed).
		tok, err = scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = $1`, t.Hash))
		if errors.Is(err, sql.ErrNoRows) {
			return errTokenExists // the name, not the hash, is taken
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return tok, nil
}

// TokenByHash returns the token with that hash: ErrNotFound when there is
// none, ErrGone (with the token) when it was revoked or has expired.
func (s *sqlStore) TokenByHash(ctx context.Context, hash string) (_ *Token, err error) {
	defer annotate(&err, "look up token")
	tok, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = $1`, hash))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, errNoToken
	case err != nil:
		return nil, err
	case tok.RevokedAt != nil:
		return tok, errTokenRevokd
	case tok.ExpiresAt != nil && !now().Before(*tok.ExpiresAt):
		return tok, errTokenGone
	}
	return tok, nil
}

// ListTokens returns the user's tokens, revoked ones included, newest
// first; empty for an unknown user.
func (s *sqlStore) ListTokens(ctx context.Context, userID int64) (_ []Token, err error) {
	defer annotate(&err, "list tokens of user %d", userID)
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE user_id = $1 ORDER BY id DESC`, userID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanToken)
}

// RevokeToken revokes the user's token tokenID; revoking it again changes
// nothing and is no error. ErrNotFound when the user has no such token.
func (s *sqlStore) RevokeToken(ctx context.Context, userID, tokenID int64) (err error) {
	defer annotate(&err, "revoke token %d of user %d", tokenID, userID)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var revoked bool
		err := tx.QueryRowContext(ctx,
			`SELECT revoked_at IS NOT NULL FROM tokens WHERE id = $1 AND user_id = $2 `+s.d.lockRow,
			tokenID, userID).Scan(&revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoToken
		}
		if err != nil || revoked {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = $1 WHERE id = $2`, s.d.timeArg(now()), tokenID)
		return err
	})
}

// TouchToken sets the token's last use to at (now when zero), unless the
// recorded one is less than a minute older: callers may call it on every
// request, though skipping the call while LastUsedAt is recent saves a
// write transaction. A token that is gone (its project was deleted
// meanwhile) is no error.
func (s *sqlStore) TouchToken(ctx context.Context, tokenID int64, at time.Time) (err error) {
	defer annotate(&err, "touch token %d", tokenID)
	if at.IsZero() {
		at = now()
	}
	at = storeTime(at)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`UPDATE tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)`,
			s.d.timeArg(at), tokenID, s.d.timeArg(at.Add(-touchEvery)))
		return err
	})
}

// --- project members ---

const memberCols = `m.project, m.user_id, u.name, m.role, m.added_at`

func scanMember(r rowScanner) (*Member, error) {
	var m Member
	if err := r.Scan(&m.Project, &m.UserID, &m.UserName, &m.Role, sqlTime{&m.AddedAt}); err != nil {
		return nil, err
	}
	return &m, nil
}

// SetMember adds the user to the project with role, or changes their role
// (AddedAt stays when they were already a member). ErrNotFound when the
// project or the user does not exist.
func (s *sqlStore) SetMember(ctx context.Context, project string, userID int64, role Role) (_ *Member, err error) {
	defer annotate(&err, "set role of user %d in %s", userID, project)
	if !role.Valid() {
		return nil, badRole(role)
	}
	m := &Member{Project: project, UserID: userID, Role: role}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if ok, err := txProjectExists(ctx, tx, project); err != nil {
			return err
		} else if !ok {
			return errNoProject
		}
		err := tx.QueryRowContext(ctx, `SELECT name FROM users WHERE id = $1`, userID).Scan(&m.UserName)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoUser
		}
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx,
			`INSERT INTO project_members (project, user_id, role, added_at) VALUES ($1, $2, $3, $4)
			 ON CONFLICT (project, user_id) DO UPDATE SET role = excluded.role
			 RETURNING added_at`,
			project, userID, string(role), s.d.timeArg(now())).Scan(sqlTime{&m.AddedAt})
		if s.d.isForeignKey(err) {
			return errNoProjectUser
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// RemoveMember removes the user from the project; ErrNotFound when they
// were not a member.
func (s *sqlStore) RemoveMember(ctx context.Context, project string, userID int64) (err error) {
	defer annotate(&err, "remove user %d from %s", userID, project)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.ExecContext(ctx,
			`DELETE FROM project_members WHERE project = $1 AND user_id = $2`, project, userID))
		if err != nil {
			return err
		}
		if n == 0 {
			return errNoMember
		}
		return nil
	})
}

// ListMembers returns the project's members by user name; ErrNotFound when
// there is no such project.
func (s *sqlStore) ListMembers(ctx context.Context, project string) (_ []Member, err error) {
	defer annotate(&err, "list members of %s", project)
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+memberCols+` FROM project_members m JOIN users u ON u.id = m.user_id
		 WHERE m.project = $1 ORDER BY u.name`, project)
	if err != nil {
		return nil, err
	}
	out, err := collect(rows, scanMember)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		if err := requireProject(ctx, project, s.projectExists); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// MemberRole returns the user's role in the project; ErrNotFound when they
// are not a member or there is no such project. It does not know about
// server admins: the caller gives them RoleAdmin everywhere.
func (s *sqlStore) MemberRole(ctx context.Context, project string, userID int64) (_ Role, err error) {
	defer annotate(&err, "get role of user %d in %s", userID, project)
	var role Role
	err = s.db.QueryRowContext(ctx,
		`SELECT role FROM project_members WHERE project = $1 AND user_id = $2`, project, userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errNoMember
	}
	if err != nil {
		return "", err
	}
	return role, nil
}

// UserProjects returns the user's memberships by project slug; empty for
// an unknown user.
func (s *sqlStore) UserProjects(ctx context.Context, userID int64) (_ []Member, err error) {
	defer annotate(&err, "list projects of user %d", userID)
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+memberCols+` FROM project_members m JOIN users u ON u.id = m.user_id
		 WHERE m.user_id = $1 ORDER BY m.project`, userID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanMember)
}
