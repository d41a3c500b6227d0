package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/jobs"
)

// TestMain keeps every test of the package away from the developer's own
// `backplane login`: a stored server would send the direct-path tests
// through it.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "backplane-config")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	os.Unsetenv(envServer)
	os.Unsetenv(envToken)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const testToken = "bpt_Zq7xTESTtokenVALUEnot4real0123456789"

const shopYAML = `version: 1
project: shop
defaults: { driver: raw_exec }
elements:
  - id: api
    kind: app.command
    command: run-api
    port: 8080
    secrets: [STRIPE_KEY]
  - id: nightly
    kind: cron
    schedule: "0 3 * * *"
    command: report
`

// fake is a Backplane server: the routes a test gives, with every request
// recorded, and the bearer token checked on every route but sign-in.
type fake struct {
	*httptest.Server
	mu     sync.Mutex
	calls  []string
	bodies map[string][]byte
	heads  map[string]http.Header
}

func newFake(t *testing.T, routes map[string]http.HandlerFunc) *fake {
	t.Helper()
	f := &fake{bodies: map[string][]byte{}, heads: map[string]http.Header{}}
	mux := http.NewServeMux()
	for pattern, h := range routes {
		mux.HandleFunc(pattern, h)
	}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		key := r.Method + " " + r.URL.Path
		f.mu.Lock()
		f.calls = append(f.calls, key)
		f.bodies[key] = body
		f.heads[key] = r.Header.Clone()
		f.mu.Unlock()
		cookieAuth := r.Header.Get("Cookie") != ""
		if r.URL.Path != "/api/v1/auth/login" && !cookieAuth && r.Header.Get("Authorization") != "Bearer "+testToken {
			apiError(w, 401, "unauthorized", "unknown token")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fake) body(key string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return string(f.bodies[key])
}

func apiError(w http.ResponseWriter, status int, code, msg string, extra ...any) {
	body := map[string]any{"error": map[string]any{"code": code, "message": msg, "path": ""}}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i].(string)] = extra[i+1]
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// sse writes status events and flushes.
func sse(w http.ResponseWriter, statuses ...jobs.Status) {
	for _, s := range statuses {
		data, _ := json.Marshal(s)
		fmt.Fprintf(w, "event: status\ndata: %s\n\n", data)
	}
	w.(http.Flusher).Flush()
}

func sseHeader(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	fmt.Fprint(w, ": connected\n\n")
}

// useServer points the CLI at the fake through the environment.
func useServer(t *testing.T, url string) string {
	t.Helper()
	t.Setenv(envServer, url)
	t.Setenv(envToken, testToken)
	dir := t.TempDir()
	return writeFile(t, dir, "backplane.yaml", shopYAML)
}

func noLeak(t *testing.T, outs ...string) {
	t.Helper()
	for _, o := range outs {
		if strings.Contains(o, testToken) {
			t.Errorf("the token leaked into the output:\n%s", o)
		}
	}
}

func TestPlanThroughServerPrintsAsTheDirectPath(t *testing.T) {
	plan := &jobs.Plan{Project: "shop", Items: []*jobs.PlanItem{
		{Element: "api", Region: "global", JobID: "shop-api", Action: jobs.ActionUpdate, Changes: []string{"~ Task api: Env[X] a => b"}},
		{Element: "nightly", Region: "global", JobID: "shop-nightly", Action: jobs.ActionCreate},
	}, Warnings: []string{"region us cannot be listed"}}
	for _, tc := range []struct {
		name     string
		problems []string
		code     int
	}{
		{"applicable", nil, 0},
		{"blocked", []string{"elements[api].secrets: STRIPE_KEY is not in Vault"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{
				"POST /api/v1/projects/shop/plan": func(w http.ResponseWriter, r *http.Request) {
					reply(w, 200, map[string]any{"revision": 3, "items": plan.Items, "problems": append([]string{}, tc.problems...), "warnings": plan.Warnings})
				},
			})
			file := useServer(t, f.URL)
			code, out, errs := run(t, "", "plan", "-f", file, "--element", "api", "--element", "nightly")
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, errs)
			}
			want := *plan
			want.Problems = tc.problems
			var wout, werr bytes.Buffer
			(&app{stdout: &wout, stderr: &werr}).printPlan(&want)
			if out != wout.String() || errs != werr.String() {
				t.Errorf("output differs from the direct path's\ngot:\n%s%s\nwant:\n%s%s", out, errs, wout.String(), werr.String())
			}
			var body struct {
				YAML     string   `json:"yaml"`
				Elements []string `json:"elements"`
			}
			if err := json.Unmarshal([]byte(f.body("POST /api/v1/projects/shop/plan")), &body); err != nil || body.YAML != shopYAML || strings.Join(body.Elements, ",") != "api,nightly" {
				t.Errorf("plan body: %+v (%v)", body, err)
			}

			code, out, _ = run(t, "", "plan", "-f", file, "--json")
			var got jobs.Plan
			if err := json.Unmarshal([]byte(out), &got); err != nil || code != tc.code || got.Project != "shop" || len(got.Items) != 2 || len(got.Problems) != len(tc.problems) {
				t.Errorf("--json: exit %d, %+v (%v)\n%s", code, got, err, out)
			}
		})
	}
}

func TestSchemaProblemsFromTheServerNameTheFile(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /api/v1/projects/shop/deploy": func(w http.ResponseWriter, r *http.Request) {
			apiError(w, 422, "invalid_schema", "revision 4 has problems; fix them before deploying", "problems", []map[string]any{
				{"path": "elements[api].port", "message": "70000 is out of range 1-65535", "line": 9, "element": "api", "field": "port"},
				{"path": "connections[0].to", "message": `no element has id "ghost"`},
			})
		},
	})
	file := useServer(t, f.URL)
	code, _, errs := run(t, "", "deploy", "-f", file)
	want := file + ": elements[api].port: 70000 is out of range 1-65535\n" + file + ": connections[0].to: no element has id \"ghost\"\n"
	if code != 1 || errs != want {
		t.Fatalf("exit %d, stderr:\n%s\nwant:\n%s", code, errs, want)
	}
}

func TestDeployBlockedByThePlanThroughServer(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /api/v1/projects/shop/deploy": func(w http.ResponseWriter, r *http.Request) {
			apiError(w, 409, "blocked", "the plan has problems; nothing was applied", "problems", []string{"api: secret STRIPE_KEY is not in Vault"})
		},
	})
	file := useServer(t, f.URL)
	code, _, errs := run(t, "", "deploy", "-f", file)
	if code != 1 || !strings.Contains(errs, "deploy shop: nothing applied; fix these first:\n  api: secret STRIPE_KEY is not in Vault") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

// deployServer answers a deploy of api (registered) and nightly
// (unchanged), and the status before it; stream serves each events
// connection (n counts from 1).
func deployServer(t *testing.T, stream func(n int, w http.ResponseWriter, r *http.Request)) *fake {
	var mu sync.Mutex
	conns := 0
	return newFake(t, map[string]http.HandlerFunc{
		"GET /api/v1/projects/shop/status": func(w http.ResponseWriter, r *http.Request) {
			reply(w, 200, map[string]any{"statuses": []jobs.Status{
				{Element: "api", Region: "global", JobID: "shop-api", State: jobs.StateHealthy, Desired: 2, Running: 2, Healthy: 2, Version: 1},
				{Element: "nightly", Region: "global", JobID: "shop-nightly", State: jobs.StateRunning, Version: 0},
			}})
		},
		"POST /api/v1/projects/shop/deploy": func(w http.ResponseWriter, r *http.Request) {
			reply(w, 202, map[string]any{
				"deployment": map[string]any{"id": 7, "project": "shop", "revision": 4, "action": "deploy", "author": "dana", "status": "succeeded"},
				"items": []jobs.ApplyItem{
					{Element: "api", Region: "global", JobID: "shop-api", Outcome: jobs.OutcomeRegistered},
					{Element: "nightly", Region: "global", JobID: "shop-nightly", Outcome: jobs.OutcomeUnchanged},
				},
			})
		},
		"GET /api/v1/projects/shop/events": func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			conns++
			n := conns
			mu.Unlock()
			stream(n, w, r)
		},
	})
}

var (
	apiOld       = jobs.Status{Element: "api", Region: "global", JobID: "shop-api", State: jobs.StateHealthy, Desired: 2, Running: 2, Healthy: 2, Version: 1}
	apiDeploying = jobs.Status{Element: "api", Region: "global", JobID: "shop-api", State: jobs.StateDeploying, Desired: 2, Running: 1, Version: 2}
	apiHealthy   = jobs.Status{Element: "api", Region: "global", JobID: "shop-api", State: jobs.StateHealthy, Desired: 2, Running: 2, Healthy: 2, Version: 2}
	nightlyIdle  = jobs.Status{Element: "nightly", Region: "global", JobID: "shop-nightly", State: jobs.StateRunning, Version: 0}
	otherProject = jobs.Status{Element: "web", Region: "global", JobID: "shop-web", State: jobs.StateFailed}
)

func TestDeployWaitThroughServer(t *testing.T) {
	f := deployServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		sseHeader(w)
		// The replay of what the server knew before: api's previous
		// version, healthy. It must not end the wait.
		sse(w, apiOld, nightlyIdle, otherProject)
		fmt.Fprint(w, ": ping\n\n")
		time.Sleep(50 * time.Millisecond)
		sse(w, apiDeploying)
		time.Sleep(50 * time.Millisecond)
		sse(w, apiHealthy)
		<-r.Context().Done()
	})
	file := useServer(t, f.URL)
	code, out, errs := run(t, "", "deploy", "-f", file, "--wait", "--timeout", "20s", "--prune")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	for _, want := range []string{
		"api              global   registered\n",
		"nightly          global   unchanged\n",
		"nightly          global   running\n",
		"api              global   deploying 1/2\n",
		"api              global   healthy 2/2\n",
		"deploy shop: 1 registered, 1 unchanged, 0 removed, 0 failed, 0 conflicts in ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "shop-web") || strings.Contains(out, "web ") {
		t.Errorf("a job the deploy did not touch shows:\n%s", out)
	}
	var body struct {
		YAML  string `json:"yaml"`
		Prune bool   `json:"prune"`
	}
	if err := json.Unmarshal([]byte(f.body("POST /api/v1/projects/shop/deploy")), &body); err != nil || body.YAML != shopYAML || !body.Prune {
		t.Errorf("deploy body %+v (%v)", body, err)
	}
	if h := f.heads["GET /api/v1/projects/shop/events"]; h.Get("Accept") != "text/event-stream" || h.Get("Authorization") != "Bearer "+testToken {
		t.Errorf("events request headers: %v", h)
	}

	// --json: the same report as the direct path, with the last statuses.
	code, out, _ = run(t, "", "deploy", "-f", file, "--wait", "--timeout", "20s", "--json")
	var rep deployReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	if len(rep.Statuses) != 2 || rep.Statuses[0].Version != 2 || rep.Statuses[0].State != jobs.StateHealthy || rep.Project != "shop" || len(rep.Items) != 2 {
		t.Errorf("report %+v", rep)
	}
	noLeak(t, out, errs)
}

func TestDeployWaitReconnectsWhenTheStreamDrops(t *testing.T) {
	f := deployServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1:
			sseHeader(w)
			sse(w, apiDeploying, nightlyIdle)
			// and the connection drops
		case 2:
			apiError(w, 502, "internal", "bad gateway")
		default:
			sseHeader(w)
			sse(w, apiHealthy, nightlyIdle)
			<-r.Context().Done()
		}
	})
	file := useServer(t, f.URL)
	code, out, errs := run(t, "", "deploy", "-f", file, "--wait", "--timeout", "20s")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if !strings.Contains(out, "api              global   healthy 2/2\n") {
		t.Errorf("stdout:\n%s", out)
	}
	if !strings.Contains(errs, "deploy: the event stream from "+f.URL+" ended; reconnecting") ||
		!strings.Contains(errs, "deploy: the event stream from "+f.URL+" failed: bad gateway; reconnecting") {
		t.Errorf("stderr does not tell of the drops:\n%s", errs)
	}
}

func TestDeployWaitTimesOutWhenTheStreamNeverSettles(t *testing.T) {
	f := deployServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		sseHeader(w)
		sse(w, apiDeploying, nightlyIdle)
		// drops every time
	})
	file := useServer(t, f.URL)
	started := time.Now()
	code, out, errs := run(t, "", "deploy", "-f", file, "--wait", "--timeout", "1500ms")
	if code != 1 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if el := time.Since(started); el > 10*time.Second {
		t.Errorf("took %s for a 1.5s timeout", el)
	}
	if !strings.Contains(errs, "failed: api in global: degraded (still deploying after 1.5s)") {
		t.Errorf("stderr:\n%s", errs)
	}
	if strings.Contains(errs, "nightly in global") {
		t.Errorf("the unchanged batch job counts as failed:\n%s", errs)
	}
}

func TestDeployWaitStopsWhenTheServerRefusesTheStream(t *testing.T) {
	f := deployServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		apiError(w, 403, "forbidden", "your role in shop is none; this needs viewer")
	})
	file := useServer(t, f.URL)
	code, _, errs := run(t, "", "deploy", "-f", file, "--wait", "--timeout", "30s")
	if code != 1 || !strings.Contains(errs, "deploy: the server refused: your role in shop is none; this needs viewer") ||
		!strings.Contains(errs, "failed: api in global: unknown") {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
}

// TestServerFaults: every command through the server turns each kind of
// failure into a message that says what happened, and exit code 1.
func TestServerFaults(t *testing.T) {
	commands := [][]string{
		{"plan"}, {"deploy"}, {"deploy", "--wait"}, {"status"}, {"status", "--watch"},
		{"rollback", "api"}, {"destroy"}, {"secrets", "list", "api"}, {"secrets", "set", "api", "STRIPE_KEY"},
	}
	faults := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"401", func(w http.ResponseWriter, r *http.Request) {
			apiError(w, 401, "unauthorized", "the token has expired or was revoked")
		}, "%s: not signed in to URL (the token has expired or was revoked): run backplane login --server URL"},
		{"403", func(w http.ResponseWriter, r *http.Request) {
			apiError(w, 403, "forbidden", "your role in shop is viewer; this needs deployer")
		}, "%s: the server refused: your role in shop is viewer; this needs deployer"},
		{"404", func(w http.ResponseWriter, r *http.Request) {
			apiError(w, 404, "not_found", `no project "shop"`)
		}, `%s: no project "shop" on URL (it does not exist, or you have no role in it)`},
		{"500", func(w http.ResponseWriter, r *http.Request) {
			apiError(w, 500, "internal", "internal error: database is locked")
		}, "%s: the server URL failed: internal error: database is locked"},
		{"503 no cluster", func(w http.ResponseWriter, r *http.Request) {
			apiError(w, 503, "no_cluster", "no cluster connected: set NOMAD_ADDR")
		}, "%s: URL: no cluster connected: set NOMAD_ADDR"},
		{"proxy page", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			fmt.Fprint(w, "<html><body>502 Bad Gateway</body></html>")
		}, "%s: the server URL failed: HTTP 502 Bad Gateway"},
	}
	for _, fl := range faults {
		t.Run(fl.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{"/": fl.handler})
			file := useServer(t, f.URL)
			for _, args := range commands {
				name := strings.Join(args[:min(2, len(args))], " ")
				if args[0] != "secrets" {
					name = args[0]
				}
				if (args[0] == "status" && len(args) > 1) && fl.name != "401" && fl.name != "403" && fl.name != "404" {
					continue // a watch retries 5xx; see TestStatusWatchThroughServer
				}
				code, out, errs := run(t, "s3cret-value\n", append(append([]string{}, args...), "-f", file)...)
				want := strings.ReplaceAll(fmt.Sprintf(fl.want, name), "URL", f.URL)
				if code != 1 || !strings.Contains(errs, want+"\n") {
					t.Errorf("%v: exit %d, stderr:\n%s\nwant a line %q", args, code, errs, want)
				}
				if out != "" {
					t.Errorf("%v: stdout %q", args, out)
				}
				noLeak(t, out, errs)
				if strings.Contains(errs, "s3cret-value") {
					t.Errorf("%v: the secret value leaked:\n%s", args, errs)
				}
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		f := newFake(t, nil)
		url := f.URL
		f.Close()
		file := useServer(t, url)
		for _, args := range commands {
			if args[0] == "status" && len(args) > 1 {
				continue
			}
			code, _, errs := run(t, "v\n", append(append([]string{}, args...), "-f", file)...)
			if code != 1 || !strings.Contains(errs, ": cannot reach the server "+url+": ") || !strings.Contains(errs, "connection refused") {
				t.Errorf("%v: exit %d, stderr:\n%s", args, code, errs)
			}
		}
	})
}

func TestStatusThroughServer(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /api/v1/projects/shop/status": func(w http.ResponseWriter, r *http.Request) {
			reply(w, 200, map[string]any{"statuses": []jobs.Status{apiHealthy, nightlyIdle}})
		},
	})
	file := useServer(t, f.URL)
	code, out, errs := run(t, "", "status", "-f", file)
	var want bytes.Buffer
	(&app{stdout: &want}).printStatuses([]jobs.Status{apiHealthy, nightlyIdle})
	if code != 0 || out != want.String() {
		t.Fatalf("exit %d, stderr %s\ngot:\n%s\nwant:\n%s", code, errs, out, want.String())
	}
	code, out, _ = run(t, "", "status", "-f", file, "--json", "--element", "nightly")
	var got []jobs.Status
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 || len(got) != 1 || got[0].Element != "nightly" {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
}

func TestStatusWatchThroughServer(t *testing.T) {
	var mu sync.Mutex
	conns := 0
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /api/v1/projects/shop/events": func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			conns++
			n := conns
			mu.Unlock()
			switch n {
			case 1:
				sseHeader(w)
				sse(w, apiDeploying, nightlyIdle)
			case 2:
				sseHeader(w)
				sse(w, apiHealthy)
			default:
				// The token was revoked in between: the watch ends.
				apiError(w, 401, "unauthorized", "the token has expired or was revoked")
			}
		},
	})
	file := useServer(t, f.URL)
	code, out, errs := run(t, "", "status", "-f", file, "--watch", "--element", "api")
	var want bytes.Buffer
	wa := &app{stdout: &want}
	wa.printStatus(apiDeploying)
	wa.printStatus(apiHealthy)
	if out != want.String() {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want.String())
	}
	if code != 1 || !strings.Contains(errs, "status: not signed in to "+f.URL) || strings.Count(errs, "reconnecting") != 2 {
		t.Errorf("exit %d, stderr:\n%s", code, errs)
	}
}

func TestRollbackAndDestroyThroughServer(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /api/v1/projects/shop/rollback": func(w http.ResponseWriter, r *http.Request) {
			reply(w, 200, map[string]any{"results": []jobs.OpResult{{Target: jobs.Target{Element: "api", Region: "global", JobID: "shop-api"}, Version: 3}}})
		},
		"POST /api/v1/projects/shop/destroy": func(w http.ResponseWriter, r *http.Request) {
			reply(w, 200, map[string]any{"results": []jobs.OpResult{
				{Target: jobs.Target{Element: "api", Region: "global", JobID: "shop-api"}},
				{Target: jobs.Target{Element: "nightly", Region: "global", JobID: "shop-nightly"}, Err: "deregister: 500 boom"},
			}})
		},
	})
	file := useServer(t, f.URL)
	code, out, errs := run(t, "", "rollback", "api", "-f", file, "--version", "3")
	if code != 0 || out != "api              global   rolled back to version 3\n" {
		t.Fatalf("rollback: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if b := f.body("POST /api/v1/projects/shop/rollback"); b != `{"element":"api","version":3}` {
		t.Errorf("rollback body %s", b)
	}
	code, _, errs = run(t, "", "rollback", "ghost", "-f", file)
	if code != 2 || !strings.Contains(errs, `rollback: no element "ghost" in `+file) {
		t.Errorf("rollback ghost: exit %d, stderr %q", code, errs)
	}
	code, out, errs = run(t, "", "destroy", "-f", file, "--purge")
	if code != 1 || out != "api              global   destroyed\n" || errs != "nightly          global   failed: deregister: 500 boom\n" {
		t.Fatalf("destroy: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if b := f.body("POST /api/v1/projects/shop/destroy"); b != `{"purge":true}` {
		t.Errorf("destroy body %s", b)
	}
}

func TestSecretsThroughServer(t *testing.T) {
	var mu sync.Mutex
	var got string
	f := newFake(t, map[string]http.HandlerFunc{
		"PUT /api/v1/projects/shop/secrets/api/STRIPE_KEY": func(w http.ResponseWriter, r *http.Request) {
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				apiError(w, 415, "unsupported_media_type", "want text/plain, not "+ct)
				return
			}
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			got = string(b)
			mu.Unlock()
			w.WriteHeader(204)
		},
		"GET /api/v1/projects/shop/secrets/api": func(w http.ResponseWriter, r *http.Request) {
			reply(w, 200, map[string]any{"secrets": []map[string]any{{"name": "STRIPE_KEY", "version": 4, "declared": true}, {"name": "OLD", "version": 1, "declared": false}}})
		},
	})
	file := useServer(t, f.URL)
	code, out, errs := run(t, "sk_live_123\n", "secrets", "set", "-f", file, "api", "STRIPE_KEY")
	if code != 0 || out != "set STRIPE_KEY for api (version 4)\n" {
		t.Fatalf("set: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if got != "sk_live_123" {
		t.Errorf("the server got %q", got)
	}
	code, out, _ = run(t, "", "secrets", "list", "-f", file, "api")
	if code != 0 || out != "STRIPE_KEY               4\nOLD                      1\n" {
		t.Fatalf("list: exit %d, stdout %q", code, out)
	}
	code, out, _ = run(t, "", "secrets", "list", "-f", file, "api", "--json")
	if code != 0 || !strings.Contains(out, `"name": "STRIPE_KEY"`) || strings.Contains(out, "declared") {
		t.Fatalf("list --json: exit %d, stdout %s", code, out)
	}
	code, _, errs = run(t, "v", "secrets", "set", "-f", file, "ghost", "STRIPE_KEY")
	if code != 2 || !strings.Contains(errs, `secrets set: no element "ghost"`) {
		t.Errorf("set on ghost: exit %d, %q", code, errs)
	}
}

// loginServer signs dana in with "correct horse battery" and keeps a
// session that the CSRF token must accompany.
type loginServer struct {
	*fake
	mu        sync.Mutex
	loggedOut bool
	created   map[string]any
	revoked   []string
}

func newLoginServer(t *testing.T) *loginServer {
	ls := &loginServer{}
	const session, csrf = "sess-1", "csrf-1"
	cookieOK := func(r *http.Request) bool {
		c, err := r.Cookie("backplane_session")
		return err == nil && c.Value == session
	}
	ls.fake = newFake(t, map[string]http.HandlerFunc{
		"POST /api/v1/auth/login": func(w http.ResponseWriter, r *http.Request) {
			var in struct{ Name, Password string }
			_ = json.NewDecoder(r.Body).Decode(&in)
			if in.Name != "dana" || in.Password != "correct horse battery" {
				apiError(w, 401, "unauthorized", "wrong name or password")
				return
			}
			http.SetCookie(w, &http.Cookie{Name: "backplane_session", Value: session, Path: "/", HttpOnly: true})
			reply(w, 200, map[string]any{"user": map[string]any{"id": 2, "name": "dana", "display_name": "Dana"}, "csrf_token": csrf})
		},
		"GET /api/v1/auth/me": func(w http.ResponseWriter, r *http.Request) {
			if !cookieOK(r) && r.Header.Get("Authorization") != "Bearer "+testToken {
				apiError(w, 401, "unauthorized", "not signed in")
				return
			}
			reply(w, 200, map[string]any{"user": map[string]any{"id": 2, "name": "dana", "display_name": "Dana"}, "auth": "session",
				"projects": []map[string]any{{"project": "shop", "role": "deployer"}, {"project": "blog", "role": "viewer"}}})
		},
		"POST /api/v1/tokens": func(w http.ResponseWriter, r *http.Request) {
			if !cookieOK(r) || r.Header.Get("X-CSRF-Token") != csrf {
				apiError(w, 403, "csrf", "missing CSRF token")
				return
			}
			var in map[string]any
			_ = json.NewDecoder(r.Body).Decode(&in)
			ls.mu.Lock()
			ls.created = in
			ls.mu.Unlock()
			reply(w, 201, map[string]any{"token": testToken, "info": map[string]any{"id": 9, "name": in["name"], "prefix": testToken[:12], "role": in["role"]}})
		},
		"GET /api/v1/tokens": func(w http.ResponseWriter, r *http.Request) {
			reply(w, 200, map[string]any{"tokens": []map[string]any{
				{"id": 8, "name": "old", "prefix": "bpt_other123", "role": "viewer"},
				{"id": 9, "name": "cli@host", "prefix": testToken[:12], "role": "deployer"},
			}})
		},
		"DELETE /api/v1/tokens/{id}": func(w http.ResponseWriter, r *http.Request) {
			ls.mu.Lock()
			ls.revoked = append(ls.revoked, r.PathValue("id"))
			ls.mu.Unlock()
			w.WriteHeader(204)
		},
		"POST /api/v1/auth/logout": func(w http.ResponseWriter, r *http.Request) {
			if !cookieOK(r) || r.Header.Get("X-CSRF-Token") != csrf {
				apiError(w, 403, "csrf", "missing CSRF token")
				return
			}
			ls.mu.Lock()
			ls.loggedOut = true
			ls.mu.Unlock()
			w.WriteHeader(204)
		},
		"GET /api/v1/projects/shop/status": func(w http.ResponseWriter, r *http.Request) {
			reply(w, 200, map[string]any{"statuses": []jobs.Status{apiHealthy}})
		},
	})
	return ls
}

func readCredentials(t *testing.T) (credentials, os.FileMode) {
	t.Helper()
	path, err := credentialsPath()
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no credentials: %v", err)
	}
	data, _ := os.ReadFile(path)
	var c credentials
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c, st.Mode().Perm()
}

func TestLoginStoresATokenAndCommandsUseIt(t *testing.T) {
	ls := newLoginServer(t)
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	code, out, errs := run(t, "dana\ncorrect horse battery\n", "login", "--server", ls.URL+"/")
	if code != 0 {
		t.Fatalf("login: exit %d, stderr %s", code, errs)
	}
	host, _ := os.Hostname()
	path := filepath.Join(cfg, "backplane", "credentials.json")
	if want := fmt.Sprintf("signed in to %s as dana (Dana); token cli@%s (deployer) stored in %s\n", ls.URL, host, path); out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	if ls.created["name"] != "cli@"+host || ls.created["role"] != "deployer" {
		t.Errorf("token request %v: want cli@<host> with the highest role, deployer", ls.created)
	}
	if !ls.loggedOut {
		t.Error("the session was not signed out")
	}
	c, mode := readCredentials(t)
	if c.Server != ls.URL || c.Token != testToken || c.User != "dana" || c.TokenID != 9 || mode != 0o600 {
		t.Errorf("stored %+v with mode %v", c, mode)
	}
	noLeak(t, out, errs)
	if strings.Contains(out+errs, "correct horse") {
		t.Error("the password was echoed")
	}

	// The stored credentials send status through the server.
	file := writeFile(t, t.TempDir(), "backplane.yaml", shopYAML)
	code, out, errs = run(t, "", "status", "-f", file)
	if code != 0 || !strings.Contains(out, "api              global   healthy") {
		t.Fatalf("status: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	// --server= talks to Nomad directly: nothing reaches the fake.
	before := len(ls.called())
	t.Setenv("NOMAD_ADDR", "http://127.0.0.1:1")
	_, _, errs = run(t, "", "status", "-f", file, "--server=")
	if len(ls.called()) != before || strings.Contains(errs, ls.URL) {
		t.Errorf("--server= still went through the server: %v\n%s", ls.called()[before:], errs)
	}

	// Logout revokes the token it stored, by ID, and forgets it.
	code, out, errs = run(t, "", "logout")
	if code != 0 || out != "signed out of "+ls.URL+"; token revoked\n" || fmt.Sprint(ls.revoked) != "[9]" {
		t.Fatalf("logout: exit %d, stdout %q, stderr %q, revoked %v", code, out, errs, ls.revoked)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("credentials still there: %v", err)
	}
	code, _, errs = run(t, "", "status", "-f", file, "--server", ls.URL)
	if code != 1 || !strings.Contains(errs, "status: not signed in to "+ls.URL+": run backplane login --server "+ls.URL) {
		t.Errorf("after logout: exit %d, stderr %q", code, errs)
	}
}

func TestLoginRefused(t *testing.T) {
	ls := newLoginServer(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	code, out, errs := run(t, "dana\nwrong\n", "login", "--server", ls.URL)
	if code != 1 || out != "" || !strings.Contains(errs, "login: "+ls.URL+": wrong name or password") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if p, _ := credentialsPath(); fileExists(p) {
		t.Error("credentials stored after a refused sign-in")
	}
	code, _, errs = run(t, "", "login", "--server", "backplane.example.com")
	if code != 2 || !strings.Contains(errs, "want an http:// or https:// URL") {
		t.Errorf("no scheme: exit %d, %q", code, errs)
	}
	code, _, errs = run(t, "", "login")
	if code != 2 || !strings.Contains(errs, "--server is required") {
		t.Errorf("no server: exit %d, %q", code, errs)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func TestLoginWithTokenStdinAndLogoutByPrefix(t *testing.T) {
	ls := newLoginServer(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	code, _, errs := run(t, "bpt_not-a-token\n", "login", "--server", ls.URL, "--token-stdin")
	if code != 1 || !strings.Contains(errs, "login: "+ls.URL+" does not accept the token: unknown token") {
		t.Fatalf("bad token: exit %d, stderr %q", code, errs)
	}
	code, out, errs := run(t, testToken+"\n", "login", "--server", ls.URL, "--token-stdin")
	if code != 0 || !strings.HasPrefix(out, "signed in to "+ls.URL+" as dana (Dana) with the given token") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if c, mode := readCredentials(t); c.Token != testToken || c.TokenID != 0 || mode != 0o600 {
		t.Errorf("stored %+v, mode %v", c, mode)
	}
	// Without a stored ID, logout finds the token by its prefix.
	code, out, _ = run(t, "", "logout")
	if code != 0 || !strings.Contains(out, "token revoked") || fmt.Sprint(ls.revoked) != "[9]" {
		t.Fatalf("logout: exit %d, %q, revoked %v", code, out, ls.revoked)
	}
	code, out, _ = run(t, "", "logout")
	if code != 0 || out != "not signed in\n" {
		t.Errorf("second logout: exit %d, %q", code, out)
	}
}

func TestResolveServer(t *testing.T) {
	stored := credentials{Server: "https://bp.example.com", Token: "bpt_stored"}
	for _, tc := range []struct {
		name              string
		stored            bool
		env               map[string]string // "" value: set and empty
		flag              *string
		wantServer, token string
	}{
		{name: "nothing: direct"},
		{name: "stored", stored: true, wantServer: "https://bp.example.com", token: "bpt_stored"},
		{name: "env overrides stored", stored: true, env: map[string]string{envServer: "http://ci:8080/", envToken: "bpt_env"}, wantServer: "http://ci:8080", token: "bpt_env"},
		{name: "env token with the stored server", stored: true, env: map[string]string{envToken: "bpt_env"}, wantServer: "https://bp.example.com", token: "bpt_env"},
		{name: "env server, same as stored", stored: true, env: map[string]string{envServer: "https://bp.example.com/api/v1"}, wantServer: "https://bp.example.com", token: "bpt_stored"},
		{name: "env server, another: no token", stored: true, env: map[string]string{envServer: "https://other.example.com"}, wantServer: "https://other.example.com"},
		{name: "empty env server: direct", stored: true, env: map[string]string{envServer: ""}},
		{name: "flag wins", stored: true, env: map[string]string{envServer: "http://ci:8080"}, flag: ptr("https://bp.example.com"), wantServer: "https://bp.example.com", token: "bpt_stored"},
		{name: "empty flag: direct", stored: true, flag: ptr("")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("XDG_CONFIG_HOME", t.TempDir())
			if tc.stored {
				if _, err := saveCredentials(stored); err != nil {
					t.Fatal(err)
				}
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			flag, set := "", false
			if tc.flag != nil {
				flag, set = *tc.flag, true
			}
			server, token, err := resolveServer(flag, set)
			if err != nil || server != tc.wantServer || token != tc.token {
				t.Errorf("got %q, %q, %v; want %q, %q", server, token, err, tc.wantServer, tc.token)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// TestNoServerTalksToNomad: without a server configured, the cluster
// commands keep talking to Nomad directly.
func TestNoServerTalksToNomad(t *testing.T) {
	var mu sync.Mutex
	var nomadCalls []string
	nomad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		nomadCalls = append(nomadCalls, r.URL.Path)
		mu.Unlock()
		http.Error(w, "job not found", 404)
	}))
	defer nomad.Close()
	t.Setenv("NOMAD_ADDR", nomad.URL)
	t.Setenv("CONSUL_HTTP_ADDR", "")
	t.Setenv("VAULT_ADDR", "")
	file := writeFile(t, t.TempDir(), "backplane.yaml", shopYAML)
	code, out, errs := run(t, "", "status", "-f", file)
	mu.Lock()
	defer mu.Unlock()
	if code != 0 || len(nomadCalls) == 0 || !strings.Contains(out, "stopped") {
		t.Fatalf("exit %d, nomad calls %v\nstdout %s\nstderr %s", code, nomadCalls, out, errs)
	}
}
