package store

import (
	"context"
	"time"
)

// Autodeploy keeps what deploying from git needs: each project's webhook
// secret (sealed by the caller; the store never sees it in clear), the
// webhook deliveries seen, the commit each element runs, and the
// per-element deploy queue.
type Autodeploy interface {
	// SetHookSecret stores a project's sealed webhook secret, replacing
	// any. ErrNotFound if there is no such project.
	SetHookSecret(ctx context.Context, slug string, sealed []byte) error
	// HookSecret returns it; ErrNotFound when the project has none.
	HookSecret(ctx context.Context, slug string) ([]byte, error)
	// RecordDelivery notes a webhook delivery ID; ErrExists when it was
	// seen before (a replay). Deliveries older than keep are forgotten.
	RecordDelivery(ctx context.Context, slug, delivery string, keep time.Duration) error
	// ForgetDelivery forgets a delivery ID recorded by a request that then
	// failed, so the sender's redelivery is handled rather than taken for
	// a replay. A delivery not recorded is not an error.
	ForgetDelivery(ctx context.Context, slug, delivery string) error
	// SetElementCommit records the commit an element runs now.
	SetElementCommit(ctx context.Context, slug string, c ElementCommit) error
	// ElementCommits lists a project's elements' commits, by element.
	ElementCommits(ctx context.Context, slug string) ([]ElementCommit, error)
	// Enqueue asks for a deploy of an element at a commit. An element has
	// one queued deploy: a newer request replaces the commit of one not
	// yet done, keeping its claim, so a burst collapses into one deploy
	// of the newest commit and an element's deploys never overlap. A
	// TriggerPoll request never replaces a queued one.
	Enqueue(ctx context.Context, q QueuedDeploy) error
	// Claim takes the oldest queued deploy asked for at or before
	// settled and not claimed (or whose claim lapsed), for owner until
	// lease from now; nil when there is none. Several replicas may claim
	// at once: each deploy goes to one.
	Claim(ctx context.Context, owner string, settled time.Time, lease time.Duration) (*QueuedDeploy, error)
	// RenewClaim extends a claimed deploy's lease to lease from now, while
	// q.ClaimedBy still holds it, so a deploy that outlasts one lease (a
	// long build) is not taken over by another worker. ErrNotFound when the
	// claim is lost (it lapsed and another worker took it).
	RenewClaim(ctx context.Context, q QueuedDeploy, lease time.Duration) error
	// FinishQueued ends a claimed deploy: the row goes, unless a newer
	// commit was asked for meanwhile (then only the claim is released and
	// the newer one waits its turn).
	FinishQueued(ctx context.Context, q QueuedDeploy) error
	// ListQueued lists a project's queued deploys.
	ListQueued(ctx context.Context, slug string) ([]QueuedDeploy, error)
}

// ElementCommit is the commit an element built from source runs.
type ElementCommit struct {
	Element   string    `json:"element"`
	SHA       string    `json:"sha"`
	Author    string    `json:"author"`
	Message   string    `json:"message"`
	UpdatedAt time.Time `json:"updated_at"`
}

// QueuedDeploy is a deploy of one element at one commit, asked for by a
// webhook, the poller or a user.
type QueuedDeploy struct {
	Project string `json:"project"`
	Element string `json:"element"`
	SHA     string `json:"sha"`
	// Trigger is TriggerWebhook, TriggerPoll or TriggerUser; Actor who
	// (the pusher, "poll", a user).
	Trigger     string    `json:"trigger"`
	Actor       string    `json:"actor"`
	Author      string    `json:"author"`
	Message     string    `json:"message"`
	RequestedAt time.Time `json:"requested_at"`
	ClaimedBy   string    `json:"claimed_by,omitempty"`
}
