package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/store"
	"github.com/backplane-dev/backplane/translator"
)

// subscriberBuffer is how many events a slow client may fall behind
// before it is disconnected (it reconnects and gets the current state).
const subscriberBuffer = 256

// pingEvery keeps idle streams open through proxies.
const pingEvery = 15 * time.Second

// Hub fans events out to each project's event streams. While a project has
// subscribers and a cluster is configured, one watcher follows its jobs and
// publishes status changes; the last status of each job is kept so a new
// subscriber starts with the current state. Events are encoded once and
// sent without blocking: a subscriber that falls behind is disconnected
// rather than slowing the others.
type Hub struct {
	s        *Server
	mu       sync.Mutex
	projects map[string]*projectHub
	closed   bool
	// relay carries events to and from other replicas; nil when the
	// store cannot (SQLite). See relay.go.
	relay *relay
}

type projectHub struct {
	subs   map[*subscriber]struct{}
	last   map[string][]byte // region/job ID → encoded status event; alertsKey → the alert event
	cancel context.CancelFunc
	// pinned keeps the watcher running without subscribers: the alert
	// bridge follows every deployed project.
	pinned bool
	// leased keeps it running until then: someone asked for metrics.
	leased time.Time
}

// kept reports whether the watcher runs without subscribers.
func (p *projectHub) kept() bool { return p.pinned || time.Now().Before(p.leased) }

// alertsKey holds a project's last alert event among its replayed events.
const alertsKey = "~alerts"

type subscriber struct {
	ch chan []byte
}

func newHub(s *Server) *Hub {
	h := &Hub{s: s, projects: map[string]*projectHub{}}
	if n, ok := s.store.(store.Notifier); ok {
		h.relay = newRelay(h, n)
	}
	return h
}

func (h *Hub) project(slug string) *projectHub {
	p := h.projects[slug]
	if p == nil {
		p = &projectHub{subs: map[*subscriber]struct{}{}, last: map[string][]byte{}}
		h.projects[slug] = p
	}
	return p
}

// subscribe adds a subscriber, replays the known statuses to it, and
// starts the project's watcher if it is the first.
func (h *Hub) subscribe(slug string) (*subscriber, func()) {
	sub := &subscriber{ch: make(chan []byte, subscriberBuffer)}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		close(sub.ch)
		return sub, func() {}
	}
	p := h.project(slug)
	p.subs[sub] = struct{}{}
	first := len(p.subs) == 1
	keys := make([]string, 0, len(p.last))
	for k := range p.last {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		select {
		case sub.ch <- p.last[k]:
		default:
		}
	}
	h.s.metrics.subscribers.Inc()
	_, haveAlerts := p.last[alertsKey]
	startWatch := first && p.cancel == nil
	h.mu.Unlock()
	if startWatch && h.s.cluster != nil {
		go h.watchHead(slug)
	}
	if h.s.sampler != nil {
		h.s.sampler.View(slug, 1)
	}
	if h.s.alerts != nil && !haveAlerts {
		h.s.alerts.changed(slug)
	}
	return sub, func() { h.unsubscribe(slug, sub) }
}

func (h *Hub) unsubscribe(slug string, sub *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.projects[slug]
	if p == nil {
		return
	}
	if _, ok := p.subs[sub]; !ok {
		return // already dropped
	}
	delete(p.subs, sub)
	close(sub.ch)
	h.s.metrics.subscribers.Dec()
	if h.s.sampler != nil {
		h.s.sampler.View(slug, -1)
	}
	if len(p.subs) == 0 && !p.kept() {
		if p.cancel != nil {
			p.cancel()
		}
		delete(h.projects, slug)
	}
}

// publish sends an encoded event to every subscriber of the project.
func (h *Hub) publish(slug string, ev []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.projects[slug]
	if p == nil {
		return
	}
	for sub := range p.subs {
		select {
		case sub.ch <- ev:
		default:
			// Too far behind: drop it; its client reconnects and is
			// brought up to date by the replay.
			delete(p.subs, sub)
			close(sub.ch)
			h.s.metrics.subscribers.Dec()
		}
	}
	if len(p.subs) == 0 && !p.kept() {
		if p.cancel != nil {
			p.cancel()
		}
		delete(h.projects, slug)
	}
}

func encodeEvent(kind string, v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		data = []byte(`{}`)
	}
	return []byte("event: " + kind + "\ndata: " + string(data) + "\n\n")
}

// publishStatus records and sends a status change.
func (h *Hub) publishStatus(slug string, st jobs.Status) {
	ev := encodeEvent("status", st)
	h.mu.Lock()
	if p := h.projects[slug]; p != nil {
		p.last[st.Region+"/"+st.JobID] = ev
	}
	h.mu.Unlock()
	h.publish(slug, ev)
}

// publishAlerts records and sends a project's alert event, unless it is
// the one last sent.
func (h *Hub) publishAlerts(slug string, ev []byte) {
	h.mu.Lock()
	p := h.projects[slug]
	if p == nil || string(p.last[alertsKey]) == string(ev) {
		h.mu.Unlock()
		return
	}
	p.last[alertsKey] = ev
	h.mu.Unlock()
	h.publish(slug, ev)
}

// pin keeps the project's watcher on the bundle's jobs running whether or
// not anyone subscribes, for the alert bridge.
func (h *Hub) pin(slug string, b *translator.Bundle) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.project(slug).pinned = true
	h.mu.Unlock()
	h.watch(slug, b)
}

// lease keeps the project's watcher on its head revision running for d,
// starting it when none runs: metrics need the instances it reports.
func (h *Hub) lease(slug string, d time.Duration) {
	if h.s.cluster == nil {
		return
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	p := h.project(slug)
	until := time.Now().Add(d)
	extend := until.After(p.leased)
	if extend {
		p.leased = until
	}
	start := p.cancel == nil
	h.mu.Unlock()
	if start {
		h.watchHead(slug)
	}
	if extend {
		time.AfterFunc(d+time.Second, func() { h.release(slug) })
	}
}

// release stops a watcher whose lease ran out, if nothing else keeps it.
func (h *Hub) release(slug string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.projects[slug]
	if p == nil || len(p.subs) > 0 || p.kept() {
		return
	}
	if p.cancel != nil {
		p.cancel()
	}
	delete(h.projects, slug)
	if h.s.sampler != nil {
		h.s.sampler.Forget(slug)
	}
}

// publishDeployment tells subscribers here and on other replicas that a
// deployment started or ended.
func (h *Hub) publishDeployment(slug string, d *store.Deployment) {
	h.deliverDeployment(slug, d)
	h.relay.announce(relayMessage{Kind: relayDeployment, Project: slug, Deployment: d.ID})
}

// deliverDeployment sends a deployment event to this replica's subscribers.
func (h *Hub) deliverDeployment(slug string, d *store.Deployment) {
	h.publish(slug, encodeEvent("deployment", d))
}

// publishBuild tells subscribers here and on other replicas that a build
// started or ended.
func (h *Hub) publishBuild(slug string, b *store.Build) {
	h.deliverBuild(slug, b)
	h.relay.announce(relayMessage{Kind: relayBuild, Project: slug, Build: b.ID})
}

// deliverBuild sends a build event to this replica's subscribers.
func (h *Hub) deliverBuild(slug string, b *store.Build) {
	h.publish(slug, encodeEvent("build", b))
}

// revisionSaved tells subscribers here and on other replicas about a new
// revision.
func (h *Hub) revisionSaved(slug string, r *store.Revision) {
	h.deliverRevision(slug, r)
	h.relay.announce(relayMessage{Kind: relayRevision, Project: slug, Revision: r.Number})
}

// deliverRevision tells this replica's subscribers about a new revision and
// follows its jobs from now on.
func (h *Hub) deliverRevision(slug string, r *store.Revision) {
	h.publish(slug, encodeEvent("revision", gin.H{"revision": r.Number, "etag": etag(r), "author": r.Author}))
	if h.s.cluster == nil || !h.hasSubscribers(slug) {
		return
	}
	if sc, err := schema.Decode("", []byte(r.YAML)); err == nil {
		if b, err := h.s.translate(sc); err == nil {
			h.watch(slug, b)
		}
	}
}

func (h *Hub) hasSubscribers(slug string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.projects[slug]
	return p != nil && len(p.subs) > 0
}

// subscribedProjects lists the projects with subscribers, sorted.
func (h *Hub) subscribedProjects() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.projects))
	for slug, p := range h.projects {
		if len(p.subs) > 0 {
			out = append(out, slug)
		}
	}
	sort.Strings(out)
	return out
}

// watchHead starts following the head revision's jobs.
func (h *Hub) watchHead(slug string) {
	ctx, cancel := context.WithTimeout(context.Background(), RequestTimeout)
	defer cancel()
	r, err := h.s.store.GetRevision(ctx, slug, 0)
	if err != nil {
		return
	}
	sc, err := schema.Decode("", []byte(r.YAML))
	if err != nil {
		return
	}
	b, err := h.s.translate(sc)
	if err != nil {
		return
	}
	h.watch(slug, b)
}

// watch (re)starts the project's watcher on the bundle's jobs, if the
// project has subscribers.
func (h *Hub) watch(slug string, b *translator.Bundle) {
	if h.s.cluster == nil {
		return
	}
	targets := jobs.Targets(b)
	h.mu.Lock()
	p := h.projects[slug]
	if p == nil || (len(p.subs) == 0 && !p.kept()) || h.closed {
		h.mu.Unlock()
		return
	}
	if p.cancel != nil {
		p.cancel()
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	// Statuses of jobs the new revision no longer has are stale.
	keep := map[string]bool{}
	for _, t := range targets {
		keep[t.Region+"/"+t.JobID] = true
	}
	for k := range p.last {
		if !keep[k] && k != alertsKey {
			delete(p.last, k)
		}
	}
	h.mu.Unlock()
	if h.s.sampler != nil {
		h.s.sampler.Track(slug, targets)
	}
	go func() {
		err := h.s.cluster.Watch(ctx, targets, func(st jobs.Status) {
			h.publishStatus(slug, st)
			if h.s.alerts != nil {
				h.s.alerts.bridge.Observe(slug, st)
			}
			if h.s.sampler != nil {
				h.s.sampler.Observe(slug, st)
			}
		})
		if err != nil && ctx.Err() == nil {
			h.s.log.Warn("status watch ended", "project", slug, "error", err)
		}
	}()
}

// projectDeleted ends a deleted project's streams, here and on other
// replicas.
func (h *Hub) projectDeleted(slug string) {
	h.forget(slug)
	h.relay.announce(relayMessage{Kind: relayDeleted, Project: slug})
}

// forget ends a deleted project's streams.
func (h *Hub) forget(slug string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.projects[slug]
	if p == nil {
		return
	}
	if p.cancel != nil {
		p.cancel()
	}
	for sub := range p.subs {
		close(sub.ch)
		h.s.metrics.subscribers.Dec()
	}
	delete(h.projects, slug)
}

func (h *Hub) close() {
	if h.relay != nil {
		h.relay.stop()
	}
	h.mu.Lock()
	slugs := make([]string, 0, len(h.projects))
	for slug := range h.projects {
		slugs = append(slugs, slug)
	}
	h.closed = true
	h.mu.Unlock()
	for _, slug := range slugs {
		h.forget(slug)
	}
}

// events streams a project's events as Server-Sent Events.
// sse starts a server-sent event stream: its headers, unbuffered by
// proxies.
func sse(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	c.Writer.WriteHeader(http.StatusOK)
}

func (s *Server) events(c *gin.Context) error {
	slug := c.Param("p")
	if _, err := s.store.GetProject(c.Request.Context(), slug); err != nil {
		return err
	}
	w := c.Writer
	sse(c)
	sub, cancel := s.hub.subscribe(slug)
	defer cancel()
	if _, err := fmt.Fprint(w, ": connected\n\n"); err != nil {
		return nil
	}
	w.Flush()
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	ctx := c.Request.Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-sub.ch:
			if !ok {
				return nil
			}
			if _, err := w.Write(ev); err != nil {
				return nil
			}
			// Send whatever else is queued in the same write burst.
			for more := true; more; {
				select {
				case ev, ok := <-sub.ch:
					if !ok {
						w.Flush()
						return nil
					}
					if _, err := w.Write(ev); err != nil {
						return nil
					}
				default:
					more = false
				}
			}
			w.Flush()
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return nil
			}
			w.Flush()
		}
	}
}
