package templates

import (
	"strings"
	"testing"

	"github.com/hashicorp/go-envparse"

	"github.com/backplane-dev/backplane/schema"
)

// schema.EnvLineLength measures the line EnvLine renders to, so schema's
// caps on env values hold for what Nomad reads.
func TestEnvLineLengthMatchesEnvLine(t *testing.T) {
	values := append([]string{strings.Repeat("\x01\"\\\n", 100)}, hostile...)
	for _, v := range values {
		rendered := execTemplate(t, EnvLine("KEY", v), nil)
		if got, want := schema.EnvLineLength("KEY", v), len(rendered)-1; got != want {
			t.Errorf("EnvLineLength(KEY, %.40q) = %d; the rendered line is %d bytes", v, got, want)
		}
	}
}

// TestEnvCapsFitEnvparse: a line at schema.MaxEnvLine is the longest
// go-envparse reads, and a value at schema.MaxEnvValue whose line is under
// it round-trips; one byte more and go-envparse fails, as the task would.
func TestEnvCapsFitEnvparse(t *testing.T) {
	key := "K"
	pad := schema.MaxEnvLine - schema.EnvLineLength(key, "")
	atCap := strings.Repeat("\x01", pad/6) + strings.Repeat("a", pad%6)
	if n := schema.EnvLineLength(key, atCap); n != schema.MaxEnvLine {
		t.Fatalf("test value's line is %d bytes, want %d", n, schema.MaxEnvLine)
	}
	checkEnvLine(t, key, atCap)
	checkEnvLine(t, key, strings.Repeat("x", schema.MaxEnvValue))

	over := atCap + "a"
	rendered := execTemplate(t, EnvLine(key, over), nil)
	if _, err := envparse.Parse(strings.NewReader(rendered)); err == nil {
		t.Fatalf("go-envparse read a %d-byte line; schema.MaxEnvLine (%d) can be raised", len(rendered)-1, schema.MaxEnvLine)
	}
}
