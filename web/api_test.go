package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/store"
	"github.com/backplane-dev/backplane/templates"
	"github.com/backplane-dev/backplane/translator"
)

// fakeCluster stands in for Nomad where a test injects statuses; the real
// cluster is exercised by the suites in test/.
type fakeCluster struct {
	mu       sync.Mutex
	statuses chan jobs.Status
	watching chan []jobs.Target
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{statuses: make(chan jobs.Status, 16), watching: make(chan []jobs.Target, 16)}
}

func (f *fakeCluster) Plan(ctx context.Context, b *translator.Bundle, o jobs.PlanOptions) (*jobs.Plan, error) {
	return &jobs.Plan{Project: b.Project}, nil
}
func (f *fakeCluster) Apply(ctx context.Context, p *jobs.Plan, o jobs.ApplyOptions) (*jobs.Result, error) {
	return &jobs.Result{Project: p.Project}, nil
}
func (f *fakeCluster) StatusAll(ctx context.Context, t []jobs.Target) []jobs.Status { return nil }
func (f *fakeCluster) AllocStats(ctx context.Context, t jobs.Target, alloc string) (jobs.AllocStats, error) {
	return jobs.AllocStats{CPUMHz: 50, MemoryBytes: 32 << 20, At: time.Now()}, nil
}
func (f *fakeCluster) Watch(ctx context.Context, t []jobs.Target, fn func(jobs.Status)) error {
	f.watching <- t
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case s := <-f.statuses:
			fn(s)
		}
	}
}
func (f *fakeCluster) Rollback(ctx context.Context, t []jobs.Target, v *uint64) []jobs.OpResult {
	return nil
}
func (f *fakeCluster) Destroy(ctx context.Context, t []jobs.Target, purge bool) []jobs.OpResult {
	return nil
}
func (f *fakeCluster) HasVault() bool { return false }

type testServer struct {
	*httptest.Server
	srv *Server
}

func newTestServer(t testing.TB, cluster Cluster) *testServer {
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
	srv := New(Config{Store: st, Registry: reg, Cluster: cluster, Version: "test"})
	bootstrap(t, srv)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { srv.Close(); ts.Close() })
	return &testServer{Server: ts, srv: srv}
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not JSON (%d): %s", r.Status, r.Body)
	}
	return m
}

func (ts *testServer) do(t *testing.T, method, path string, body io.Reader, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+"/api/v1"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, data}
}

func errorCode(t *testing.T, r response) string {
	t.Helper()
	m := r.json(t)
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %s", r.Body)
	}
	return e["code"].(string)
}

func createProject(t *testing.T, ts *testServer, slug string) {
	t.Helper()
	r := ts.do(t, "POST", "/projects", strings.NewReader(`{"slug":"`+slug+`","name":"Shop"}`), "Content-Type", "application/json")
	if r.Status != http.StatusCreated {
		t.Fatalf("create project: %d %s", r.Status, r.Body)
	}
}

const apiSchema = `version: 1
project: shop
defaults: { driver: raw_exec }
elements:
  - { id: api, kind: app.command, command: "python3 -m http.server $PORT", port: 8080 }
  - { id: worker, kind: worker, command: "sleep 100" }
connections:
  - { from: worker, to: api }
`

func TestProjectsCRUD(t *testing.T) {
	ts := newTestServer(t, nil)
	createProject(t, ts, "shop")
	if r := ts.do(t, "POST", "/projects", strings.NewReader(`{"slug":"shop"}`)); r.Status != http.StatusConflict {
		t.Fatalf("duplicate project: %d", r.Status)
	}
	if r := ts.do(t, "POST", "/projects", strings.NewReader(`{"slug":"Not A Slug"}`)); r.Status != 400 || errorCode(t, r) != "bad_request" {
		t.Fatalf("bad slug: %d %s", r.Status, r.Body)
	}
	r := ts.do(t, "GET", "/projects", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"slug":"shop"`) {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	r = ts.do(t, "PATCH", "/projects/shop", strings.NewReader(`{"name":"The Shop"}`))
	if r.Status != 200 || r.json(t)["name"] != "The Shop" {
		t.Fatalf("rename: %d %s", r.Status, r.Body)
	}
	if r := ts.do(t, "DELETE", "/projects/shop", nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d", r.Status)
	}
	if r := ts.do(t, "GET", "/projects/shop", nil); r.Status != 404 || errorCode(t, r) != "not_found" {
		t.Fatalf("deleted project: %d %s", r.Status, r.Body)
	}
}

func TestUnknownProjectIs404(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, c := range []struct{ method, path string }{
		{"GET", "/projects/ghost"}, {"GET", "/projects/ghost/schema"}, {"PUT", "/projects/ghost/schema"},
		{"GET", "/projects/ghost/revisions"}, {"GET", "/projects/ghost/revisions/1"},
		{"POST", "/projects/ghost/validate"}, {"POST", "/projects/ghost/render"}, {"GET", "/projects/ghost/events"},
		{"DELETE", "/projects/ghost"}, {"GET", "/no/such/endpoint"},
	} {
		r := ts.do(t, c.method, c.path, strings.NewReader(apiSchema), "If-Match", "*", "Content-Type", "application/yaml")
		if r.Status != 404 {
			t.Errorf("%s %s: %d %s, want 404", c.method, c.path, r.Status, r.Body)
		}
	}
}

// The ETag/If-Match path: a stale save gets 409 and the current head, and
// nothing is lost.
func TestSchemaETagConflict(t *testing.T) {
	ts := newTestServer(t, nil)
	createProject(t, ts, "shop")
	r := ts.do(t, "GET", "/projects/shop/schema", nil)
	etag1 := r.Header.Get("ETag")
	if r.Status != 200 || etag1 == "" || r.json(t)["revision"].(float64) != 1 {
		t.Fatalf("get schema: %d %q %s", r.Status, etag1, r.Body)
	}
	if r := ts.do(t, "PUT", "/projects/shop/schema", strings.NewReader(apiSchema), "Content-Type", "application/yaml"); r.Status != 428 {
		t.Fatalf("PUT without If-Match: %d", r.Status)
	}
	// Alice saves on revision 1.
	r = ts.do(t, "PUT", "/projects/shop/schema", strings.NewReader(apiSchema), "If-Match", etag1, "Content-Type", "application/yaml", "Authorization", userToken(t, ts.srv, "alice", "shop", store.RoleEditor), "X-Backplane-Message", "add api")
	if r.Status != 200 {
		t.Fatalf("first save: %d %s", r.Status, r.Body)
	}
	etag2 := r.Header.Get("ETag")
	if etag2 == etag1 || r.json(t)["revision"].(float64) != 2 {
		t.Fatalf("save did not make revision 2: %s", r.Body)
	}
	// Bob, still on revision 1, saves: 409 with alice's head.
	bob := strings.Replace(apiSchema, "sleep 100", "sleep 200", 1)
	r = ts.do(t, "PUT", "/projects/shop/schema", strings.NewReader(bob), "If-Match", etag1, "Content-Type", "application/yaml", "Authorization", userToken(t, ts.srv, "bob", "shop", store.RoleEditor))
	if r.Status != http.StatusConflict || errorCode(t, r) != "conflict" {
		t.Fatalf("stale save: %d %s", r.Status, r.Body)
	}
	head := r.json(t)["head"].(map[string]any)
	if head["revision"].(float64) != 2 || head["author"] != "alice" || head["etag"] != etag2 {
		t.Fatalf("conflict head: %v", head)
	}
	// Alice's work is intact.
	r = ts.do(t, "GET", "/projects/shop/schema", nil, "Accept", "application/yaml")
	if !strings.Contains(string(r.Body), "sleep 100") || strings.Contains(string(r.Body), "sleep 200") {
		t.Fatalf("head after the conflict:\n%s", r.Body)
	}
	// Bob reloads and saves on the head; or overwrites with *.
	if r := ts.do(t, "PUT", "/projects/shop/schema", strings.NewReader(bob), "If-Match", etag2, "Content-Type", "application/yaml"); r.Status != 200 {
		t.Fatalf("save on the head: %d %s", r.Status, r.Body)
	}
	if r := ts.do(t, "PUT", "/projects/shop/schema", strings.NewReader(apiSchema), "If-Match", "*", "Content-Type", "application/yaml"); r.Status != 200 || r.json(t)["revision"].(float64) != 4 {
		t.Fatalf("overwrite: %d %s", r.Status, r.Body)
	}
	if r := ts.do(t, "PUT", "/projects/shop/schema", strings.NewReader(apiSchema), "If-Match", "garbage", "Content-Type", "application/yaml"); r.Status != 400 {
		t.Fatalf("bad If-Match: %d", r.Status)
	}
}

func TestRevisionHistoryAndDiff(t *testing.T) {
	ts := newTestServer(t, nil)
	createProject(t, ts, "shop")
	etag := ts.do(t, "GET", "/projects/shop/schema", nil).Header.Get("ETag")
	devToken := userToken(t, ts.srv, "dev", "shop", store.RoleEditor)
	for i, port := range []string{"8080", "9090", "7070"} {
		body := strings.Replace(apiSchema, "8080", port, 1)
		r := ts.do(t, "PUT", "/projects/shop/schema", strings.NewReader(body), "If-Match", etag, "Content-Type", "application/yaml", "Authorization", devToken, "X-Backplane-Message", fmt.Sprintf("change %d", i))
		if r.Status != 200 {
			t.Fatalf("save %d: %d %s", i, r.Status, r.Body)
		}
		etag = r.Header.Get("ETag")
	}
	r := ts.do(t, "GET", "/projects/shop/revisions", nil)
	revs := r.json(t)["revisions"].([]any)
	if len(revs) != 4 || revs[0].(map[string]any)["number"].(float64) != 4 || revs[0].(map[string]any)["message"] != "change 2" {
		t.Fatalf("revisions: %s", r.Body)
	}
	r = ts.do(t, "GET", "/projects/shop/revisions/3", nil)
	if r.Status != 200 || !strings.Contains(r.json(t)["yaml"].(string), "9090") {
		t.Fatalf("revision 3: %d %s", r.Status, r.Body)
	}
	r = ts.do(t, "GET", "/projects/shop/revisions/4/diff", nil)
	diff := r.json(t)["diff"].(string)
	if !strings.Contains(diff, "-    port: 9090") || !strings.Contains(diff, "+    port: 7070") {
		t.Fatalf("diff:\n%s", diff)
	}
	if r := ts.do(t, "GET", "/projects/shop/revisions/99", nil); r.Status != 404 {
		t.Fatalf("missing revision: %d", r.Status)
	}
	if r := ts.do(t, "GET", "/projects/shop/revisions/zero", nil); r.Status != 400 {
		t.Fatalf("bad revision number: %d", r.Status)
	}
}

// Oversized and malformed bodies get 4xx, never 5xx.
func TestBadBodiesAre4xx(t *testing.T) {
	ts := newTestServer(t, nil)
	createProject(t, ts, "shop")
	huge := bytes.Repeat([]byte("a"), MaxBody+10)
	cases := []struct {
		name, method, path, ctype string
		body                      []byte
		want                      int
	}{
		{"huge schema", "PUT", "/projects/shop/schema", "application/yaml", huge, 413},
		{"huge validate", "POST", "/projects/shop/validate", "application/yaml", huge, 413},
		{"huge project", "POST", "/projects", "application/json", []byte(`{"slug":"` + string(huge) + `"}`), 413},
		{"malformed json", "POST", "/projects", "application/json", []byte(`{"slug":`), 400},
		{"unknown json field", "POST", "/projects", "application/json", []byte(`{"slug":"x","bogus":1}`), 400},
		{"empty body", "POST", "/projects", "application/json", nil, 400},
		{"broken yaml", "PUT", "/projects/shop/schema", "application/yaml", []byte("elements: [\n"), 400},
		{"unknown schema field", "PUT", "/projects/shop/schema", "application/yaml", []byte("version: 1\nproject: shop\nbogus: 1\nelements: []\n"), 400},
		{"wrong project", "PUT", "/projects/shop/schema", "application/yaml", []byte("version: 1\nproject: other\nelements: []\n"), 400},
		{"wrong media type", "PUT", "/projects/shop/schema", "image/png", []byte("x"), 415},
		{"alias bomb", "PUT", "/projects/shop/schema", "application/yaml", aliasBomb(), 413},
		{"bad rename", "PATCH", "/projects/shop", "application/json", []byte(`{"name":""}`), 400},
		{"binary garbage", "POST", "/projects/shop/validate", "application/json", []byte{0xff, 0xfe, 0, 1, 2}, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ts.do(t, c.method, c.path, bytes.NewReader(c.body), "Content-Type", c.ctype, "If-Match", "*")
			if r.Status != c.want {
				t.Fatalf("%d %s, want %d", r.Status, truncate(r.Body), c.want)
			}
			if r.Status >= 400 {
				errorCode(t, r) // the error shape holds
			}
		})
	}
	// The invalid schema came back with its problems and paths.
	r := ts.do(t, "PUT", "/projects/shop/schema", strings.NewReader("version: 1\nproject: shop\nelements:\n  - { id: api, kind: worker, command: x, scael: {} }\n"), "Content-Type", "application/yaml", "If-Match", "*")
	probs := r.json(t)["problems"].([]any)
	p := probs[0].(map[string]any)
	if p["path"] != "elements[api].scael" || p["element"] != "api" || p["field"] != "scael" {
		t.Fatalf("problem: %v", p)
	}
}

func aliasBomb() []byte {
	var b strings.Builder
	b.WriteString("a: &a [x,x,x,x,x,x,x,x,x]\n")
	prev := "a"
	for i := 0; i < 8; i++ {
		name := fmt.Sprintf("b%d", i)
		fmt.Fprintf(&b, "%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", name, name, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = name
	}
	return []byte(b.String())
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

func TestValidateAndRender(t *testing.T) {
	ts := newTestServer(t, nil)
	createProject(t, ts, "shop")
	r := ts.do(t, "POST", "/projects/shop/validate", strings.NewReader(apiSchema), "Content-Type", "application/yaml")
	if m := r.json(t); r.Status != 200 || m["valid"] != true {
		t.Fatalf("validate: %d %s", r.Status, r.Body)
	}
	bad := strings.Replace(apiSchema, "port: 8080", "port: 80800", 1)
	m := ts.do(t, "POST", "/projects/shop/validate", strings.NewReader(bad), "Content-Type", "application/yaml").json(t)
	probs := m["problems"].([]any)
	if m["valid"] != false || len(probs) != 1 || probs[0].(map[string]any)["path"] != "elements[api].port" || probs[0].(map[string]any)["field"] != "port" {
		t.Fatalf("validate bad port: %v", m)
	}
	// JSON bodies work the same.
	m = ts.do(t, "POST", "/projects/shop/validate", strings.NewReader(`{"version":1,"project":"shop","elements":[{"id":"w","kind":"worker"}]}`), "Content-Type", "application/json").json(t)
	if m["valid"] != false || !strings.Contains(fmt.Sprint(m["problems"]), "elements[w].command") {
		t.Fatalf("validate JSON: %v", m)
	}
	r = ts.do(t, "POST", "/projects/shop/render?element=api", strings.NewReader(apiSchema), "Content-Type", "application/yaml")
	files := r.json(t)["files"].(map[string]any)
	if r.Status != 200 || files["global/shop-api.nomad.hcl"] == nil || files["global/shop-api.nomad.json"] == nil || files["global/shop-worker.nomad.hcl"] != nil || files["alertmanager.yml"] == nil {
		t.Fatalf("render: %d %v", r.Status, keys(files))
	}
	if r := ts.do(t, "POST", "/projects/shop/render", strings.NewReader(bad), "Content-Type", "application/yaml"); r.Status != 422 {
		t.Fatalf("render invalid: %d", r.Status)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestClusterEndpointsWithoutCluster(t *testing.T) {
	ts := newTestServer(t, nil)
	createProject(t, ts, "shop")
	for _, p := range []string{"plan", "deploy", "rollback", "destroy"} {
		r := ts.do(t, "POST", "/projects/shop/"+p, nil)
		if r.Status != 503 || errorCode(t, r) != "no_cluster" {
			t.Errorf("%s without a cluster: %d %s", p, r.Status, r.Body)
		}
	}
	m := ts.do(t, "GET", "/healthz", nil).json(t)
	if m["cluster"] != "not configured" || m["store"] != "sqlite" {
		t.Fatalf("healthz: %v", m)
	}
}

func TestMetricsAndKinds(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.do(t, "GET", "/projects", nil)
	r := ts.do(t, "GET", "/metrics", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `backplane_http_requests_total{code="200",method="GET",route="/api/v1/projects"}`) {
		t.Fatalf("metrics: %s", truncate(r.Body))
	}
	r = ts.do(t, "GET", "/kinds", nil)
	if !strings.Contains(string(r.Body), `"name":"db.mongodb"`) {
		t.Fatalf("kinds: %s", truncate(r.Body))
	}
}

// A panic in a handler is a 500 and the server carries on.
func TestPanicIsA500(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.srv.engine.GET("/api/v1/boom", func(c *gin.Context) { panic("boom") })
	r := ts.do(t, "GET", "/boom", nil)
	if r.Status != 500 || errorCode(t, r) != "internal" {
		t.Fatalf("panic: %d %s", r.Status, r.Body)
	}
	if r := ts.do(t, "GET", "/healthz", nil); r.Status != 200 {
		t.Fatalf("server down after a panic: %d", r.Status)
	}
}

// readEvents reads SSE events from a stream until n events of type kind
// arrived or the deadline passed.
func readEvents(t *testing.T, body io.Reader, kind string, n int, timeout time.Duration) []string {
	t.Helper()
	out := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(body)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && event == kind:
				out <- strings.TrimPrefix(line, "data: ")
			}
		}
		close(out)
	}()
	var got []string
	deadline := time.After(timeout)
	for len(got) < n {
		select {
		case d, ok := <-out:
			if !ok {
				t.Fatalf("stream ended after %d %s events", len(got), kind)
			}
			got = append(got, d)
		case <-deadline:
			t.Fatalf("got %d of %d %s events in %s", len(got), n, kind, timeout)
		}
	}
	return got
}

// The SSE stream delivers status changes (and revisions) to subscribers.
func TestEventsDeliverStatusChanges(t *testing.T) {
	fc := newFakeCluster()
	ts := newTestServer(t, fc)
	createProject(t, ts, "shop")
	etag := ts.do(t, "GET", "/projects/shop/schema", nil).Header.Get("ETag")
	if r := ts.do(t, "PUT", "/projects/shop/schema", strings.NewReader(apiSchema), "If-Match", etag, "Content-Type", "application/yaml"); r.Status != 200 {
		t.Fatal(r.Status)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/api/v1/projects/shop/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	// The hub starts following the head revision's jobs.
	select {
	case targets := <-fc.watching:
		if len(targets) != 2 {
			t.Fatalf("watching %v", targets)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no watcher started")
	}
	fc.statuses <- jobs.Status{Element: "api", Region: "global", JobID: "shop-api", State: jobs.StateHealthy, Desired: 1, Running: 1}
	got := readEvents(t, resp.Body, "status", 1, 5*time.Second)
	var st jobs.Status
	if err := json.Unmarshal([]byte(got[0]), &st); err != nil || st.State != jobs.StateHealthy || st.Element != "api" {
		t.Fatalf("status event %q", got[0])
	}
	// A second subscriber gets the current state at once.
	resp2, err := http.Get(ts.URL + "/api/v1/projects/shop/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	replay := readEvents(t, resp2.Body, "status", 1, 5*time.Second)
	if !strings.Contains(replay[0], `"healthy"`) {
		t.Fatalf("replay %q", replay[0])
	}
}
