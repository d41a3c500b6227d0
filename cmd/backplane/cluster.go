package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/translator"
)

// project is a schema translated for the cluster it is going to.
type project struct {
	file    string
	bundle  *translator.Bundle
	cluster *jobs.Cluster
}

// clusterFlags are the flags of every command that talks to the cluster.
type clusterFlags struct {
	file       string
	lokiURL    string
	lokiTenant string
	logship    translator.LogshipOptions
	jsonOut    bool
	// server is the Backplane server to go through (see remote.go).
	server string
	cmd    *cobra.Command
}

func (f *clusterFlags) register(cmd *cobra.Command) {
	f.cmd = cmd
	cmd.Flags().StringVar(&f.server, "server", "", "go through this Backplane server (env "+envServer+"; default: the one backplane login stored; --server= talks to Nomad directly)")
	cmd.Flags().StringVarP(&f.file, "file", "f", "backplane.yaml", "schema file (YAML or JSON; - for stdin)")
	cmd.Flags().StringVar(&f.lokiURL, "loki-url", os.Getenv("BACKPLANE_LOKI_URL"), "Loki's base URL, where the logship sidecar pushes (env BACKPLANE_LOKI_URL)")
	cmd.Flags().StringVar(&f.lokiTenant, "loki-tenant", os.Getenv("BACKPLANE_LOKI_TENANT"), "Loki tenant the sidecar pushes as (env BACKPLANE_LOKI_TENANT)")
	logshipFlags(cmd.Flags(), &f.logship)
	cmd.Flags().BoolVar(&f.jsonOut, "json", false, "print machine-readable JSON")
}

// open loads, validates and translates the schema and connects to the
// cluster named by NOMAD_ADDR and friends. Datastore credentials come from
// Vault exactly when Vault is configured.
func (a *app) open(f *clusterFlags) (*project, error) {
	reg, err := a.registry()
	if err != nil {
		return nil, err
	}
	s, err := a.load(f.file)
	if err != nil {
		return nil, err
	}
	cfg := jobs.FromEnv()
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cluster, err := jobs.Connect(cfg, log)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	opts := translator.Options{Credentials: cluster.HasVault(), LokiURL: f.lokiURL, LokiTenant: f.lokiTenant, Logship: f.logship}
	b, err := a.translate(f.file, s, reg, opts)
	if err != nil {
		return nil, err
	}
	if !f.jsonOut {
		a.printWarnings(f.file, b.Warnings)
	}
	return &project{file: f.file, bundle: b, cluster: cluster}, nil
}

// signalContext ends on Ctrl-C, so a long watch stops cleanly.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// isTerminal reports whether w is a character device, so progress lines
// can be redrawn in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func pad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(" ", n-len(s))
}
