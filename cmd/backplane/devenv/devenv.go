package devenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Component names, in the order the table lists them.
const (
	Nomad        = "nomad"
	Consul       = "consul"
	Vault        = "vault"
	Loki         = "loki"
	Alertmanager = "alertmanager"
	Prometheus   = "prometheus"
)

// peer describes one component: the binaries that provide it and what the
// user loses without it.
type peer struct {
	name     string
	binaries []string
	loses    string
	timeout  time.Duration
}

var peers = []peer{
	{Nomad, []string{"nomad"}, "deploys (the editor still designs, validates and renders)", 90 * time.Second},
	{Consul, []string{"consul"}, "the service mesh and connections across regions", 60 * time.Second},
	{Vault, []string{"vault", "bao"}, "secrets and datastore passwords", 60 * time.Second},
	{Loki, []string{"loki"}, "logs", 90 * time.Second},
	{Alertmanager, []string{"alertmanager"}, "alerts", 60 * time.Second},
	{Prometheus, []string{"prometheus"}, "metric rules and metric ranges beyond 15 minutes", 60 * time.Second},
}

// Options configure Start.
type Options struct {
	// Dir holds each component's folder (Dir/<name>). The caller owns it.
	Dir string
	// LookPath finds a binary; exec.LookPath when nil.
	LookPath func(string) (string, error)
	// Logger reports progress; discarded when nil.
	Logger *slog.Logger
}

// Row is one line of the components table.
type Row struct {
	Name string
	// URL is where the component listens; empty unless it runs.
	URL string
	// Status is "running", "missing: install X to get Y" or "failed: …".
	Status string
}

// Env is the set of running components.
type Env struct {
	rows []Row
	// URLs by component, for those that run.
	urls       map[string]string
	vaultToken string
	amConfig   string
	promRules  string
	procs      map[string]*process
	nomadData  string
	log        *slog.Logger
}

// URL is the base URL of a running component, "" when it does not run.
func (e *Env) URL(name string) string { return e.urls[name] }

// VaultToken is the dev server's root token, "" without Vault.
func (e *Env) VaultToken() string { return e.vaultToken }

// AlertmanagerConfig is the config file Alertmanager runs, "" without it.
func (e *Env) AlertmanagerConfig() string { return e.amConfig }

// PrometheusRulesDir is the folder of rule files Prometheus loads, "" without it.
func (e *Env) PrometheusRulesDir() string { return e.promRules }

// Rows is the components table, in a fixed order.
func (e *Env) Rows() []Row { return append([]Row(nil), e.rows...) }

// start is one component being started.
type start struct {
	peer  peer
	bin   string
	dir   string
	url   string
	proc  *process
	ready func(ctx context.Context) error
	err   error
}

// Start starts every component whose binary is on PATH and waits until
// each is ready or has failed; a component that fails is stopped and
// reported, and the others go on. It fails only when ctx ends (the
// components started so far are stopped) or a folder cannot be made.
func Start(ctx context.Context, opts Options) (*Env, error) {
	look := opts.LookPath
	if look == nil {
		look = exec.LookPath
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Env{urls: map[string]string{}, procs: map[string]*process{}, log: log}
	starts := map[string]*start{}
	for _, p := range peers {
		for _, b := range p.binaries {
			if path, err := look(b); err == nil {
				dir := filepath.Join(opts.Dir, p.name)
				if err := os.MkdirAll(dir, 0o700); err != nil {
					return nil, fmt.Errorf("dev: folder for %s: %w", p.name, err)
				}
				starts[p.name] = &start{peer: p, bin: path, dir: dir}
				break
			}
		}
	}
	// Every port is chosen before anything starts, so each component's
	// configuration can name the others'.
	ports, err := freePorts(3 + 6 + 1 + 2 + 1 + 1)
	if err != nil {
		return nil, err
	}
	take := func(n int) []int { p := ports[:n]; ports = ports[n:]; return p }
	np, cp, vp, lp, ap, pp := take(3), take(6), take(1)[0], take(2), take(1)[0], take(1)[0]
	urlOf := func(name string, port int) string {
		if starts[name] == nil {
			return ""
		}
		return fmt.Sprintf("http://127.0.0.1:%d", port)
	}
	nomadURL, consulURL, vaultURL := urlOf(Nomad, np[0]), urlOf(Consul, cp[0]), urlOf(Vault, vp)
	lokiURL, amURL, promURL := urlOf(Loki, lp[0]), urlOf(Alertmanager, ap), urlOf(Prometheus, pp)
	if starts[Vault] != nil {
		token := make([]byte, 16)
		_, _ = rand.Read(token)
		e.vaultToken = "dev-" + hex.EncodeToString(token)
	}

	launch := map[string]func(s *start) error{
		Consul: func(s *start) error {
			s.url = consulURL
			return s.run(syscall.SIGINT, "agent", "-dev", "-bind=127.0.0.1", "-client=127.0.0.1", "-node=backplane-dev",
				"-http-port", fmt.Sprint(cp[0]), "-grpc-port", fmt.Sprint(cp[1]), "-dns-port", fmt.Sprint(cp[2]),
				"-server-port", fmt.Sprint(cp[3]), "-serf-lan-port", fmt.Sprint(cp[4]), "-serf-wan-port", fmt.Sprint(cp[5]),
				"-grpc-tls-port=-1")
		},
		Vault: func(s *start) error {
			s.url = vaultURL
			return s.run(syscall.SIGTERM, "server", "-dev", "-dev-root-token-id="+e.vaultToken,
				fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", vp), "-dev-no-store-token")
		},
		Nomad: func(s *start) error {
			s.url = nomadURL
			data := filepath.Join(s.dir, "data")
			// Dev mode keeps the cluster state in memory; clear what an
			// earlier run's client left on disk (and, if that run was
			// killed, its tasks).
			killUnder(data)
			unmountUnder(data)
			if err := os.RemoveAll(data); err != nil {
				return fmt.Errorf("clear %s: %w", data, err)
			}
			e.nomadData = data
			cfg := filepath.Join(s.dir, "agent.hcl")
			if err := os.WriteFile(cfg, []byte(nomadConfig(data, np, vaultURL, consulURL)), 0o600); err != nil {
				return err
			}
			return s.run(syscall.SIGINT, "agent", "-dev", "-config="+cfg)
		},
		Loki: func(s *start) error {
			s.url = lokiURL
			cfg := filepath.Join(s.dir, "loki.yaml")
			if err := os.WriteFile(cfg, []byte(lokiConfig(s.dir, lp)), 0o600); err != nil {
				return err
			}
			return s.run(syscall.SIGTERM, "-config.file="+cfg)
		},
		Alertmanager: func(s *start) error {
			s.url = amURL
			cfg := filepath.Join(s.dir, "alertmanager.yml")
			// Kept between runs under --data: deploys merge projects' routes into it.
			if _, err := os.Stat(cfg); errors.Is(err, os.ErrNotExist) {
				if err := os.WriteFile(cfg, []byte("route:\n  receiver: default\nreceivers:\n  - name: default\n"), 0o600); err != nil {
					return err
				}
			}
			e.amConfig = cfg
			return s.run(syscall.SIGTERM, "--config.file="+cfg, "--storage.path="+filepath.Join(s.dir, "data"),
				fmt.Sprintf("--web.listen-address=127.0.0.1:%d", ap), "--web.external-url="+amURL, "--cluster.listen-address=")
		},
		Prometheus: func(s *start) error {
			s.url = promURL
			rules := filepath.Join(s.dir, "rules")
			if err := os.MkdirAll(rules, 0o755); err != nil {
				return err
			}
			e.promRules = rules
			cfg := filepath.Join(s.dir, "prometheus.yml")
			if err := os.WriteFile(cfg, []byte(prometheusConfig(rules, nomadURL, amURL)), 0o600); err != nil {
				return err
			}
			return s.run(syscall.SIGTERM, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(s.dir, "data"),
				fmt.Sprintf("--web.listen-address=127.0.0.1:%d", pp), "--web.external-url="+promURL, "--web.enable-lifecycle")
		},
	}
	ready := map[string]func(ctx context.Context, url string) error{
		Consul:       func(ctx context.Context, u string) error { return httpOK(ctx, u+"/v1/status/leader", `"`) },
		Vault:        func(ctx context.Context, u string) error { return httpOK(ctx, u+"/v1/sys/health", `"sealed":false`) },
		Nomad:        nomadReady,
		Loki:         func(ctx context.Context, u string) error { return httpOK(ctx, u+"/ready", "") },
		Alertmanager: func(ctx context.Context, u string) error { return httpOK(ctx, u+"/-/ready", "") },
		Prometheus:   func(ctx context.Context, u string) error { return httpOK(ctx, u+"/-/ready", "") },
	}

	for _, p := range peers {
		s := starts[p.name]
		if s == nil {
			continue
		}
		log.Info("starting", "component", p.name, "binary", s.bin)
		if err := launch[p.name](s); err != nil {
			s.err = err
			continue
		}
		e.procs[p.name] = s.proc
	}
	var wg sync.WaitGroup
	for _, s := range starts {
		if s.err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.err = s.wait(ctx, ready[s.peer.name])
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		e.Stop()
		return nil, ctx.Err()
	}
	// Vault's part of Nomad's workload identities: needs both up.
	if s := starts[Vault]; s != nil && s.err == nil {
		nomad := ""
		if n := starts[Nomad]; n != nil && n.err == nil {
			nomad = n.url
		}
		if err := setupVault(ctx, s.url, e.vaultToken, nomad); err != nil {
			s.err = err
		}
	}
	for _, p := range peers {
		s := starts[p.name]
		switch {
		case s == nil:
			bins := strings.Join(p.binaries, " or ")
			e.rows = append(e.rows, Row{Name: p.name, Status: "missing: install " + bins + " to get " + p.loses})
		case s.err != nil:
			msg := s.err.Error()
			if s.proc != nil {
				s.proc.stop(5 * time.Second)
				delete(e.procs, p.name)
				msg += " (its output: " + s.proc.logPath + ")"
			}
			e.rows = append(e.rows, Row{Name: p.name, Status: "failed: " + msg + "; without it, no " + p.loses})
			switch p.name {
			case Alertmanager:
				e.amConfig = ""
			case Prometheus:
				e.promRules = ""
			case Vault:
				e.vaultToken = ""
			}
		default:
			e.urls[p.name] = s.url
			e.rows = append(e.rows, Row{Name: p.name, URL: s.url, Status: "running"})
		}
	}
	return e, nil
}

func (s *start) run(stop syscall.Signal, args ...string) error {
	p, err := startProcess(s.peer.name, s.dir, s.bin, stop, args...)
	if err != nil {
		return err
	}
	s.proc = p
	return nil
}

// wait polls ready until it passes, the process exits, the component's
// timeout passes or ctx ends.
func (s *start) wait(ctx context.Context, ready func(context.Context, string) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.peer.timeout)
	defer cancel()
	var last error
	for {
		if s.proc.exited() {
			return fmt.Errorf("exited while starting: %s", lastLine(s.proc.tail(2000)))
		}
		if last = ready(ctx, s.url); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %v", s.peer.timeout, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// Stop ends every component (Nomad first, so its tasks stop while the
// others still run), each with its stop signal and then SIGKILL to its
// process group, and clears what the Nomad client leaves behind: its
// executors and tasks, and its mounts. It returns when all are gone.
func (e *Env) Stop() {
	if p := e.procs[Nomad]; p != nil {
		// Executors and log monitors run in groups of their own: find
		// them while the agent is their parent.
		kids := descendants(p.cmd.Process.Pid)
		p.stop(15 * time.Second)
		for _, pid := range kids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if e.nomadData != "" {
			killUnder(e.nomadData)
			unmountUnder(e.nomadData)
		}
	}
	var wg sync.WaitGroup
	for name, p := range e.procs {
		if name == Nomad {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.stop(15 * time.Second)
		}()
	}
	wg.Wait()
	e.procs = map[string]*process{}
}

// Output tells where a component's output goes ("" when it does not run).
func (e *Env) Output(name string) string {
	if p := e.procs[name]; p != nil {
		return p.logPath
	}
	return ""
}

func httpOK(ctx context.Context, url, contains string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), contains) {
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}
