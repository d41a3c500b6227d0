package store

import (
	"context"
	"time"
)

// Build states.
const (
	BuildRunning   = "building"
	BuildSucceeded = "succeeded"
	BuildFailed    = "failed"
)

// Builds keeps the builds of elements built from source (one per element
// and commit, in the Nomad batch job that ran it), the artifact each
// successful one made, and the one-time tokens builds upload with.
//
// A commit may be built more than once (after a failure, or after its
// artifact was pruned); IDs count up across projects and never come back.
// Builds and tokens belong to their project: DeleteProject removes them
// with it (they are not kept in the deleted project's history), so a
// project created later with the slug reuses nothing. The artifacts'
// bytes are not here but in the artifact store (package
// store/artifacts), under the key the build uploaded to.
type Builds interface {
	// CreateBuild records a build that has started (Status BuildRunning
	// when empty) and returns it with its ID and StartedAt (now; the
	// values passed in, and the result fields, are ignored). ErrNotFound
	// if there is no such project.
	CreateBuild(ctx context.Context, b Build) (*Build, error)
	// FinishBuild ends build id of project slug: its status
	// (BuildSucceeded or BuildFailed), the artifact's digest and size
	// (when it succeeded), the last lines of its log and an error (when
	// it failed). FinishedAt is set to now. ErrNotFound if there is no
	// such build.
	FinishBuild(ctx context.Context, slug string, id int64, f BuildResult) (*Build, error)
	// GetBuild returns one build of project slug; ErrNotFound if there
	// is none.
	GetBuild(ctx context.Context, slug string, id int64) (*Build, error)
	// ReusableBuild returns the newest succeeded, unpruned build of an
	// element at a commit: the artifact a deploy can start from without
	// building. ErrNotFound when there is none.
	ReusableBuild(ctx context.Context, slug, element, sha string) (*Build, error)
	// ListBuilds lists builds newest first: a project's, or with element
	// set one element's; at most limit (DefaultLimit when <= 0, at most
	// MaxLimit). ErrNotFound if there is no such project.
	ListBuilds(ctx context.Context, slug, element string, limit int) ([]Build, error)
	// PruneBuild marks a build's artifact deleted, so it is never reused.
	// ErrNotFound if there is no such build.
	PruneBuild(ctx context.Context, slug string, id int64) error

	// CreateUploadToken records an upload token, by its SHA-256 hash
	// (the token itself is never stored), good for one upload to key
	// until expires. The key's first segment is its project
	// ("<project>/<element>/<sha>.tar.gz"): ErrNotFound if there is no
	// such project, and the token goes when the project is deleted.
	// ErrExists if a token with that hash is stored. Expired tokens are
	// removed as new ones are created.
	CreateUploadToken(ctx context.Context, hash []byte, key string, expires time.Time) error
	// UseUploadToken spends a token: it succeeds once, for that key,
	// before it expires, and answers ErrNotFound otherwise (unknown,
	// used, expired or for another key). Several replicas may try at
	// once: one wins.
	UseUploadToken(ctx context.Context, hash []byte, key string) error
}

// Build is one build of an element at one commit.
type Build struct {
	ID      int64  `json:"id"`
	Project string `json:"project"`
	Element string `json:"element"`
	SHA     string `json:"sha"`
	Region  string `json:"region"`
	// JobID is the Nomad batch job that ran it.
	JobID  string `json:"job_id"`
	Status string `json:"status"`
	// Trigger and Actor are those of the deploy that asked for it.
	Trigger    string    `json:"trigger"`
	Actor      string    `json:"actor"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	// Digest is the artifact's SHA-256 (hex) and Size its size in bytes.
	Digest string `json:"digest,omitempty"`
	Size   int64  `json:"size,omitempty"`
	// LogTail is the last lines of the build's log; Error what failed.
	LogTail string `json:"log_tail,omitempty"`
	Error   string `json:"error,omitempty"`
	Pruned  bool   `json:"pruned,omitempty"`
}

// BuildResult is how a build ended.
type BuildResult struct {
	Status  string
	Digest  string
	Size    int64
	LogTail string
	Error   string
}
