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
	poll string
}

func (f *gitFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.poll, "git-poll", envOr("BACKPLANE_GIT_POLL", "60s"),
		"how often auto-deploy branches are checked where webhooks cannot reach serve, jittered; 0 turns polling off (env BACKPLANE_GIT_POLL)")
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
