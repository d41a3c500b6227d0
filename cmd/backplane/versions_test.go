package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRenderShowsResolvedVersions: `redis 7` and `rabbitmq 3` validate and
// render with the newest listed minor, recorded in the task's meta, and a
// version no kind lists renders as written with a warning naming the image.
// Before, all three were refused with "is not one of".
func TestRenderShowsResolvedVersions(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "backplane.yaml", `version: 1
project: shop
elements:
  - { id: cache, kind: cache.redis, version: 7 }
  - { id: mq, kind: mq.rabbitmq, version: "3" }
  - { id: pg, kind: db.postgres, version: "18" }
`)
	warning := f + `: elements[pg].version: warning: PostgreSQL version "18" is not one Backplane lists (17, 16, 15); it runs the image postgres:18 as written`
	code, _, errs := run(t, "", "validate", "-f", f)
	if code != 0 || !strings.Contains(errs, warning+"\n") {
		t.Fatalf("validate: code %d, stderr lacks %q:\n%s", code, warning, errs)
	}
	out := filepath.Join(dir, "out")
	code, _, errs = run(t, "", "render", "-f", f, "--out", out)
	if code != 0 || !strings.Contains(errs, warning+"\n") {
		t.Fatalf("render: code %d, stderr lacks %q:\n%s", code, warning, errs)
	}
	for job, want := range map[string][]string{
		"shop-cache": {`"redis:7.4-alpine"`, `"backplane.version" = "7.4"`},
		"shop-mq":    {`"rabbitmq:3.13-management-alpine"`, `"backplane.version" = "3.13"`},
		"shop-pg":    {`"postgres:18"`, `"backplane.version" = "18"`},
	} {
		data, err := os.ReadFile(filepath.Join(out, "global", job+".nomad.hcl"))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(string(data), w) {
				t.Errorf("%s.nomad.hcl lacks %s:\n%s", job, w, data)
			}
		}
	}
}
