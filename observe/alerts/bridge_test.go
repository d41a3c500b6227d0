package alerts

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/schema"
)

// capture is an Alertmanager stand-in that records posted alerts, for
// the bridge's state machine and fault cases; the real Alertmanager is
// tested in test/alerts_*_test.go.
type capture struct {
	mu    sync.Mutex
	posts [][]PostableAlert
	down  atomic.Bool
}

func newCapture(t *testing.T) (*capture, *Client) {
	c := &capture{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		var as []PostableAlert
		if err := json.NewDecoder(r.Body).Decode(&as); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		c.mu.Lock()
		c.posts = append(c.posts, as)
		c.mu.Unlock()
	}))
	t.Cleanup(ts.Close)
	cl, err := NewClient(ts.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, cl
}

// latest is the newest posted state of each alert, by alertname.
func (c *capture) latest() map[string]PostableAlert {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]PostableAlert{}
	for _, p := range c.posts {
		for _, a := range p {
			out[a.Labels[LabelAlertname]+"/"+a.Labels[LabelElement]] = a
		}
	}
	return out
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newTestBridge(t *testing.T) (*Bridge, *capture, *clock) {
	cp, cl := newCapture(t)
	ck := &clock{now: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	b := NewBridge(BridgeConfig{Client: cl, PublicURL: "https://bp.example.com/", Now: ck.Now})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go b.out.run(ctx)
	s := &schema.Schema{Project: "shop", Elements: []schema.Element{
		{ID: "api", Alerts: &schema.Alerts{Restarts: 2, RestartWindow: "5m", DownAfter: "30s"}},
		{ID: "db"},
	}}
	b.SetProject("shop", s, []jobs.Target{{Element: "api", Region: "eu", JobID: "shop-api"}, {Element: "db", Region: "eu", JobID: "shop-db"}})
	return b, cp, ck
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func status(element string, state jobs.State, desired, up int, restarts ...time.Time) jobs.Status {
	return jobs.Status{Element: element, Region: "eu", JobID: "shop-" + element, State: state, Desired: desired,
		Running: up, Signals: &jobs.Signals{Service: true, Up: up, Restarts: restarts}}
}

func TestBridgeRaisesAndResolves(t *testing.T) {
	b, cp, ck := newTestBridge(t)
	now := ck.Now()
	b.Observe("shop", status("db", jobs.StateHealthy, 1, 1))
	// Two restarts within api's 5m window: RestartLoop at once; no
	// instance running: ElementDown only after 30s.
	b.Observe("shop", status("api", jobs.StateDeploying, 1, 0, now.Add(-10*time.Second), now.Add(-40*time.Second)))
	waitFor(t, "RestartLoop posted", func() bool { _, ok := cp.latest()["RestartLoop/api"]; return ok })
	if _, ok := cp.latest()["ElementDown/api"]; ok {
		t.Fatal("ElementDown before down_after")
	}
	rl := cp.latest()["RestartLoop/api"]
	if rl.Labels[LabelProject] != "shop" || rl.Labels[LabelRegion] != "eu" || rl.Labels[LabelSeverity] != "critical" ||
		rl.Annotations["editor_url"] != "https://bp.example.com/p/shop?element=api" || !rl.StartsAt.Equal(now.Add(-40*time.Second)) ||
		!rl.EndsAt.After(now) {
		t.Errorf("RestartLoop alert: %+v", rl)
	}
	ck.add(31 * time.Second)
	b.sweep(ck.Now())
	waitFor(t, "ElementDown posted", func() bool { _, ok := cp.latest()["ElementDown/api"]; return ok })
	// Recovery: a new version running, no restarts of it.
	b.Observe("shop", status("api", jobs.StateHealthy, 1, 1))
	waitFor(t, "both resolved", func() bool {
		l := cp.latest()
		return !l["RestartLoop/api"].EndsAt.After(ck.Now()) && !l["ElementDown/api"].EndsAt.After(ck.Now())
	})
	for k := range cp.latest() {
		if k[len(k)-3:] == "/db" {
			t.Errorf("the healthy element raised %s", k)
		}
	}
	if n := len(b.Firing("shop")); n != 0 {
		t.Errorf("%d still firing", n)
	}
}

func TestBridgeUnknownRegionKeepsAlerts(t *testing.T) {
	b, cp, ck := newTestBridge(t)
	now := ck.Now()
	b.Observe("shop", status("api", jobs.StateDegraded, 1, 1, now, now))
	waitFor(t, "RestartLoop", func() bool { _, ok := cp.latest()["RestartLoop/api"]; return ok })
	b.Observe("shop", jobs.Status{Element: "api", Region: "eu", State: jobs.StateUnknown, LastEvent: "region eu: timeout"})
	if len(b.Firing("shop")) != 1 {
		t.Fatal("an unreachable region resolved the alert")
	}
}

func TestBridgeDeploymentFailedAndRemovedProject(t *testing.T) {
	b, cp, ck := newTestBridge(t)
	st := status("api", jobs.StateHealthy, 1, 1)
	st.Signals.DeploymentFailed = &jobs.Failure{ID: "d1", Message: "deployment of version 3 failed: rolling back to job version 2"}
	b.Observe("shop", st)
	waitFor(t, "DeploymentFailed", func() bool { _, ok := cp.latest()["DeploymentFailed/api"]; return ok })
	b.RemoveProject("shop")
	waitFor(t, "resolved on removal", func() bool { return !cp.latest()["DeploymentFailed/api"].EndsAt.After(ck.Now()) })
}

func TestBridgeResendsAfterAlertmanagerOutage(t *testing.T) {
	b, cp, ck := newTestBridge(t)
	cp.down.Store(true)
	now := ck.Now()
	b.Observe("shop", status("api", jobs.StateDegraded, 1, 1, now, now))
	waitFor(t, "a failed post", func() bool { return b.Stats().Failed > 0 })
	if b.Stats().Pending != 1 {
		t.Fatalf("pending %d, want the alert kept", b.Stats().Pending)
	}
	cp.down.Store(false)
	waitFor(t, "delivery after recovery", func() bool { _, ok := cp.latest()["RestartLoop/api"]; return ok })
	// A firing alert is re-posted every ResendEvery.
	before := len(cp.posts)
	ck.add(ResendEvery)
	b.sweep(ck.Now())
	waitFor(t, "resend", func() bool { cp.mu.Lock(); defer cp.mu.Unlock(); return len(cp.posts) > before })
}

func TestSenderBoundDropsFiringBeforeResolutions(t *testing.T) {
	s := newSender(nil, 3, nil)
	now := time.Now()
	mk := func(el string, ends time.Time) PostableAlert {
		return PostableAlert{Labels: map[string]string{LabelProject: "p", LabelElement: el, LabelAlertname: "X"}, EndsAt: ends}
	}
	s.enqueue([]PostableAlert{mk("resolved", now.Add(-time.Second)), mk("a", now.Add(time.Hour)), mk("b", now.Add(time.Hour)), mk("c", now.Add(time.Hour))})
	if st := s.stats(); st.Pending != 3 || st.Dropped != 1 {
		t.Fatalf("stats %+v", st)
	}
	if _, ok := s.pending[alertKey(mk("resolved", now))]; !ok {
		t.Error("the resolution was dropped before a firing update")
	}
	if _, ok := s.pending[alertKey(mk("a", now))]; ok {
		t.Error("the oldest firing update was kept")
	}
}

func TestRulesFor(t *testing.T) {
	r := RulesFor(&schema.Alerts{Restarts: 5, RestartWindow: "30m", DownAfter: "bogus"})
	if r.Restarts != 5 || r.RestartWindow != 30*time.Minute || r.DownAfter != DefaultDownAfter || r.CheckAfter != DefaultCheckAfter {
		t.Errorf("%+v", r)
	}
}
