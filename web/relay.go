package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backplane-dev/backplane/store"
)

// Events across replicas.
//
// Several `serve` replicas may share one PostgreSQL behind a load balancer,
// and an editor's event stream is held by one of them. So that a save or a
// deploy through any replica reaches every editor, each replica announces
// its project events on the store's Notifier (PostgreSQL LISTEN/NOTIFY),
// and delivers to its own subscribers what the others announce:
//
//   - revision (a save), deployment (started, finished, a rollback or a
//     destroy), and deleted (a project was deleted: its streams end).
//     Status events are not relayed: each replica follows Nomad itself and
//     publishes the statuses it sees.
//   - A message is small (relayMessage: origin, kind, project, a number),
//     far under the NOTIFY payload limit; the receiver re-reads the
//     revision or deployment from the store, and only when it has
//     subscribers for the project.
//   - Each replica has a random origin ID. It delivers its own events to
//     its subscribers at once, as without a Notifier, and skips them when
//     they come back through LISTEN, so nothing arrives twice.
//   - Messages go out in order, from one goroutine, after the write they
//     announce has committed. A message lost on the way (the listening
//     connection was down) is made up for on reconnect: every project with
//     subscribers gets its head revision and latest deployment again.
//
// Without a Notifier (SQLite) events stay in the process: one replica is
// the limit, and serve says so when it starts.

// relayChannel is the Notifier channel of project events.
const relayChannel = "events"

// relayOutbox is how many messages may wait to be sent; beyond it they are
// dropped (and logged), never blocking a request.
const relayOutbox = 1024

// relayNotifyTimeout bounds one Notify.
const relayNotifyTimeout = 5 * time.Second

// Relay states, as /healthz reports them under "events".
const (
	relayLocal        = "local"        // no Notifier: this replica's subscribers only
	relayConnecting   = "connecting"   // not listening yet
	relayShared       = "shared"       // listening: events of every replica
	relayReconnecting = "reconnecting" // the listening connection is down
)

// Kinds of relayMessage.
const (
	relayRevision   = "revision"
	relayDeployment = "deployment"
	relayDeleted    = "deleted"
	relayBuild      = "build"
)

// relayMessage is the payload of one notification.
type relayMessage struct {
	Origin     string `json:"o"`
	Kind       string `json:"k"`
	Project    string `json:"p"`
	Revision   int64  `json:"r,omitempty"`
	Deployment int64  `json:"d,omitempty"`
	Build      int64  `json:"b,omitempty"`
}

// relay announces this replica's events and delivers the others'.
type relay struct {
	h        *Hub
	n        store.Notifier
	origin   string
	outbox   chan relayMessage
	state    atomic.Value // string: one of the relay states
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	mu       sync.Mutex
	dropping bool // an outbox overflow was logged and not yet over
}

// newRelay starts relaying through n; stop ends it.
func newRelay(h *Hub, n store.Notifier) *relay {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	r := &relay{h: h, n: n, origin: hex.EncodeToString(b), outbox: make(chan relayMessage, relayOutbox)}
	r.state.Store(relayConnecting)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		r.send(ctx)
	}()
	go func() {
		defer r.wg.Done()
		_ = n.Listen(ctx, relayChannel, func(m store.Notification) { r.receive(ctx, m) })
	}()
	return r
}

// stop ends listening and sending, and waits for both.
func (r *relay) stop() {
	r.cancel()
	r.wg.Wait()
}

// State is the relay state for /healthz.
func (r *relay) State() string {
	if r == nil {
		return relayLocal
	}
	return r.state.Load().(string)
}

// announce queues a message for the other replicas.
func (r *relay) announce(m relayMessage) {
	if r == nil {
		return
	}
	m.Origin = r.origin
	select {
	case r.outbox <- m:
		r.mu.Lock()
		r.dropping = false
		r.mu.Unlock()
	default:
		r.mu.Lock()
		first := !r.dropping
		r.dropping = true
		r.mu.Unlock()
		if first {
			r.h.s.log.Warn("other replicas' editors miss events: too many waiting to be sent", "kind", m.Kind, "project", m.Project)
		}
	}
}

// send notifies the queued messages in order.
func (r *relay) send(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-r.outbox:
			payload, err := json.Marshal(m)
			if err != nil {
				continue
			}
			nctx, cancel := context.WithTimeout(ctx, relayNotifyTimeout)
			err = r.n.Notify(nctx, relayChannel, string(payload))
			cancel()
			if err != nil && ctx.Err() == nil {
				r.h.s.log.Warn("could not tell other replicas about an event", "kind", m.Kind, "project", m.Project, "error", err)
			}
		}
	}
}

// receive handles one notification or a change of the listening
// connection. It runs on the Listen goroutine, one at a time.
func (r *relay) receive(ctx context.Context, n store.Notification) {
	log := r.h.s.log
	switch {
	case n.Lost:
		r.state.Store(relayReconnecting)
		if ctx.Err() == nil {
			log.Warn("lost the connection that brings other replicas' events; reconnecting", "error", n.Err)
		}
	case n.Listening && !n.Resumed:
		r.state.Store(relayShared)
		log.Info("sharing events with other serve replicas through PostgreSQL LISTEN/NOTIFY")
	case n.Listening:
		r.state.Store(relayShared)
		log.Info("other replicas' events flow again; re-sending the current state to this replica's editors")
		r.resync(ctx)
	default:
		var m relayMessage
		if err := json.Unmarshal([]byte(n.Payload), &m); err != nil || m.Project == "" {
			log.Warn("ignored a malformed event from another replica", "payload", truncateString(n.Payload, 200))
			return
		}
		if m.Origin == r.origin || !r.h.hasSubscribers(m.Project) {
			return // ours, delivered already; or nobody here to tell
		}
		r.deliver(ctx, m)
	}
}

// deliver re-reads what another replica announced and publishes it to
// this replica's subscribers.
func (r *relay) deliver(ctx context.Context, m relayMessage) {
	rctx, cancel := context.WithTimeout(ctx, RequestTimeout)
	defer cancel()
	switch m.Kind {
	case relayRevision:
		rev, err := r.h.s.store.GetRevision(rctx, m.Project, m.Revision)
		if err != nil {
			r.readFailed(m, err)
			return
		}
		r.h.deliverRevision(m.Project, rev)
	case relayDeployment:
		d, err := r.h.s.store.GetDeployment(rctx, m.Deployment)
		if err != nil {
			r.readFailed(m, err)
			return
		}
		r.h.deliverDeployment(m.Project, d)
	case relayBuild:
		b, err := r.h.s.store.GetBuild(rctx, m.Project, m.Build)
		if err != nil {
			r.readFailed(m, err)
			return
		}
		r.h.deliverBuild(m.Project, b)
	case relayDeleted:
		r.h.forget(m.Project)
	}
}

func (r *relay) readFailed(m relayMessage, err error) {
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, context.Canceled) {
		return // deleted meanwhile, or shutting down
	}
	r.h.s.log.Warn("could not read an event from another replica", "kind", m.Kind, "project", m.Project, "error", err)
}

// resync brings this replica's subscribers up to date after events may
// have been missed: each subscribed project's head revision and latest
// deployment are published again (the editor ignores what it has).
func (r *relay) resync(ctx context.Context) {
	for _, slug := range r.h.subscribedProjects() {
		rctx, cancel := context.WithTimeout(ctx, RequestTimeout)
		if rev, err := r.h.s.store.GetRevision(rctx, slug, 0); err == nil {
			r.h.deliverRevision(slug, rev)
		} else if errors.Is(err, store.ErrNotFound) {
			if _, perr := r.h.s.store.GetProject(rctx, slug); errors.Is(perr, store.ErrNotFound) {
				r.h.forget(slug) // deleted while we were not listening
			}
		}
		if ds, err := r.h.s.store.ListDeployments(rctx, slug, 1); err == nil && len(ds) == 1 {
			r.h.deliverDeployment(slug, &ds[0])
		}
		cancel()
	}
}

func truncateString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
