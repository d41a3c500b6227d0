package translator

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/templates"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// A golden case is a folder under testdata holding:
//
//	backplane.yaml   the input schema
//	options.json     translator Options (optional)
//	kinds/           user kinds to load (optional)
//	out/             the expected files, as Bundle.Files writes them
//	warnings.txt     the expected warnings, one per line
//
// `go test ./translator -update` rewrites out/ and warnings.txt.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/*/backplane.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 12 {
		t.Fatalf("found %d golden cases, want at least 12", len(cases))
	}
	for _, input := range cases {
		dir := filepath.Dir(input)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			files, warnings := renderCase(t, dir)
			outDir := filepath.Join(dir, "out")
			if *update {
				if err := os.RemoveAll(outDir); err != nil {
					t.Fatal(err)
				}
				for _, f := range files {
					p := filepath.Join(outDir, f.Path)
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, f.Data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.WriteFile(filepath.Join(dir, "warnings.txt"), []byte(warnings), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := map[string]bool{}
			err := filepath.WalkDir(outDir, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(outDir, p)
				want[rel] = true
				return nil
			})
			if err != nil {
				t.Fatalf("read golden files (run go test ./translator -update): %v", err)
			}
			for _, f := range files {
				golden, err := os.ReadFile(filepath.Join(outDir, f.Path))
				if err != nil {
					t.Errorf("%s: not in golden files; run go test ./translator -update and review the diff", f.Path)
					continue
				}
				delete(want, f.Path)
				if !bytes.Equal(golden, f.Data) {
					t.Errorf("%s differs from the golden file:\n%s", f.Path, diffLines(string(golden), string(f.Data)))
				}
			}
			for p := range want {
				t.Errorf("%s: golden file no longer rendered", p)
			}
			golden, _ := os.ReadFile(filepath.Join(dir, "warnings.txt"))
			if string(golden) != warnings {
				t.Errorf("warnings differ:\n%s", diffLines(string(golden), warnings))
			}
		})
	}
}

// renderCase translates one case and returns its files and warnings text.
func renderCase(t testing.TB, dir string) ([]File, string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "backplane.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := schema.Decode("backplane.yaml", data)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	reg := testRegistry(t)
	if _, err := os.Stat(filepath.Join(dir, "kinds")); err == nil {
		if err := templates.LoadDir(reg, filepath.Join(dir, "kinds")); err != nil {
			t.Fatalf("load kinds: %v", err)
		}
	}
	var opts Options
	if raw, err := os.ReadFile(filepath.Join(dir, "options.json")); err == nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&opts); err != nil {
			t.Fatalf("options.json: %v", err)
		}
	}
	b, err := Translate(s, reg, opts)
	if err != nil {
		t.Fatalf("translate: %v", err)
	}
	files, err := b.Files()
	if err != nil {
		t.Fatalf("files: %v", err)
	}
	var w strings.Builder
	for _, x := range b.Warnings {
		w.WriteString(x.String())
		w.WriteByte('\n')
	}
	return files, w.String()
}

func testRegistry(t testing.TB) *templates.Registry {
	t.Helper()
	reg, err := templates.NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// diffLines shows the first differing lines of two texts.
func diffLines(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(wl), len(gl)) && shown < 12; i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&b, "  line %d\n    want: %s\n    got:  %s\n", i+1, w, g)
			shown++
		}
	}
	return b.String()
}

func goldenDirs(t testing.TB) []string {
	t.Helper()
	cases, err := filepath.Glob("testdata/*/backplane.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dirs := make([]string, len(cases))
	for i, c := range cases {
		dirs[i] = filepath.Dir(c)
	}
	return dirs
}

func mustRead(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func decodeJobJSON(t testing.TB, data []byte) *api.Job {
	t.Helper()
	var wrapper struct{ Job *api.Job }
	if err := json.Unmarshal(data, &wrapper); err != nil || wrapper.Job == nil {
		t.Fatalf("job JSON does not decode: %v", err)
	}
	return wrapper.Job
}
