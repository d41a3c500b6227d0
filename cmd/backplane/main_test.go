package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run runs the CLI in-process and returns its exit code and output.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errb)
	for _, s := range []string{out.String(), errb.String()} {
		if strings.Contains(s, "panic") || strings.Contains(s, "goroutine ") {
			t.Fatalf("output shows a panic:\n%s", s)
		}
	}
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateExample(t *testing.T) {
	code, out, _ := run(t, "", "validate", "-f", "../../examples/shop.yaml")
	if code != 0 || !strings.Contains(out, "ok: 6 elements, 5 connections, 8 jobs in 2 regions") {
		t.Fatalf("code %d, out %q", code, out)
	}
}

func TestValidatePrintsEveryProblemOnePerLine(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "backplane.yaml", `version: 1
project: shop
receivers:
  team: { slack: { channel: "#x", webhook_url_secret: SLACK } }
elements:
  - id: api
    kind: app.command
    command: run
    port: 70000
    scale: { count: 2, min: 2, max: 1 }
    alerts: { receivers: [nobody] }
  - id: db
    kind: db.postgres
    driver: raw_exec
connections:
  - { from: api, to: ghost }
`)
	code, out, errs := run(t, "", "validate", "-f", f)
	if code != 1 {
		t.Fatalf("exit code %d, want 1; stdout %q", code, out)
	}
	want := []string{
		f + ": elements[api].port: 70000 is out of range 1-65535",
		f + ": elements[api].scale.max: must be >= min (2)",
		f + ": elements[api].alerts.receivers[0]: receiver \"nobody\" is not declared in receivers",
		f + ": connections[0].to: no element has id \"ghost\"; api connects to it",
	}
	for _, w := range want {
		if !strings.Contains(errs, w+"\n") {
			t.Errorf("stderr lacks line %q:\n%s", w, errs)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(errs), "\n") {
		if !strings.HasPrefix(line, f+": ") {
			t.Errorf("line %q is not FILE: PATH: message", line)
		}
	}
}

func TestValidateKindProblems(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "backplane.yaml", "version: 1\nproject: shop\nelements:\n  - { id: db, kind: db.postgres, driver: raw_exec }\n")
	code, _, errs := run(t, "", "validate", "-f", f)
	if code != 1 || !strings.Contains(errs, f+": elements[db].driver: db.postgres runs a container image and needs the docker driver, not raw_exec") {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
}

func TestValidateDecodeErrorsAndStdin(t *testing.T) {
	code, _, errs := run(t, "version: 1\nproject: shop\nelements:\n  - { id: api, kind: worker, command: x, scael: {} }\n", "validate", "-f", "-")
	if code != 1 || !strings.Contains(errs, `<stdin>: elements[api].scael: unknown field "scael" (did you mean "scale"?)`) {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
	code, _, errs = run(t, "{ not yaml: [", "validate", "-f", "-")
	if code != 1 || !strings.HasPrefix(errs, "<stdin>: invalid YAML") {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
}

func TestValidateJSONInput(t *testing.T) {
	code, out, errs := run(t, `{"version":1,"project":"p","elements":[{"id":"w","kind":"worker","command":"sleep 1"}]}`, "validate", "-f", "-")
	if code != 0 {
		t.Fatalf("code %d, %s %s", code, out, errs)
	}
}

func TestMissingFileIsAUsageError(t *testing.T) {
	code, _, errs := run(t, "", "validate", "-f", "/nonexistent/backplane.yaml")
	if code != 2 || !strings.Contains(errs, "read /nonexistent/backplane.yaml") {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
	if code, _, _ := run(t, "", "render", "-f", "../../examples/shop.yaml"); code != 2 {
		t.Fatalf("render without --out: code %d, want 2", code)
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	read := func(dir string) map[string]string {
		files := map[string]string{}
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				data, _ := os.ReadFile(p)
				rel, _ := filepath.Rel(dir, p)
				files[rel] = string(data)
			}
			return err
		})
		return files
	}
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if code, _, errs := run(t, "", "render", "-f", "../../examples/shop.yaml", "--out", dir); code != 0 {
			t.Fatalf("render: %d %s", code, errs)
		}
	}
	fa, fb := read(a), read(b)
	for _, want := range []string{"eu/shop-api.nomad.json", "eu/shop-api.nomad.hcl", "us/shop-api.nomad.json", "vault/shop-api.policy.hcl", "alertmanager.yml", "prometheus-rules.yml"} {
		if fa[want] == "" {
			t.Errorf("render did not write %s", want)
		}
	}
	if len(fa) != len(fb) {
		t.Fatalf("%d files then %d", len(fa), len(fb))
	}
	for p := range fa {
		if fa[p] != fb[p] {
			t.Errorf("%s differs between two renders", p)
		}
	}
}

func TestRenderJSONBundle(t *testing.T) {
	code, out, errs := run(t, "", "render", "-f", "../../examples/shop.yaml", "--format", "json", "--loki-url", "http://127.0.0.1:3100")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errs)
	}
	var b struct {
		Project string
		Jobs    map[string][]struct{ ID string }
	}
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatalf("stdout is not JSON: %v", err)
	}
	if b.Project != "shop" || len(b.Jobs["eu"]) != 6 || len(b.Jobs["us"]) != 2 {
		t.Fatalf("bundle = %+v", b)
	}
	if strings.Contains(errs, "log shipping is off") {
		t.Error("with --loki-url there must be no log-shipping warning")
	}
}

func TestKindsAndUserKinds(t *testing.T) {
	code, out, _ := run(t, "", "kinds")
	if code != 0 || !strings.Contains(out, "db.postgres") || !strings.Contains(out, "DATABASE_URL") {
		t.Fatalf("kinds: %d %s", code, out)
	}
	dir := t.TempDir()
	writeFile(t, dir, "nats.yaml", "name: queue.nats\nlabel: NATS\ncategory: queue\nrun: image\nimage: nats:2.10\nport: 4222\nleaf: true\nfields: [resources]\nexports: [{ env: NATS_URL, url: \"nats://{host}:{port}\" }]\n")
	code, out, _ = run(t, "", "--kinds-dir", dir, "kinds")
	if code != 0 || !strings.Contains(out, "queue.nats") || !strings.Contains(out, "user") {
		t.Fatalf("kinds with user kinds: %d %s", code, out)
	}
	bad := t.TempDir()
	f := writeFile(t, bad, "pg.yaml", "name: db.postgres\nlabel: Mine\ncategory: database\nrun: image\nimage: postgres\n")
	code, _, errs := run(t, "", "--kinds-dir", bad, "kinds")
	if code != 1 || !strings.Contains(errs, f+": name: \"db.postgres\" is already a built-in kind") {
		t.Fatalf("built-in name clash: %d %q", code, errs)
	}
}

func TestHelpForEveryCommand(t *testing.T) {
	for _, cmd := range []string{"validate", "render", "kinds"} {
		code, out, _ := run(t, "", cmd, "--help")
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("%s --help: %d %q", cmd, code, out)
		}
	}
}
