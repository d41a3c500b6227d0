package main

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/backplane-dev/backplane/store/artifacts"
	"github.com/backplane-dev/backplane/web"
)

// buildFlags are serve's settings for building elements once per commit.
type buildFlags struct {
	artifactsURL, timeout string
	keep                  int
}

func (f *buildFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.artifactsURL, "artifacts-url", envOr("BACKPLANE_ARTIFACTS_URL", ""),
		"where build artifacts and caches are kept: empty for the data folder, file:///DIR, s3://BUCKET/PREFIX?endpoint=...&region=... (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or off to build in each instance instead (env BACKPLANE_ARTIFACTS_URL)")
	keep, _ := strconv.Atoi(envOr("BACKPLANE_BUILD_KEEP", strconv.Itoa(web.DefaultBuildKeep)))
	fs.IntVar(&f.keep, "build-keep", keep,
		"artifacts kept per element besides those a job version refers to (env BACKPLANE_BUILD_KEEP)")
	fs.StringVar(&f.timeout, "build-timeout", envOr("BACKPLANE_BUILD_TIMEOUT", web.DefaultBuildTimeout.String()),
		"how long one build may take (env BACKPLANE_BUILD_TIMEOUT)")
}

func (f *buildFlags) build(log *slog.Logger, dataDir string, shared bool) (web.BuildsConfig, error) {
	var cfg web.BuildsConfig
	if f.artifactsURL == "off" {
		log.Info("builds are off (--artifacts-url off): elements built from source build in each instance")
		return cfg, nil
	}
	if shared && (f.artifactsURL == "" || strings.HasPrefix(f.artifactsURL, "file:")) {
		// An upload through one replica would be missing on the others.
		log.Info("builds are off: with a shared store set BACKPLANE_ARTIFACTS_URL to an S3 bucket all replicas reach")
		return cfg, nil
	}
	var err error
	if cfg.Timeout, err = time.ParseDuration(f.timeout); err != nil || cfg.Timeout < time.Minute {
		return cfg, fmt.Errorf("serve: --build-timeout: %q is not a duration of 1m or more (30m)", f.timeout)
	}
	if f.keep < 1 {
		return cfg, fmt.Errorf("serve: --build-keep: %d is not 1 or more", f.keep)
	}
	cfg.Keep = f.keep
	if cfg.Artifacts, err = artifacts.Open(f.artifactsURL, dataDir); err != nil {
		return cfg, fmt.Errorf("serve: --artifacts-url: %w", err)
	}
	return cfg, nil
}
