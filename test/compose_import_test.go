package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/schema/compose"
	"github.com/backplane-dev/backplane/templates"
	"github.com/backplane-dev/backplane/translator"
)

// composeCases lists the compose import's golden cases.
func composeCases(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("../schema/compose/testdata")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join("../schema/compose/testdata", e.Name()))
		}
	}
	if len(dirs) < 10 {
		t.Fatalf("found only %d compose cases", len(dirs))
	}
	return dirs
}

// composeArgs is `import compose`'s arguments for a case: its `args` file
// (FILE [-f MORE] [--profile P]), with the files made absolute.
func composeArgs(t *testing.T, dir string) []string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	words := []string{"docker-compose.yml"}
	if data, err := os.ReadFile(filepath.Join(dir, "args")); err == nil {
		words = strings.Fields(string(data))
	}
	args := []string{"import", "compose"}
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "-f" && i+1 < len(words):
			i++
			args = append(args, "-f", filepath.Join(abs, words[i]))
		case strings.HasPrefix(w, "-") && i+1 < len(words):
			i++
			args = append(args, w, words[i])
		default:
			args = append(args, filepath.Join(abs, w))
		}
	}
	return args
}

// TestComposeImportCLI runs `backplane import compose` on every golden case
// and checks that what it writes is the golden schema, fits the element
// kinds, and validates and renders through the CLI.
func TestComposeImportCLI(t *testing.T) {
	reg, err := templates.NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range composeCases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "backplane.yaml")
			code, output := runCLI(t, nil, "", append(composeArgs(t, dir), "--out", out)...)
			if code != 0 {
				t.Fatalf("import compose exited %d:\n%s", code, output)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(dir, "want.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("the CLI's schema differs from %s/want.yaml:\n%s", dir, got)
			}
			s, err := schema.Decode(out, got)
			if err != nil {
				t.Fatal(err)
			}
			if errs := reg.Validate(s); len(errs) > 0 {
				t.Fatalf("the schema does not fit the kinds:\n%v", errs)
			}
			if _, err := translator.Translate(s, reg, translator.Options{}); err != nil {
				t.Fatalf("translate: %v", err)
			}
			if code, output := runCLI(t, nil, "", "validate", "-f", out); code != 0 {
				t.Fatalf("validate exited %d:\n%s", code, output)
			}
			if code, output := runCLI(t, nil, "", "render", "-f", out, "--out", filepath.Join(t.TempDir(), "out")); code != 0 {
				t.Fatalf("render exited %d:\n%s", code, output)
			}
			// The CLI printed the golden warnings, naming the files as given.
			abs, err := filepath.Abs(dir)
			if err != nil {
				t.Fatal(err)
			}
			wantWarns, err := os.ReadFile(filepath.Join(dir, "warnings.txt"))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.ReplaceAll(output, abs+string(filepath.Separator), ""); got != string(wantWarns) {
				t.Errorf("the CLI's warnings differ from %s/warnings.txt:\n%s", dir, got)
			}
		})
	}
}

// TestComposeImportCLIErrors checks the CLI's exit codes and messages for
// a missing file and a compose file that does not load.
func TestComposeImportCLIErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "docker-compose.yml")
	if err := os.WriteFile(bad, []byte("services:\n  web:\n    image: nginx\n    depends_on: [db]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing file", []string{"import", "compose", filepath.Join(dir, "nope.yml")}, 1, "nope.yml"},
		{"undefined dependency", []string{"import", "compose", bad}, 1, "docker-compose.yml"},
		{"no file", []string{"import", "compose"}, 2, "accepts 1 arg"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runCLI(t, nil, "", tc.args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, output %q; want exit %d and %q", code, out, tc.code, tc.want)
			}
		})
	}
}

// TestComposeKindsMatchRegistry checks what the compose import knows of
// the built-in kinds against the registry: that each kind exists, takes
// the fields the import sets, injects the env var the import expects a
// connection to give, and makes outgoing connections unless a datastore.
func TestComposeKindsMatchRegistry(t *testing.T) {
	reg, err := templates.NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	kinds := compose.Kinds()
	if len(kinds) < 10 {
		t.Fatalf("compose knows %d kinds: %v", len(kinds), kinds)
	}
	for _, name := range kinds {
		k, ok := reg.Get(name)
		if !ok {
			t.Errorf("compose maps to kind %s, which is not registered", name)
			continue
		}
		info := k.Info()
		for _, f := range compose.KindFields(name) {
			found := false
			for _, kf := range info.Fields {
				found = found || kf.Name == f
			}
			if !found {
				t.Errorf("compose sets %s on a %s element, which the kind does not take", f, name)
			}
		}
		if len(info.Exports) == 0 {
			// A kind without a service (worker) is no connection's target.
			if info.Service {
				t.Errorf("kind %s has a service but exports nothing", name)
			}
			continue
		}
		if got, want := compose.DefaultEnv(name, "my-svc"), templates.EnvName(info.Exports[0].Env, "my-svc"); got != want {
			t.Errorf("compose expects a connection to %s to inject %s; the kind injects %s", name, got, want)
		}
		if compose.Leaf(name) == info.Connects {
			t.Errorf("compose says %s makes outgoing connections: %v; the kind: %v", name, !compose.Leaf(name), info.Connects)
		}
	}
}
