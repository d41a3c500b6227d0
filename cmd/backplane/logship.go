package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/backplane-dev/backplane/observe/logship"
)

func (a *app) logshipCmd() *cobra.Command {
	var cfg logship.Config
	var labels []string
	var verbose bool
	selfDefault := os.Getenv("NOMAD_TASK_NAME")
	if selfDefault == "" {
		selfDefault = logship.DefaultSelf
	}
	cmd := &cobra.Command{
		Use:   "logship",
		Short: "Ship the other tasks' logs of this Nomad allocation to Loki (the sidecar)",
		Long: `Logship is the sidecar task that the translator adds to each long-running
group when a Loki URL is set. It tails ALLOC_DIR/logs/<task>.stdout.N and
<task>.stderr.N of every other task of the group, follows Nomad's rotation,
and pushes each line to Loki with the --label labels plus task and stream.

Offsets are kept in ALLOC_DIR/data/logship.state and move only after Loki
acknowledged a batch, so a restarted sidecar resumes with no loss and no
repeats. When Loki is down it retries with backoff, holds at most --buffer
bytes and then stops reading (the files are the rest of the buffer); data
Nomad removes before it was read, or that Loki refuses for good, is counted
and reported on stderr. Lines longer than --max-line are split into pieces
that end in "` + logship.LineSplitMarker + `"; invalid UTF-8 is replaced by U+FFFD.
SIGTERM or SIGINT reads what is left and sends it within --flush-timeout.

It is meant to run inside Nomad:
  backplane logship --loki-url http://loki:3100 --alloc-dir "${NOMAD_ALLOC_DIR}" \
    --label project=shop --label element=api --label region=eu --label "alloc=${NOMAD_ALLOC_ID}"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ls, err := logship.ParseLabels(labels)
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("logship: %w", err)}
			}
			cfg.Labels = ls
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			cfg.Logger = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
			s, err := logship.New(cfg)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			// Other packages of this binary allocate at init what the
			// sidecar never uses (tens of MiB); give it back to the OS now,
			// since the sidecar runs under a small memory limit.
			debug.FreeOSMemory()
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			if err := s.Run(ctx); err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.LokiURL, "loki-url", os.Getenv("BACKPLANE_LOKI_URL"), "Loki's base URL; lines go to <url>/loki/api/v1/push (env BACKPLANE_LOKI_URL)")
	f.StringVar(&cfg.AllocDir, "alloc-dir", os.Getenv("NOMAD_ALLOC_DIR"), "the allocation directory; logs are read from <dir>/logs (env NOMAD_ALLOC_DIR)")
	f.StringArrayVar(&labels, "label", nil, "name=value added to every line; repeat it (task and stream are added for each file)")
	f.StringVar(&cfg.Tenant, "tenant", os.Getenv("BACKPLANE_LOKI_TENANT"), "Loki tenant, sent as X-Scope-OrgID (env BACKPLANE_LOKI_TENANT)")
	f.StringVar(&cfg.Self, "task", selfDefault, "this sidecar's own task name, whose logs are not shipped (env NOMAD_TASK_NAME)")
	f.StringVar(&cfg.StateFile, "state-file", "", "where offsets are kept (default <alloc-dir>/data/"+logship.DefaultStateFileName+")")
	f.IntVar(&cfg.BatchBytes, "batch-bytes", logship.DefaultBatchBytes, "send a batch when it holds this many bytes")
	f.DurationVar(&cfg.BatchWait, "batch-wait", logship.DefaultBatchWait, "... or when its first line is this old")
	f.IntVar(&cfg.BufferBytes, "buffer", logship.DefaultBufferBytes, "bytes held in memory while Loki does not take them; then reading pauses")
	f.IntVar(&cfg.MaxLineBytes, "max-line", logship.DefaultMaxLineBytes, "longest line sent as one entry, in bytes (Loki's default max_line_size is 256KB)")
	f.DurationVar(&cfg.FlushTimeout, "flush-timeout", logship.DefaultFlushTimeout, "how long the last flush may take after SIGTERM (keep it under the task's kill_timeout)")
	f.DurationVar(&cfg.PollInterval, "poll", logship.DefaultPollInterval, "how often idle files are checked")
	f.StringVar(&cfg.Encoding, "encoding", logship.EncodingProtobuf, "push body: protobuf (snappy) or json")
	f.BoolVar(&verbose, "debug", false, "log more about what the sidecar does")
	return cmd
}
