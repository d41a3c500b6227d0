package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Callers branch on them with errors.Is.
var (
	// ErrNotFound: no such project, revision, deployment, user, session,
	// sign-in link, token or member.
	ErrNotFound = errors.New("not found")
	// ErrExists: a project with that slug, or a user, session, link or
	// token with that name or value, already exists.
	ErrExists = errors.New("already exists")
	// ErrConflict: the save was based on a revision that is no longer the
	// project's head; nothing was written.
	ErrConflict = errors.New("revision conflict")
)

// Project is one backend: a schema and its history. Slug is the schema's
// `project:` name, the prefix of every Nomad job ID; it never changes. Name
// is the display name, which Rename changes.
type Project struct {
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Head is the newest revision number, 0 before the first save.
	Head int64 `json:"head"`
}

// Revision is one saved version of a project's schema. Numbers count up
// from 1 per project. YAML is the schema as saved (canonical YAML from the
// editor, or a user's file); it holds secret names only, never values.
type Revision struct {
	Project   string    `json:"project"`
	Number    int64     `json:"number"`
	YAML      string    `json:"yaml"`
	Author    string    `json:"author"`
	Message   string    `json:"message"`
	CreatedAt time.Time `json:"created_at"`
	// Digest is the hex SHA-256 of YAML; with Number it makes the ETag.
	Digest string `json:"digest"`
}

// NewRevision is a save. Base is the revision number the edit started
// from: the save succeeds only while Base is still the head (0 for the
// first save); otherwise it fails with ErrConflict and writes nothing.
// Force skips that check (If-Match: *).
type NewRevision struct {
	YAML    string
	Author  string
	Message string
	Base    int64
	Force   bool
}

// Deployment records one deploy, rollback or destroy started from a
// revision, and how it ended.
type Deployment struct {
	ID        int64     `json:"id"`
	Project   string    `json:"project"`
	Revision  int64     `json:"revision"`
	Action    string    `json:"action"` // deploy | rollback | destroy
	Author    string    `json:"author"`
	Status    string    `json:"status"` // running | succeeded | failed
	Summary   string    `json:"summary"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Trigger is what started it: TriggerUser, TriggerWebhook or
	// TriggerPoll.
	Trigger string `json:"trigger"`
	// GitSHA is the commit a git-triggered deploy pinned ("" otherwise).
	GitSHA string `json:"git_sha,omitempty"`
}

// What started a deployment.
const (
	TriggerUser    = "user"
	TriggerWebhook = "webhook"
	TriggerPoll    = "poll"
)

// AuditEvent is one entry of the audit log.
type AuditEvent struct {
	ID        int64     `json:"id"`
	Project   string    `json:"project"`
	Actor     string    `json:"actor"`
	Action    string    `json:"action"` // e.g. project.create, schema.save, deploy
	Detail    string    `json:"detail"`
	CreatedAt time.Time `json:"created_at"`
	// Address is where the call came from (the client's IP address, as
	// the web layer determined it); empty when unknown, and for entries
	// recorded before addresses were.
	Address string `json:"address,omitempty"`
	// DeletedProject is the ID of the deleted project the entry belongs
	// to, 0 for an entry of a live project or of no project. It tells the
	// entries of a deleted project from those of a later one that took
	// the same slug.
	DeletedProject int64 `json:"deleted_project,omitempty"`
}

// Audit actions the store records itself.
const (
	// AuditProjectDelete is recorded by DeleteProject, in the deleted
	// project's own trail.
	AuditProjectDelete = "project.delete"
	// AuditProjectPurge is recorded by PurgeDeleted, as an event of no
	// project, for each deleted project it removes.
	AuditProjectPurge = "project.purge"
)

// DeletedProject is a project that was deleted, kept with its revisions,
// deployments and audit entries until PurgeDeleted removes it. ID numbers
// deletions and is never reused; the slug is free again from the moment of
// deletion, so several deleted projects (and one live one) may share it.
type DeletedProject struct {
	ID        int64     `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Head      int64     `json:"head"`
	DeletedAt time.Time `json:"deleted_at"`
	DeletedBy string    `json:"deleted_by"`
}

// Store keeps projects, schema revisions, deployments, the audit log, and
// (Auth) users, sessions, sign-in links, tokens and project members.
// Both implementations (SQLite and PostgreSQL) pass the same test suite.
// Every method is safe for concurrent use, and every write is one
// transaction: a crash never leaves a half-written revision.
//
// Errors name the operation and its subject ("store: save revision of
// shop: ...") and wrap the sentinels, so callers use errors.Is. Returned
// times are UTC, truncated to the microsecond. List methods return an
// empty, non-nil slice when there is nothing to list; their limit is
// DefaultLimit when <= 0 and at most MaxLimit.
type Store interface {
	// Auth keeps users, sessions, sign-in links, API tokens and project
	// members (see auth.go).
	Auth
	// Autodeploy keeps webhook secrets, deliveries, element commits and
	// the deploy queue (see autodeploy.go).
	Autodeploy
	// Builds keeps the builds of elements built from source, their
	// artifacts' digests and the one-time upload tokens (see builds.go).
	Builds

	// CreateProject adds a project with head 0; an empty name defaults to
	// the slug. ErrExists if the slug is taken.
	CreateProject(ctx context.Context, slug, name string) (*Project, error)
	// ListProjects returns every project, ordered by slug.
	ListProjects(ctx context.Context) ([]Project, error)
	// GetProject returns one project; ErrNotFound if there is none.
	GetProject(ctx context.Context, slug string) (*Project, error)
	// RenameProject sets the display name (empty: the slug) and updated_at;
	// ErrNotFound if there is no such project.
	RenameProject(ctx context.Context, slug, name string) (*Project, error)
	// DeleteProject deletes a project and keeps its history. In one
	// transaction it records an AuditProjectDelete event by actor, moves
	// the project with its revisions, deployments and audit entries (that
	// event included) to a new DeletedProject, and frees the slug: the
	// project's live methods then answer ErrNotFound, and a project
	// created with the slug starts from scratch. ErrNotFound if there is
	// no such project.
	DeleteProject(ctx context.Context, slug, actor string) (*DeletedProject, error)
	// ListDeletedProjects returns deleted projects, the last deleted
	// first: those that had slug, or with an empty slug all of them. An
	// empty list is not an error.
	ListDeletedProjects(ctx context.Context, slug string, limit int) ([]DeletedProject, error)
	// GetDeletedProject returns one deleted project; ErrNotFound if there
	// is none with that ID (never was, or purged).
	GetDeletedProject(ctx context.Context, id int64) (*DeletedProject, error)
	// GetDeletedRevision is GetRevision for deleted project id.
	GetDeletedRevision(ctx context.Context, id, n int64) (*Revision, error)
	// ListDeletedRevisions is ListRevisions for deleted project id.
	ListDeletedRevisions(ctx context.Context, id int64, limit int, before int64) ([]Revision, error)
	// ListDeletedDeployments returns the deployments of deleted project
	// id, newest first. ErrNotFound if there is no such deleted project.
	ListDeletedDeployments(ctx context.Context, id int64, limit int) ([]Deployment, error)
	// PurgeDeleted removes for good the projects deleted before cutoff,
	// with their revisions, deployments and audit entries, and records an
	// AuditProjectPurge event of no project for each. It returns how many
	// it removed. Replicas may run it at the same time: each deleted
	// project is purged, and recorded, once.
	PurgeDeleted(ctx context.Context, cutoff time.Time) (int, error)

	// SaveRevision appends a revision and moves the head to it, atomically.
	// In one transaction that locks the project row, it checks that r.Base
	// is the head (unless r.Force), stores revision head+1 with Digest set
	// to the hex SHA-256 of r.YAML, and updates the project's head and
	// updated_at. A stale Base fails with ErrConflict and writes nothing;
	// of concurrent saves from the same base exactly one succeeds.
	// ErrNotFound if there is no such project.
	SaveRevision(ctx context.Context, slug string, r NewRevision) (*Revision, error)
	// GetRevision returns revision number n; n == 0 means the head.
	// ErrNotFound if there is no such project or revision (a project that
	// was never saved has no head).
	GetRevision(ctx context.Context, slug string, n int64) (*Revision, error)
	// ListRevisions returns revisions newest first, without their YAML,
	// at most limit (default 50), with numbers below before when before > 0.
	// ErrNotFound if there is no such project.
	ListRevisions(ctx context.Context, slug string, limit int, before int64) ([]Revision, error)

	// CreateDeployment records a deployment of d.Project and returns it
	// with its new ID, CreatedAt and UpdatedAt (the values passed in are
	// ignored); an empty Status becomes "running". ErrNotFound if there is
	// no such project.
	CreateDeployment(ctx context.Context, d Deployment) (*Deployment, error)
	// FinishDeployment sets a deployment's final status and summary, and
	// its updated_at, also when its project was deleted meanwhile (the
	// deleted project's copy is updated). ErrNotFound if there is no
	// deployment id.
	FinishDeployment(ctx context.Context, id int64, status, summary string) error
	// GetDeployment returns a live project's deployment; ErrNotFound if
	// there is none with that ID.
	GetDeployment(ctx context.Context, id int64) (*Deployment, error)
	// ListDeployments returns a project's deployments newest first; an
	// empty slug lists every project's. ErrNotFound if a named project
	// does not exist.
	ListDeployments(ctx context.Context, slug string, limit int) ([]Deployment, error)

	// AppendAudit records an event; the store sets its ID and CreatedAt
	// (e.ID and e.DeletedProject are ignored). An empty Project records an
	// event of no project (a login, say). ErrNotFound if a named project
	// does not exist (is not live).
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns events newest first: those recorded under slug,
	// by the live project and by every deleted project that had the slug
	// (their DeletedProject set), or with an empty slug all events, those
	// of no project included. ErrNotFound if no project, live or deleted,
	// has had the slug.
	ListAudit(ctx context.Context, slug string, limit int) ([]AuditEvent, error)

	// Close releases the database; the Store must not be used after it.
	Close() error
}
