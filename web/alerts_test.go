package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/observe/alerts"
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
