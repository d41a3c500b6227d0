package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/test/agent"
)

// A small Node.js app with real dependencies from npm: express, and a
// start that answers with the commit it runs.
const (
	benchPackageJSON = `{"name": "bench-api", "version": "1.0.0", "private": true,
 "dependencies": {"express": "4.21.2", "lodash": "4.17.21", "dayjs": "1.11.13"}}
`
	benchServer = `const express = require("express");
const app = express();
app.get("/", (req, res) => res.send(process.env.BACKPLANE_GIT_SHA || "unknown"));
app.listen(Number(process.env.PORT), "127.0.0.1");
// change 0
`
	// The build keeps npm's cache where the build job saves it between
	// builds (BACKPLANE_CACHE_DIR); built in each instance instead, each
	// instance starts with an empty cache, as on a node of its own.
	nodeBenchSchema = `version: 1
project: %s
defaults: { driver: raw_exec }
elements:
  - id: api
    kind: app.nodejs
    source: { repo: %q, branch: main, ref: %q,
              build: "npm ci --no-audit --no-fund --cache \"${BACKPLANE_CACHE_DIR:-$NOMAD_TASK_DIR/npm-cache}\"",
              start: "exec node server.js" }
    port: 3000
    scale: { count: 3 }
    health: { http: /, interval: 1s, timeout: 2s, min_healthy_time: 1s }
    resources: { cpu: 100, memory: 256 }
`
)

// BenchmarkBuildOnce compares, side by side on one real Nomad, a push of a
// small Node.js app (express and two other packages from npm) to all three
// instances answering with the new commit: built in every instance (serve
// with BACKPLANE_ARTIFACTS_URL=off) against built once (the default). Each
// iteration pushes a one-line change to both projects. It reports medians:
//
//   - before-ms: the deploy request to all instances answering, building in
//     each instance;
//   - after-ms: the same, built once; its first iteration builds with an
//     empty cache, the others with the cache the previous build left;
//   - build-cold-ms and build-warm-ms: the build job's duration with an
//     empty cache (the first iteration) and a warm one (the others).
//
// It needs npm's registry (the repository's package-lock is made with
// npm install --package-lock-only). Run it with make bench-builds.
func BenchmarkBuildOnce(b *testing.B) {
	agent.Require(b, "git", "node", "npm")
	gd := agent.StartGitDaemon(b)
	repo := gd.NewRepo(b, "node")
	lock := packageLock(b)
	sha := repo.Commit(b, map[string]string{"package.json": benchPackageJSON, "package-lock.json": lock, "server.js": benchServer}, "Start", "Ann <ann@example.com>")
	n := agent.StartNomad(b, agent.NomadOptions{})
	common := []string{"NOMAD_ADDR=" + n.Addr, "NOMAD_REGION=", "NOMAD_TOKEN=", "CONSUL_HTTP_ADDR=", "VAULT_ADDR=", "BACKPLANE_GIT_POLL=0",
		"BACKPLANE_LOGSHIP_COMMAND=" + backplane(b)}
	before := serve(b, append(common, "BACKPLANE_ARTIFACTS_URL=off")...)
	after := serve(b, common...)
	for _, p := range []struct {
		s    *served
		slug string
	}{{before, "nodebefore"}, {after, "nodeafter"}} {
		if code, _, out := p.s.call(b, "POST", "/projects", `{"slug":"`+p.slug+`"}`, "Content-Type", "application/json"); code != http.StatusCreated {
			b.Fatalf("create %s: %d %s", p.slug, code, out)
		}
	}
	deploy := func(s *served, slug, sha string) time.Duration {
		b.Helper()
		body, _ := json.Marshal(map[string]string{"yaml": fmt.Sprintf(nodeBenchSchema, slug, repo.URL, sha)})
		start := time.Now()
		if code, _, out := s.call(b, "POST", "/projects/"+slug+"/deploy", string(body), "Content-Type", "application/json"); code != http.StatusAccepted {
			b.Fatalf("deploy %s: %d %s", slug, code, out)
		}
		deadline := time.Now().Add(5 * time.Minute)
		for time.Now().Before(deadline) {
			if got := answers(b, n, slug+"-api"); len(got) == 3 && got[0] == sha && got[1] == sha && got[2] == sha {
				return time.Since(start)
			}
			time.Sleep(100 * time.Millisecond)
		}
		b.Fatalf("%s: the three instances do not all answer %s: %v", slug, sha[:7], answers(b, n, slug+"-api"))
		return 0
	}
	// The first deploy of each (not measured) puts three instances in place.
	deploy(before, "nodebefore", sha)
	deploy(after, "nodeafter", sha)
	if code, _, out := after.call(b, "GET", "/projects/nodeafter/builds", ""); code != 200 || !strings.Contains(out, `"status":"succeeded"`) {
		b.Fatalf("the first build: %d %s", code, out)
	}
	// Forget the first build's cache, so the first measured build is cold.
	if err := os.RemoveAll(filepath.Join(after.data, "artifacts", "nodeafter", "api", "cache.tar.gz")); err != nil {
		b.Fatal(err)
	}

	var beforeD, afterD, cold, warm []time.Duration
	for i := 0; b.Loop(); i++ {
		next := repo.Commit(b, map[string]string{"server.js": strings.Replace(benchServer, "// change 0", fmt.Sprintf("// change %d", i+1), 1)},
			fmt.Sprintf("Change %d", i+1), "Bob <bob@example.com>")
		beforeD = append(beforeD, deploy(before, "nodebefore", next))
		afterD = append(afterD, deploy(after, "nodeafter", next))
		d := lastBuild(b, after, "nodeafter")
		if i == 0 {
			cold = append(cold, d)
		} else {
			warm = append(warm, d)
		}
	}
	report := func(name string, ds []time.Duration) {
		if len(ds) == 0 {
			return
		}
		med := medianDuration(ds)
		b.ReportMetric(float64(med.Milliseconds()), name)
	}
	report("before-ms", beforeD)
	report("after-ms", afterD)
	report("build-cold-ms", cold)
	report("build-warm-ms", warm)
	b.ReportMetric(0, "ns/op")
}

// packageLock makes the app's package-lock.json with npm (from npm's
// registry), in a temp folder.
func packageLock(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(benchPackageJSON), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command("npm", "install", "--package-lock-only", "--no-audit", "--no-fund", "--cache", filepath.Join(dir, ".npm"))
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Skipf("npm cannot reach its registry, which this benchmark needs: %v\n%s", err, out)
	}
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		b.Fatal(err)
	}
	return string(lock)
}

// lastBuild is how long the project's newest build took.
func lastBuild(b *testing.B, s *served, slug string) time.Duration {
	b.Helper()
	code, _, out := s.call(b, "GET", "/projects/"+slug+"/builds?limit=1", "")
	var resp struct {
		Builds []struct {
			Status     string
			StartedAt  time.Time `json:"started_at"`
			FinishedAt time.Time `json:"finished_at"`
		}
	}
	if code != 200 || json.Unmarshal([]byte(out), &resp) != nil || len(resp.Builds) != 1 || resp.Builds[0].Status != "succeeded" {
		b.Fatalf("builds: %d %s", code, out)
	}
	return resp.Builds[0].FinishedAt.Sub(resp.Builds[0].StartedAt)
}

func medianDuration(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
