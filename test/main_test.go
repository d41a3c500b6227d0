package test

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain stops what the run's suites shared: the Loki, and the CLI
// binary built for them.
func TestMain(m *testing.M) {
	code := m.Run()
	if sharedLoki.stop != nil {
		sharedLoki.stop()
	}
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}
