package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/backplane-dev/backplane/cmd/backplane/devenv"
)

func (a *app) devCmd() *cobra.Command {
	var dataDir, addr, example string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run Backplane and its peers (Nomad, Consul, Vault, Loki, Alertmanager, Prometheus) on this machine",
		Long: `Dev starts whichever of nomad (dev mode, raw_exec on), consul (dev), vault or
bao (dev, KV v2 at secret/, JWT auth for Nomad workload identities), loki,
alertmanager and prometheus are on PATH, each on loopback on free ports,
waits until each is ready, and runs serve wired to them. It prints a table of
each component and its URL, or what installing it would add.

Data lives in a temporary folder removed on exit, or under --data DIR:
Backplane's projects and history, logs, alert state and metrics are kept
between runs there; Nomad, Consul and Vault run in dev mode, whose state
lasts one run (deploy again after a restart). DIR/env holds the shell
settings (NOMAD_ADDR, VAULT_TOKEN, ...) for the plain CLIs.

Ctrl-C or SIGTERM stops everything, the tasks Nomad started included.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runDev(dataDir, addr, example)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data", "", "keep state in this folder between runs (default: a temporary folder, removed on exit)")
	f.StringVar(&addr, "addr", "127.0.0.1:8470", "address the editor and API listen on")
	f.StringVar(&example, "example", "", "schema file to import as a project on the first start, e.g. examples/local.yaml")
	return cmd
}

// runDev starts the peers, serves until a signal, and stops everything.
func (a *app) runDev(dataDir, addr, example string) error {
	// Registered first, so a Ctrl-C at any point comes here and the peers
	// are stopped; a second one while stopping is ignored.
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	if err := checkListen(addr); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if example != "" {
		if _, err := os.Stat(example); err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("dev: --example: %w", err)}
		}
	}
	dir, temp, err := devDir(dataDir)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if temp {
		defer os.RemoveAll(dir)
	}
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	fmt.Fprintf(a.stdout, "starting the peers on PATH (data in %s)...\n", dir)
	env, err := devenv.Start(ctx, devenv.Options{Dir: dir, Logger: log.With("component", "dev")})
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(a.stdout, "stopped")
			return nil
		}
		return &exitError{code: exitUsage, err: err}
	}
	defer func() {
		fmt.Fprintln(a.stdout, "stopping the peers...")
		env.Stop()
		fmt.Fprintln(a.stdout, "stopped")
	}()
	envFile, err := wireDev(env, dir)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	a.printDevTable(env, addr, envFile)
	if ctx.Err() != nil {
		return nil
	}
	return a.serveDev(ctx, env, dir, addr, example)
}

// devDir is the folder the peers and serve keep their data in.
func devDir(dataDir string) (dir string, temp bool, err error) {
	if dataDir == "" {
		dir, err := os.MkdirTemp("", "backplane-dev-")
		if err != nil {
			return "", false, fmt.Errorf("dev: temporary folder: %w", err)
		}
		return dir, true, nil
	}
	dir, err = filepath.Abs(dataDir)
	if err != nil {
		return "", false, fmt.Errorf("dev: --data: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, fmt.Errorf("dev: --data: %w", err)
	}
	return dir, false, nil
}

// checkListen fails early when the editor's address is taken, before any
// peer starts.
func checkListen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("dev: --addr: %w", err)
	}
	return ln.Close()
}

// wireDev points the cluster clients serve builds at the peers, and only
// at them: a setting from the user's shell for a peer that does not run
// here would send deploys to another cluster. It writes the same settings
// to DIR/env (mode 0600: it holds the Vault dev token) for the plain CLIs.
func wireDev(env *devenv.Env, dir string) (string, error) {
	vars := []struct{ name, value string }{
		{"NOMAD_ADDR", env.URL(devenv.Nomad)},
		{"NOMAD_TOKEN", ""}, {"NOMAD_REGION", ""}, {"NOMAD_NAMESPACE", ""},
		{"CONSUL_HTTP_ADDR", strings.TrimPrefix(env.URL(devenv.Consul), "http://")},
		{"CONSUL_HTTP_TOKEN", ""},
		{"VAULT_ADDR", env.URL(devenv.Vault)},
		{"VAULT_TOKEN", env.VaultToken()},
		{"VAULT_NAMESPACE", ""},
	}
	var b strings.Builder
	b.WriteString("# Shell settings for the plain CLIs against `backplane dev`'s peers: source this file.\n")
	for _, v := range vars {
		if v.value == "" {
			if err := os.Unsetenv(v.name); err != nil {
				return "", err
			}
			fmt.Fprintf(&b, "unset %s\n", v.name)
			continue
		}
		if err := os.Setenv(v.name, v.value); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "export %s=%s\n", v.name, v.value)
	}
	path := filepath.Join(dir, "env")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("dev: write %s: %w", path, err)
	}
	return path, nil
}

// printDevTable prints each component with its URL, or why it is not
// there and what that costs.
func (a *app) printDevTable(env *devenv.Env, addr, envFile string) {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tURL")
	for _, r := range env.Rows() {
		if r.URL != "" {
			fmt.Fprintf(tw, "%s\t%s\n", r.Name, r.URL)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\n", r.Name, r.Status)
	}
	fmt.Fprintf(tw, "backplane\thttp://%s\n", addr)
	_ = tw.Flush()
	fmt.Fprintf(a.stdout, "settings for nomad, vault, consul and backplane's CLI: source %s\n", envFile)
}

// serveDev runs serve in this process against the peers until a signal.
func (a *app) serveDev(ctx context.Context, env *devenv.Env, dir, addr, example string) error {
	self, err := os.Executable()
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("dev: find this binary for the log sidecar: %w", err)}
	}
	args := []string{
		"--addr", addr,
		"--data", filepath.Join(dir, "backplane"),
		"--database-url=",
		"--public-url=",
		"--loki-url=" + env.URL(devenv.Loki),
		"--loki-tenant=",
		"--loki-basic-auth-file=",
		// Every task runs on this machine: the sidecar runs this binary.
		"--logship-command=" + self,
		"--logship-artifact=",
		"--alertmanager-url=" + env.URL(devenv.Alertmanager),
		"--alertmanager-config=" + env.AlertmanagerConfig(),
		"--alertmanager-secrets=",
		"--prometheus-url=" + env.URL(devenv.Prometheus),
		"--prometheus-rules-dir=" + env.PrometheusRulesDir(),
	}
	if example != "" {
		args = append(args, "--seed", example)
	}
	serve := a.serveCmd()
	serve.SilenceUsage, serve.SilenceErrors = true, true
	serve.SetArgs(args)
	serve.SetOut(a.stdout)
	serve.SetErr(a.stderr)
	errc := make(chan error, 1)
	go func() { errc <- serve.Execute() }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		// serve stops on the same signal; if it came before serve listened
		// for it, send it again.
		select {
		case err = <-errc:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
			err = <-errc
		}
	}
	var ee *exitError
	if err != nil && !errors.As(err, &ee) {
		err = &exitError{code: exitUsage, err: fmt.Errorf("dev: serve: %w", err)}
	}
	return err
}
