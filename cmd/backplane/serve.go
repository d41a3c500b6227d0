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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/observe/logs"
	"github.com/backplane-dev/backplane/store"
	"github.com/backplane-dev/backplane/translator"
	"github.com/backplane-dev/backplane/web"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func (a *app) serveCmd() *cobra.Command {
	var addr, dataDir, dbURL, lokiURL, seed, keepDeleted string
	var publicURL, adminTokenFile, tlsCert, tlsKey string
	var lokiTenant, lokiAuthFile string
	var trustedProxies []string
	var logship translator.LogshipOptions
	var af alertFlags
	var mf metricFlags
	var gf gitFlags
	var bf buildFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the web editor and the API",
		Long: `Serve runs the editor and the HTTP API (/api/v1) on --addr.

Data lives in an embedded SQLite database in --data (BACKPLANE_DATA,
default ./backplane-data), or in PostgreSQL when BACKPLANE_DATABASE_URL is a
postgres:// URL, so several serve replicas behind a load balancer share it;
their editors' event streams then carry every replica's saves and deploys
(LISTEN/NOTIFY). On SQLite one replica is the limit.
The cluster comes from NOMAD_ADDR (and CONSUL_HTTP_ADDR, VAULT_ADDR); without
it the editor works and says "no cluster connected".

Everyone signs in. On the first start serve creates the server admin
"admin" and prints a one-time sign-in link (valid 30 minutes; a restart
prints a new one while admin has no password). BACKPLANE_ADMIN_TOKEN (or
--admin-token-file), any value of 24 characters or more, makes an admin API
token with that value exist: for bootstrap and CI. --tls-cert and --tls-key
serve HTTPS.

A deleted project's revisions, deployments and audit trail are kept for
--keep-deleted (BACKPLANE_KEEP_DELETED, default 90d; 0 keeps them forever),
then purged.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			reg, err := a.registry()
			if err != nil {
				return err
			}
			retention, err := parseRetention(keepDeleted)
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("serve: --keep-deleted: %w", err)}
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
			if _, shared := st.(store.Notifier); !shared {
				// Events travel between replicas only through a store that
				// carries notifications (PostgreSQL LISTEN/NOTIFY).
				log.Info("one serve replica is the limit on this store: saves and deploys reach only the editors connected to this process; "+
					"set BACKPLANE_DATABASE_URL=postgres://... to run several replicas", "store", store.Kind(st))
			}
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
			if retention > 0 {
				go purgeDeleted(ctx, st, retention, log)
			}
			adminToken, err := readAdminToken(adminTokenFile)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if (tlsCert == "") != (tlsKey == "") {
				return &exitError{code: exitUsage, err: errors.New("serve: --tls-cert and --tls-key go together")}
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("serve: listen on %s: %w", addr, err)}
			}
			scheme := "http"
			if tlsCert != "" {
				scheme = "https"
			}
			if publicURL == "" {
				publicURL = scheme + "://" + ln.Addr().String()
			}
			loki := logs.Config{URL: lokiURL, Tenant: lokiTenant}
			if lokiAuthFile != "" {
				if err := loki.LoadBasicAuth(lokiAuthFile); err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("serve: --loki-basic-auth-file: %w", err)}
				}
			}
			if lokiURL == "" {
				log.Info("log search is off: set BACKPLANE_LOKI_URL to Loki's base URL to ship and search logs")
			} else if _, err := logs.New(loki); err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("serve: --loki-url: %w", err)}
			}
			alertCfg, err := af.build(log)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			// Alerts and metric rules link to the element in the editor.
			alertCfg.Options.PublicURL = publicURL
			metricCfg, err := mf.build(log)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			_, shared := st.(store.Notifier)
			gitCfg, pollEvery, err := gf.build(log, dataDir, shared)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			buildCfg, err := bf.build(log, dataDir, shared)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			srv := web.New(web.Config{Store: st, Registry: reg, Cluster: cluster, LokiURL: lokiURL, Loki: loki, Logger: log,
				Version: version, DeletedRetention: retention, PublicURL: publicURL, TrustedProxies: trustedProxies, Logship: logship,
				Alerts: alertCfg, ElementMetrics: metricCfg, Autodeploy: gitCfg, Builds: buildCfg})
			defer srv.Close()
			go srv.Start(ctx)
			go srv.PollGit(ctx, pollEvery)
			link, err := srv.Bootstrap(ctx, adminToken)
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("serve: %w", err)}
			}
			hs := &http.Server{
				Addr:              addr,
				Handler:           srv.Handler(),
				ReadHeaderTimeout: 10 * time.Second,
				IdleTimeout:       2 * time.Minute,
				MaxHeaderBytes:    1 << 20,
			}
			fmt.Fprintf(a.stdout, "backplane serving on %s://%s (store: %s)\n", scheme, ln.Addr(), store.Describe(st))
			if link != "" {
				fmt.Fprintf(a.stdout, "sign in as %s to set a password: %s\n(the link works once, for %s; restart serve for a new one)\n",
					web.BootstrapAdmin, link, web.LinkTTL)
			}
			errc := make(chan error, 1)
			go func() {
				if tlsCert != "" {
					errc <- hs.ServeTLS(ln, tlsCert, tlsKey)
					return
				}
				errc <- hs.Serve(ln)
			}()
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
	f.StringVar(&lokiURL, "loki-url", os.Getenv("BACKPLANE_LOKI_URL"), "Loki's base URL: the logship sidecar pushes there, log search reads from it (env BACKPLANE_LOKI_URL)")
	f.StringVar(&lokiTenant, "loki-tenant", os.Getenv(logs.EnvTenant), "Loki tenant: the logship sidecar pushes as it and log search reads as it, sent as X-Scope-OrgID (env "+logs.EnvTenant+")")
	f.StringVar(&lokiAuthFile, "loki-basic-auth-file", os.Getenv(logs.EnvBasicAuthFile), "file holding user:password for log search in Loki (env "+logs.EnvBasicAuthFile+")")
	f.StringVar(&seed, "seed", "", "schema file to import as a project when no project of its name exists yet")
	logshipFlags(f, &logship)
	af.register(f)
	mf.register(f)
	gf.register(f)
	bf.register(f)
	f.StringVar(&publicURL, "public-url", os.Getenv("BACKPLANE_PUBLIC_URL"), "where browsers and clients reach serve, for sign-in links (env BACKPLANE_PUBLIC_URL; default the listen address)")
	f.StringVar(&adminTokenFile, "admin-token-file", os.Getenv("BACKPLANE_ADMIN_TOKEN_FILE"),
		"file holding the bootstrap admin API token (env BACKPLANE_ADMIN_TOKEN_FILE; or the token itself in BACKPLANE_ADMIN_TOKEN)")
	f.StringVar(&tlsCert, "tls-cert", os.Getenv("BACKPLANE_TLS_CERT"), "serve HTTPS with this certificate (PEM; env BACKPLANE_TLS_CERT)")
	f.StringVar(&tlsKey, "tls-key", os.Getenv("BACKPLANE_TLS_KEY"), "the certificate's private key (PEM; env BACKPLANE_TLS_KEY)")
	f.StringSliceVar(&trustedProxies, "trusted-proxy", splitList(os.Getenv("BACKPLANE_TRUSTED_PROXIES")),
		"address or CIDR of a proxy whose X-Forwarded-For names the client (repeatable; env BACKPLANE_TRUSTED_PROXIES, comma-separated)")
	f.StringVar(&keepDeleted, "keep-deleted", envOr("BACKPLANE_KEEP_DELETED", "90d"),
		"how long a deleted project's history is kept, e.g. 90d or 720h; 0 keeps it forever (env BACKPLANE_KEEP_DELETED)")
	return cmd
}

// readAdminToken reads the bootstrap admin token from the file, or else
// from BACKPLANE_ADMIN_TOKEN; "" when neither is set.
func readAdminToken(file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("serve: admin token file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return strings.TrimSpace(os.Getenv("BACKPLANE_ADMIN_TOKEN")), nil
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseRetention reads --keep-deleted: a whole number of days ("90d") or a
// Go duration ("720h"); "0" means forever.
func parseRetention(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a number of days (90d) or a duration (720h)", v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a number of days (90d) or a duration (720h)", v)
	}
	return d, nil
}

// purgeEvery is how often serve purges the deleted projects older than the
// retention period.
const purgeEvery = time.Hour

// purgeDeleted purges deleted projects older than retention, now and then
// every purgeEvery, until ctx ends. Every replica runs it; the store
// purges each project once.
func purgeDeleted(ctx context.Context, st store.Store, retention time.Duration, log *slog.Logger) {
	log = log.With("component", "purge")
	t := time.NewTicker(purgeEvery)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		n, err := st.PurgeDeleted(pctx, time.Now().Add(-retention))
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("purging deleted projects failed; will retry", "error", err)
		case n > 0:
			log.Info("purged deleted projects past their retention", "count", n, "retention", retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
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
