package test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/observe/logs"
	"github.com/backplane-dev/backplane/test/agent"
)

// The log search against a real Loki (issue 9): lines pushed to Loki's
// push API with the labels the logship sidecar uses are found by
// `backplane logs`, straight from Loki and through serve, another
// project's never; --follow shows new lines. Skipped without `loki`.

// lokiTenant is the suite's Loki tenant: Loki runs with auth_enabled, so
// a request without it is refused.
const lokiTenant = "backplane-suite"

// realLoki is a running Loki.
type realLoki struct {
	URL string
	out *syncBuffer
}

// sharedLoki is the one Loki of a test run: starting one takes 15-40 s,
// so the suites that need it share it (each uses projects of its own, and
// every query is scoped to a project). TestMain stops it.
var sharedLoki struct {
	once sync.Once
	l    *realLoki
	stop func()
	err  error
}

// startLoki returns the run's Loki (single binary, filesystem storage,
// in-memory ring, multi-tenant) on free loopback ports, started by the
// first test that asks and ready; it skips without the binary.
func startLoki(t *testing.T) *realLoki {
	t.Helper()
	agent.Require(t, "loki")
	sharedLoki.once.Do(func() { sharedLoki.l, sharedLoki.stop, sharedLoki.err = launchLoki() })
	if sharedLoki.err != nil {
		t.Fatal(sharedLoki.err)
	}
	l := sharedLoki.l
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("loki output (last 3000 bytes):\n%s", tailString(l.out.String(), 3000))
		}
	})
	return l
}

func tailString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// launchLoki starts Loki and waits for /ready; stop ends it and removes
// its data.
func launchLoki() (l *realLoki, stop func(), err error) {
	bin, err := exec.LookPath("loki")
	if err != nil {
		return nil, nil, err
	}
	ports, err := freeLoopbackPorts(2)
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "backplane-loki")
	if err != nil {
		return nil, nil, err
	}
	config := fmt.Sprintf(`auth_enabled: true
server:
  http_listen_address: 127.0.0.1
  http_listen_port: %d
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: %d
  log_level: warn
common:
  instance_addr: 127.0.0.1
  path_prefix: %[3]s
  storage:
    filesystem:
      chunks_directory: %[3]s/chunks
      rules_directory: %[3]s/rules
  replication_factor: 1
  ring:
    kvstore:
      store: inmemory
schema_config:
  configs:
    - from: 2024-01-01
      store: tsdb
      object_store: filesystem
      schema: v13
      index: { prefix: index_, period: 24h }
analytics:
  reporting_enabled: false
`, ports[0], ports[1], dir)
	cfgFile := filepath.Join(dir, "loki.yaml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o644); err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, "-config.file="+cfgFile)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start loki: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	l = &realLoki{URL: fmt.Sprintf("http://127.0.0.1:%d", ports[0]), out: out}
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		_ = os.RemoveAll(dir)
	}
	began := time.Now()
	deadline := began.Add(90 * time.Second)
	for {
		select {
		case <-done:
			stop()
			return nil, nil, fmt.Errorf("loki exited while starting:\n%s", out.String())
		default:
		}
		resp, err := http.Get(l.URL + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return l, stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, nil, fmt.Errorf("loki not ready after %s:\n%s", time.Since(began), out.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// freeLoopbackPorts returns n distinct free TCP ports on 127.0.0.1.
func freeLoopbackPorts(n int) ([]int, error) {
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// syncBuffer is a process's output, read while it is written.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// push sends one line to Loki's push API as JSON, with the sidecar's labels.
func (l *realLoki) push(t *testing.T, project, element, stream string, ts time.Time, line string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"streams": []any{map[string]any{
		"stream": map[string]string{"project": project, "element": element, "region": "eu", "task": element, "stream": stream,
			"alloc": "5f0c2a9e-1b7d-4e3f-8a6b-" + fmt.Sprintf("%012d", len(element))},
		"values": [][]string{{strconv.FormatInt(ts.UnixNano(), 10), line}},
	}}})
	req, _ := http.NewRequest("POST", l.URL+"/loki/api/v1/push", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Scope-OrgID", lokiTenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("push: %d %s", resp.StatusCode, data)
	}
}

const logsShopYAML = `version: 1
project: shop
defaults: { driver: raw_exec }
elements:
  - { id: api, kind: app.command, command: "run-api", port: 8080 }
  - { id: web, kind: app.command, command: "run-web", port: 8081 }
`

// untilOutput runs the CLI until its output contains want (Loki may take
// a moment to show a pushed line), or fails after a few seconds.
func untilOutput(t *testing.T, env []string, want string, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, out := runCLI(t, env, "", args...)
		if code == 0 && strings.Contains(out, want) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("backplane %s: exit %d, no %q in:\n%s", strings.Join(args, " "), code, want, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestLogsAgainstRealLoki(t *testing.T) {
	loki := startLoki(t)
	dir := t.TempDir()
	shop := filepath.Join(dir, "shop.yaml")
	other := filepath.Join(dir, "other.yaml")
	os.WriteFile(shop, []byte(logsShopYAML), 0o644)
	os.WriteFile(other, []byte(strings.Replace(logsShopYAML, "project: shop", "project: other", 1)), 0o644)

	now := time.Now()
	loki.push(t, "shop", "api", "stdout", now.Add(-4*time.Second), "GET /orders 200 user=41")
	loki.push(t, "shop", "api", "stderr", now.Add(-3*time.Second), "timeout talking to db user=7")
	loki.push(t, "shop", "web", "stdout", now.Add(-2*time.Second), "timeout rendering the cart")
	loki.push(t, "other", "api", "stderr", now.Add(-1*time.Second), "timeout in OTHER-PROJECT user=9")
	direct := []string{"BACKPLANE_LOKI_URL=" + loki.URL, "BACKPLANE_LOKI_TENANT=" + lokiTenant, "BACKPLANE_LOKI_BASIC_AUTH_FILE="}

	t.Run("grep finds the line", func(t *testing.T) {
		out := untilOutput(t, direct, "timeout talking to db", "logs", "-f", shop, "api", "--grep", "timeout")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], " api          eu     5f0c2a9e stderr timeout talking to db user=7") {
			t.Errorf("lines:\n%s", out)
		}
	})
	t.Run("regex, stream and json", func(t *testing.T) {
		out := untilOutput(t, direct, "user=41", "logs", "-f", shop, "--regex", `user=\d{2}\b`, "--json")
		var l logs.Line
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &l); err != nil || l.Element != "api" || l.Stream != "stdout" || l.Task != "api" {
			t.Errorf("--json: %v %s", err, out)
		}
		code, out := runCLI(t, direct, "", "logs", "-f", shop, "--grep", "user=", "--stream", "stderr")
		if code != 0 || strings.Contains(out, "user=41") || !strings.Contains(out, "user=7") {
			t.Errorf("--stream stderr: %d\n%s", code, out)
		}
		code, out = runCLI(t, direct, "", "logs", "-f", shop, "--regex", `user=(\d+`)
		if code != 2 || !strings.Contains(out, "--regex: not a valid RE2 regular expression") {
			t.Errorf("bad regex: %d %s", code, out)
		}
	})
	t.Run("another project's lines never appear", func(t *testing.T) {
		// The line exists: its own project finds it.
		untilOutput(t, direct, "OTHER-PROJECT", "logs", "-f", other, "--grep", "timeout")
		for _, args := range [][]string{
			{"--grep", "timeout"},
			{"--regex", ".*"},
			{"--grep", `"} or {project="other"} |= "`},
			{"--regex", `.*"} or {project=~".+`},
			{"--alloc", `.*`},
		} {
			code, out := runCLI(t, direct, "", append([]string{"logs", "-f", shop, "--since", "10m", "--limit", "5000"}, args...)...)
			if code != 0 || strings.Contains(out, "OTHER-PROJECT") {
				t.Errorf("%q: exit %d\n%s", args, code, out)
			}
		}
	})
	t.Run("without the tenant Loki refuses", func(t *testing.T) {
		code, out := runCLI(t, []string{"BACKPLANE_LOKI_URL=" + loki.URL, "BACKPLANE_LOKI_TENANT="}, "", "logs", "-f", shop)
		if code != 1 || !strings.Contains(out, "loki answered 401") {
			t.Errorf("exit %d %s", code, out)
		}
	})
	t.Run("follow shows new lines", func(t *testing.T) {
		followCLI(t, direct, func(line string) { loki.push(t, "shop", "api", "stdout", time.Now(), line) }, "-f", shop, "api")
	})
	t.Run("through serve", func(t *testing.T) {
		authFile := filepath.Join(t.TempDir(), "loki-auth")
		os.WriteFile(authFile, []byte("suite:loki-pass-31d7e\n"), 0o600) // Loki takes it and ignores it
		s := serve(t, "BACKPLANE_LOKI_URL="+loki.URL, "BACKPLANE_LOKI_TENANT="+lokiTenant, "BACKPLANE_LOKI_BASIC_AUTH_FILE="+authFile)
		s.Secret("loki-pass-31d7e")
		for _, p := range []string{"shop", "other"} {
			if code, _, body := s.call(t, "POST", "/projects", `{"slug":"`+p+`"}`, "Content-Type", "application/json"); code != 201 {
				t.Fatalf("create %s: %d %s", p, code, body)
			}
		}
		token := strings.TrimPrefix(s.userToken(t, "logreader", "shop", "viewer"), "Bearer ")
		env := []string{"XDG_CONFIG_HOME=" + t.TempDir(), "BACKPLANE_SERVER=" + s.URL, "BACKPLANE_TOKEN=" + token, "BACKPLANE_LOKI_URL="}
		out := untilOutput(t, env, "timeout rendering the cart", "logs", "-f", shop, "--grep", "timeout")
		if strings.Contains(out, "OTHER-PROJECT") || !strings.Contains(out, "timeout talking to db") {
			t.Errorf("through serve:\n%s", out)
		}
		// A viewer of shop reads nothing of other, whose existence is
		// not even revealed.
		code, out := runCLI(t, env, "", "logs", "-f", other, "--grep", "timeout")
		if code != 1 || strings.Contains(out, "OTHER-PROJECT") || !strings.Contains(out, "no project") {
			t.Errorf("other project through serve: %d %s", code, out)
		}
		followCLI(t, env, func(line string) { loki.push(t, "shop", "web", "stderr", time.Now(), line) }, "-f", shop, "web")
	})
	t.Run("latency", func(t *testing.T) {
		measureLatency(t, loki)
	})
}

// followCLI runs `backplane logs --follow` as a process, waits for its
// first lines, pushes new ones and checks each shows within a few seconds,
// then interrupts it (Ctrl-C), which must end it with exit 0.
func followCLI(t *testing.T, env []string, push func(line string), args ...string) {
	t.Helper()
	cmd := exec.Command(backplane(t), append([]string{"logs", "--follow"}, args...)...)
	cmd.Env = append(append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "BACKPLANE_SERVER=", "BACKPLANE_TOKEN="), env...)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func(what string) string {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("--follow ended waiting for %s: %s", what, stderr.String())
			}
			return l
		case <-time.After(10 * time.Second):
			t.Fatalf("--follow: no %s in 10s: %s", what, stderr.String())
		}
		return ""
	}
	next("first line") // what was there
	// The tail opens once the first page is printed; lines pushed before
	// it is open are still found (it starts at the newest printed line).
	for i := range 3 {
		want := fmt.Sprintf("followed line %d at %d", i, time.Now().UnixNano())
		pushed := time.Now()
		push(want)
		for {
			l := next(want)
			if strings.HasSuffix(l, want) {
				t.Logf("--follow showed a new line %s after it was pushed", time.Since(pushed).Round(time.Millisecond))
				break
			}
		}
	}
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() {
		for range lines {
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("--follow after Ctrl-C: %v %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("--follow did not stop on Ctrl-C")
	}
}

// measureLatency pushes lines one at a time and times each from the push
// to the first query_range (and tail) that returns it: the end-to-end
// figure of the issue (p99 under 2 s). The sidecar's own batching (up to
// its BatchWait) comes on top in production.
func measureLatency(t *testing.T, loki *realLoki) {
	c, err := logs.New(logs.Config{URL: loki.URL, Tenant: lokiTenant})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type arrival struct {
		line string
		at   time.Time
	}
	tailed := make(chan arrival, 64)
	connected := make(chan struct{})
	go c.Tail(ctx, logs.TailInput{Query: logs.Query{Project: "latency"}, Connected: func() { close(connected) }}, func(l logs.Line) error {
		tailed <- arrival{l.Line, time.Now()}
		return nil
	})
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("tail did not connect")
	}
	// Loki answers the tail's handshake before its ingesters follow the
	// stream, so a line pushed at once may never reach the tail: push
	// warm-up lines until one arrives, then measure.
	warm := time.Now().Add(20 * time.Second)
warmup:
	for {
		loki.push(t, "latency", "api", "stdout", time.Now(), "latency warm-up")
		select {
		case <-tailed:
			break warmup
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(warm) {
			t.Fatal("the tail showed no warm-up line in 20s")
		}
	}
	for len(tailed) > 0 {
		<-tailed
	}
	const n = 30
	var query, tail []time.Duration
	for i := range n {
		line := fmt.Sprintf("latency probe %d %d", i, time.Now().UnixNano())
		pushed := time.Now()
		loki.push(t, "latency", "api", "stdout", pushed, line)
		for {
			res, err := c.QueryRange(ctx, logs.RangeInput{Query: logs.Query{Project: "latency", Search: line},
				Window: logs.Window{Start: pushed.Add(-time.Second), End: time.Now().Add(time.Second)}, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Lines) == 1 {
				query = append(query, time.Since(pushed))
				break
			}
			if time.Since(pushed) > 10*time.Second {
				t.Fatalf("line %d not found in 10s", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
		for got := (arrival{}); got.line != line; {
			select {
			case got = <-tailed:
				if got.line == line {
					tail = append(tail, got.at.Sub(pushed))
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("tail did not show line %d", i)
			}
		}
	}
	for name, ds := range map[string][]time.Duration{"query_range": query, "tail": tail} {
		slices.Sort(ds)
		p50, p99 := ds[len(ds)/2], ds[(len(ds)*99+99)/100-1]
		t.Logf("push → %s, %d lines: p50 %s, p99 %s, max %s", name, n, p50.Round(time.Microsecond), p99.Round(time.Microsecond), ds[len(ds)-1].Round(time.Microsecond))
		if name == "query_range" && p99 > 2*time.Second {
			t.Errorf("push → query p99 %s, want under 2s", p99)
		}
	}
}
