package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/store"
	"github.com/backplane-dev/backplane/web"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func (a *app) serveCmd() *cobra.Command {
	var addr, dataDir, dbURL, lokiURL, seed string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the web editor and the API",
		Long: `Serve runs the editor and the HTTP API (/api/v1) on --addr.

Data lives in an embedded SQLite database in --data (BACKPLANE_DATA,
default ./backplane-data), or in PostgreSQL when BACKPLANE_DATABASE_URL is a
postgres:// URL, so several serve replicas behind a load balancer share it.
The cluster comes from NOMAD_ADDR (and CONSUL_HTTP_ADDR, VAULT_ADDR); without
it the editor works and says "no cluster connected".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			reg, err := a.registry()
			if err != nil {
				return err
			}
			dsn := dbURL
			if dsn == "" {
				dsn = filepath.Join(dataDir, "backplane.db")
				if err := os.MkdirAll(dataDir, 0o700); err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("serve: data folder %s: %w", dataDir, err)}
				}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			st, err := store.Open(ctx, dsn)
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("serve: open store: %w", err)}
			}
			defer st.Close()
			if seed != "" {
				if err := a.seedProject(ctx, st, seed); err != nil {
					return err
				}
			}
			var cluster web.Cluster
			cfg := jobs.FromEnv()
			if cfg.NomadAddr != "" {
				c, err := jobs.Connect(cfg, log)
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
				cluster = c
				log.Info("cluster configured", "nomad", cfg.NomadAddr, "consul", cfg.ConsulAddr != "", "vault", cfg.VaultAddr != "")
			} else {
				log.Info("no cluster connected: set NOMAD_ADDR to plan and deploy")
			}
			srv := web.New(web.Config{Store: st, Registry: reg, Cluster: cluster, LokiURL: lokiURL, Logger: log, Version: version})
			defer srv.Close()
			hs := &http.Server{
				Addr:              addr,
				Handler:           srv.Handler(),
				ReadHeaderTimeout: 10 * time.Second,
				IdleTimeout:       2 * time.Minute,
				MaxHeaderBytes:    1 << 20,
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("serve: listen on %s: %w", addr, err)}
			}
			fmt.Fprintf(a.stdout, "backplane serving on http://%s (store: %s)\n", ln.Addr(), store.Describe(st))
			errc := make(chan error, 1)
			go func() { errc <- hs.Serve(ln) }()
			select {
			case <-ctx.Done():
			case err := <-errc:
				if !errors.Is(err, http.ErrServerClosed) {
					return &exitError{code: exitUsage, err: err}
				}
			}
			srv.Close() // end event streams so Shutdown does not wait on them
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return hs.Shutdown(sctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", envOr("BACKPLANE_ADDR", "127.0.0.1:8470"), "address to listen on (env BACKPLANE_ADDR)")
	f.StringVar(&dataDir, "data", envOr("BACKPLANE_DATA", "backplane-data"), "folder of the SQLite database (env BACKPLANE_DATA)")
	f.StringVar(&dbURL, "database-url", os.Getenv("BACKPLANE_DATABASE_URL"), "postgres:// URL to use PostgreSQL instead of SQLite (env BACKPLANE_DATABASE_URL)")
	f.StringVar(&lokiURL, "loki-url", os.Getenv("BACKPLANE_LOKI_URL"), "Loki push URL for the logship sidecar (env BACKPLANE_LOKI_URL)")
	f.StringVar(&seed, "seed", "", "schema file to import as a project when no project of its name exists yet")
	return cmd
}

// seedProject imports a schema file as a project, unless one of that name
// already exists (so restarting keeps the user's edits).
func (a *app) seedProject(ctx context.Context, st store.Store, file string) error {
	s, err := a.load(file)
	if err != nil {
		return err
	}
	if _, err := st.GetProject(ctx, s.Project); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return &exitError{code: exitUsage, err: fmt.Errorf("seed %s: %w", file, err)}
	}
	y, err := s.Canonical().EncodeYAML()
	if err != nil {
		return &exitError{code: exitInvalid, err: fmt.Errorf("seed %s: %w", file, err)}
	}
	if _, err := st.CreateProject(ctx, s.Project, s.Project); err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("seed %s: %w", file, err)}
	}
	if _, err := st.SaveRevision(ctx, s.Project, store.NewRevision{YAML: string(y), Author: "backplane", Message: "imported from " + file}); err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("seed %s: %w", file, err)}
	}
	fmt.Fprintf(a.stdout, "imported %s as project %s\n", file, s.Project)
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
