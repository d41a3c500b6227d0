package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/observe/logs"
	"github.com/backplane-dev/backplane/observe/logs/lokitest"
)

const allocID = "0b7e5e3c-2f0a-4c1b-9d3e-1a2b3c4d5e6f"

func logLabels(project, element, stream string) map[string]string {
	return map[string]string{"project": project, "element": element, "region": "eu", "alloc": allocID, "task": element, "stream": stream}
}

// directLoki points the CLI at a fake Loki that wants a tenant and basic
// auth, with no server configured.
func directLoki(t *testing.T) (*lokitest.Server, string) {
	t.Helper()
	loki := lokitest.New(t, lokitest.Options{Tenant: "team-a", Username: "reader", Password: "pw-7c1d"})
	dir := t.TempDir()
	t.Setenv(logs.EnvURL, loki.URL)
	t.Setenv(logs.EnvTenant, "team-a")
	t.Setenv(logs.EnvBasicAuthFile, writeFile(t, dir, "loki-auth", "reader:pw-7c1d\n"))
	return loki, writeFile(t, dir, "backplane.yaml", shopYAML)
}

func stamp(ts time.Time) string { return ts.UTC().Format("2006-01-02T15:04:05.000Z") }

func TestLogsPrintsColumnsOldestFirst(t *testing.T) {
	loki, file := directLoki(t)
	now := time.Now().Truncate(time.Millisecond)
	t1, t2 := now.Add(-20*time.Second), now.Add(-10*time.Second)
	loki.Push(logLabels("shop", "api", "stderr"), t1, "timeout talking to db")
	loki.Push(logLabels("shop", "api", "stdout"), t2, "GET / 200 after a timeout")
	loki.Push(logLabels("shop", "api", "stdout"), t2.Add(time.Second), "GET / 200")
	loki.Push(logLabels("shop", "nightly", "stdout"), t2, "timeout in another element")
	loki.Push(logLabels("other", "api", "stdout"), t2, "timeout of another project")

	code, out, errs := run(t, "", "logs", "-f", file, "api", "--grep", "timeout")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := stamp(t1) + " api          eu     0b7e5e3c stderr timeout talking to db\n" +
		stamp(t2) + " api          eu     0b7e5e3c stdout GET / 200 after a timeout\n"
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	if q := loki.LastQuery(); q != `{project="shop", element="api"} |= "timeout"` {
		t.Errorf("LogQL %s", q)
	}

	code, out, _ = run(t, "", "logs", "-f", file, "api", "--regex", `GET / \d+$`, "--stream", "stdout", "--alloc", "0b7e5e3c", "--region", "eu", "--json")
	if code != 0 {
		t.Fatalf("--json: exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("--json lines: %q", lines)
	}
	var l map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &l); err != nil {
		t.Fatal(err)
	}
	if l["line"] != "GET / 200" || l["element"] != "api" || l["alloc"] != allocID || l["task"] != "api" || l["stream"] != "stdout" || l["ts"] == "" {
		t.Errorf("--json line %v", l)
	}
	if q := loki.LastQuery(); q != `{project="shop", element="api", region="eu", stream="stdout", alloc=~"0b7e5e3c.*"} |~ "GET / \\d+$"` {
		t.Errorf("LogQL %s", q)
	}
}

func TestLogsLimitKeepsTheNewest(t *testing.T) {
	loki, file := directLoki(t)
	now := time.Now()
	for i := range 7 {
		loki.Push(logLabels("shop", "api", "stdout"), now.Add(time.Duration(i-10)*time.Second), fmt.Sprintf("line %d", i))
	}
	code, out, errs := run(t, "", "logs", "-f", file, "--limit", "3", "--since", "5m")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		got = append(got, l[strings.Index(l, "line "):])
	}
	if strings.Join(got, ",") != "line 4,line 5,line 6" {
		t.Errorf("lines %q", got)
	}
	if !strings.Contains(errs, "showing the newest 3 lines; there are older ones") {
		t.Errorf("stderr %q", errs)
	}
}

func TestLogsProblemsNameTheFlag(t *testing.T) {
	_, file := directLoki(t)
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--regex", `user=(\d+`}, exitUsage, "logs: --regex: not a valid RE2 regular expression: missing closing )"},
		{[]string{"--stream", "stdin"}, exitUsage, `logs: --stream: "stdin" is not a stream`},
		{[]string{"--since", "soon"}, exitUsage, `logs: --since: "soon" is not a duration`},
		{[]string{"--since", "1h", "--from", "2026-01-01"}, exitUsage, "logs: --from: cannot be combined with since"},
		{[]string{"--from", "tomorrow"}, exitUsage, "logs: --from: "},
		{[]string{"--limit", "0"}, exitUsage, "logs: --limit: want at least 1"},
		{[]string{"--follow", "--to", "2026-01-01"}, exitUsage, "logs: --to: --follow has no end"},
		{[]string{"--grep", "a\xffb"}, exitUsage, "logs: --grep: is not valid UTF-8"},
	}
	for _, c := range cases {
		code, _, errs := run(t, "", append([]string{"logs", "-f", file, "api"}, c.args...)...)
		if code != c.code || !strings.Contains(errs, c.msg) {
			t.Errorf("%q: exit %d %q, want %d %q", c.args, code, errs, c.code, c.msg)
		}
	}
	code, _, errs := run(t, "", "logs", "-f", file, "gone")
	if code != 0 || !strings.Contains(errs, `has no element "gone"; searching its logs anyway`) {
		t.Errorf("an element not in the file: %d %q", code, errs)
	}
}

func TestLogsWithoutLokiExits1(t *testing.T) {
	t.Setenv(logs.EnvURL, "")
	file := writeFile(t, t.TempDir(), "backplane.yaml", shopYAML)
	code, out, errs := run(t, "", "logs", "-f", file, "api")
	if code != 1 || out != "" || !strings.Contains(errs, "logs: Loki is not configured: set BACKPLANE_LOKI_URL (or --loki-url)") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

func TestLogsLokiErrors(t *testing.T) {
	loki, file := directLoki(t)
	t.Setenv(logs.EnvTenant, "")
	code, _, errs := run(t, "", "logs", "-f", file, "api")
	if code != 1 || !strings.Contains(errs, "loki answered 401") || strings.Contains(errs, "pw-7c1d") {
		t.Errorf("no tenant: exit %d %q", code, errs)
	}
	t.Setenv(logs.EnvTenant, "team-a")
	loki.FailNext(http.StatusBadRequest, "the query time range exceeds the limit")
	code, _, errs = run(t, "", "logs", "-f", file, "api", "--since", "60d")
	if code != 1 || !strings.Contains(errs, "exceeds the limit") {
		t.Errorf("refused: exit %d %q", code, errs)
	}
	t.Setenv(logs.EnvBasicAuthFile, filepath.Join(t.TempDir(), "missing"))
	code, _, errs = run(t, "", "logs", "-f", file, "api")
	if code != exitUsage || !strings.Contains(errs, "--loki-basic-auth-file") {
		t.Errorf("missing auth file: exit %d %q", code, errs)
	}
}

// interrupter is the CLI's stdout; once it holds n lines it sends the
// process SIGINT, as Ctrl-C would.
type interrupter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	n     int
	fired bool
}

func (w *interrupter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.fired && strings.Count(w.buf.String(), "\n") >= w.n {
		w.fired = true
		_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
	}
	return len(p), nil
}

func (w *interrupter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// follow runs `backplane logs --follow` until it printed n lines, calling
// push once it is following.
func follow(t *testing.T, n int, following func() bool, push func(), args ...string) (int, string, string) {
	t.Helper()
	out := &interrupter{n: n}
	var errs bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- Main(append([]string{"logs", "--follow"}, args...), strings.NewReader(""), out, &errs) }()
	deadline := time.Now().Add(5 * time.Second)
	for !following() {
		if time.Now().After(deadline) {
			t.Fatalf("not following; output %q %q", out.String(), errs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	push()
	select {
	case code := <-done:
		return code, out.String(), errs.String()
	case <-time.After(10 * time.Second):
		t.Fatalf("--follow printed %q, want %d lines", out.String(), n)
	}
	return 0, "", ""
}

func TestLogsFollowDirect(t *testing.T) {
	loki, file := directLoki(t)
	old := time.Now().Add(-time.Minute)
	loki.Push(logLabels("shop", "api", "stdout"), old, "already there")
	code, out, errs := follow(t, 2, func() bool { return loki.OpenTails() == 1 }, func() {
		loki.Push(logLabels("other", "api", "stdout"), time.Now(), "another project")
		loki.Push(logLabels("shop", "api", "stderr"), time.Now(), "new line")
	}, "-f", file, "api")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], "stdout already there") || !strings.HasSuffix(lines[1], "stderr new line") {
		t.Errorf("lines %q", lines)
	}
	// The tail starts at the newest line printed, so it is not repeated.
	var start string
	for _, r := range loki.Requests() {
		if r.Path == "/loki/api/v1/tail" {
			start = r.Query.Get("start")
		}
	}
	if start != fmt.Sprint(old.UnixNano()) {
		t.Errorf("tail start %s, want %d", start, old.UnixNano())
	}
}

// logsFake is a Backplane server whose logs endpoints answer from a list;
// query gets the last search's query string.
func logsFake(t *testing.T, lines []logs.Line, tailing chan<- struct{}, live <-chan logs.Line, query chan<- string) *fake {
	return newFake(t, map[string]http.HandlerFunc{
		"GET /api/v1/projects/shop/logs": func(w http.ResponseWriter, r *http.Request) {
			select {
			case query <- r.URL.RawQuery:
			default:
			}
			reply(w, 200, map[string]any{"lines": lines, "next": ""})
		},
		"GET /api/v1/projects/shop/logs/tail": func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			w.(http.Flusher).Flush()
			close(tailing)
			for {
				select {
				case <-r.Context().Done():
					return
				case l := <-live:
					data, _ := json.Marshal(l)
					fmt.Fprintf(w, "event: line\ndata: %s\n\n", data)
					w.(http.Flusher).Flush()
				}
			}
		},
	})
}

func TestLogsThroughServer(t *testing.T) {
	t.Setenv(logs.EnvURL, "") // the server's Loki, not ours
	ts := time.Now().Add(-time.Minute).UTC()
	lines := []logs.Line{{TS: ts, Element: "api", Region: "eu", Alloc: allocID, Task: "api", Stream: "stdout", Line: "from the server"}}
	tailing := make(chan struct{})
	live := make(chan logs.Line, 1)
	queries := make(chan string, 1)
	f := logsFake(t, lines, tailing, live, queries)
	file := useServer(t, f.URL)
	code, out, errs := run(t, "", "logs", "-f", file, "api", "--grep", "server", "--regex", `\w+`, "--stream", "stdout", "--since", "2h")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if out != stamp(ts)+" api          eu     0b7e5e3c stdout from the server\n" {
		t.Errorf("output %q", out)
	}
	query := <-queries
	for _, want := range []string{"element=api", "q=server", "regex=%5Cw%2B", "stream=stdout", "limit=100", "from=", "to="} {
		if !strings.Contains(query, want) {
			t.Errorf("request %q lacks %s", query, want)
		}
	}

	code, out, errs = follow(t, 2, func() bool {
		select {
		case <-tailing:
			return true
		default:
			return false
		}
	}, func() {
		live <- logs.Line{TS: time.Now(), Element: "api", Region: "eu", Alloc: allocID, Stream: "stderr", Line: "live from the server"}
	}, "-f", file, "api")
	if code != 0 {
		t.Fatalf("--follow: exit %d: %s", code, errs)
	}
	if !strings.HasSuffix(strings.TrimSpace(out), "stderr live from the server") {
		t.Errorf("--follow output %q", out)
	}
}

func TestLogsThroughServerWithoutLoki(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /api/v1/projects/shop/logs": func(w http.ResponseWriter, r *http.Request) {
			apiError(w, 503, "no_loki", "log search is not configured: start serve with BACKPLANE_LOKI_URL (or --loki-url) set to Loki's base URL")
		},
	})
	file := useServer(t, f.URL)
	code, _, errs := run(t, "", "logs", "-f", file, "api")
	if code != 1 || !strings.Contains(errs, "log search is not configured: start serve with BACKPLANE_LOKI_URL") {
		t.Errorf("exit %d %q", code, errs)
	}
}
