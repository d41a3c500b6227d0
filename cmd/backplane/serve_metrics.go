package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/pflag"

	"github.com/backplane-dev/backplane/observe/metrics"
	"github.com/backplane-dev/backplane/web"
)

// metricFlags are serve's Prometheus settings.
type metricFlags struct {
	url, rulesDir string
}

func (f *metricFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.url, "prometheus-url", os.Getenv("BACKPLANE_PROMETHEUS_URL"),
		"Prometheus's base URL: metric ranges beyond 15 minutes are read from it, and deploys reload its rules (env BACKPLANE_PROMETHEUS_URL)")
	fs.StringVar(&f.rulesDir, "prometheus-rules-dir", os.Getenv("BACKPLANE_PROMETHEUS_RULES_DIR"),
		"folder in Prometheus's rule_files where deploys write <project>.yml (env BACKPLANE_PROMETHEUS_RULES_DIR)")
}

// build makes the server's metrics settings: without a URL serve samples
// Nomad itself (the last 15 minutes) and loads no rules.
func (f *metricFlags) build(log *slog.Logger) (web.MetricsConfig, error) {
	var cfg web.MetricsConfig
	if f.url == "" {
		if f.rulesDir != "" {
			return cfg, fmt.Errorf("serve: --prometheus-rules-dir needs --prometheus-url, to reload Prometheus")
		}
		log.Info("metrics come from Nomad alone (the last 15 minutes): set BACKPLANE_PROMETHEUS_URL for longer ranges and metric rules")
		return cfg, nil
	}
	p, err := metrics.NewPrometheus(f.url, nil)
	if err != nil {
		return cfg, fmt.Errorf("serve: --prometheus-url: %w", err)
	}
	cfg.Prometheus = p
	if f.rulesDir == "" {
		log.Info("metric ranges come from Prometheus, whose rules Backplane leaves alone: set BACKPLANE_PROMETHEUS_RULES_DIR to load each project's rules on deploy", "prometheus", f.url)
		return cfg, nil
	}
	rm, err := metrics.NewRulesManager(f.rulesDir, f.url)
	if err != nil {
		return cfg, fmt.Errorf("serve: --prometheus-rules-dir: %w", err)
	}
	cfg.Rules = rm
	log.Info("metrics configured", "prometheus", f.url, "rules", f.rulesDir)
	return cfg, nil
}
