package test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/test/agent"
)

// devRun is a `backplane dev` process started by a test.
type devRun struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	addr string
	// data is the folder given with --data ("" for a temporary one).
	data string
}

// devPeers are the binaries `backplane dev` looks for.
var devPeers = []string{"nomad", "consul", "vault", "bao", "loki", "alertmanager", "prometheus"}

// devPath makes a folder of symlinks to the named binaries that are on
// the test's PATH, to be the whole PATH of `backplane dev`.
func devPath(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			continue
		}
		if err := os.Symlink(p, filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// startDev runs `backplane dev` with PATH set to path only.
func startDev(t *testing.T, path, data string, env []string, args ...string) *devRun {
	t.Helper()
	port := agent.FreePorts(t, 1)[0]
	d := &devRun{addr: fmt.Sprintf("127.0.0.1:%d", port), data: data, out: &syncBuffer{}, done: make(chan struct{})}
	args = append([]string{"dev", "--addr", d.addr}, args...)
	if data != "" {
		args = append(args, "--data", data)
	}
	d.cmd = exec.Command(backplane(t), args...)
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PATH=") {
			base = append(base, kv)
		}
	}
	d.cmd.Env = append(append(base, "PATH="+path, "XDG_CONFIG_HOME="+t.TempDir(), "BACKPLANE_SERVER=", "BACKPLANE_TOKEN="), env...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		if !d.exited() {
			_ = d.cmd.Process.Signal(os.Interrupt)
			select {
			case <-d.done:
			case <-time.After(60 * time.Second):
				_ = d.cmd.Process.Kill()
				<-d.done
			}
		}
		if t.Failed() {
			t.Logf("backplane dev output (last 4000 bytes):\n%s", tailString(d.out.String(), 4000))
		}
	})
	return d
}

func (d *devRun) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// waitServing waits until the table is printed and serve answers.
func (d *devRun) waitServing(t *testing.T, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if d.exited() {
			t.Fatalf("backplane dev exited while starting:\n%s", d.out.String())
		}
		out := d.out.String()
		if strings.Contains(out, "backplane serving on") {
			if resp, err := http.Get("http://" + d.addr + "/api/v1/healthz"); err == nil {
				body := new(bytes.Buffer)
				_, _ = body.ReadFrom(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return body.String()
				}
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("backplane dev not serving after %s:\n%s", timeout, d.out.String())
	return ""
}

// interrupt sends SIGINT as Ctrl-C does and waits for the exit code.
func (d *devRun) interrupt(t *testing.T) int {
	t.Helper()
	if err := d.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("backplane dev still running 60s after SIGINT:\n%s", tailString(d.out.String(), 3000))
	}
	return d.cmd.ProcessState.ExitCode()
}

// devProcs lists, as "pid cmdline", the processes whose parent chain leads
// to pid, and those whose command line or working folder names dir.
func devProcs(pid int, dir string) map[int]string {
	parent := map[int]int{}
	info := map[int]string{}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		id, err := strconv.Atoi(filepath.Base(p))
		if err != nil || id == os.Getpid() {
			continue
		}
		stat, err := os.ReadFile(p + "/stat")
		if err != nil {
			continue
		}
		if i := bytes.LastIndexByte(stat, ')'); i > 0 {
			if f := strings.Fields(string(stat[i+1:])); len(f) > 1 {
				parent[id], _ = strconv.Atoi(f[1])
			}
		}
		cmdline, _ := os.ReadFile(p + "/cmdline")
		info[id] = strings.ReplaceAll(string(cmdline), "\x00", " ")
		if dir != "" {
			cwd, _ := os.Readlink(p + "/cwd")
			if strings.Contains(info[id], dir) || strings.HasPrefix(cwd, dir) {
				parent[id] = -1 // marked: under dir
			}
		}
	}
	out := map[int]string{}
	for id := range parent {
		if parent[id] == -1 {
			out[id] = info[id]
			continue
		}
		for q, hops := parent[id], 0; q > 0 && hops < 64; q, hops = parent[q], hops+1 {
			if q == pid {
				out[id] = info[id]
				break
			}
		}
	}
	return out
}

// waitLokiLine waits until a query over the last hour returns a line
// containing want.
func waitLokiLine(t *testing.T, lokiURL, query, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		u := lokiURL + "/loki/api/v1/query_range?limit=20&since=1h&query=" + url.QueryEscape(query)
		if resp, err := http.Get(u); err == nil {
			body := new(bytes.Buffer)
			_, _ = body.ReadFrom(resp.Body)
			resp.Body.Close()
			last = body.String()
			if resp.StatusCode == 200 && strings.Contains(last, want) {
				return
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("Loki has no line %q for %s after %s; last answer: %s", want, query, timeout, tailString(last, 500))
}

// stillThere keeps the processes of before that run the same command now.
func stillThere(before map[int]string) []string {
	var left []string
	for pid, cmd := range before {
		now, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && strings.ReplaceAll(string(now), "\x00", " ") == cmd {
			left = append(left, fmt.Sprintf("%d %s", pid, cmd))
		}
	}
	return left
}

// TestDevWithoutPeers runs `backplane dev` with none of the peers on PATH:
// it serves the editor, says what is missing and what that costs, and
// exits 0 on Ctrl-C, its temporary folder removed.
func TestDevWithoutPeers(t *testing.T) {
	d := startDev(t, devPath(t), "", nil)
	health := d.waitServing(t, 30*time.Second)
	if !strings.Contains(health, `"cluster":"not configured"`) {
		t.Errorf("healthz without Nomad: %s", health)
	}
	out := d.out.String()
	for _, want := range []string{
		"nomad         missing: install nomad to get deploys",
		"consul        missing: install consul to get",
		"vault         missing: install vault or bao to get secrets",
		"loki          missing: install loki to get logs",
		"alertmanager  missing: install alertmanager to get alerts",
		"prometheus    missing: install prometheus to get metric",
		"backplane     http://" + d.addr,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table has no line %q:\n%s", want, out)
		}
	}
	m := regexp.MustCompile(`data in (\S+)\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no data folder named:\n%s", out)
	}
	if code := d.interrupt(t); code != 0 {
		t.Errorf("exit code after SIGINT: %d\n%s", code, d.out.String())
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("the temporary folder %s is still there (%v)", m[1], err)
	}
}

// devSchema is one worker under raw_exec that prints a line a second.
// Nomad passes its own PATH (the test's folder of symlinks) to raw_exec
// tasks, so the loop names /bin/sleep.
const devSchema = `version: 1
project: devrun
defaults: { driver: raw_exec }
elements:
  - id: tick
    kind: worker
    command: while :; do echo tick; /bin/sleep 1; done
    resources: { cpu: 20, memory: 32 }
`

// devSecretElement reads a secret from the dev Vault through its
// workload identity, and prints a digest of it.
const devSecretElement = `  - id: pay
    kind: worker
    command: |
      printf '%s' "$PAY_KEY" | sha256sum | cut -c1-16 | sed 's/^/sha=/'
      exec /bin/sleep 3600
    secrets: [PAY_KEY]
    resources: { cpu: 20, memory: 32 }
`

// TestDevWithNomad runs `backplane dev` with Nomad and whichever other
// peers are installed, deploys a raw_exec schema through its API, checks
// the job runs on its Nomad, then sends SIGINT and checks it exits 0 with
// no process of its own, of its peers or of their tasks left.
func TestDevWithNomad(t *testing.T) {
	agent.Require(t, "nomad")
	data := t.TempDir()
	file := filepath.Join(t.TempDir(), "backplane.yaml")
	_, vaultErr := exec.LookPath("vault")
	if vaultErr != nil {
		_, vaultErr = exec.LookPath("bao")
	}
	withVault := vaultErr == nil
	src := devSchema
	if withVault {
		src += devSecretElement
	}
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	token := "dev-test-admin-token-0123456789abcdef"
	d := startDev(t, devPath(t, devPeers...), data, []string{"BACKPLANE_ADMIN_TOKEN=" + token}, "--example", file)
	health := d.waitServing(t, 150*time.Second)
	if !strings.Contains(health, `"cluster":"connected"`) {
		t.Errorf("healthz with Nomad: %s", health)
	}
	out := d.out.String()
	m := regexp.MustCompile(`(?m)^nomad\s+(http://127\.0\.0\.1:\d+)\s*$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the table has no Nomad URL:\n%s", out)
	}
	nomadURL := m[1]
	for _, name := range []string{"consul", "loki", "alertmanager", "prometheus"} {
		if _, err := exec.LookPath(name); err == nil && !regexp.MustCompile(`(?m)^`+name+`\s+http://127\.0\.0\.1:\d+\s*$`).MatchString(out) {
			t.Errorf("%s is on PATH but the table has no URL for it:\n%s", name, out)
		}
	}

	server := []string{"BACKPLANE_SERVER=http://" + d.addr, "BACKPLANE_TOKEN=" + token}
	secret := "pk_dev_7f3a9c {{ not a template }}"
	if withVault {
		if code, msg := runCLI(t, server, secret+"\n", "secrets", "set", "-f", file, "pay", "PAY_KEY"); code != 0 {
			t.Fatalf("secrets set through backplane dev: exit %d\n%s", code, msg)
		}
	}
	code, msg := runCLI(t, server, "", "deploy", "-f", file, "--wait", "--timeout", "90s")
	if code != 0 {
		t.Fatalf("deploy through backplane dev: exit %d\n%s", code, msg)
	}
	cfg := nomad.DefaultConfig()
	cfg.Address, cfg.SecretID, cfg.Region, cfg.Namespace = nomadURL, "", "", ""
	nc, err := nomad.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	allocLog(t, nc, "", "devrun-tick", "tick", "tick", 60*time.Second)
	if withVault {
		// The task read the value from the dev Vault with its workload
		// identity: the JWT auth dev set up works.
		allocLog(t, nc, "", "devrun-pay", "pay", "sha="+sha256hex(secret)[:16], 60*time.Second)
	}
	if m := regexp.MustCompile(`(?m)^loki\s+(http://127\.0\.0\.1:\d+)\s*$`).FindStringSubmatch(out); m != nil {
		// The sidecar (this binary, run by Nomad) shipped the task's lines.
		waitLokiLine(t, m[1], `{project="devrun",element="tick"}`, "tick", 60*time.Second)
	}

	before := devProcs(d.cmd.Process.Pid, data)
	if len(before) == 0 {
		t.Fatal("found no process of backplane dev's peers before stopping it")
	}
	t.Logf("%d processes of backplane dev before SIGINT", len(before))
	if code := d.interrupt(t); code != 0 {
		t.Errorf("exit code after SIGINT: %d\n%s", code, tailString(d.out.String(), 3000))
	}
	if left := stillThere(before); len(left) > 0 {
		t.Errorf("processes left after backplane dev exited:\n%s", strings.Join(left, "\n"))
	}
	if now := devProcs(d.cmd.Process.Pid, data); len(now) > 0 {
		var list []string
		for pid, cmd := range now {
			list = append(list, fmt.Sprintf("%d %s", pid, cmd))
		}
		t.Errorf("processes under %s after backplane dev exited:\n%s", data, strings.Join(list, "\n"))
	}
	if _, err := os.Stat(filepath.Join(data, "backplane", "backplane.db")); err != nil {
		t.Errorf("--data did not keep Backplane's store: %v", err)
	}
	var mounts []string
	if all, err := os.ReadFile("/proc/self/mounts"); err == nil {
		for _, line := range strings.Split(string(all), "\n") {
			if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], data) {
				mounts = append(mounts, f[1])
			}
		}
	}
	if len(mounts) > 0 {
		t.Errorf("mounts left under %s: %v", data, mounts)
	}
}
