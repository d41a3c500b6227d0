package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/observe/alerts"
	"github.com/backplane-dev/backplane/store"
	"github.com/backplane-dev/backplane/templates"
)

// fakeAM is a stand-in Alertmanager for the role table and fault cases;
// the real one is tested in test/ (alerts_*_test.go).
type fakeAM struct {
	mu       sync.Mutex
	alerts   []alerts.Alert
	silences map[string]*alerts.Silence
	n        int
	fail     int // answer every request with this status when set
}

func newFakeAM(t *testing.T) (*fakeAM, *alerts.Client) {
	t.Helper()
	f := &fakeAM{silences: map[string]*alerts.Silence{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v2/alerts", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		out := []alerts.Alert{}
		for _, a := range f.alerts {
			if matchesFilter(a.Labels, r.URL.Query()["filter"]) {
				out = append(out, a)
			}
		}
		_ = json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("GET /api/v2/silences", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		out := []*alerts.Silence{}
		for _, s := range f.silences {
			out = append(out, s)
		}
		_ = json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("POST /api/v2/silences", func(w http.ResponseWriter, r *http.Request) {
		var s alerts.Silence
		if err := json.NewDecoder(r.Body).Decode(&s); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		f.mu.Lock()
		f.n++
		s.ID = fmt.Sprintf("new-%d", f.n)
		s.Status = &struct {
			State string `json:"state"`
		}{"active"}
		f.silences[s.ID] = &s
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]string{"silenceID": s.ID})
	})
	mux.HandleFunc("GET /api/v2/silence/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		s := f.silences[r.PathValue("id")]
		if s == nil {
			http.Error(w, "silence not found", 404)
			return
		}
		_ = json.NewEncoder(w).Encode(s)
	})
	mux.HandleFunc("DELETE /api/v2/silence/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if s := f.silences[r.PathValue("id")]; s != nil {
			s.Status.State = "expired"
		}
	})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		fail := f.fail
		f.mu.Unlock()
		if fail != 0 {
			http.Error(w, "injected failure", fail)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	c, err := alerts.NewClient(ts.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func matchesFilter(labels map[string]string, filter []string) bool {
	for _, f := range filter {
		k, v, _ := strings.Cut(f, "=")
		if labels[k] != strings.Trim(v, `"`) {
			return false
		}
	}
	return true
}

func (f *fakeAM) addSilence(id, project, element string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	f.silences[id] = &alerts.Silence{ID: id, Matchers: []alerts.Matcher{
		{Name: "project", Value: project, IsEqual: true}, {Name: "element", Value: element, IsEqual: true}},
		StartsAt: now, EndsAt: now.Add(time.Hour), Comment: "seeded",
		Status: &struct {
			State string `json:"state"`
		}{"active"}}
}

func TestAlertsOffWithoutAlertmanager(t *testing.T) {
	ts := newTestServer(t, nil)
	createProject(t, ts, "shop")
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/projects/shop/alerts", ""},
		{"GET", "/projects/shop/silences", ""},
		{"POST", "/projects/shop/silences", `{"element":"api","duration":"1h","comment":"x"}`},
		{"DELETE", "/projects/shop/silences/abc", ""},
	} {
		resp := ts.do(t, r.method, r.path, strings.NewReader(r.body), "Content-Type", "application/json")
		if resp.Status != http.StatusServiceUnavailable || !strings.Contains(string(resp.Body), `"no_alertmanager"`) {
			t.Errorf("%s %s: %d %s, want 503 no_alertmanager", r.method, r.path, resp.Status, resp.Body)
		}
	}
}

func TestSilenceInputAndScope(t *testing.T) {
	as := newAuthServer(t)
	fam := as.fakeAM
	for _, c := range []struct{ body, path, msg string }{
		{`{"duration":"1h","comment":"x"}`, "element", "element is required"},
		{`{"element":"nope","duration":"1h","comment":"x"}`, "element", "no element"},
		{`{"element":"api","duration":"soon","comment":"x"}`, "duration", "not a duration"},
		{`{"element":"api","duration":"10s","comment":"x"}`, "duration", "between"},
		{`{"element":"api","duration":"2h","comment":"  "}`, "comment", "comment"},
	} {
		r := as.do(t, "POST", "/projects/shop/silences", strings.NewReader(c.body), "Content-Type", "application/json")
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"path":"`+c.path+`"`) || !strings.Contains(string(r.Body), c.msg) {
			t.Errorf("%s: %d %s, want 400 at %s saying %q", c.body, r.Status, r.Body, c.path, c.msg)
		}
	}
	r := as.do(t, "POST", "/projects/shop/silences", strings.NewReader(`{"element":"api","duration":"2h","comment":"deploying a fix"}`), "Content-Type", "application/json")
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var created struct {
		Silence silenceView `json:"silence"`
	}
	if err := json.Unmarshal(r.Body, &created); err != nil || created.Silence.ID == "" || created.Silence.Element != "api" {
		t.Fatalf("create answer: %s", r.Body)
	}
	// Another project's silence is neither listed nor expirable here.
	fam.addSilence("theirs", "other", "api")
	r = as.do(t, "GET", "/projects/shop/silences", nil)
	if r.Status != 200 || strings.Contains(string(r.Body), "theirs") || !strings.Contains(string(r.Body), created.Silence.ID) {
		t.Errorf("list: %d %s", r.Status, r.Body)
	}
	if r := as.do(t, "DELETE", "/projects/shop/silences/theirs", nil); r.Status != http.StatusNotFound {
		t.Errorf("expire another project's silence: %d %s, want 404", r.Status, r.Body)
	}
	if r := as.do(t, "DELETE", "/projects/shop/silences/"+created.Silence.ID, nil); r.Status != http.StatusNoContent {
		t.Errorf("expire: %d %s", r.Status, r.Body)
	}
	// Alertmanager failing is a 502 that says so, not a crash.
	fam.mu.Lock()
	fam.fail = http.StatusInternalServerError
	fam.mu.Unlock()
	if r := as.do(t, "GET", "/projects/shop/alerts", nil); r.Status != http.StatusBadGateway || !strings.Contains(string(r.Body), "alertmanager_unreachable") {
		t.Errorf("alertmanager down: %d %s", r.Status, r.Body)
	}
}

// recordingApplier records what the server asks of the Alertmanager
// config, and fails when told to.
type recordingApplier struct {
	mu      sync.Mutex
	applied []string
	secrets map[string][]byte
	fail    error
}

func (r *recordingApplier) Apply(ctx context.Context, project string, rendered []byte, secrets map[string][]byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.applied = append(r.applied, project)
	r.secrets = secrets
	return nil
}

func (r *recordingApplier) Remove(ctx context.Context, project string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applied = append(r.applied, "-"+project)
	return nil
}

func (r *recordingApplier) calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.applied...)
}

func alertingServer(t *testing.T, st store.Store, cluster Cluster, cfg AlertConfigApplier) (*testServer, *fakeAM) {
	t.Helper()
	reg, err := templates.NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	fam, amc := newFakeAM(t)
	srv := New(Config{Store: st, Registry: reg, Cluster: cluster, Version: "test", Alerts: AlertsConfig{Client: amc, Config: cfg}})
	bootstrap(t, srv)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { srv.Close(); ts.Close() })
	return &testServer{Server: ts, srv: srv}, fam
}

// A restarted server loads the routes of every deployed project again and
// follows its jobs, so what fires is recomputed; a project never deployed
// is left alone.
func TestAlertingResumesDeployedProjectsAtStart(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "backplane.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, slug := range []string{"shop", "draft"} {
		if _, err := st.CreateProject(ctx, slug, slug); err != nil {
			t.Fatal(err)
		}
		y := strings.Replace(apiSchema, "project: shop", "project: "+slug, 1)
		if _, err := st.SaveRevision(ctx, slug, store.NewRevision{YAML: y, Author: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	d, err := st.CreateDeployment(ctx, store.Deployment{Project: "shop", Revision: 1, Action: "deploy", Author: "t", Status: "running"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.FinishDeployment(ctx, d.ID, "succeeded", "ok"); err != nil {
		t.Fatal(err)
	}
	cluster := newFakeCluster()
	rec := &recordingApplier{}
	ts, _ := alertingServer(t, st, cluster, rec)
	ts.srv.Start(ctx)
	if got := rec.calls(); len(got) != 1 || got[0] != "shop" {
		t.Errorf("routes loaded at start: %v, want [shop]", got)
	}
	select {
	case targets := <-cluster.watching:
		if len(targets) != 2 || targets[0].JobID != "shop-api" {
			t.Errorf("watching %+v", targets)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the deployed project's jobs are not followed after a restart")
	}
}

// A deploy whose routes cannot be loaded still deploys, and says why in
// its answer and its recorded summary.
func TestDeployReportsAlertRoutesNotLoaded(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "backplane.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rec := &recordingApplier{}
	ts, _ := alertingServer(t, st, newFakeCluster(), rec)
	createProject(t, ts, "shop")
	y := strings.Replace(apiSchema, "elements:", "receivers: { team: { slack: { channel: \"#x\", webhook_url_secret: SLACK_URL } } }\nelements:", 1)
	body, _ := json.Marshal(map[string]string{"yaml": y})
	r := ts.do(t, "POST", "/projects/shop/deploy", bytes.NewReader(body), "Content-Type", "application/json")
	if r.Status != http.StatusAccepted || !strings.Contains(string(r.Body), "alert routes not loaded: receivers read project secrets SLACK_URL") {
		t.Fatalf("deploy: %d %s", r.Status, r.Body)
	}
	ds, err := st.ListDeployments(ctx, "shop", 1)
	if err != nil || len(ds) != 1 || ds[0].Status != "succeeded" || !strings.Contains(ds[0].Summary, "alert routes not loaded") {
		t.Errorf("recorded deployment: %+v %v", ds, err)
	}
	if got := rec.calls(); len(got) != 0 {
		t.Errorf("routes were loaded without their secrets: %v", got)
	}
}
