package devenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestChildEnvAppendsSystemFolders(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"short path", []string{"HOME=/root", "PATH=/tmp/peers"}, "PATH=/tmp/peers:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		{"no path", []string{"HOME=/root"}, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		{"already there", []string{"PATH=/bin:/usr/bin"}, "PATH=/bin:/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := childEnv(tt.env)
			if got[len(got)-1] != tt.want {
				t.Errorf("PATH = %q, want %q", got[len(got)-1], tt.want)
			}
			var paths int
			for _, kv := range got {
				if strings.HasPrefix(kv, "PATH=") {
					paths++
				}
			}
			if paths != 1 {
				t.Errorf("%d PATH entries in %v", paths, got)
			}
		})
	}
}

// TestPrometheusConfigChecks runs promtool on the config dev writes, with
// and without Nomad and Alertmanager.
func TestPrometheusConfigChecks(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not on PATH: the config is not checked")
	}
	for _, tt := range []struct{ name, nomad, am string }{
		{"alone", "", ""},
		{"with nomad and alertmanager", "http://127.0.0.1:4646", "http://127.0.0.1:9093"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "prometheus.yml")
			if err := os.WriteFile(cfg, []byte(prometheusConfig(filepath.Join(dir, "rules"), tt.nomad, tt.am)), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(promtool, "check", "config", cfg).CombinedOutput(); err != nil {
				t.Errorf("promtool check config: %v\n%s", err, out)
			}
		})
	}
}
