package test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/observe/logship"
)

// The logship sidecar against a real Loki (issue 9): `backplane logship`,
// run with the translator's arguments, ships a group's files, rotation
// included, with the labels Loki is queried by; a restarted sidecar
// resumes with no loss and no repeats; a 1 MiB line and invalid UTF-8 are
// taken by Loki. Lines are read back through Loki's query_range API.
// Skipped without `loki`.
func TestLogshipAgainstRealLoki(t *testing.T) {
	loki := startLoki(t)
	bin := backplane(t)
	project := fmt.Sprintf("ship%d", time.Now().UnixNano()%1_000_000)
	alloc := t.TempDir()
	logsDir := filepath.Join(alloc, "logs")
	if err := os.MkdirAll(logsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	appendFile := func(name, s string) {
		t.Helper()
		f, err := os.OpenFile(filepath.Join(logsDir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	numbered := func(from, to int) string {
		var b strings.Builder
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, "line %05d of the web task\n", i)
		}
		return b.String()
	}
	// Nomad's rotation: file 0 is full (cut inside a line), file 1 goes on.
	first := numbered(0, 1000)
	cut := len(numbered(0, 500)) + 7
	appendFile("web.stdout.0", first[:cut])
	appendFile("web.stdout.1", first[cut:])
	long := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	appendFile("web.stderr.0", "bad \xff\xfe bytes\n"+long+"\n")
	appendFile("logship.stderr.0", "the sidecar's own output is not shipped\n")

	args := []string{"logship", "--loki-url", loki.URL, "--alloc-dir", alloc,
		"--label", "project=" + project, "--label", "element=web", "--label", "region=eu", "--label", "alloc=9c1d"}
	env := []string{"BACKPLANE_LOKI_TENANT=" + lokiTenant, "NOMAD_TASK_NAME=logship"}

	side := startSidecar(t, bin, args, env)
	selector := fmt.Sprintf(`{project=%q}`, project)
	waitLines(t, loki, selector+` |= "of the web task"`, 1000)

	// End to end: a line written to the file → returned by a query.
	var lat []time.Duration
	for i := 0; i < 20; i++ {
		marker := fmt.Sprintf("latency-probe-%02d", i)
		began := time.Now()
		appendFile("web.stdout.1", marker+"\n")
		waitLines(t, loki, selector+` |= "`+marker+`"`, 1)
		lat = append(lat, time.Since(began))
	}
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	t.Logf("line written → returned by query_range: p50 %s, p99 %s (n=%d)", p50.Round(time.Millisecond), p99.Round(time.Millisecond), len(lat))
	if p99 > 2*time.Second {
		t.Errorf("p99 %s over 2s", p99)
	}
	side.stop(t)

	// Written while no sidecar runs; the next one resumes from its offsets.
	appendFile("web.stdout.1", numbered(1000, 1500))
	side = startSidecar(t, bin, args, env)
	waitLines(t, loki, selector+` |= "of the web task"`, 1500)
	side.stop(t)

	got := queryRange(t, loki, selector)
	var stdout, stderr []string
	for _, l := range got {
		for k, v := range map[string]string{"project": project, "element": "web", "region": "eu", "alloc": "9c1d", "task": "web"} {
			if l.labels[k] != v {
				t.Fatalf("line %q has labels %v", l.line, l.labels)
			}
		}
		switch l.labels["stream"] {
		case "stdout":
			if !strings.HasPrefix(l.line, "latency-probe-") {
				stdout = append(stdout, l.line)
			}
		case "stderr":
			stderr = append(stderr, l.line)
		default:
			t.Fatalf("line %q has labels %v", l.line, l.labels)
		}
	}
	want := strings.Split(strings.TrimSuffix(numbered(0, 1500), "\n"), "\n")
	if !slices.Equal(stdout, want) {
		t.Fatalf("stdout: %d lines from Loki, want %d exactly once and in order", len(stdout), len(want))
	}
	if len(stderr) != 6 || stderr[0] != "bad \uFFFD bytes" {
		t.Fatalf("stderr: %d lines, first %.40q; want the cleaned line and 5 pieces", len(stderr), stderr[0])
	}
	var joined strings.Builder
	for i, p := range stderr[1:] {
		if i < 4 {
			p = strings.TrimSuffix(p, logship.LineSplitMarker)
		}
		joined.WriteString(p)
	}
	if joined.String() != long {
		t.Fatal("the 1 MiB line does not join back from its pieces")
	}
}

// sidecar is a running `backplane logship`.
type sidecar struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

func startSidecar(t *testing.T, bin string, args, env []string) *sidecar {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &sidecar{cmd: cmd, out: out, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("logship output:\n%s", out.String())
		}
	})
	return s
}

// stop sends SIGTERM, as Nomad does, and checks that nothing was dropped.
func (s *sidecar) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("logship did not stop on SIGTERM:\n%s", s.out.String())
	}
	out := s.out.String()
	if code := s.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(out, "lines_dropped=0 bytes_dropped=0 files_lost=0 lines_unsent=0") {
		t.Fatalf("logship exit %d, want 0 with nothing dropped or unsent:\n%s", code, out)
	}
}

type lokiLine struct {
	labels map[string]string
	ts     int64
	line   string
}

// queryRange asks Loki for the last hour of query, oldest first.
func queryRange(t *testing.T, loki *realLoki, query string) []lokiLine {
	t.Helper()
	q := url.Values{
		"query":     {query},
		"start":     {strconv.FormatInt(time.Now().Add(-time.Hour).UnixNano(), 10)},
		"end":       {strconv.FormatInt(time.Now().Add(time.Minute).UnixNano(), 10)},
		"limit":     {"5000"},
		"direction": {"forward"},
	}
	req, err := http.NewRequest(http.MethodGet, loki.URL+"/loki/api/v1/query_range?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Scope-OrgID", lokiTenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Stream map[string]string `json:"stream"`
				Values [][2]string       `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("query_range %s: %s", query, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	var out []lokiLine
	for _, r := range body.Data.Result {
		for _, v := range r.Values {
			ts, _ := strconv.ParseInt(v[0], 10, 64)
			out = append(out, lokiLine{labels: r.Stream, ts: ts, line: v[1]})
		}
	}
	slices.SortStableFunc(out, func(a, b lokiLine) int {
		if a.labels["stream"] != b.labels["stream"] {
			return strings.Compare(a.labels["stream"], b.labels["stream"])
		}
		return cmp.Compare(a.ts, b.ts)
	})
	return out
}

// waitLines polls query_range until query returns at least n lines.
func waitLines(t *testing.T, loki *realLoki, query string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := len(queryRange(t, loki, query))
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d lines after 30s, want %d", query, got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
