package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/backplane-dev/backplane/observe/alerts"
	"github.com/backplane-dev/backplane/web"
)

// alertFlags are serve's Alertmanager settings.
type alertFlags struct {
	url, config, secrets                  string
	groupWait, groupInterval, repeatEvery string
}

func (f *alertFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.url, "alertmanager-url", os.Getenv("BACKPLANE_ALERTMANAGER_URL"),
		"Alertmanager's base URL: alerts are raised there, and read and silenced through it (env BACKPLANE_ALERTMANAGER_URL)")
	fs.StringVar(&f.config, "alertmanager-config", os.Getenv("BACKPLANE_ALERTMANAGER_CONFIG"),
		"the config file that Alertmanager loads; deploys merge each project's routes and receivers into it and reload (env BACKPLANE_ALERTMANAGER_CONFIG)")
	fs.StringVar(&f.secrets, "alertmanager-secrets", os.Getenv("BACKPLANE_ALERTMANAGER_SECRETS"),
		"folder where receivers' secrets are written as files for Alertmanager (env BACKPLANE_ALERTMANAGER_SECRETS; default backplane-secrets beside the config file)")
	fs.StringVar(&f.groupWait, "alert-group-wait", envOr("BACKPLANE_ALERT_GROUP_WAIT", "30s"),
		"how long a project's route waits to batch a new group of alerts (env BACKPLANE_ALERT_GROUP_WAIT)")
	fs.StringVar(&f.groupInterval, "alert-group-interval", envOr("BACKPLANE_ALERT_GROUP_INTERVAL", "5m"),
		"how long before a changed group (a new or resolved alert) is notified again (env BACKPLANE_ALERT_GROUP_INTERVAL)")
	fs.StringVar(&f.repeatEvery, "alert-repeat-interval", envOr("BACKPLANE_ALERT_REPEAT_INTERVAL", "4h"),
		"how long before a still-firing alert is notified again (env BACKPLANE_ALERT_REPEAT_INTERVAL)")
}

// config builds the server's alerting settings; alerting is off without
// a URL, and Backplane leaves the config file alone without a config path.
func (f *alertFlags) build(log *slog.Logger) (web.AlertsConfig, error) {
	var cfg web.AlertsConfig
	for _, d := range []struct{ name, v string }{{"--alert-group-wait", f.groupWait}, {"--alert-group-interval", f.groupInterval}, {"--alert-repeat-interval", f.repeatEvery}} {
		if v, err := time.ParseDuration(d.v); err != nil || v <= 0 {
			return cfg, fmt.Errorf("serve: %s: %q is not a positive duration", d.name, d.v)
		}
	}
	cfg.Options.GroupWait, cfg.Options.GroupInterval, cfg.Options.RepeatInterval = f.groupWait, f.groupInterval, f.repeatEvery
	if f.url == "" {
		if f.config != "" {
			return cfg, fmt.Errorf("serve: --alertmanager-config needs --alertmanager-url, to reload Alertmanager")
		}
		log.Info("alerts are off: set BACKPLANE_ALERTMANAGER_URL (and BACKPLANE_ALERTMANAGER_CONFIG) to raise and route them")
		return cfg, nil
	}
	c, err := alerts.NewClient(f.url, nil)
	if err != nil {
		return cfg, fmt.Errorf("serve: --alertmanager-url: %w", err)
	}
	cfg.Client = c
	if f.config == "" {
		log.Info("alerts are raised in Alertmanager, whose config Backplane leaves alone: set BACKPLANE_ALERTMANAGER_CONFIG to load each project's routes on deploy", "alertmanager", f.url)
		return cfg, nil
	}
	path, err := filepath.Abs(f.config)
	if err != nil {
		return cfg, fmt.Errorf("serve: --alertmanager-config: %w", err)
	}
	secrets := f.secrets
	if secrets == "" {
		secrets = filepath.Join(filepath.Dir(path), "backplane-secrets")
	}
	if secrets, err = filepath.Abs(secrets); err != nil {
		return cfg, fmt.Errorf("serve: --alertmanager-secrets: %w", err)
	}
	cfg.Options.SecretsDir = secrets
	cfg.Config = alerts.NewManager(path, secrets, c)
	log.Info("alerts configured", "alertmanager", f.url, "config", path, "secrets", secrets)
	return cfg, nil
}
