package logs_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/observe/logs"
	"github.com/backplane-dev/backplane/observe/logs/lokitest"
)

var t0 = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

func labels(project, element, stream string) map[string]string {
	return map[string]string{"project": project, "element": element, "region": "eu", "alloc": "0b7e5e3c-2f0a-4c1b-9d3e-1a2b3c4d5e6f", "task": element, "stream": stream}
}

func newClient(t *testing.T, cfg logs.Config) *logs.Client {
	t.Helper()
	c, err := logs.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var window = logs.Window{Start: t0.Add(-time.Hour), End: t0.Add(time.Hour)}

func TestQueryRangeScopesAndDecodes(t *testing.T) {
	loki := lokitest.New(t, lokitest.Options{})
	loki.Push(labels("shop", "api", "stdout"), t0.Add(1*time.Second), "GET /a 200")
	loki.Push(labels("shop", "api", "stderr"), t0.Add(2*time.Second), "timeout talking to db")
	loki.Push(labels("shop", "web", "stdout"), t0.Add(3*time.Second), "timeout in web")
	loki.Push(labels("other", "api", "stdout"), t0.Add(4*time.Second), "timeout of another project")
	c := newClient(t, logs.Config{URL: loki.URL + "/loki/api/v1/push"}) // a push URL is taken as the base

	res, err := c.QueryRange(context.Background(), logs.RangeInput{Query: logs.Query{Project: "shop", Search: "timeout"}, Window: window})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range res.Lines {
		got = append(got, l.Element+"/"+l.Stream+": "+l.Line)
	}
	want := []string{"web/stdout: timeout in web", "api/stderr: timeout talking to db"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines (newest first):\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if res.Next != "" {
		t.Errorf("next %q for a short page", res.Next)
	}
	l := res.Lines[1]
	if !l.TS.Equal(t0.Add(2*time.Second)) || l.Region != "eu" || l.Alloc != "0b7e5e3c-2f0a-4c1b-9d3e-1a2b3c4d5e6f" || l.Task != "api" {
		t.Errorf("line %+v", l)
	}
	reqs := loki.Requests()
	if p := reqs[len(reqs)-1].Path; p != "/loki/api/v1/query_range" {
		t.Errorf("path %s", p)
	}
}

// TestQueryRangePages walks a search page by page in both directions:
// every line once, in order, lines sharing a timestamp across a page
// boundary included, and no cursor after the last page.
func TestQueryRangePages(t *testing.T) {
	loki := lokitest.New(t, lokitest.Options{})
	var all []string
	for i := range 23 {
		ts := t0.Add(time.Duration(i/3) * time.Second) // three lines per timestamp
		line := fmt.Sprintf("line %02d", i)
		loki.Push(labels("shop", fmt.Sprintf("e%d", i%3), "stdout"), ts, line)
		all = append(all, line)
	}
	c := newClient(t, logs.Config{URL: loki.URL})
	for _, dir := range []logs.Direction{logs.Forward, logs.Backward} {
		for _, limit := range []int{1, 2, 4, 5, 23, 50} {
			t.Run(fmt.Sprintf("%s by %d", dir, limit), func(t *testing.T) {
				in := logs.RangeInput{Query: logs.Query{Project: "shop"}, Window: window, Limit: limit, Direction: dir}
				seen := map[string]int{}
				var order []time.Time
				pages := 0
				for {
					res, err := c.QueryRange(context.Background(), in)
					if err != nil {
						t.Fatal(err)
					}
					pages++
					if len(res.Lines) > limit {
						t.Fatalf("page of %d lines, limit %d", len(res.Lines), limit)
					}
					for _, l := range res.Lines {
						seen[l.Line]++
						order = append(order, l.TS)
					}
					if res.Next == "" {
						break
					}
					if pages > 100 {
						t.Fatal("no end to the pages")
					}
					in.Cursor = res.Next
				}
				for _, line := range all {
					if seen[line] != 1 {
						t.Errorf("%s seen %d times", line, seen[line])
					}
				}
				for i := 1; i < len(order); i++ {
					if (dir == logs.Forward && order[i].Before(order[i-1])) || (dir == logs.Backward && order[i].After(order[i-1])) {
						t.Fatalf("out of order at %d: %s then %s", i, order[i-1], order[i])
					}
				}
			})
		}
	}
}

func TestCursorBelongsToItsSearch(t *testing.T) {
	loki := lokitest.New(t, lokitest.Options{})
	for i := range 3 {
		loki.Push(labels("shop", "api", "stdout"), t0.Add(time.Duration(i)*time.Second), "x")
	}
	c := newClient(t, logs.Config{URL: loki.URL})
	res, err := c.QueryRange(context.Background(), logs.RangeInput{Query: logs.Query{Project: "shop"}, Window: window, Limit: 1})
	if err != nil || res.Next == "" {
		t.Fatalf("%v %+v", err, res)
	}
	for name, in := range map[string]logs.RangeInput{
		"another search":  {Query: logs.Query{Project: "shop", Element: "web"}, Cursor: res.Next},
		"another project": {Query: logs.Query{Project: "other"}, Cursor: res.Next},
		"garbage":         {Query: logs.Query{Project: "shop"}, Cursor: "not-a-cursor!"},
	} {
		_, err := c.QueryRange(context.Background(), in)
		var fe *logs.FieldError
		if !errors.As(err, &fe) || fe.Field != "cursor" {
			t.Errorf("%s: %v, want a cursor error", name, err)
		}
	}
}

func TestTenantAndBasicAuth(t *testing.T) {
	loki := lokitest.New(t, lokitest.Options{Tenant: "team-a", Username: "reader", Password: "s3cret:with:colons"})
	loki.Push(labels("shop", "api", "stdout"), t0, "hello")
	authFile := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(authFile, []byte("reader:s3cret:with:colons\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(logs.EnvURL, loki.URL)
	t.Setenv(logs.EnvTenant, "team-a")
	t.Setenv(logs.EnvBasicAuthFile, authFile)
	cfg, err := logs.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.String(); strings.Contains(s, "s3cret") || !strings.Contains(s, "reader") {
		t.Errorf("config shows %q", s)
	}
	c := newClient(t, cfg)
	in := logs.RangeInput{Query: logs.Query{Project: "shop"}, Window: window}
	res, err := c.QueryRange(context.Background(), in)
	if err != nil || len(res.Lines) != 1 {
		t.Fatalf("with tenant and auth: %v %+v", err, res)
	}
	h := loki.Requests()[0].Header
	if h.Get("X-Scope-OrgID") != "team-a" {
		t.Errorf("tenant header %q", h.Get("X-Scope-OrgID"))
	}
	// Without them, Loki's 401 comes back as an *Error, and nothing of
	// the password is in it.
	for name, cfg := range map[string]logs.Config{
		"no tenant":      {URL: loki.URL, Username: "reader", Password: "s3cret:with:colons"},
		"wrong password": {URL: loki.URL, Tenant: "team-a", Username: "reader", Password: "nope"},
	} {
		_, err := newClient(t, cfg).QueryRange(context.Background(), in)
		var le *logs.Error
		if !errors.As(err, &le) || le.Status != http.StatusUnauthorized {
			t.Errorf("%s: %v, want a 401", name, err)
		}
		if strings.Contains(fmt.Sprint(err), "s3cret") || strings.Contains(fmt.Sprint(err), "nope") {
			t.Errorf("%s: the error shows the password: %v", name, err)
		}
	}
}

func TestBasicAuthFileProblems(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("just-a-password-no-user\n"), 0o600)
	var cfg logs.Config
	err := cfg.LoadBasicAuth(bad)
	if err == nil || strings.Contains(err.Error(), "just-a-password") || !strings.Contains(err.Error(), "user:password") {
		t.Errorf("bad file: %v", err)
	}
	if err := cfg.LoadBasicAuth(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestNewRefusesBadURLs(t *testing.T) {
	for url, want := range map[string]string{
		"":                              "not configured: set BACKPLANE_LOKI_URL",
		"loki:3100":                     "want an http:// or https:// URL",
		"http://u:p@loki:3100":          "carries credentials",
		"http://loki:3100/?query=x":     "without query",
		"ftp://loki":                    "want an http",
		"http://loki:3100/prefix/":      "",
		"https://logs.example.com/loki": "",
	} {
		_, err := logs.New(logs.Config{URL: url})
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", url, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: %v, want %q", url, err, want)
		}
	}
	if _, err := logs.New(logs.Config{}); !errors.Is(err, logs.ErrNotConfigured) {
		t.Errorf("no URL: %v", err)
	}
}

func TestQueryRangeErrors(t *testing.T) {
	loki := lokitest.New(t, lokitest.Options{})
	c := newClient(t, logs.Config{URL: loki.URL})
	in := logs.RangeInput{Query: logs.Query{Project: "shop"}, Window: window}
	ctx := context.Background()

	loki.FailNext(http.StatusBadRequest, "the query time range exceeds the limit (query length: 800h, limit: 721h)")
	_, err := c.QueryRange(ctx, in)
	var le *logs.Error
	if !errors.As(err, &le) || !le.BadQuery() || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Errorf("400: %v", err)
	}
	loki.FailNext(http.StatusServiceUnavailable, "Ingester not ready")
	if _, err := c.QueryRange(ctx, in); !errors.As(err, &le) || le.BadQuery() || le.Status != 503 {
		t.Errorf("503: %v", err)
	}
	// A bad regex never reaches Loki.
	n := len(loki.Requests())
	if _, err := c.QueryRange(ctx, logs.RangeInput{Query: logs.Query{Project: "shop", Regex: "("}, Window: window}); err == nil || !strings.HasPrefix(err.Error(), "regex: ") {
		t.Errorf("bad regex: %v", err)
	}
	if len(loki.Requests()) != n {
		t.Error("a bad regex was sent to Loki")
	}
	// Nobody listening.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	_, err = newClient(t, logs.Config{URL: "http://" + addr}).QueryRange(ctx, in)
	if err == nil || !strings.Contains(err.Error(), "loki http://"+addr) || strings.Contains(err.Error(), "query_range?") {
		t.Errorf("unreachable: %v", err)
	}
	// A window that ends before it starts is empty, not an error.
	res, err := c.QueryRange(ctx, logs.RangeInput{Query: logs.Query{Project: "shop"}, Window: logs.Window{Start: t0, End: t0}})
	if err != nil || len(res.Lines) != 0 || res.Lines == nil {
		t.Errorf("empty window: %v %+v", err, res)
	}
}

// collector gathers a tail's lines.
type collector struct {
	mu    sync.Mutex
	lines []string
	ch    chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 1000)} }

func (c *collector) add(l logs.Line) error {
	c.mu.Lock()
	c.lines = append(c.lines, l.Line)
	c.mu.Unlock()
	c.ch <- struct{}{}
	return nil
}

func (c *collector) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		c.mu.Lock()
		got := append([]string(nil), c.lines...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-c.ch:
		case <-deadline:
			t.Fatalf("got %d lines, want %d: %q", len(got), n, got)
		}
	}
}

func TestTailFollowsAndStopsWithContext(t *testing.T) {
	loki := lokitest.New(t, lokitest.Options{Tenant: "team-a", Username: "reader", Password: "pw"})
	now := time.Now()
	loki.Push(labels("shop", "api", "stdout"), now.Add(-time.Minute), "before the start")
	loki.Push(labels("shop", "api", "stdout"), now.Add(-time.Second), "backlog")
	c := newClient(t, logs.Config{URL: loki.URL, Tenant: "team-a", Username: "reader", Password: "pw"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	col := newCollector()
	connected := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- c.Tail(ctx, logs.TailInput{Query: logs.Query{Project: "shop", Element: "api"}, Start: now.Add(-10 * time.Second),
			Connected: func() { close(connected) }}, col.add)
	}()
	select {
	case <-connected:
	case err := <-done:
		t.Fatalf("tail ended: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("not connected")
	}
	col.wait(t, 1)
	loki.Push(labels("shop", "api", "stdout"), time.Now(), "live line")
	loki.Push(labels("shop", "web", "stdout"), time.Now(), "another element")
	loki.Push(labels("other", "api", "stdout"), time.Now(), "another project")
	loki.Push(labels("shop", "api", "stderr"), time.Now(), "live error")
	got := col.wait(t, 3)
	if strings.Join(got, "|") != "backlog|live line|live error" {
		t.Errorf("lines %q", got)
	}
	req := loki.Requests()[0]
	if req.Path != "/loki/api/v1/tail" || req.Header.Get("X-Scope-OrgID") != "team-a" || req.Query.Get("query") != `{project="shop", element="api"}` {
		t.Errorf("tail request %+v", req)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("tail ended with %v, want nil when ctx ends", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("tail did not stop when ctx ended")
	}
	waitFor(t, func() bool { return loki.OpenTails() == 0 }, "Loki's tail connection to close")
}

func TestTailReconnectsWithoutRepeats(t *testing.T) {
	loki := lokitest.New(t, lokitest.Options{})
	c := newClient(t, logs.Config{URL: loki.URL})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	col := newCollector()
	var mu sync.Mutex
	var notices []string
	done := make(chan error, 1)
	go func() {
		done <- c.Tail(ctx, logs.TailInput{Query: logs.Query{Project: "shop"}, Notice: func(m string) {
			mu.Lock()
			notices = append(notices, m)
			mu.Unlock()
		}}, col.add)
	}()
	waitFor(t, func() bool { return loki.OpenTails() == 1 }, "the tail to open")
	ts := time.Now()
	loki.Push(labels("shop", "api", "stdout"), ts, "one")
	loki.Push(labels("shop", "web", "stdout"), ts, "two, same time")
	col.wait(t, 2)
	loki.DropTails()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(notices) > 0 }, "a notice of the lost tail")
	waitFor(t, func() bool { return loki.OpenTails() == 1 }, "the tail to reopen")
	loki.Push(labels("shop", "api", "stdout"), time.Now(), "three")
	got := col.wait(t, 3)
	time.Sleep(100 * time.Millisecond)
	col.mu.Lock()
	got = append([]string(nil), col.lines...)
	col.mu.Unlock()
	if strings.Join(got, "|") != "one|two, same time|three" {
		t.Errorf("lines after a reconnect %q", got)
	}
	mu.Lock()
	if !strings.Contains(notices[0], "reconnecting") {
		t.Errorf("notice %q", notices[0])
	}
	mu.Unlock()
}

func TestTailFirstConnectionErrors(t *testing.T) {
	loki := lokitest.New(t, lokitest.Options{Tenant: "team-a"})
	c := newClient(t, logs.Config{URL: loki.URL})
	err := c.Tail(context.Background(), logs.TailInput{Query: logs.Query{Project: "shop"}}, func(logs.Line) error { return nil })
	var le *logs.Error
	if !errors.As(err, &le) || le.Status != http.StatusUnauthorized {
		t.Errorf("no tenant: %v, want Loki's 401", err)
	}
	err = c.Tail(context.Background(), logs.TailInput{Query: logs.Query{Project: "shop", Regex: "[z-a]"}}, func(logs.Line) error { return nil })
	if err == nil || !strings.HasPrefix(err.Error(), "regex: ") {
		t.Errorf("bad regex: %v", err)
	}
}

func TestTailEndsWhenFnFails(t *testing.T) {
	loki := lokitest.New(t, lokitest.Options{})
	loki.Push(labels("shop", "api", "stdout"), time.Now(), "x")
	c := newClient(t, logs.Config{URL: loki.URL})
	stop := errors.New("client went away")
	err := c.Tail(context.Background(), logs.TailInput{Query: logs.Query{Project: "shop"}, Start: time.Now().Add(-time.Minute)},
		func(logs.Line) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("got %v, want fn's error", err)
	}
}

func TestDedup(t *testing.T) {
	var d logs.Dedup
	line := func(sec int, text string) logs.Line {
		return logs.Line{TS: t0.Add(time.Duration(sec) * time.Second), Line: text}
	}
	for _, l := range []logs.Line{line(2, "b"), line(1, "a"), line(2, "c")} {
		if !d.Fresh(l) {
			t.Errorf("%s not fresh before a resume", l.Line)
		}
	}
	if got := d.Resume(); !got.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("resume at %s", got)
	}
	for _, c := range []struct {
		l     logs.Line
		fresh bool
	}{{line(1, "a"), false}, {line(2, "b"), false}, {line(2, "c"), false}, {line(2, "d"), true}, {line(3, "e"), true}, {line(1, "late"), false}} {
		if got := d.Fresh(c.l); got != c.fresh {
			t.Errorf("%s: fresh %v, want %v", c.l.Line, got, c.fresh)
		}
	}
}

func waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
