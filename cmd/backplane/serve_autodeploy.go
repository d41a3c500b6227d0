package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/backplane-dev/backplane/autodeploy"
	"github.com/backplane-dev/backplane/web"
)

// gitFlags are serve's auto-deploy settings.
type gitFlags struct {
	poll, settle, lease string
	slots               int
}

func (f *gitFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.poll, "git-poll", envOr("BACKPLANE_GIT_POLL", "60s"),
		"how often auto-deploy branches are checked where webhooks cannot reach serve, jittered; 0 turns polling off (env BACKPLANE_GIT_POLL)")
	fs.StringVar(&f.settle, "git-settle", envOr("BACKPLANE_GIT_SETTLE", autodeploy.Settle.String()),
		"how long a queued deploy waits for newer pushes to the same element, so a burst deploys once (env BACKPLANE_GIT_SETTLE)")
	fs.StringVar(&f.lease, "deploy-lease", envOr("BACKPLANE_DEPLOY_LEASE", autodeploy.Lease.String()),
		"how long a replica holds a queued deploy it runs; if it dies, another replica takes the deploy over after this (env BACKPLANE_DEPLOY_LEASE)")
	slots, _ := strconv.Atoi(envOr("BACKPLANE_DEPLOY_SLOTS", strconv.Itoa(autodeploy.Slots)))
	fs.IntVar(&f.slots, "deploy-slots", slots,
		"how many queued deploys (of different elements) this replica runs at once (env BACKPLANE_DEPLOY_SLOTS)")
}

// build makes the server's auto-deploy settings. Webhook secrets are
// sealed with BACKPLANE_SECRET_KEY, or a key kept in the data folder (one
// replica); a shared PostgreSQL store needs the variable on every replica.
func (f *gitFlags) build(log *slog.Logger, dataDir string, shared bool) (web.AutodeployConfig, time.Duration, error) {
	var cfg web.AutodeployConfig
	every, err := time.ParseDuration(f.poll)
	if err != nil || every < 0 {
		return cfg, 0, fmt.Errorf("serve: --git-poll: %q is not a duration (60s; 0 turns polling off)", f.poll)
	}
	if every > 0 && every < 5*time.Second {
		return cfg, 0, fmt.Errorf("serve: --git-poll: %s is too often for a git host; use 5s or more", every)
	}
	if cfg.Settle, err = time.ParseDuration(f.settle); err != nil || cfg.Settle < 0 {
		return cfg, 0, fmt.Errorf("serve: --git-settle: %q is not a duration (2s)", f.settle)
	}
	if cfg.Lease, err = time.ParseDuration(f.lease); err != nil || cfg.Lease < 10*time.Second {
		return cfg, 0, fmt.Errorf("serve: --deploy-lease: %q is not a duration of 10s or more (15m)", f.lease)
	}
	if f.slots < 1 || f.slots > 64 {
		return cfg, 0, fmt.Errorf("serve: --deploy-slots: %d is not between 1 and 64", f.slots)
	}
	cfg.Slots = f.slots
	env := os.Getenv("BACKPLANE_SECRET_KEY")
	if env == "" && shared {
		log.Info("deploys from git are off: with a shared store set BACKPLANE_SECRET_KEY (the same on every replica) to keep webhook secrets")
		return cfg, 0, nil
	}
	key, err := autodeploy.LoadKey(env, dataDir)
	if err != nil {
		return cfg, 0, fmt.Errorf("serve: %w", err)
	}
	if cfg.Sealer, err = autodeploy.NewSealer(key); err != nil {
		return cfg, 0, fmt.Errorf("serve: %w", err)
	}
	host, _ := os.Hostname()
	cfg.Owner = host + ":" + strconv.Itoa(os.Getpid())
	return cfg, every, nil
}
