// Package agent starts real Nomad, Consul and Vault dev agents for tests, on
// free loopback ports, waits until they are ready, and stops them in
// t.Cleanup. A missing binary skips the test with a clear message, unless
// REQUIRE_AGENTS=1, which makes it a failure.
package agent

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// Require returns the path of a binary, or skips (fails under
// REQUIRE_AGENTS=1) when none of the names is on PATH.
func Require(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s not on PATH: this suite runs against the real binary and is skipped without it", strings.Join(names, " or "))
	if os.Getenv("REQUIRE_AGENTS") == "1" {
		t.Fatal(msg + " (REQUIRE_AGENTS=1)")
	}
	t.Skip(msg)
	return ""
}

// FreePorts returns n distinct free TCP ports on 127.0.0.1.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// process is a running agent whose output is kept for failure reports.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	mu   sync.Mutex
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 4<<20 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func start(t testing.TB, name, bin string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s output (last 3000 bytes):\n%s", name, tail(out.String(), 3000))
		}
	})
	return p
}

// Stop ends the agent: SIGINT for a graceful leave, then SIGKILL to its
// whole process group (the tasks a raw_exec client started included).
func (p *process) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// waitFor polls ready until it returns nil, the process exits, or the
// deadline passes.
func waitFor(t testing.TB, p *process, timeout time.Duration, ready func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if p.exited() {
			t.Fatalf("%s exited while starting:\n%s", p.name, tail(p.out.String(), 3000))
		}
		if last = ready(); last == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s not ready after %s: %v\n%s", p.name, timeout, last, tail(p.out.String(), 3000))
}

// NomadOptions configure a Nomad dev agent.
type NomadOptions struct {
	Region     string // default "global"
	Datacenter string // default "dc1"
	// VaultAddr enables Vault integration with workload identity; when
	// empty Vault is still enabled with a placeholder address so that jobs
	// with vault blocks validate.
	VaultAddr  string
	ConsulAddr string
	// Name distinguishes agents in logs when a test starts several.
	Name string
}

// Nomad is a running Nomad dev agent (server and client in one).
type Nomad struct {
	Addr    string
	Region  string
	RPCAddr string
	Serf    string
	Client  *nomad.Client
	proc    *process
	dataDir string
	config  string
	bin     string
}

// StartNomad starts `nomad agent -dev` with raw_exec on, the cloud
// fingerprinters denied (they hang on machines without metadata services),
// and Vault enabled, and waits for a leader and a ready client node.
func StartNomad(t testing.TB, opts NomadOptions) *Nomad {
	t.Helper()
	bin := Require(t, "nomad")
	if opts.Region == "" {
		opts.Region = "global"
	}
	if opts.Datacenter == "" {
		opts.Datacenter = "dc1"
	}
	if opts.Name == "" {
		opts.Name = "nomad-" + opts.Region
	}
	if opts.VaultAddr == "" {
		opts.VaultAddr = "http://127.0.0.1:1"
	}
	ports := FreePorts(t, 3)
	dir := t.TempDir()
	consul := ""
	if opts.ConsulAddr != "" {
		consul = fmt.Sprintf("consul {\n  address = %q\n}\n", opts.ConsulAddr)
	}
	config := fmt.Sprintf(`name       = %q
region     = %q
datacenter = %q
data_dir   = %q
bind_addr  = "127.0.0.1"
log_level  = "INFO"
ports {
  http = %d
  rpc  = %d
  serf = %d
}
advertise {
  http = "127.0.0.1"
  rpc  = "127.0.0.1"
  serf = "127.0.0.1"
}
server {
  enabled          = true
  bootstrap_expect = 1
}
client {
  enabled = true
  options = {
    "driver.raw_exec.enable" = "1"
    "fingerprint.denylist"   = "env_aws,env_gce,env_azure,env_digitalocean"
  }
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
telemetry {
  publish_allocation_metrics = true
  publish_node_metrics       = true
  prometheus_metrics         = true
  collection_interval        = "1s"
}
vault {
  enabled = true
  address = %q
  default_identity {
    aud = ["vault.io"]
    ttl = "1h"
  }
}
%s`, opts.Name, opts.Region, opts.Datacenter, filepath.Join(dir, "data"), ports[0], ports[1], ports[2], opts.VaultAddr, consul)
	cfgPath := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &Nomad{
		Addr:    fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		Region:  opts.Region,
		RPCAddr: fmt.Sprintf("127.0.0.1:%d", ports[1]),
		Serf:    fmt.Sprintf("127.0.0.1:%d", ports[2]),
		dataDir: dir, config: cfgPath, bin: bin,
	}
	n.start(t, opts.Name)
	return n
}

func (n *Nomad) start(t testing.TB, name string) {
	t.Helper()
	n.proc = start(t, name, n.bin, "agent", "-dev", "-config="+n.config)
	// Registered after start's own cleanup, so it runs first: stop the
	// jobs while the agent can still stop their tasks, then clear what a
	// killed client leaves behind.
	t.Cleanup(func() { n.cleanup() })
	cfg := nomad.DefaultConfig()
	cfg.Address = n.Addr
	cfg.Region = n.Region
	cfg.SecretID = ""
	client, err := nomad.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.Client = client
	waitFor(t, n.proc, 90*time.Second, func() error {
		leader, err := client.Status().Leader()
		if err != nil || leader == "" {
			return fmt.Errorf("no leader yet: %v", err)
		}
		nodes, _, err := client.Nodes().List(nil)
		if err != nil {
			return err
		}
		for _, node := range nodes {
			if node.Status == "ready" {
				if d := node.Drivers["raw_exec"]; d != nil && d.Healthy {
					return nil
				}
			}
		}
		return fmt.Errorf("no ready client node with raw_exec")
	})
}

// cleanup purges every job (so the client stops its tasks), then, once the
// agent is gone, kills tasks still running from the data dir and unmounts
// the secrets tmpfs mounts the client made there.
func (n *Nomad) cleanup() {
	if !n.proc.exited() {
		if stubs, _, err := n.Client.Jobs().List(nil); err == nil {
			for _, j := range stubs {
				_, _, _ = n.Client.Jobs().Deregister(j.ID, true, &nomad.WriteOptions{Region: n.Region})
			}
			deadline := time.Now().Add(15 * time.Second)
			for time.Now().Before(deadline) {
				allocs, _, err := n.Client.Allocations().List(nil)
				busy := 0
				for _, a := range allocs {
					if a.ClientStatus == "running" || a.ClientStatus == "pending" {
						busy++
					}
				}
				if err != nil || busy == 0 {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
	}
	n.proc.Stop()
	killUnder(n.dataDir)
	unmountUnder(n.dataDir)
}

// killUnder kills what a killed client leaves behind: tasks whose working
// directory is under dir, and the `nomad executor` processes (each in its
// own process group) whose command line names a log file under dir.
func killUnder(dir string) {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		var pid int
		if _, err := fmt.Sscanf(p, "/proc/%d", &pid); err != nil || pid == os.Getpid() {
			continue
		}
		cwd, _ := os.Readlink(p + "/cwd")
		cmdline, _ := os.ReadFile(p + "/cmdline")
		if strings.HasPrefix(cwd, dir) || strings.Contains(string(cmdline), dir+"/") {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasPrefix(f[1], dir) {
			mounts = append(mounts, f[1])
		}
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
	}
}

// Stop stops the agent; Restart starts it again with the same config.
func (n *Nomad) Stop() { n.proc.Stop() }

// Restart starts a stopped agent again and waits until it is ready.
func (n *Nomad) Restart(t testing.TB) { n.start(t, n.proc.name) }

// Consul is a running Consul dev agent.
type Consul struct {
	Addr       string // host:port of the HTTP API
	Datacenter string
	SerfWAN    string // host:port other datacenters WAN-join
	proc       *process
}

// ConsulOptions configure a Consul dev agent.
type ConsulOptions struct {
	// Datacenter defaults to Consul's own default, dc1.
	Datacenter string
	// JoinWAN is the serf WAN address of a server in another datacenter
	// to federate with; StartConsul waits until both see each other.
	JoinWAN string
}

// StartConsul starts `consul agent -dev` and waits for a leader.
func StartConsul(t testing.TB) *Consul { return StartConsulDC(t, ConsulOptions{}) }

// StartConsulDC starts a Consul dev agent as its own datacenter, every
// port chosen free (the TLS gRPC port off, since its default clashes when
// two agents run), WAN-joined to another when JoinWAN is set.
func StartConsulDC(t testing.TB, opts ConsulOptions) *Consul {
	t.Helper()
	bin := Require(t, "consul")
	if opts.Datacenter == "" {
		opts.Datacenter = "dc1"
	}
	p := FreePorts(t, 6)
	c := &Consul{Addr: fmt.Sprintf("127.0.0.1:%d", p[0]), Datacenter: opts.Datacenter, SerfWAN: fmt.Sprintf("127.0.0.1:%d", p[5])}
	args := []string{"agent", "-dev", "-bind=127.0.0.1", "-client=127.0.0.1", "-datacenter=" + opts.Datacenter,
		"-node=consul-" + opts.Datacenter,
		"-http-port", fmt.Sprint(p[0]), "-grpc-port", fmt.Sprint(p[1]), "-dns-port", fmt.Sprint(p[2]),
		"-server-port", fmt.Sprint(p[3]), "-serf-lan-port", fmt.Sprint(p[4]), "-serf-wan-port", fmt.Sprint(p[5]),
		"-grpc-tls-port=-1"}
	if opts.JoinWAN != "" {
		args = append(args, "-retry-join-wan="+opts.JoinWAN)
	}
	c.proc = start(t, "consul-"+opts.Datacenter, bin, args...)
	waitFor(t, c.proc, 60*time.Second, func() error {
		return httpOK(fmt.Sprintf("http://%s/v1/status/leader", c.Addr), `"`)
	})
	if opts.JoinWAN != "" {
		waitFor(t, c.proc, 60*time.Second, func() error {
			return httpOK(fmt.Sprintf("http://%s/v1/catalog/datacenters", c.Addr), ",")
		})
	}
	return c
}

// Autoscaler is a running Nomad Autoscaler agent.
type Autoscaler struct {
	Addr string // its HTTP API, http://127.0.0.1:port
	proc *process
}

// StartAutoscaler starts `nomad-autoscaler agent` against a Nomad agent,
// with policies read from Nomad's job specs only (no policy files), the
// built-in nomad-apm plugin for metrics and nomad-target for scaling. It
// needs the agent's telemetry to publish allocation metrics, which
// StartNomad turns on.
func StartAutoscaler(t testing.TB, n *Nomad) *Autoscaler {
	t.Helper()
	bin := Require(t, "nomad-autoscaler")
	port := FreePorts(t, 1)[0]
	a := &Autoscaler{Addr: fmt.Sprintf("http://127.0.0.1:%d", port)}
	a.proc = start(t, "nomad-autoscaler", bin, "agent", "-nomad-address="+n.Addr, "-nomad-region="+n.Region,
		"-http-bind-address=127.0.0.1", fmt.Sprintf("-http-bind-port=%d", port), "-policy-source-disable-file", "-log-level=debug")
	waitFor(t, a.proc, 60*time.Second, func() error { return httpOK(a.Addr+"/v1/health", "") })
	return a
}

// Vault is a running Vault (or OpenBao) dev server with KV v2 at secret/.
type Vault struct {
	Addr  string
	Token string
	proc  *process
}

// StartVault starts `vault server -dev` (or `bao server -dev`) with a known
// root token and waits until it is unsealed.
func StartVault(t testing.TB) *Vault {
	t.Helper()
	bin := Require(t, "vault", "bao")
	port := FreePorts(t, 1)[0]
	v := &Vault{Addr: fmt.Sprintf("http://127.0.0.1:%d", port), Token: "backplane-test-root"}
	v.proc = start(t, "vault", bin, "server", "-dev", "-dev-root-token-id="+v.Token,
		fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", port))
	waitFor(t, v.proc, 60*time.Second, func() error {
		return httpOK(v.Addr+"/v1/sys/health", `"sealed":false`)
	})
	return v
}

func httpOK(url, contains string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(b.String(), contains) {
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, tail(b.String(), 200))
	}
	return nil
}
