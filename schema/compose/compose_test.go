package compose

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/backplane-dev/backplane/schema"
)

var update = flag.Bool("update", false, "rewrite the golden want.yaml and warnings.txt files")

// caseOptions reads a testdata case's options from its `args` file: the
// arguments `backplane import compose` takes (FILE [-f MORE] [--profile P]
// [--project NAME]). Without one, the case is docker-compose.yml alone.
func caseOptions(dir string) (Options, error) {
	opts := Options{WorkDir: dir}
	data, err := os.ReadFile(filepath.Join(dir, "args"))
	if os.IsNotExist(err) {
		opts.Files = []string{"docker-compose.yml"}
		return opts, nil
	}
	if err != nil {
		return opts, err
	}
	words := strings.Fields(string(data))
	for i := 0; i < len(words); i++ {
		switch w := words[i]; {
		case (w == "-f" || w == "--profile" || w == "--project") && i+1 < len(words):
			i++
			switch w {
			case "-f":
				opts.Files = append(opts.Files, words[i])
			case "--profile":
				opts.Profiles = append(opts.Profiles, words[i])
			default:
				opts.Project = words[i]
			}
		default:
			opts.Files = append([]string{w}, opts.Files...)
		}
	}
	return opts, nil
}

// TestGolden imports each testdata case and compares the schema and the
// warnings with want.yaml and warnings.txt. `go test ./schema/compose
// -update` rewrites them.
func TestGolden(t *testing.T) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join("testdata", e.Name()))
		}
	}
	if len(dirs) < 10 {
		t.Fatalf("%d golden cases, want at least 10", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			opts, err := caseOptions(dir)
			if err != nil {
				t.Fatal(err)
			}
			s, warns, err := Import(context.Background(), opts)
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			got, err := s.EncodeYAML()
			if err != nil {
				t.Fatal(err)
			}
			var w bytes.Buffer
			for _, x := range warns {
				w.WriteString(x.String() + "\n")
			}
			golden(t, filepath.Join(dir, "want.yaml"), got)
			golden(t, filepath.Join(dir, "warnings.txt"), w.Bytes())

			// The output reads back and validates, and a second import
			// gives the same bytes.
			back, err := schema.Decode("want.yaml", got)
			if err != nil {
				t.Fatalf("decode the output: %v", err)
			}
			if errs := schema.Validate(back); len(errs) > 0 {
				t.Fatalf("the output does not validate:\n%v", errs)
			}
			again, warns2, err := Import(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			got2, _ := again.EncodeYAML()
			if !bytes.Equal(got, got2) || !cmp.Equal(warns, warns2) {
				t.Fatal("a second import differs from the first")
			}
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./schema/compose -update)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, d)
	}
}

// TestErrors checks that bad input is an error naming the file and, where
// it is about one, the service.
func TestErrors(t *testing.T) {
	cases := []struct {
		name    string
		files   map[string]string
		opts    Options
		want    []string
		wantNot []string
	}{
		{
			name:  "no file",
			opts:  Options{Files: []string{"missing.yml"}},
			want:  []string{"missing.yml"},
			files: map[string]string{},
		},
		{
			name:  "not yaml",
			files: map[string]string{"docker-compose.yml": "services: [\n"},
			want:  []string{"docker-compose.yml"},
		},
		{
			name:  "two services, one element ID",
			files: map[string]string{"docker-compose.yml": "services:\n  web_app: {image: nginx}\n  web-app: {image: nginx}\n"},
			want:  []string{"docker-compose.yml: services.web_app:", `"web-app"`},
		},
		{
			name:  "depends on a service that is not there",
			files: map[string]string{"docker-compose.yml": "services:\n  web:\n    image: nginx\n    depends_on: [db]\n"},
			want:  []string{"docker-compose.yml", "web", "db"},
		},
		{
			name:  "no services",
			files: map[string]string{"docker-compose.yml": "services:\n  debug: {image: busybox, profiles: [debug]}\n"},
			want:  []string{"docker-compose.yml: no services", "--profile"},
		},
		{
			name:  "job ID too long",
			files: map[string]string{"docker-compose.yml": "name: p\nservices:\n  " + strings.Repeat("a", 62) + ": {image: nginx}\n"},
			want:  []string{"docker-compose.yml: services." + strings.Repeat("a", 62) + ":", "--project"},
		},
		{
			name:  "a bad port names the service",
			files: map[string]string{"docker-compose.yml": "services:\n  web: {image: nginx}\n  api:\n    image: acme/api\n    ports: [\"70000:80\"]\n"},
			want:  []string{"docker-compose.yml: services.api:", "70000"},
		},
		{
			name:  "a missing extends file names the service",
			files: map[string]string{"docker-compose.yml": "services:\n  web:\n    extends: {file: base.yml, service: app}\n"},
			want:  []string{"docker-compose.yml: services.web:", "base.yml"},
		},
		{
			name:    "a secret in a bad file stays out of the error",
			files:   map[string]string{"docker-compose.yml": "services:\n  web:\n    image: nginx\n    environment:\n      API_TOKEN: s3cr3t-value\n    ports: [\"x:y\"]\n"},
			want:    []string{"docker-compose.yml"},
			wantNot: []string{"s3cr3t-value"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			opts := tc.opts
			opts.WorkDir = dir
			if opts.Files == nil {
				opts.Files = []string{"docker-compose.yml"}
			}
			_, _, err := Import(context.Background(), opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q contains %q", err, w)
				}
			}
		})
	}
}

// TestSecretValuesStayOut checks that no warning carries a secret's value.
func TestSecretValuesStayOut(t *testing.T) {
	dir := t.TempDir()
	body := "services:\n  api:\n    image: acme/api\n    ports: [\"8080:8080\"]\n    environment:\n      STRIPE_API_KEY: sk_live_abc123\n      SENTRY_DSN: https://k3y@sentry.io/1\n      UPSTREAM: https://user:pa55w0rd@partner.example.com/v1\n" +
		"      CALLBACK: http://hooks:9000/in?token=qu3ryt0k\n" +
		"  hooks: {image: acme/hooks, expose: ['9000']}\n" +
		"  cache: {image: redis, command: redis-server --requirepass s3cretcmd}\n" +
		"  built: {build: 'https://x:ghp_tok3n@github.com/acme/x.git#main', command: node server.js}\n"
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	s, warns, err := Import(context.Background(), Options{WorkDir: dir, Files: []string{"docker-compose.yml"}})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := s.EncodeYAML()
	for _, secret := range []string{"sk_live_abc123", "k3y", "pa55w0rd", "qu3ryt0k", "s3cretcmd", "ghp_tok3n"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("the schema holds the secret %q:\n%s", secret, out)
		}
		for _, w := range warns {
			if strings.Contains(w.String(), secret) {
				t.Errorf("warning %q holds the secret %q", w, secret)
			}
		}
	}
	if got, want := s.Element("api").Secrets, []string{"SENTRY_DSN", "STRIPE_API_KEY", "UPSTREAM"}; !cmp.Equal(got, want) {
		t.Errorf("secrets = %v, want %v", got, want)
	}
}

func TestTagVersion(t *testing.T) {
	for tag, want := range map[string]string{
		"16-alpine": "16", "7.2.4-bookworm": "7.2.4", "latest": "", "": "", "alpine": "", "v1.27": "1.27", "8.0": "8.0",
	} {
		if got := tagVersion(tag); got != want {
			t.Errorf("tagVersion(%q) = %q, want %q", tag, got, want)
		}
	}
}

func TestGitContext(t *testing.T) {
	cases := []struct{ in, repo, ref, dir string }{
		{"https://github.com/acme/shop.git#main:services/api", "https://github.com/acme/shop.git", "main", "services/api"},
		{"https://github.com/acme/shop.git", "https://github.com/acme/shop.git", "", ""},
		{"git@github.com:acme/shop.git#v1.2", "git@github.com:acme/shop.git", "v1.2", ""},
		{"github.com/acme/shop#dev:web/", "https://github.com/acme/shop", "dev", "web"},
		{"./api", "", "", ""},
		{"https://example.com/app.tar.gz", "", "", ""},
		{"https://github.com/acme/shop.git#main:../etc", "", "", ""},
	}
	for _, tc := range cases {
		repo, ref, dir, ok := gitContext(tc.in)
		if ok != (tc.repo != "") || repo != tc.repo || ref != tc.ref || dir != tc.dir {
			t.Errorf("gitContext(%q) = %q %q %q %v, want %q %q %q", tc.in, repo, ref, dir, ok, tc.repo, tc.ref, tc.dir)
		}
	}
}

// TestConnectionEnvNames checks which env var each connection injects: the
// var the service read keeps its name, and a default another connection or
// env var already holds becomes the target's own name.
func TestConnectionEnvNames(t *testing.T) {
	dir := t.TempDir()
	body := `services:
  api:
    image: acme/api
    ports: ["8080:8080"]
    environment:
      DATABASE_URL: postgres://u:p@reports-db:5432/reports
      REDIS_URL: redis://redis.external.example:6379
      SEARCH_HOST: search
    depends_on: [app-db, cache, search]
  app-db: {image: postgres:16}
  reports-db: {image: postgres:16}
  cache: {image: redis:7}
  search: {image: acme/search, expose: ["9200"]}
`
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	s, warns, err := Import(context.Background(), Options{WorkDir: dir, Files: []string{"docker-compose.yml"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []schema.Connection{
		{From: "api", To: "app-db", Env: "APP_DB_DATABASE_URL"},
		{From: "api", To: "cache", Env: "CACHE_REDIS_URL"},
		{From: "api", To: "reports-db"},
		{From: "api", To: "search"},
	}
	if d := cmp.Diff(want, s.Connections); d != "" {
		t.Errorf("connections (-want +got):\n%s", d)
	}
	if got := s.Element("api").Env; !cmp.Equal(got, map[string]string{"REDIS_URL": "redis://redis.external.example:6379"}) {
		t.Errorf("env = %v", got)
	}
	var saw []string
	for _, w := range warns {
		if strings.HasPrefix(w.Path, "services.api.") {
			saw = append(saw, w.Path)
		}
	}
	wantPaths := []string{"services.api.depends_on.app-db", "services.api.depends_on.cache", "services.api.environment.SEARCH_HOST", "services.api.ports[0]"}
	if !cmp.Equal(saw, wantPaths) {
		t.Errorf("warnings on api: %v, want %v", saw, wantPaths)
	}
}

// TestEnvironOverridesDotEnv checks that the environment given takes
// precedence over .env in interpolation, as the shell's does for compose.
func TestEnvironOverridesDotEnv(t *testing.T) {
	opts, err := caseOptions("testdata/env-interpolation")
	if err != nil {
		t.Fatal(err)
	}
	opts.Environ = []string{"INVENTORY_APP_TAG=6.0.0-rc1", "INVENTORY_BUILD_SHA=4f2a9c1"}
	s, warns, err := Import(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	app := s.Element("app")
	if app.Image != "registry.acme.io/team/inventory:6.0.0-rc1" || app.Env["BUILD_SHA"] != "4f2a9c1" {
		t.Errorf("image %q, BUILD_SHA %q: the environment did not override .env", app.Image, app.Env["BUILD_SHA"])
	}
	for _, w := range warns {
		if strings.Contains(w.Path, "INVENTORY_BUILD_SHA") {
			t.Errorf("warning about a variable that is set: %v", w)
		}
	}
}
