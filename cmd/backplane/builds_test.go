package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/store"
)

const shaA = "abc1234def5678abc1234def5678abc1234def56"

func TestBuildsNeedAServer(t *testing.T) {
	t.Setenv(envServer, "")
	file := writeFile(t, t.TempDir(), "backplane.yaml", shopYAML)
	code, out, errs := run(t, "", "builds", "-f", file)
	if code != 1 || out != "" || !strings.Contains(errs, "builds happen only in serve") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// buildLogEvents writes a build log stream: its lines, then its end.
func buildLogEvents(w http.ResponseWriter, end store.Build, lines ...string) {
	sseHeader(w)
	for _, l := range lines {
		data, _ := json.Marshal(map[string]string{"line": l})
		fmt.Fprintf(w, "event: line\ndata: %s\n\n", data)
		w.(http.Flusher).Flush()
	}
	data, _ := json.Marshal(end)
	fmt.Fprintf(w, "event: end\ndata: %s\n\n", data)
	w.(http.Flusher).Flush()
}

func TestBuildsThroughServer(t *testing.T) {
	start := time.Now().Add(-10 * time.Minute)
	ok := store.Build{ID: 7, Project: "shop", Element: "api", SHA: shaA, Status: store.BuildSucceeded, Trigger: "user", Actor: "dana",
		StartedAt: start, FinishedAt: start.Add(42 * time.Second), Size: 3 << 20, Digest: strings.Repeat("a", 64)}
	bad := store.Build{ID: 9, Project: "shop", Element: "api", SHA: shaA, Status: store.BuildFailed,
		StartedAt: start.Add(5 * time.Minute), FinishedAt: start.Add(5*time.Minute + 3*time.Second), Error: "the build exited 3"}
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /api/v1/projects/shop/builds": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("element") != "api" || r.URL.Query().Get("limit") != "5" {
				apiError(w, 400, "bad_request", "unexpected query "+r.URL.RawQuery)
				return
			}
			reply(w, 200, map[string]any{"builds": []store.Build{bad, ok}, "enabled": true})
		},
		"GET /api/v1/projects/shop/builds/7/log": func(w http.ResponseWriter, r *http.Request) {
			buildLogEvents(w, ok, "npm ci", "added 12 packages")
		},
		"GET /api/v1/projects/shop/builds/9/log": func(w http.ResponseWriter, r *http.Request) {
			buildLogEvents(w, bad, "ERROR: cannot compile")
		},
		"GET /api/v1/projects/shop/builds/8/log": func(w http.ResponseWriter, r *http.Request) {
			apiError(w, 404, "not_found", "no build 8 in shop")
		},
	})
	file := useServer(t, f.URL)

	code, out, errs := run(t, "", "builds", "-f", file, "api", "--limit", "5")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "DURATION") {
		t.Fatalf("table:\n%s", out)
	}
	for i, want := range [][]string{
		{"9", "api", "abc1234", "failed", "3s", "-", "the build exited 3"},
		{"7", "api", "abc1234", "succeeded", "42s", "3 MiB"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i+1], w) {
				t.Errorf("row %d lacks %q: %s", i+1, w, lines[i+1])
			}
		}
	}

	code, out, errs = run(t, "", "builds", "-f", file, "--log", "7")
	if code != 0 || out != "npm ci\nadded 12 packages\n" || !strings.Contains(errs, "build 7 of api at abc1234 succeeded in 42s (3 MiB)") {
		t.Errorf("--log 7: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	code, out, errs = run(t, "", "builds", "-f", file, "--log", "9")
	if code != 1 || out != "ERROR: cannot compile\n" || !strings.Contains(errs, "failed in 3s: the build exited 3") {
		t.Errorf("--log 9: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	code, _, errs = run(t, "", "builds", "-f", file, "--log", "8")
	if code != 1 || !strings.Contains(errs, "no build 8 in shop") {
		t.Errorf("--log 8: exit %d, stderr %s", code, errs)
	}
	if code, _, errs := run(t, "", "builds", "-f", file, "ghost"); code != 2 || !strings.Contains(errs, `no element "ghost"`) {
		t.Errorf("unknown element: exit %d, stderr %s", code, errs)
	}
	noLeak(t, out, errs)
}

func TestPlanThroughServerNamesTheBuilds(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /api/v1/projects/shop/plan": func(w http.ResponseWriter, r *http.Request) {
			reply(w, 200, map[string]any{"items": []*jobs.PlanItem{{Element: "api", Region: "global", JobID: "shop-api", Action: jobs.ActionUpdate}},
				"problems": []string{}, "warnings": []string{},
				"builds": []plannedBuild{{Element: "api", SHA: shaA}, {Element: "nightly"}}})
		},
	})
	file := useServer(t, f.URL)
	code, out, errs := run(t, "", "plan", "-f", file)
	if code != 0 || !strings.Contains(out, "api: build at abc1234\n") || !strings.Contains(out, "nightly: build at the head of main\n") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	code, out, _ = run(t, "", "plan", "-f", file, "--json")
	var got struct {
		Project string
		Items   []jobs.PlanItem
		Builds  []plannedBuild
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 || got.Project != "shop" || len(got.Items) != 1 || len(got.Builds) != 2 {
		t.Errorf("--json: exit %d, %+v (%v)\n%s", code, got, err, out)
	}
}

// TestDeployWaitPrintsTheBuildLog: while the deploy request is in flight
// (the server builds), the build it started shows up in the builds list
// and its log prints as "api build | ..."; an older build does not.
func TestDeployWaitPrintsTheBuildLog(t *testing.T) {
	var deploying atomic.Bool
	old := store.Build{ID: 3, Project: "shop", Element: "api", SHA: shaA, Status: store.BuildRunning, StartedAt: time.Now().Add(-time.Hour)}
	cur := store.Build{ID: 4, Project: "shop", Element: "api", SHA: shaA, Status: store.BuildRunning, StartedAt: time.Now()}
	release := make(chan struct{})
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /api/v1/projects/shop/status": func(w http.ResponseWriter, r *http.Request) {
			reply(w, 200, map[string]any{"statuses": []jobs.Status{apiOld}})
		},
		"GET /api/v1/projects/shop/builds": func(w http.ResponseWriter, r *http.Request) {
			list := []store.Build{old}
			if deploying.Load() {
				list = []store.Build{cur, old}
			}
			reply(w, 200, map[string]any{"builds": list, "enabled": true})
		},
		"GET /api/v1/projects/shop/builds/4/log": func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			for _, l := range []string{"compiling", "built with 0 earlier builds in the cache"} {
				fmt.Fprintf(w, "event: line\ndata: {\"line\": %q}\n\n", l)
				w.(http.Flusher).Flush()
			}
			close(release)
			time.Sleep(100 * time.Millisecond)
			done := cur
			done.Status, done.FinishedAt = store.BuildSucceeded, time.Now()
			data, _ := json.Marshal(done)
			fmt.Fprintf(w, "event: end\ndata: %s\n\n", data)
		},
		"GET /api/v1/projects/shop/builds/3/log": func(w http.ResponseWriter, r *http.Request) {
			buildLogEvents(w, old, "an older build's line")
		},
		"POST /api/v1/projects/shop/deploy": func(w http.ResponseWriter, r *http.Request) {
			deploying.Store(true)
			select {
			case <-release:
			case <-time.After(20 * time.Second):
			}
			reply(w, 202, map[string]any{"items": []jobs.ApplyItem{{Element: "api", Region: "global", JobID: "shop-api", Outcome: jobs.OutcomeRegistered}}})
		},
		"GET /api/v1/projects/shop/events": func(w http.ResponseWriter, r *http.Request) {
			sseHeader(w)
			sse(w, apiHealthy)
			<-r.Context().Done()
		},
	})
	file := useServer(t, f.URL)
	code, out, errs := run(t, "", "deploy", "-f", file, "--wait", "--timeout", "20s")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	for _, want := range []string{"api build | compiling\n", "api build | built with 0 earlier builds in the cache\n", "api              global   healthy 2/2\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "an older build") {
		t.Errorf("an earlier build's log shows:\n%s", out)
	}
}

func TestDeployBuildFailedThroughServer(t *testing.T) {
	msg := "build 5 of api at abc1234 failed: the build exited 3\n    compiling\n    ERROR: cannot compile main.py: line 3"
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /api/v1/projects/shop/deploy": func(w http.ResponseWriter, r *http.Request) {
			apiError(w, 422, "build_failed", msg, "builds", []store.Build{{ID: 5, Element: "api", Status: store.BuildFailed}})
		},
	})
	file := useServer(t, f.URL)
	code, out, errs := run(t, "", "deploy", "-f", file)
	if code != 1 || out != "" || errs != "deploy shop: nothing applied: "+msg+"\n" {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
}
