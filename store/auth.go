package store

import (
	"context"
	"errors"
	"time"
)

// ErrGone: a one-time sign-in link was already used or has expired, or a
// token or session has expired or was revoked.
var ErrGone = errors.New("expired or already used")

// Role is what a user (or a token) may do in a project. Roles are ordered:
// each one may do everything the ones before it may.
type Role string

const (
	// RoleViewer reads the schema, status, history, logs, metrics and
	// alerts.
	RoleViewer Role = "viewer"
	// RoleEditor also saves the schema.
	RoleEditor Role = "editor"
	// RoleDeployer also plans, deploys, rolls back and sets secrets.
	RoleDeployer Role = "deployer"
	// RoleAdmin also manages members, deletes the project and destroys
	// its jobs.
	RoleAdmin Role = "admin"
)

// Roles lists the roles from the least to the most privileged.
var Roles = []Role{RoleViewer, RoleEditor, RoleDeployer, RoleAdmin}

// rank is a role's place in Roles, -1 for an unknown role.
func (r Role) rank() int {
	for i, x := range Roles {
		if x == r {
			return i
		}
	}
	return -1
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return r.rank() >= 0 }

// AtLeast reports whether r may do what o may. An unknown role may do
// nothing, and nothing is at least an unknown role.
func (r Role) AtLeast(o Role) bool { return r.rank() >= 0 && o.rank() >= 0 && r.rank() >= o.rank() }

// Lower is the less privileged of r and o. When either is unknown (the
// empty role included) the result is that unknown role, which may do
// nothing: an unknown role never lets the other one through.
func (r Role) Lower(o Role) Role {
	switch {
	case !r.Valid():
		return r
	case !o.Valid():
		return o
	case r.rank() <= o.rank():
		return r
	default:
		return o
	}
}

// User is a person who signs in. Name is the sign-in name: lowercase,
// unique, never reused while the user exists. A server admin may create
// projects and users and has the admin role in every project.
type User struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name"`
	ServerAdmin bool      `json:"server_admin"`
	HasPassword bool      `json:"has_password"`
	Disabled    bool      `json:"disabled"`
	CreatedAt   time.Time `json:"created_at"`
}

// NewUser creates a user. PasswordHash is an encoded argon2id hash, or
// empty for a user who sets a password through a one-time link.
type NewUser struct {
	Name         string
	DisplayName  string
	ServerAdmin  bool
	PasswordHash string
}

// Session is a signed-in browser. Only the hash of its cookie's ID is
// stored, and only the hash of its CSRF token.
type Session struct {
	IDHash    string
	UserID    int64
	CSRFHash  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Token is a personal API token, sent as `Authorization: Bearer <token>`.
// Only its hash is stored; Prefix (the first characters, e.g. "bpt_3f9a1c")
// identifies it in lists. Project is empty for a token valid in all of its
// user's projects. A token's effective role in a project is the lower of
// Role and its user's role there.
type Token struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Project    string     `json:"project,omitempty"`
	Role       Role       `json:"role"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// NewToken creates a token. Hash is the hex SHA-256 of the whole token
// (tokens are 32 random bytes, so a fast hash is the right one).
type NewToken struct {
	UserID    int64
	Name      string
	Hash      string
	Prefix    string
	Project   string
	Role      Role
	ExpiresAt *time.Time
}

// Member is a user's role in a project.
type Member struct {
	Project  string    `json:"project"`
	UserID   int64     `json:"user_id"`
	UserName string    `json:"user_name"`
	Role     Role      `json:"role"`
	AddedAt  time.Time `json:"added_at"`
}

// Auth keeps users, sessions, API tokens, one-time sign-in links and
// project members. Both stores implement it and pass storetest's auth
// cases. Secrets (passwords, tokens, session IDs, links) are stored as
// hashes only; callers hash before calling.
type Auth interface {
	// CountUsers is the number of users; 0 means the first start.
	CountUsers(ctx context.Context) (int, error)
	// CreateUser adds a user; ErrExists if the name is taken. The name
	// must be non-empty and lowercase; an empty DisplayName defaults to
	// it.
	CreateUser(ctx context.Context, u NewUser) (*User, error)
	// GetUser returns a user by ID; ErrNotFound.
	GetUser(ctx context.Context, id int64) (*User, error)
	// UserByName returns a user and their password hash ("" when none is
	// set) by sign-in name, which it lowercases; ErrNotFound.
	UserByName(ctx context.Context, name string) (*User, string, error)
	// ListUsers returns every user, ordered by name.
	ListUsers(ctx context.Context) ([]User, error)
	// SetPassword replaces a user's password hash and ends all of the
	// user's sessions, in one transaction; ErrNotFound.
	SetPassword(ctx context.Context, userID int64, hash string) error
	// SetServerAdmin and SetDisabled change a user; ErrNotFound. Disabling
	// ends the user's sessions.
	SetServerAdmin(ctx context.Context, userID int64, admin bool) error
	SetDisabled(ctx context.Context, userID int64, disabled bool) error

	// CreateSession stores a session (CreatedAt is set by the store).
	// ErrNotFound for an unknown user, ErrExists for a taken ID hash; a
	// disabled user gets an error (checked in the same transaction, so a
	// session never outlives a concurrent SetDisabled).
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns a live session by ID hash; ErrNotFound when there
	// is none, ErrGone when it has expired (and deletes it).
	GetSession(ctx context.Context, idHash string) (*Session, error)
	// DeleteSession ends a session; no error when there is none.
	DeleteSession(ctx context.Context, idHash string) error

	// CreateLink stores a one-time sign-in link for a user, valid until
	// expires; UseLink consumes it atomically and returns its user:
	// ErrNotFound for an unknown link, ErrGone for a used or expired one.
	// Of two concurrent uses exactly one succeeds. CreateLink: ErrNotFound
	// for an unknown user, ErrExists for a taken hash.
	CreateLink(ctx context.Context, hash string, userID int64, expires time.Time) error
	UseLink(ctx context.Context, hash string) (int64, error)

	// CreateToken stores a token; ErrExists when the hash is taken (by any
	// token, revoked ones included) or the user's token name is taken (by
	// a token not revoked); ErrNotFound when the user or project does not
	// exist. A project token is deleted with its project.
	CreateToken(ctx context.Context, t NewToken) (*Token, error)
	// EnsureToken stores t unless a token with its hash exists, and
	// returns the token with that hash; used for the bootstrap admin
	// token, so every start (and every replica, concurrently) may call it.
	// An existing token is returned as it is: a revoked or expired one
	// stays so (check RevokedAt/ExpiresAt, or TokenByHash). ErrExists when
	// the hash is new but the user's token name is taken.
	EnsureToken(ctx context.Context, t NewToken) (*Token, error)
	// TokenByHash returns a token by hash: ErrNotFound when unknown,
	// ErrGone when revoked or expired (the token is returned too).
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	// ListTokens returns a user's tokens, revoked ones included, newest
	// first.
	ListTokens(ctx context.Context, userID int64) ([]Token, error)
	// RevokeToken revokes one of a user's tokens; ErrNotFound when the
	// user has no such token.
	RevokeToken(ctx context.Context, userID, tokenID int64) error
	// TouchToken records a use at at (now when zero), unless the recorded
	// one is less than a minute older; no error when the token is gone.
	// Each call is a write transaction, so skip it while LastUsedAt is
	// recent.
	TouchToken(ctx context.Context, tokenID int64, at time.Time) error

	// SetMember adds a user to a project or changes their role (AddedAt
	// stays); ErrNotFound when the project or user does not exist, an
	// error for a role that is not Valid.
	SetMember(ctx context.Context, project string, userID int64, role Role) (*Member, error)
	// RemoveMember removes a user from a project; ErrNotFound when they
	// were not a member.
	RemoveMember(ctx context.Context, project string, userID int64) error
	// ListMembers returns a project's members ordered by user name;
	// ErrNotFound when there is no such project.
	ListMembers(ctx context.Context, project string) ([]Member, error)
	// MemberRole is a user's role in a project; ErrNotFound when the user
	// is not a member (or there is no such project). Server admins get no
	// implicit role here: the caller treats them as RoleAdmin.
	MemberRole(ctx context.Context, project string, userID int64) (Role, error)
	// UserProjects lists the projects a user is a member of, with the
	// role, ordered by slug. A project's members go with the project
	// (DeleteProject does not keep them).
	UserProjects(ctx context.Context, userID int64) ([]Member, error)
}
