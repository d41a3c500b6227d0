package web

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// applyDiff rebuilds the new text from the old one and a unified diff,
// which proves the diff is right whatever its hunks look like.
func applyDiff(t *testing.T, a, diff string) string {
	t.Helper()
	old := splitLines(a)
	var out []string
	pos := 0
	lines := strings.SplitAfter(diff, "\n")
	for i := 2; i < len(lines); i++ {
		l := lines[i]
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "@@") {
			var xs, xn, ys, yn int
			if _, err := fmt.Sscanf(l, "@@ -%d,%d +%d,%d @@", &xs, &xn, &ys, &yn); err != nil {
				t.Fatalf("bad hunk header %q", l)
			}
			for pos < xs-1 {
				out = append(out, old[pos])
				pos++
			}
			continue
		}
		if strings.HasPrefix(l, `\ No newline`) {
			last := out[len(out)-1]
			out[len(out)-1] = strings.TrimSuffix(last, "\n")
			continue
		}
		switch l[0] {
		case ' ':
			out = append(out, old[pos])
			pos++
		case '-':
			pos++
		case '+':
			out = append(out, l[1:])
		}
	}
	out = append(out, old[pos:]...)
	return strings.Join(out, "")
}

func TestUnifiedDiffRebuildsTheNewText(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	words := []string{"a", "b", "c", "d", "version: 1", "  - id: api"}
	gen := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(words[rng.Intn(len(words))] + "\n")
		}
		return b.String()
	}
	for i := 0; i < 300; i++ {
		a, b := gen(rng.Intn(40)), gen(rng.Intn(40))
		if rng.Intn(3) == 0 {
			b = a + "tail"
		}
		d := unifiedDiff("a", "b", a, b)
		if a == b {
			if d != "" {
				t.Fatalf("equal texts gave a diff")
			}
			continue
		}
		if got := applyDiff(t, a, d); got != b {
			t.Fatalf("case %d: diff does not rebuild the text\na=%q\nb=%q\ndiff:\n%s\ngot=%q", i, a, b, d, got)
		}
	}
}

func TestUnifiedDiffShowsTheChange(t *testing.T) {
	a := "version: 1\nproject: shop\nelements:\n  - id: api\n    port: 3000\n"
	b := "version: 1\nproject: shop\nelements:\n  - id: api\n    port: 8080\n"
	d := unifiedDiff("revision 1", "revision 2", a, b)
	for _, want := range []string{"--- revision 1\n", "+++ revision 2\n", "-    port: 3000\n", "+    port: 8080\n"} {
		if !strings.Contains(d, want) {
			t.Errorf("diff lacks %q:\n%s", want, d)
		}
	}
}

func TestUnifiedDiffBounded(t *testing.T) {
	var a, b strings.Builder
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&a, "a%d\n", i)
		fmt.Fprintf(&b, "b%d\n", i)
	}
	d := unifiedDiff("x", "y", a.String(), b.String())
	if !strings.Contains(d, "more than 2000 lines differ") {
		t.Fatalf("a huge diff was not bounded: %.200s", d)
	}
}
