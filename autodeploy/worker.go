package autodeploy

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/backplane-dev/backplane/store"
)

// Queue timings.
const (
	// Settle is how long a queued deploy waits for newer pushes to the
	// same element before it runs: a burst deploys once, its last commit.
	Settle = 2 * time.Second
	// Lease is how long a replica holds an element's deploy; one that
	// dies mid-deploy lets another take the element over after it.
	Lease = 15 * time.Minute
	// Slots is how many queued deploys a worker runs at once, each of
	// another element (an element's deploys never overlap).
	Slots = 4
	// idlePoll is how often an idle worker looks at the queue.
	idlePoll = 500 * time.Millisecond
)

// DeployFunc deploys one element at one commit and records it.
type DeployFunc func(ctx context.Context, q store.QueuedDeploy) error

// Worker runs the queued deploys this replica claims, up to Slots at
// once (each of a different element), in the order they were asked for. Queued deploys survive a restart (they
// are rows in the store), and with several replicas on PostgreSQL each
// deploy is claimed by one.
type Worker struct {
	Store  store.Store
	Deploy DeployFunc
	// Owner names this replica in claims.
	Owner string
	Log   *slog.Logger
	// Settle, Lease and Slots override the defaults.
	Settle, Lease time.Duration
	Slots         int

	once  sync.Once
	slots int
	wake  chan struct{}
}

func (w *Worker) init() {
	w.once.Do(func() {
		w.slots = w.Slots
		if w.slots <= 0 {
			w.slots = Slots
		}
		w.wake = make(chan struct{}, w.slots)
	})
}

// Wake makes an idle worker look at the queue now.
func (w *Worker) Wake() {
	w.init()
	for range w.slots {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// drain drops pending wakes.
func (w *Worker) drain() {
	for {
		select {
		case <-w.wake:
		default:
			return
		}
	}
}

// Run works the queue until ctx ends, with Slots loops that each claim
// and run one deploy at a time.
func (w *Worker) Run(ctx context.Context) {
	w.init()
	var wg sync.WaitGroup
	for i := range w.slots {
		// Each slot claims under a name of its own, so renewing a lease
		// never extends another slot's claim.
		owner := fmt.Sprintf("%s#%d", w.Owner, i)
		wg.Go(func() { w.loop(ctx, owner) })
	}
	wg.Wait()
}

func (w *Worker) loop(ctx context.Context, owner string) {
	settle, lease := w.Settle, w.Lease
	if settle <= 0 {
		settle = Settle
	}
	if lease <= 0 {
		lease = Lease
	}
	log := w.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for ctx.Err() == nil {
		q, err := w.Store.Claim(ctx, owner, time.Now().Add(-settle), lease)
		if err != nil && ctx.Err() == nil {
			log.Warn("auto-deploy: read the queue", "error", err)
		}
		if q == nil {
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
				// A push: look again once it has settled. Wakes from the
				// rest of a burst are dropped, as they would only restart
				// the wait; a burst's last push settles within idlePoll
				// of the next idle look.
				select {
				case <-ctx.Done():
					return
				case <-time.After(settle):
				}
				w.drain()
			case <-time.After(idlePoll):
			}
			continue
		}
		w.deploy(ctx, *q, lease, log)
		// Finish even if the deploy failed: its result is recorded; a
		// newer commit asked for meanwhile stays queued.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if err := w.Store.FinishQueued(fctx, *q); err != nil {
			log.Warn("auto-deploy: finish a queued deploy", "project", q.Project, "element", q.Element, "error", err)
		}
		cancel()
	}
}

// deploy runs one claimed deploy, renewing its lease while it runs (a
// build may outlast one lease), so no other worker takes it over.
func (w *Worker) deploy(ctx context.Context, q store.QueuedDeploy, lease time.Duration, log *slog.Logger) {
	dctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		tk := time.NewTicker(lease / 3)
		defer tk.Stop()
		for {
			select {
			case <-dctx.Done():
				return
			case <-tk.C:
				if err := w.Store.RenewClaim(dctx, q, lease); err != nil && dctx.Err() == nil {
					log.Warn("auto-deploy: renew the claim on a running deploy", "project", q.Project, "element", q.Element, "error", err)
				}
			}
		}
	}()
	if err := w.Deploy(ctx, q); err != nil && ctx.Err() == nil {
		log.Warn("auto-deploy failed", "project", q.Project, "element", q.Element, "sha", q.SHA, "error", err)
	}
}
