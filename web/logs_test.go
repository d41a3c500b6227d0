package web

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/observe/logs"
	"github.com/backplane-dev/backplane/observe/logs/lokitest"
	"github.com/backplane-dev/backplane/store"
	"github.com/backplane-dev/backplane/templates"
)

// emptyLoki is a fake Loki that answers every search with no lines.
func emptyLoki(t testing.TB) logs.Config {
	return logs.Config{URL: lokitest.New(t, lokitest.Options{}).URL}
}

// logsServer is a test server reading logs from a fake Loki, with its
// log output kept.
func logsServer(t *testing.T, loki logs.Config) (*testServer, *lockedBuffer) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "backplane.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, err := templates.NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	out := &lockedBuffer{}
	srv := New(Config{Store: st, Registry: reg, Version: "test", Loki: loki,
		Logger: slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	bootstrap(t, srv)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { srv.Close(); hs.Close() })
	ts := &testServer{Server: hs, srv: srv}
	createProject(t, ts, "shop")
	createProject(t, ts, "other")
	return ts, out
}

func lokiLabels(project, element, stream string) map[string]string {
	return map[string]string{"project": project, "element": element, "region": "eu", "alloc": "0b7e5e3c-2f0a-4c1b-9d3e-1a2b3c4d5e6f", "task": element, "stream": stream}
}

type logsAnswer struct {
	Lines []logs.Line `json:"lines"`
	Next  string      `json:"next"`
}

func decodeLogs(t *testing.T, r response) logsAnswer {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("logs: %d %s", r.Status, r.Body)
	}
	var a logsAnswer
	if err := json.Unmarshal(r.Body, &a); err != nil {
		t.Fatalf("logs answer %s: %v", r.Body, err)
	}
	if a.Lines == nil {
		t.Fatalf("lines is null in %s", r.Body)
	}
	return a
}

func TestLogsSearchIsScopedToThePathsProject(t *testing.T) {
	loki := lokitest.New(t, lokitest.Options{Tenant: "team-a", Username: "reader", Password: "loki-pass-9f8e"})
	ts, out := logsServer(t, logs.Config{URL: loki.URL, Tenant: "team-a", Username: "reader", Password: "loki-pass-9f8e"})
	now := time.Now()
	loki.Push(lokiLabels("shop", "api", "stderr"), now.Add(-3*time.Second), "timeout talking to db")
	loki.Push(lokiLabels("shop", "api", "stdout"), now.Add(-2*time.Second), "GET / 200")
	loki.Push(lokiLabels("shop", "web", "stdout"), now.Add(-2*time.Second), "timeout in web")
	loki.Push(lokiLabels("other", "api", "stderr"), now.Add(-time.Second), "timeout of another project")

	a := decodeLogs(t, ts.do(t, "GET", "/projects/shop/logs?element=api&q=timeout", nil))
	if len(a.Lines) != 1 || a.Lines[0].Line != "timeout talking to db" || a.Lines[0].Stream != "stderr" || a.Lines[0].Element != "api" {
		t.Errorf("lines %+v", a.Lines)
	}
	if got := loki.LastQuery(); got != `{project="shop", element="api"} |= "timeout"` {
		t.Errorf("LogQL sent: %s", got)
	}
	a = decodeLogs(t, ts.do(t, "GET", "/projects/shop/logs?q=timeout", nil))
	if len(a.Lines) != 2 || a.Lines[0].Line != "timeout in web" {
		t.Errorf("whole project, newest first: %+v", a.Lines)
	}
	// Parameters that try to reach another project reach nothing.
	for _, hostile := range []string{
		`element=` + url.QueryEscape(`api"} or {project="other`),
		`element=` + url.QueryEscape(`api", project=~".+`),
		`q=` + url.QueryEscape(`"} |= "`+"\n"+`{project="other"}`),
		`regex=` + url.QueryEscape(`.*"} or {project=~".*`),
	} {
		r := ts.do(t, "GET", "/projects/shop/logs?"+hostile, nil)
		if r.Status == http.StatusOK {
			if a := decodeLogs(t, r); len(a.Lines) != 0 {
				t.Errorf("%s: %+v", hostile, a.Lines)
			}
		}
		if strings.Contains(string(r.Body), "another project") {
			t.Errorf("%s reached the other project: %s", hostile, r.Body)
		}
		if q := loki.LastQuery(); !strings.HasPrefix(q, `{project="shop", `) && !strings.HasPrefix(q, `{project="shop"} `) {
			t.Errorf("%s: LogQL %s", hostile, q)
		}
	}
	r := ts.do(t, "GET", "/projects/shop/logs?project=other", nil)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"path":"project"`) {
		t.Errorf("project parameter: %d %s", r.Status, r.Body)
	}
	for _, req := range loki.Requests() {
		if req.Header.Get("X-Scope-OrgID") != "team-a" {
			t.Fatalf("request without the tenant: %+v", req)
		}
	}
	if strings.Contains(out.String(), "loki-pass-9f8e") {
		t.Error("the Loki password is in the server's log")
	}
}

func TestLogsPagesThroughTheAPI(t *testing.T) {
	loki := lokitest.New(t, lokitest.Options{})
	ts, _ := logsServer(t, logs.Config{URL: loki.URL})
	now := time.Now()
	for i := range 5 {
		loki.Push(lokiLabels("shop", "api", "stdout"), now.Add(time.Duration(i-10)*time.Second), string(rune('a'+i)))
	}
	var got []string
	path := "/projects/shop/logs?since=1m&limit=2&direction=forward"
	for pages := 0; ; pages++ {
		a := decodeLogs(t, ts.do(t, "GET", path, nil))
		for _, l := range a.Lines {
			got = append(got, l.Line)
		}
		if a.Next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("no end to the pages")
		}
		path = "/projects/shop/logs?limit=2&cursor=" + url.QueryEscape(a.Next)
	}
	if strings.Join(got, "") != "abcde" {
		t.Errorf("pages gave %q", got)
	}
}

func TestLogsBadParametersNameTheField(t *testing.T) {
	ts, _ := logsServer(t, emptyLoki(t))
	cases := map[string]string{
		"regex=user%3D(%5Cd%2B":          "regex",
		"since=soon":                     "since",
		"since=1h&from=2026-01-01":       "from",
		"from=yesterday":                 "from",
		"limit=0":                        "limit",
		"limit=100000":                   "limit",
		"direction=up":                   "direction",
		"stream=stdin":                   "stream",
		"cursor=garbage":                 "cursor",
		"element=a&element=b":            "element",
		"q=" + strings.Repeat("x", 5000): "q",
	}
	for query, field := range cases {
		r := ts.do(t, "GET", "/projects/shop/logs?"+query, nil)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%.40s: %d %s", query, r.Status, r.Body)
			continue
		}
		e := r.json(t)["error"].(map[string]any)
		if e["path"] != field || e["code"] != "bad_request" || !strings.HasPrefix(e["message"].(string), field+": ") {
			t.Errorf("%.40s: %v, want path %s", query, e, field)
		}
	}
	r := ts.do(t, "GET", "/projects/shop/logs/tail?to=2026-01-01", nil)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "a tail has no end") {
		t.Errorf("tail with to: %d %s", r.Status, r.Body)
	}
	if r := ts.do(t, "GET", "/projects/nope/logs", nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown project: %d", r.Status)
	}
}

func TestLogsWithoutLokiAre503(t *testing.T) {
	ts := newTestServer(t, nil)
	createProject(t, ts, "shop")
	for _, path := range []string{"/projects/shop/logs", "/projects/shop/logs/tail"} {
		r := ts.do(t, "GET", path, nil)
		if r.Status != http.StatusServiceUnavailable || errorCode(t, r) != "no_loki" || !strings.Contains(string(r.Body), "start serve with BACKPLANE_LOKI_URL") {
			t.Errorf("%s: %d %s", path, r.Status, r.Body)
		}
	}
	// Settings that cannot work say why.
	bad, _ := logsServer(t, logs.Config{URL: "http://user:pw@loki:3100"})
	r := bad.do(t, "GET", "/projects/shop/logs", nil)
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), "carries credentials") || strings.Contains(string(r.Body), "pw@") {
		t.Errorf("bad settings: %d %s", r.Status, r.Body)
	}
}

func TestLogsLokiFailures(t *testing.T) {
	loki := lokitest.New(t, lokitest.Options{})
	ts, _ := logsServer(t, logs.Config{URL: loki.URL})
	loki.FailNext(http.StatusBadRequest, "the query time range exceeds the limit")
	r := ts.do(t, "GET", "/projects/shop/logs?since=60d", nil)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "Loki refused the search: the query time range exceeds the limit") {
		t.Errorf("400 from Loki: %d %s", r.Status, r.Body)
	}
	loki.FailNext(http.StatusInternalServerError, "boom")
	r = ts.do(t, "GET", "/projects/shop/logs", nil)
	if r.Status != http.StatusBadGateway || errorCode(t, r) != "loki_error" {
		t.Errorf("500 from Loki: %d %s", r.Status, r.Body)
	}
	loki.FailNext(http.StatusUnauthorized, "no org id")
	r = ts.do(t, "GET", "/projects/shop/logs/tail", nil)
	if r.Status != http.StatusBadGateway || !strings.Contains(string(r.Body), "no org id") {
		t.Errorf("tail refused: %d %s", r.Status, r.Body)
	}
}

// The tail relays Loki's lines as SSE and closes Loki's websocket when the
// client leaves.
func TestLogsTailRelaysAndStopsWhenTheClientLeaves(t *testing.T) {
	loki := lokitest.New(t, lokitest.Options{})
	ts, _ := logsServer(t, logs.Config{URL: loki.URL})
	loki.Push(lokiLabels("shop", "api", "stdout"), time.Now().Add(-5*time.Second), "from before")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/v1/projects/shop/logs/tail?element=api&since=1m", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("tail: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	waitUntil(t, func() bool { return loki.OpenTails() == 1 }, "Loki's tail to open")
	loki.Push(lokiLabels("other", "api", "stdout"), time.Now(), "another project")
	loki.Push(lokiLabels("shop", "web", "stdout"), time.Now(), "another element")
	loki.Push(lokiLabels("shop", "api", "stderr"), time.Now(), "live \"quoted\"\tline")
	events := readEvents(t, resp.Body, "line", 2, 5*time.Second)
	var lines []logs.Line
	for _, e := range events {
		var l logs.Line
		if err := json.Unmarshal([]byte(e), &l); err != nil {
			t.Fatalf("event data %s: %v", e, err)
		}
		lines = append(lines, l)
	}
	if lines[0].Line != "from before" || lines[1].Line != "live \"quoted\"\tline" || lines[1].Stream != "stderr" || lines[1].Alloc == "" {
		t.Errorf("lines %+v", lines)
	}
	if q := loki.LastQuery(); q != `{project="shop", element="api"}` {
		t.Errorf("LogQL %s", q)
	}
	cancel()
	resp.Body.Close()
	waitUntil(t, func() bool { return loki.OpenTails() == 0 }, "Loki's tail to close after the client left")
}

func TestLogsTailEndsWhenTheServerCloses(t *testing.T) {
	loki := lokitest.New(t, lokitest.Options{})
	ts, _ := logsServer(t, logs.Config{URL: loki.URL})
	resp, err := http.Get(ts.URL + "/api/v1/projects/shop/logs/tail")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	waitUntil(t, func() bool { return loki.OpenTails() == 1 }, "Loki's tail to open")
	ts.srv.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, resp.Body)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end when the server closed")
	}
	waitUntil(t, func() bool { return loki.OpenTails() == 0 }, "Loki's tail to close")
}

func waitUntil(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A tail Loki drops is reopened (a notice says so); one Loki then refuses
// ends with an error event.
func TestLogsTailReportsLossAndRefusal(t *testing.T) {
	loki := lokitest.New(t, lokitest.Options{})
	ts, _ := logsServer(t, logs.Config{URL: loki.URL})
	resp, err := http.Get(ts.URL + "/api/v1/projects/shop/logs/tail")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// Open, and its gap filled (a query_range once connected).
	waitUntil(t, func() bool {
		if loki.OpenTails() != 1 {
			return false
		}
		for _, r := range loki.Requests() {
			if strings.HasSuffix(r.Path, "/query_range") {
				return true
			}
		}
		return false
	}, "Loki's tail to open")
	loki.FailNext(http.StatusForbidden, "tenant disabled")
	loki.DropTails()
	events := make(chan string, 16)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			if e, ok := strings.CutPrefix(line, "event: "); ok {
				event = e
			} else if d, ok := strings.CutPrefix(line, "data: "); ok {
				events <- event + " " + d
			}
		}
	}()
	var got []string
	timeout := time.After(5 * time.Second)
	for done := false; !done; {
		select {
		case e, ok := <-events:
			if !ok {
				done = true
				break
			}
			got = append(got, e)
		case <-timeout:
			t.Fatalf("the stream did not end; events %q", got)
		}
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], `notice {"message":"the tail from loki`) ||
		!strings.HasPrefix(got[1], `error {"code":"loki_error","message":"reading logs from Loki failed: loki answered 403: tenant disabled"`) {
		t.Errorf("events %q", got)
	}
}
