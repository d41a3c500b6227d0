package test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// backplane builds the CLI once per test run and returns its path.
func backplane(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "backplane-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "backplane")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/backplane").CombinedOutput()
		if err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("build backplane: %v", buildErr)
	}
	return binPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// runCLI runs the CLI with env added to the test's environment and stdin,
// and returns its exit code and combined output.
func runCLI(t testing.TB, env []string, stdin string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(backplane(t), args...)
	// A developer's own `backplane login` must not reroute the suites
	// through their server: no stored credentials, no server, unless the
	// suite sets them.
	cmd.Env = append(append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "BACKPLANE_SERVER=", "BACKPLANE_TOKEN="), env...)
	cmd.Stdin = bytes.NewBufferString(stdin)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run backplane: %v", err)
	}
	return code, string(out)
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
