package logship

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/observe/logship/logshiptest"
)

// nomadLog writes a task's stream the way Nomad's log rotator does: to
// <task>.<stream>.<N>, moving to N+1 when a file reaches maxSize (cutting
// wherever that falls, mid-line included) and removing the oldest files
// beyond maxFiles (0 keeps them all).
type nomadLog struct {
	t        testing.TB
	dir      string
	key      streamKey
	maxSize  int64
	maxFiles int
	index    int
	size     int64
}

func newNomadLog(t testing.TB, allocDir, task, stream string, maxSize int64, maxFiles int) *nomadLog {
	return &nomadLog{t: t, dir: filepath.Join(allocDir, "logs"), key: streamKey{task, stream}, maxSize: maxSize, maxFiles: maxFiles}
}

func (w *nomadLog) Write(p []byte) {
	w.t.Helper()
	for len(p) > 0 {
		if w.maxSize > 0 && w.size >= w.maxSize {
			w.index++
			w.size = 0
			if w.maxFiles > 0 {
				if old := w.index - w.maxFiles; old >= 0 {
					_ = os.Remove(logPath(w.dir, w.key, old))
				}
			}
		}
		n := int64(len(p))
		if w.maxSize > 0 && w.size+n > w.maxSize {
			n = w.maxSize - w.size
		}
		f, err := os.OpenFile(logPath(w.dir, w.key, w.index), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			w.t.Fatal(err)
		}
		if _, err := f.Write(p[:n]); err != nil {
			w.t.Fatal(err)
		}
		f.Close()
		w.size += n
		p = p[n:]
	}
}

// Lines writes lines prefix-from … prefix-(to-1), each with a newline.
func (w *nomadLog) Lines(prefix string, from, to int) {
	var b bytes.Buffer
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "%s-%06d\n", prefix, i)
	}
	w.Write(b.Bytes())
}

func wantLines(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s-%06d", prefix, i))
	}
	return out
}

func newAllocDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"logs", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// testConfig is a config tuned for fast tests.
func testConfig(loki *logshiptest.Server, allocDir string) Config {
	return Config{
		LokiURL:      loki.URL,
		AllocDir:     allocDir,
		Labels:       map[string]string{"project": "shop", "element": "api", "region": "eu", "alloc": "a1b2"},
		BatchWait:    20 * time.Millisecond,
		PollInterval: 10 * time.Millisecond,
		MinBackoff:   10 * time.Millisecond,
		MaxBackoff:   50 * time.Millisecond,
		PushTimeout:  2 * time.Second,
		FlushTimeout: 2 * time.Second,
	}
}

// syncBuffer is a log sink tests can read while the shipper writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// running is a shipper started by start.
type running struct {
	*Shipper
	cancel context.CancelFunc
	done   chan error
	log    *syncBuffer
}

// start runs a shipper with cfg until stop (or the end of the test).
func start(t testing.TB, cfg Config) *running {
	t.Helper()
	logs := &syncBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Shipper: s, cancel: cancel, done: make(chan error, 1), log: logs}
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("shipper did not stop")
		}
		if t.Failed() {
			t.Logf("shipper log:\n%s", logs.String())
		}
	})
	return r
}

// stop ends the shipper as SIGTERM does and waits for Run.
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		r.done <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("shipper did not stop within 10s")
	}
}

// checkExactlyOnce fails unless got is want, in order, each once.
func checkExactlyOnce(t testing.TB, got, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
	}
	var missing, dup []string
	for _, w := range want {
		switch seen[w] {
		case 0:
			missing = append(missing, w)
		case 1:
		default:
			dup = append(dup, w)
		}
	}
	if len(missing) > 0 || len(dup) > 0 || len(got) != len(want) {
		t.Fatalf("got %d lines, want %d; %d missing (first %v), %d repeated (first %v)",
			len(got), len(want), len(missing), first(missing), len(dup), first(dup))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("line %d is %q, want %q: order not kept", i, got[i], want[i])
		}
	}
}

func first(s []string) []string {
	if len(s) > 3 {
		return s[:3]
	}
	return s
}
