package test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/test/agent"
)

// talkerSchema is one element that prints a numbered line to stdout and
// to stderr five times a second, with the logship sidecar beside it.
const talkerSchema = `version: 1
project: %s
defaults: { driver: raw_exec }
elements:
  - id: talker
    kind: app.command
    command: |
      i=0
      while true; do i=$((i+1)); echo "%s says line $i"; echo "%s warns $i" >&2; sleep 0.2; done &
      exec python3 -m http.server "$PORT" --bind 127.0.0.1
    port: 8000
    health: { interval: 1s, timeout: 1s, min_healthy_time: 1s }
    resources: { cpu: 50, memory: 64 }
`

// TestLogsFromADeployedElement deploys an element with the logship
// sidecar on a real Nomad, shipping to a real Loki, and reads its lines
// back with `backplane logs`: --grep finds a line, --stream and the
// project scope hold, and --follow shows new lines as they come.
func TestLogsFromADeployedElement(t *testing.T) {
	loki := startLoki(t)
	n := agent.StartNomad(t, agent.NomadOptions{})
	dir := t.TempDir()
	env := []string{"NOMAD_ADDR=" + n.Addr, "NOMAD_REGION=", "NOMAD_TOKEN=", "CONSUL_HTTP_ADDR=", "VAULT_ADDR=",
		"BACKPLANE_LOKI_URL=" + loki.URL, "BACKPLANE_LOKI_TENANT=" + lokiTenant,
		// The sidecar runs this very binary, already on the (only) client.
		"BACKPLANE_LOGSHIP_COMMAND=" + backplane(t)}
	files := map[string]string{}
	for _, p := range []string{"loga", "logb"} {
		files[p] = filepath.Join(dir, p+".yaml")
		if err := os.WriteFile(files[p], []byte(fmt.Sprintf(talkerSchema, p, p, p)), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, out := runCLI(t, env, "", "deploy", "-f", files[p], "--wait", "--timeout", "2m"); code != 0 {
			t.Fatalf("deploy %s: exit %d\n%s", p, code, out)
		}
	}
	job, _, err := n.Client.Jobs().Info("loga-talker", nil)
	if err != nil || len(job.TaskGroups[0].Tasks) != 2 || job.TaskGroups[0].Tasks[1].Name != "logship" {
		t.Fatalf("loga-talker has no logship sidecar: %v", err)
	}

	// --grep finds a given line within a few seconds of it being printed.
	started := time.Now()
	out := untilOutputWithin(t, env, 30*time.Second, "loga says line 5\n", "logs", "-f", files["loga"], "talker", "--grep", "says line 5", "--since", "10m")
	t.Logf("line 5 searchable %.1fs after both deploys finished", time.Since(started).Seconds())
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.Contains(l, "says line 5") || strings.Contains(l, "logb") {
			t.Errorf("--grep 'says line 5' printed %q", l)
		}
		if f := strings.Fields(l); len(f) < 6 || f[1] != "talker" || f[2] != "global" || f[4] != "stdout" {
			t.Errorf("line %q lacks TIME ELEMENT REGION ALLOC STREAM", l)
		}
	}
	// --stream stderr has only stderr, and a project never sees another's.
	out = untilOutputWithin(t, env, 30*time.Second, "loga warns", "logs", "-f", files["loga"], "talker", "--stream", "stderr", "--since", "10m", "--limit", "50")
	if strings.Contains(out, "says line") || strings.Contains(out, "logb") {
		t.Errorf("--stream stderr of loga printed other lines:\n%s", out)
	}
	code, out := runCLI(t, env, "", "logs", "-f", files["loga"], "talker", "--since", "10m", "--limit", "1000")
	if code != 0 || strings.Contains(out, "logb") || !strings.Contains(out, "loga") {
		t.Errorf("loga's logs (exit %d) hold logb's lines or none of its own:\n%.2000s", code, out)
	}

	// --follow prints lines newer than the newest line seen so far.
	_, before := runCLI(t, env, "", "logs", "-f", files["loga"], "talker", "--grep", "says line", "--since", "10m", "--limit", "1")
	last := lastNumber(before)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, backplane(t), "logs", "-f", files["loga"], "talker", "--grep", "says line", "--follow")
	cmd.Env = append(append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "BACKPLANE_SERVER="), env...)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if k := lastNumber(sc.Text()); k > last+5 {
			mu.Lock()
			seen = k
			mu.Unlock()
			break
		}
	}
	cancel()
	_ = cmd.Wait()
	if seen == 0 {
		t.Errorf("--follow printed no line newer than %d", last)
	}
}

var numberRe = regexp.MustCompile(`line (\d+)\s*$`)

// lastNumber is the number at the end of the last line holding one.
func lastNumber(s string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if m := numberRe.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			n, _ = strconv.Atoi(m[1])
		}
	}
	return n
}

// untilOutputWithin runs the CLI until its output contains want, or
// fails after timeout.
func untilOutputWithin(t *testing.T, env []string, timeout time.Duration, want string, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, out := runCLI(t, env, "", args...)
		if code == 0 && strings.Contains(out, want) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("backplane %s: exit %d, no %q after %s in:\n%.3000s", strings.Join(args, " "), code, want, timeout, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
