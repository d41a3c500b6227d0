package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/observe/logship/logshiptest"
	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/templates"
	"github.com/backplane-dev/backplane/translator"
)

func TestLogshipHelpExplainsIt(t *testing.T) {
	code, out, _ := run(t, "", "logship", "--help")
	for _, want := range []string{"--loki-url", "--alloc-dir", "--label", "--tenant", "--flush-timeout", "no loss and no", "rotation"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("code %d; help lacks %q:\n%s", code, want, out)
		}
	}
}

func TestLogshipRefusesBadFlags(t *testing.T) {
	t.Setenv("BACKPLANE_LOKI_URL", "")
	t.Setenv("NOMAD_ALLOC_DIR", "")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no url", []string{"--alloc-dir", "/tmp"}, "loki url: required"},
		{"no alloc dir", []string{"--loki-url", "http://127.0.0.1:1"}, "alloc dir: required"},
		{"bad label", []string{"--loki-url", "http://127.0.0.1:1", "--alloc-dir", "/tmp", "--label", "project"}, `label "project": want name=value`},
		{"reserved label", []string{"--loki-url", "http://127.0.0.1:1", "--alloc-dir", "/tmp", "--label", "task=x"}, "set by the shipper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := run(t, "", append([]string{"logship"}, tc.args...)...)
			if code != exitUsage || !strings.Contains(errs, tc.want) {
				t.Fatalf("code %d, stderr %q, want %q", code, errs, tc.want)
			}
		})
	}
}

// The sidecar takes exactly the arguments the translator gives it, ships,
// and flushes on SIGTERM as Nomad sends it.
func TestLogshipRunsWithTheTranslatorsArgs(t *testing.T) {
	loki := logshiptest.New(t)
	allocDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(allocDir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	var lines bytes.Buffer
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&lines, "hello %d\n", i)
	}
	writeFile(t, filepath.Join(allocDir, "logs"), "web.stdout.0", lines.String())

	args := translatorArgs(t, loki.URL)
	env := map[string]string{"${NOMAD_ALLOC_DIR}": allocDir, "${NOMAD_ALLOC_ID}": "0f1e2d3c"}
	for i, a := range args {
		for k, v := range env {
			a = strings.ReplaceAll(a, k, v)
		}
		args[i] = a
	}
	stderr := &lockedWriter{}
	done := make(chan int, 1)
	go func() { done <- Main(args, strings.NewReader(""), &bytes.Buffer{}, stderr) }()
	loki.WaitCount(t, 100, 10*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(stderr.String(), "shipping logs") { // SIGTERM is handled from here on
		if time.Now().After(deadline) {
			t.Fatalf("no start message:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Half a line when the app is stopped is flushed too.
	writeFile(t, filepath.Join(allocDir, "logs"), "web.stdout.1", "goodbye")
	time.Sleep(300 * time.Millisecond)
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("did not stop on SIGTERM:\n%s", stderr.String())
	}
	es := loki.Entries()
	if len(es) != 101 || es[100].Line != "goodbye" {
		t.Fatalf("%s", logshiptest.Describe(es))
	}
	want := map[string]string{"project": "logs", "element": "web", "region": "global", "alloc": "0f1e2d3c", "task": "web", "stream": "stdout"}
	for k, v := range want {
		if es[0].Labels[k] != v {
			t.Fatalf("labels %v, want %v", es[0].Labels, want)
		}
	}
	if _, err := os.Stat(filepath.Join(allocDir, "data", "logship.state")); err != nil {
		t.Fatalf("no state file: %v", err)
	}
}

// translatorArgs renders a one-element project with log shipping on and
// returns the logship task's args.
func translatorArgs(t *testing.T, lokiURL string) []string {
	t.Helper()
	s, err := schema.Decode("backplane.yaml", []byte(`version: 1
project: logs
elements:
  - id: web
    kind: app.command
    driver: raw_exec
    command: ./web
`))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := templates.NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	b, err := translator.Translate(s, reg, translator.Options{LokiURL: lokiURL, Logship: translator.LogshipOptions{Command: "/usr/local/bin/backplane"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, jobs := range b.Jobs {
		for _, j := range jobs {
			for _, g := range j.TaskGroups {
				for _, task := range g.Tasks {
					if task.Name != "logship" {
						continue
					}
					var args []string
					for _, a := range task.Config["args"].([]any) {
						args = append(args, a.(string))
					}
					return args
				}
			}
		}
	}
	t.Fatal("no logship task rendered")
	return nil
}

type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
