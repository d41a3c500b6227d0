package web

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/store"
	"github.com/backplane-dev/backplane/templates"
)

// fakeBus is an in-memory store.Notifier shared by the "replicas" of a
// test: what one notifies, every listener hears, the sender included, as
// with PostgreSQL. The real LISTEN/NOTIFY is tested in store and, with two
// serve processes, in test/replicas_test.go.
type fakeBus struct {
	mu        sync.Mutex
	listeners map[chan store.Notification]bool
	sent      []string
}

func newFakeBus() *fakeBus { return &fakeBus{listeners: map[chan store.Notification]bool{}} }

func (b *fakeBus) broadcast(n store.Notification) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n.Payload != "" {
		b.sent = append(b.sent, n.Payload)
	}
	for ch := range b.listeners {
		ch <- n
	}
}

func (b *fakeBus) payloads() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.sent...)
}

// busStore is a store that notifies through a fakeBus.
type busStore struct {
	store.Store
	bus *fakeBus
}

var _ store.Notifier = busStore{}

func (s busStore) Notify(ctx context.Context, channel, payload string) error {
	s.bus.broadcast(store.Notification{Payload: payload})
	return nil
}

func (s busStore) Listen(ctx context.Context, channel string, fn func(store.Notification)) error {
	ch := make(chan store.Notification, 256)
	s.bus.mu.Lock()
	s.bus.listeners[ch] = true
	s.bus.mu.Unlock()
	defer func() {
		s.bus.mu.Lock()
		delete(s.bus.listeners, ch)
		s.bus.mu.Unlock()
	}()
	fn(store.Notification{Listening: true})
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case n := <-ch:
			fn(n)
		}
	}
}

// replicas starts two servers on one store and one bus, as two serve
// processes on one PostgreSQL.
func replicas(t *testing.T, cluster Cluster) (a, b *testServer, bus *fakeBus) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "backplane.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	reg, err := templates.NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	bus = newFakeBus()
	start := func() *testServer {
		srv := New(Config{Store: busStore{st, bus}, Registry: reg, Cluster: cluster, Version: "test"})
		bootstrap(t, srv)
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(func() { srv.Close(); ts.Close() })
		return &testServer{Server: ts, srv: srv}
	}
	return start(), start(), bus
}

// sseEvent is one event of a stream.
type sseEvent struct{ kind, data string }

// subscribe opens a project's event stream and returns its events.
func subscribe(t *testing.T, ts *testServer, slug string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/v1/projects/"+slug+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("events of %s: %d", slug, resp.StatusCode)
	}
	out := make(chan sseEvent, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		kind := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				kind = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				out <- sseEvent{kind, strings.TrimPrefix(line, "data: ")}
			}
		}
	}()
	t.Cleanup(func() { cancel(); resp.Body.Close(); <-done })
	// The subscription is registered once the stream has started.
	deadline := time.Now().Add(5 * time.Second)
	for !ts.srv.hub.hasSubscribers(slug) {
		if time.Now().After(deadline) {
			t.Fatal("subscriber not registered")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return out
}

// next returns the next event of kind, skipping others.
func next(t *testing.T, events <-chan sseEvent, kind string) string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("stream ended waiting for a %s event", kind)
			}
			if ev.kind == kind {
				return ev.data
			}
		case <-deadline:
			t.Fatalf("no %s event in 5s", kind)
		}
	}
}

// none checks that no event of the kinds arrives for a while.
func none(t *testing.T, events <-chan sseEvent, d time.Duration, kinds ...string) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			for _, k := range kinds {
				if ev.kind == k {
					t.Fatalf("unexpected %s event %s", k, ev.data)
				}
			}
		case <-deadline:
			return
		}
	}
}

// TestRelayAcrossReplicas: a save, a deployment and a deletion through
// one replica reach the other replica's subscribers, and the sender's own
// subscribers get each event once.
func TestRelayAcrossReplicas(t *testing.T) {
	a, b, bus := replicas(t, newFakeCluster())
	for _, ts := range []*testServer{a, b} {
		if r := ts.do(t, "GET", "/healthz", nil); r.json(t)["events"] != relayShared {
			t.Fatalf("healthz events = %v, want %s", r.json(t)["events"], relayShared)
		}
	}
	createProject(t, a, "shop")
	onA, onB := subscribe(t, a, "shop"), subscribe(t, b, "shop")

	r := a.do(t, "PUT", "/projects/shop/schema", strings.NewReader(apiSchema),
		"If-Match", `"1-x"`, "Content-Type", "application/yaml", "Authorization", userToken(t, a.srv, "alice", "shop", store.RoleEditor))
	if r.Status != 200 {
		t.Fatalf("save through A: %d %s", r.Status, r.Body)
	}
	wantETag := r.Header.Get("ETag")
	for name, events := range map[string]<-chan sseEvent{"A": onA, "B": onB} {
		var ev struct {
			Revision int64  `json:"revision"`
			ETag     string `json:"etag"`
			Author   string `json:"author"`
		}
		if err := json.Unmarshal([]byte(next(t, events, "revision")), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Revision != 2 || ev.ETag != wantETag || ev.Author != "alice" {
			t.Errorf("revision event on %s = %+v, want revision 2, etag %s, by alice", name, ev, wantETag)
		}
	}

	if r := a.do(t, "POST", "/projects/shop/destroy", nil, "Authorization", userToken(t, a.srv, "bob", "shop", store.RoleAdmin)); r.Status != 200 {
		t.Fatalf("destroy through A: %d %s", r.Status, r.Body)
	}
	for name, events := range map[string]<-chan sseEvent{"A": onA, "B": onB} {
		var d store.Deployment
		if err := json.Unmarshal([]byte(next(t, events, "deployment")), &d); err != nil {
			t.Fatal(err)
		}
		if d.Action != "destroy" || d.Author != "bob" || d.Project != "shop" || d.ID == 0 {
			t.Errorf("deployment event on %s = %+v, want bob's destroy", name, d)
		}
	}
	// A's subscriber got each event once: its own announcement, heard
	// back over the bus, is skipped.
	none(t, onA, 200*time.Millisecond, "revision", "deployment")
	if got := len(bus.payloads()); got != 2 {
		t.Errorf("%d notifications sent, want 2 (revision, deployment): %v", got, bus.payloads())
	}
	for _, p := range bus.payloads() {
		if len(p) > 200 {
			t.Errorf("notification of %d bytes, want a small reference: %s", len(p), p)
		}
	}

	// Deleting through A ends B's stream too.
	if r := a.do(t, "DELETE", "/projects/shop", nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete through A: %d %s", r.Status, r.Body)
	}
	for name, events := range map[string]<-chan sseEvent{"A": onA, "B": onB} {
		deadline := time.After(5 * time.Second)
	drain:
		for {
			select {
			case _, ok := <-events:
				if !ok {
					break drain
				}
			case <-deadline:
				t.Fatalf("%s's stream still open after the project was deleted", name)
			}
		}
	}
}

// TestRelayResyncsAfterGap: after the listening connection comes back,
// subscribers get the head revision and latest deployment again, since
// events sent meanwhile were missed.
func TestRelayResyncsAfterGap(t *testing.T) {
	a, b, bus := replicas(t, nil)
	createProject(t, a, "shop")
	onB := subscribe(t, b, "shop")
	bus.broadcast(store.Notification{Lost: true, Err: context.DeadlineExceeded})
	deadline := time.Now().Add(5 * time.Second)
	for b.srv.hub.relay.State() != relayReconnecting {
		if time.Now().After(deadline) {
			t.Fatalf("relay state %s after a lost connection, want %s", b.srv.hub.relay.State(), relayReconnecting)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A save B does not hear of: its notification is lost.
	if _, err := a.srv.store.SaveRevision(t.Context(), "shop", store.NewRevision{YAML: apiSchema, Author: "alice", Base: 1}); err != nil {
		t.Fatal(err)
	}
	bus.broadcast(store.Notification{Listening: true, Resumed: true})
	if got := next(t, onB, "revision"); !strings.Contains(got, `"revision":2`) {
		t.Errorf("revision event after resuming = %s, want revision 2", got)
	}
	if s := b.srv.hub.relay.State(); s != relayShared {
		t.Errorf("relay state %s after resuming, want %s", s, relayShared)
	}
}

// TestRelayIgnoresStrayPayloads: a malformed notification or one for a
// project nobody here follows is dropped without reading the store.
func TestRelayIgnoresStrayPayloads(t *testing.T) {
	_, b, bus := replicas(t, nil)
	createProject(t, b, "shop")
	onB := subscribe(t, b, "shop")
	for _, p := range []string{`not json`, `{"o":"x","k":"revision","p":""}`, `{"o":"x","k":"revision","p":"other","r":1}`,
		`{"o":"x","k":"revision","p":"shop","r":99}`, `{"o":"x","k":"deployment","p":"shop","d":99}`} {
		bus.broadcast(store.Notification{Payload: p})
	}
	none(t, onB, 200*time.Millisecond, "revision", "deployment")
	if r := b.do(t, "GET", "/healthz", nil); r.Status != 200 {
		t.Fatalf("healthz: %d", r.Status)
	}
}

// Without a Notifier (plain SQLite) events stay local, and healthz says so.
func TestRelayLocalWithoutNotifier(t *testing.T) {
	ts := newTestServer(t, nil)
	if got := ts.do(t, "GET", "/healthz", nil).json(t)["events"]; got != relayLocal {
		t.Errorf("healthz events = %v, want %s", got, relayLocal)
	}
}
