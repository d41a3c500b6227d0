package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/observe/alerts"
)

// Alertmanager is a running Alertmanager with its config in a temp file.
type Alertmanager struct {
	// URL is its HTTP API, http://127.0.0.1:port.
	URL string
	// ConfigPath is the file it runs (--config.file); rewrite it and call
	// Client.Reload, or hand it to an alerts.Manager.
	ConfigPath string
	// SecretsDir is an empty folder (mode 0700) for *_file secrets.
	SecretsDir string
	// Client is an API client for URL.
	Client *alerts.Client
	proc   *process
}

// MinimalAlertmanagerConfig routes every alert to a receiver that sends
// nothing.
const MinimalAlertmanagerConfig = "route:\n  receiver: default\nreceivers:\n  - name: default\n"

// StartAlertmanager starts Alertmanager on a free loopback port with
// configYAML as its config file (MinimalAlertmanagerConfig when empty),
// storage in a temp folder and clustering off, and waits until it is
// ready.
func StartAlertmanager(t testing.TB, configYAML string) *Alertmanager {
	t.Helper()
	bin := Require(t, "alertmanager")
	if configYAML == "" {
		configYAML = MinimalAlertmanagerConfig
	}
	dir := t.TempDir()
	a := &Alertmanager{
		ConfigPath: filepath.Join(dir, "alertmanager.yml"),
		SecretsDir: filepath.Join(dir, "secrets"),
	}
	if err := os.Mkdir(a.SecretsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a.ConfigPath, []byte(configYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	port := FreePorts(t, 1)[0]
	a.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	c, err := alerts.NewClient(a.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Client = c
	a.proc = start(t, "alertmanager", bin,
		"--config.file="+a.ConfigPath,
		"--storage.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		"--web.external-url="+a.URL,
		"--cluster.listen-address=", // no gossip: a single instance notifies at once
		"--log.level=debug")
	waitFor(t, a.proc, 30*time.Second, func() error { return httpOK(a.URL+"/-/ready", "") })
	return a
}

// Output is what Alertmanager printed so far (its log: notifications sent
// and failed, reloads).
func (a *Alertmanager) Output() string { return a.proc.out.String() }

// Running reports whether the process is still up.
func (a *Alertmanager) Running() bool { return !a.proc.exited() }

// Stop stops Alertmanager (t.Cleanup does it too).
func (a *Alertmanager) Stop() { a.proc.Stop() }
