package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/observe/alerts"
)

// fakeAM is an Alertmanager's API v2: the alerts and silences a test
// gives, every request recorded, and a fault to answer with instead.
type fakeAM struct {
	*httptest.Server
	mu       sync.Mutex
	alerts   []alerts.Alert
	silences map[string]*alerts.Silence
	calls    []string // "METHOD /path?query"
	created  []alerts.Silence
	fault    http.HandlerFunc
}

func newFakeAM(t *testing.T) *fakeAM {
	t.Helper()
	am := &fakeAM{silences: map[string]*alerts.Silence{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v2/alerts", func(w http.ResponseWriter, r *http.Request) {
		am.mu.Lock()
		defer am.mu.Unlock()
		reply(w, 200, am.alerts)
	})
	mux.HandleFunc("GET /api/v2/silences", func(w http.ResponseWriter, r *http.Request) {
		am.mu.Lock()
		defer am.mu.Unlock()
		out := []*alerts.Silence{}
		for _, s := range am.silences {
			out = append(out, s)
		}
		reply(w, 200, out)
	})
	mux.HandleFunc("POST /api/v2/silences", func(w http.ResponseWriter, r *http.Request) {
		var s alerts.Silence
		if err := json.NewDecoder(r.Body).Decode(&s); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		am.mu.Lock()
		defer am.mu.Unlock()
		am.created = append(am.created, s)
		s.ID = fmt.Sprintf("5e1f0000-0000-4000-8000-%012d", len(am.created))
		am.silences[s.ID] = &s
		reply(w, 200, map[string]string{"silenceID": s.ID})
	})
	mux.HandleFunc("GET /api/v2/silence/{id}", func(w http.ResponseWriter, r *http.Request) {
		am.mu.Lock()
		defer am.mu.Unlock()
		s := am.silences[r.PathValue("id")]
		if s == nil {
			http.Error(w, "silence not found", 404)
			return
		}
		reply(w, 200, s)
	})
	mux.HandleFunc("DELETE /api/v2/silence/{id}", func(w http.ResponseWriter, r *http.Request) {
		am.mu.Lock()
		defer am.mu.Unlock()
		s := am.silences[r.PathValue("id")]
		if s == nil {
			http.Error(w, "silence not found", 404)
			return
		}
		s.Status = state("expired")
		w.WriteHeader(200)
	})
	am.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		am.mu.Lock()
		am.calls = append(am.calls, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
		fault := am.fault
		am.mu.Unlock()
		if fault != nil {
			fault(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(am.Close)
	return am
}

func (am *fakeAM) called() []string {
	am.mu.Lock()
	defer am.mu.Unlock()
	return append([]string(nil), am.calls...)
}

func state(s string) *struct {
	State string `json:"state"`
} {
	return &struct {
		State string `json:"state"`
	}{State: s}
}

func amAlert(project, element, name, severity, summary string, started time.Time, silencedBy ...string) alerts.Alert {
	a := alerts.Alert{
		Fingerprint: fmt.Sprintf("%x", len(project+element+name)*7919),
		Labels:      map[string]string{"project": project, "element": element, "region": "eu", "alertname": name, "severity": severity},
		Annotations: map[string]string{"summary": summary, "description": "more about " + name},
		StartsAt:    started,
	}
	a.Status.State = "active"
	if len(silencedBy) > 0 {
		a.Status.State = "suppressed"
		a.Status.SilencedBy = silencedBy
	}
	return a
}

func amSilence(id, project, element string, isRegex bool, ends time.Time, st string) *alerts.Silence {
	return &alerts.Silence{
		ID: id,
		Matchers: []alerts.Matcher{
			{Name: "project", Value: project, IsEqual: true, IsRegex: isRegex},
			{Name: "element", Value: element, IsEqual: true},
		},
		StartsAt: ends.Add(-2 * time.Hour), EndsAt: ends, CreatedBy: "dana", Comment: "deploying a fix\nfor " + element,
		Status: state(st),
	}
}

// directAM points the CLI at the fake Alertmanager, with no server.
func directAM(t *testing.T) (*fakeAM, string) {
	t.Helper()
	am := newFakeAM(t)
	t.Setenv(envAlertmanagerURL, am.URL)
	return am, writeFile(t, t.TempDir(), "backplane.yaml", shopYAML)
}

// firing gives the fake the same alerts TestAlertsThroughServer serves:
// a silenced restart loop of api, a failed nightly run, and another
// project's alert, which must not show.
func firing(now time.Time) []alerts.Alert {
	return []alerts.Alert{
		amAlert("shop", "nightly", "CronFailed", "warning", "nightly failed   twice\nin a row", now.Add(-3*time.Hour)),
		amAlert("other", "api", "RestartLoop", "critical", "OTHER-PROJECT", now.Add(-time.Minute)),
		amAlert("shop", "api", "RestartLoop", "critical", "api restarted 5 times in 10m", now.Add(-12*time.Minute), "5e1f-silence"),
	}
}

const wantAlertsTable = `ELEMENT  REGION  ALERT                   SEVERITY  SINCE  SUMMARY
api      eu      RestartLoop (silenced)  critical  12m    api restarted 5 times in 10m
nightly  eu      CronFailed              warning   3h     nightly failed twice in a row
`

func TestAlertsDirect(t *testing.T) {
	am, file := directAM(t)
	am.alerts = firing(time.Now())

	code, out, errs := run(t, "", "alerts", "-f", file)
	if code != 0 || out != wantAlertsTable {
		t.Fatalf("exit %d, stderr %q, table:\n%s\nwant:\n%s", code, errs, out, wantAlertsTable)
	}
	if c := am.called(); len(c) != 1 || c[0] != `GET /api/v2/alerts?filter=project%3D%22shop%22` {
		t.Errorf("Alertmanager calls %q", c)
	}

	code, out, _ = run(t, "", "alerts", "-f", file, "--json")
	var doc struct {
		Alerts []map[string]any `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 || len(doc.Alerts) != 2 {
		t.Fatalf("--json: exit %d, %v\n%s", code, err, out)
	}
	api := doc.Alerts[0]
	if api["element"] != "api" || api["alertname"] != "RestartLoop" || api["state"] != "suppressed" || api["region"] != "eu" ||
		api["severity"] != "critical" || api["description"] != "more about RestartLoop" || api["starts_at"] == "" {
		t.Errorf("--json alert %v", api)
	}
	if sb, _ := api["silenced_by"].([]any); len(sb) != 1 || sb[0] != "5e1f-silence" {
		t.Errorf("silenced_by %v", api["silenced_by"])
	}
	if sb, ok := doc.Alerts[1]["silenced_by"].([]any); !ok || len(sb) != 0 {
		t.Errorf("an alert no silence holds has silenced_by %v, want []", doc.Alerts[1]["silenced_by"])
	}

	code, _, errs = run(t, "", "alerts", "-f", file, "--element", "api")
	if c := am.called(); code != 0 || c[len(c)-1] != `GET /api/v2/alerts?filter=project%3D%22shop%22&filter=element%3D%22api%22` {
		t.Errorf("--element api: exit %d %q, calls %q", code, errs, c)
	}
	code, _, errs = run(t, "", "alerts", "-f", file, "--element", "gone")
	if code != 0 || !strings.Contains(errs, `alerts: note: `+file+` has no element "gone"; listing its alerts anyway`) {
		t.Errorf("--element gone: exit %d %q", code, errs)
	}

	am.alerts = nil
	code, out, _ = run(t, "", "alerts", "-f", file)
	if code != 0 || out != "no alerts firing in shop\n" {
		t.Errorf("none firing: exit %d %q", code, out)
	}
	code, out, _ = run(t, "", "alerts", "-f", file, "--json")
	if code != 0 || strings.TrimSpace(out) != `{
  "alerts": []
}` {
		t.Errorf("none firing, --json: exit %d %q", code, out)
	}
}

func TestAlertsSilenceDirect(t *testing.T) {
	am, file := directAM(t)
	t.Setenv("USER", "dana")
	before := time.Now()
	code, out, errs := run(t, "", "alerts", "silence", "-f", file, "api", "--for", "2h", "--comment", "deploying a fix")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if len(am.created) != 1 {
		t.Fatalf("created %v", am.created)
	}
	s := am.created[0]
	want := []alerts.Matcher{{Name: "project", Value: "shop", IsEqual: true}, {Name: "element", Value: "api", IsEqual: true}}
	if fmt.Sprint(s.Matchers) != fmt.Sprint(want) || s.CreatedBy != "dana" || s.Comment != "deploying a fix" {
		t.Errorf("silence %+v", s)
	}
	if d := s.EndsAt.Sub(s.StartsAt); d != 2*time.Hour || s.StartsAt.Before(before.Add(-time.Second)) {
		t.Errorf("silence from %s to %s", s.StartsAt, s.EndsAt)
	}
	wantOut := fmt.Sprintf("silenced api in shop until %s (2h): silence 5e1f0000-0000-4000-8000-000000000001\n", s.EndsAt.UTC().Format(time.RFC3339))
	if out != wantOut {
		t.Errorf("stdout %q, want %q", out, wantOut)
	}

	t.Setenv("USER", "")
	code, out, _ = run(t, "", "alerts", "silence", "-f", file, "nightly", "--for", "90m", "--comment", "flaky", "--json")
	var doc struct{ Silence silenceView }
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 || doc.Silence.ID == "" || doc.Silence.Element != "nightly" || doc.Silence.State != "active" {
		t.Errorf("--json: exit %d %v %s", code, err, out)
	}
	if am.created[1].CreatedBy != "backplane-cli" {
		t.Errorf("without $USER created by %q", am.created[1].CreatedBy)
	}
}

func TestAlertsSilenceArguments(t *testing.T) {
	am, file := directAM(t)
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"no comment", []string{"api", "--for", "2h"}, "alerts silence: --comment is required: say why the alerts are silenced"},
		{"blank comment", []string{"api", "--for", "2h", "--comment", "  "}, "alerts silence: --comment is required"},
		{"no duration", []string{"api", "--comment", "x"}, "alerts silence: --for: is required: how long the silence lasts, e.g. 2h"},
		{"days", []string{"api", "--for", "2d", "--comment", "x"}, `alerts silence: --for: "2d" is not a duration: want e.g. 30m, 2h or 72h`},
		{"zero", []string{"api", "--for", "0s", "--comment", "x"}, "alerts silence: --for: 0s: a silence lasts at least 1m"},
		{"negative", []string{"api", "--for", "-1h", "--comment", "x"}, "alerts silence: --for: -1h: a silence lasts at least 1m"},
		{"too short", []string{"api", "--for", "59s", "--comment", "x"}, "alerts silence: --for: 59s: a silence lasts at least 1m"},
		{"too long", []string{"api", "--for", "2161h", "--comment", "x"}, "alerts silence: --for: 2161h: a silence lasts at most 2160h (90 days)"},
		{"long comment", []string{"api", "--for", "1h", "--comment", strings.Repeat("é", 1001)}, "alerts silence: --comment: at most 1000 characters of text"},
		{"no element", []string{"ghost", "--for", "2h", "--comment", "x"}, `alerts silence: no element "ghost" in ` + file},
		{"no argument", []string{"--for", "2h", "--comment", "x"}, "accepts 1 arg(s), received 0"},
		{"two elements", []string{"api", "nightly", "--for", "2h", "--comment", "x"}, "accepts 1 arg(s), received 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := run(t, "", append([]string{"alerts", "silence", "-f", file}, c.args...)...)
			if code != exitUsage || out != "" || !strings.Contains(errs, c.msg) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", code, out, errs, exitUsage, c.msg)
			}
		})
	}
	if c := am.called(); len(c) != 0 {
		t.Errorf("refused arguments reached Alertmanager: %q", c)
	}
	for _, d := range []string{"1m", "2160h"} {
		code, _, errs := run(t, "", "alerts", "silence", "-f", file, "api", "--for", d, "--comment", strings.Repeat("é", 1000))
		if code != 0 {
			t.Errorf("%s: exit %d %q", d, code, errs)
		}
	}
}

func TestAlertsSilencesAndExpireDirect(t *testing.T) {
	am, file := directAM(t)
	now := time.Now()
	ours := "11111111-0000-4000-8000-000000000001"
	for _, sil := range []*alerts.Silence{
		amSilence(ours, "shop", "api", false, now.Add(90*time.Minute), "active"),
		amSilence("22222222-0000-4000-8000-000000000002", "shop", "nightly", false, now.Add(-time.Hour), "expired"),
		amSilence("33333333-0000-4000-8000-000000000003", "other", "api", false, now.Add(time.Hour), "active"),
		amSilence("44444444-0000-4000-8000-000000000004", "shop", "api", true, now.Add(time.Hour), "active"),
	} {
		am.silences[sil.ID] = sil
	}
	code, out, errs := run(t, "", "alerts", "silences", "-f", file)
	if code != 0 {
		t.Fatalf("exit %d %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID ") || !strings.HasPrefix(lines[1], ours+"  api ") ||
		!strings.Contains(lines[1], " active ") || !strings.Contains(lines[1], "(in 1h30m)") || !strings.HasSuffix(lines[1], "dana  deploying a fix for api") ||
		!strings.HasPrefix(lines[2], "22222222-0000-4000-8000-000000000002  nightly  expired") {
		t.Errorf("silences:\n%s", out)
	}
	if strings.Contains(out, "33333333") || strings.Contains(out, "44444444") {
		t.Errorf("another project's silence (or a regular expression's) is listed:\n%s", out)
	}
	if c := am.called(); c[len(c)-1] != `GET /api/v2/silences?filter=project%3D%22shop%22` {
		t.Errorf("calls %q", c)
	}
	code, out, _ = run(t, "", "alerts", "silences", "-f", file, "--json")
	var doc struct{ Silences []silenceView }
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 || len(doc.Silences) != 2 || doc.Silences[0].ID != ours || doc.Silences[0].CreatedBy != "dana" {
		t.Errorf("--json: exit %d %v\n%s", code, err, out)
	}

	deletes := func() (n int) {
		for _, c := range am.called() {
			if strings.HasPrefix(c, "DELETE ") {
				n++
			}
		}
		return n
	}
	for _, c := range []struct{ id, msg string }{
		{"33333333-0000-4000-8000-000000000003", `alerts expire: silence 33333333-0000-4000-8000-000000000003 is not one of shop's: it silences project "other"`},
		{"44444444-0000-4000-8000-000000000004", `alerts expire: silence 44444444-0000-4000-8000-000000000004 is not one of shop's: it has no project="shop" matcher`},
		{"99999999-0000-4000-8000-000000000009", `alerts expire: no silence "99999999-0000-4000-8000-000000000009"`},
	} {
		code, out, errs := run(t, "", "alerts", "expire", "-f", file, c.id)
		if code != 1 || out != "" || strings.TrimSpace(errs) != c.msg {
			t.Errorf("expire %s: exit %d %q %q, want %q", c.id, code, out, errs, c.msg)
		}
	}
	if n := deletes(); n != 0 {
		t.Fatalf("refused expiries reached Alertmanager: %d DELETEs", n)
	}
	code, out, errs = run(t, "", "alerts", "expire", "-f", file, ours)
	if code != 0 || out != "expired silence "+ours+"\n" || deletes() != 1 || am.silences[ours].State() != "expired" {
		t.Errorf("expire ours: exit %d %q %q", code, out, errs)
	}
	code, out, _ = run(t, "", "alerts", "expire", "-f", file, ours)
	if code != 0 || out != "expired silence "+ours+"\n" || deletes() != 1 {
		t.Errorf("expire again: exit %d %q", code, out)
	}
}

func TestAlertsWithoutAlertmanager(t *testing.T) {
	t.Setenv(envAlertmanagerURL, "")
	file := writeFile(t, t.TempDir(), "backplane.yaml", shopYAML)
	for _, args := range [][]string{{"alerts"}, {"alerts", "silences"}, {"alerts", "expire", "x"}, {"alerts", "silence", "api", "--for", "1h", "--comment", "x"}} {
		name := strings.Join(args[:min(2, len(args))], " ")
		code, out, errs := run(t, "", append(args, "-f", file)...)
		want := name + ": Alertmanager is not configured: set BACKPLANE_ALERTMANAGER_URL (or --alertmanager-url) to Alertmanager's base URL"
		if code != 1 || out != "" || !strings.Contains(errs, want) || !strings.Contains(errs, "backplane login") {
			t.Errorf("%v: exit %d %q", args, code, errs)
		}
	}
	code, _, errs := run(t, "", "alerts", "-f", file, "--alertmanager-url", "127.0.0.1:9093")
	if code != exitUsage || !strings.Contains(errs, `alerts: --alertmanager-url: alertmanager URL "127.0.0.1:9093": want http(s)://host[:port]`) {
		t.Errorf("bad URL: exit %d %q", code, errs)
	}
	code, _, errs = run(t, "", "alerts", "-f", writeFile(t, t.TempDir(), "b.yaml", "version: 1\nelements: []\n"))
	if code != exitInvalid || !strings.Contains(errs, "project: is required") {
		t.Errorf("no project: exit %d %q", code, errs)
	}
}

func TestAlertsAlertmanagerFaults(t *testing.T) {
	commands := [][]string{{"alerts"}, {"alerts", "silences"}, {"alerts", "expire", "11111111-0000-4000-8000-000000000001"},
		{"alerts", "silence", "api", "--for", "1h", "--comment", "x"}}
	am, file := directAM(t)
	am.fault = func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "failed to   list alerts:\nstorage is locked", 500)
	}
	for _, args := range commands {
		name := strings.Join(args[:min(2, len(args))], " ")
		code, out, errs := run(t, "", append(args, "-f", file)...)
		want := name + ": Alertmanager at " + am.URL + " refused: HTTP 500: failed to list alerts: storage is locked\n"
		if code != 1 || out != "" || errs != want {
			t.Errorf("%v: exit %d, stderr %q, want %q", args, code, errs, want)
		}
	}
	am.Close()
	for _, args := range commands {
		name := strings.Join(args[:min(2, len(args))], " ")
		code, out, errs := run(t, "", append(args, "-f", file)...)
		want := name + ": cannot reach Alertmanager at " + am.URL + ": "
		if code != 1 || out != "" || !strings.HasPrefix(errs, want) || !strings.Contains(errs, "connection refused") {
			t.Errorf("%v: exit %d, stderr %q, want %q…", args, code, errs, want)
		}
	}
}

// alertsServer is a Backplane server with the alerts API, serving what
// firing() gives.
func alertsServer(t *testing.T) *fake {
	t.Helper()
	now := time.Now()
	var views []alertView
	for _, al := range firing(now) {
		if al.Labels["project"] == "shop" {
			v := viewAlert(al)
			v.EditorURL = "https://backplane.example.com/p/shop?element=" + v.Element
			views = append(views, v)
		}
	}
	silence := silenceView{ID: "5e1f0000-0000-4000-8000-000000000001", Element: "api", Comment: "deploying a fix", CreatedBy: "dana",
		StartsAt: now, EndsAt: now.Add(2 * time.Hour), State: "active"}
	return newFake(t, map[string]http.HandlerFunc{
		"GET /api/v1/projects/shop/alerts": func(w http.ResponseWriter, r *http.Request) {
			out := []alertView{}
			for _, v := range views {
				if e := r.URL.Query().Get("element"); e == "" || e == v.Element {
					out = append(out, v)
				}
			}
			reply(w, 200, map[string]any{"alerts": out})
		},
		"GET /api/v1/projects/shop/silences": func(w http.ResponseWriter, r *http.Request) {
			reply(w, 200, map[string]any{"silences": []silenceView{silence}})
		},
		"POST /api/v1/projects/shop/silences": func(w http.ResponseWriter, r *http.Request) {
			reply(w, 201, map[string]any{"silence": silence})
		},
		"DELETE /api/v1/projects/shop/silences/{id}": func(w http.ResponseWriter, r *http.Request) {
			if r.PathValue("id") != silence.ID {
				apiError(w, 404, "not_found", "no silence "+r.PathValue("id")+" in shop")
				return
			}
			w.WriteHeader(204)
		},
	})
}

func TestAlertsThroughServer(t *testing.T) {
	f := alertsServer(t)
	file := useServer(t, f.URL)
	t.Setenv(envAlertmanagerURL, "http://127.0.0.1:1") // unused: the server is configured

	code, out, errs := run(t, "", "alerts", "-f", file)
	if code != 0 || out != wantAlertsTable {
		t.Fatalf("exit %d, stderr %q, table:\n%s\nwant (as the direct path prints it):\n%s", code, errs, out, wantAlertsTable)
	}
	code, out, _ = run(t, "", "alerts", "-f", file, "--element", "nightly", "--json")
	var doc struct{ Alerts []alertView }
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 || len(doc.Alerts) != 1 || doc.Alerts[0].Element != "nightly" ||
		doc.Alerts[0].EditorURL == "" || doc.Alerts[0].SilencedBy == nil {
		t.Errorf("--element nightly --json: exit %d %v\n%s", code, err, out)
	}
	if c := f.called(); c[len(c)-1] != "GET /api/v1/projects/shop/alerts" {
		t.Errorf("calls %q", c)
	}

	code, out, errs = run(t, "", "alerts", "silence", "-f", file, "api", "--for", "2h", "--comment", "deploying a fix")
	if code != 0 || !strings.HasPrefix(out, "silenced api in shop until ") || !strings.HasSuffix(out, ": silence 5e1f0000-0000-4000-8000-000000000001\n") {
		t.Errorf("silence: exit %d %q %q", code, out, errs)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(f.body("POST /api/v1/projects/shop/silences")), &body); err != nil ||
		body["element"] != "api" || body["comment"] != "deploying a fix" || body["duration"] != "2h0m0s" {
		t.Errorf("silence body %v (%v)", body, err)
	}
	code, _, errs = run(t, "", "alerts", "silence", "-f", file, "ghost", "--for", "2h", "--comment", "x")
	if code != exitUsage || !strings.Contains(errs, `alerts silence: no element "ghost" in `+file) {
		t.Errorf("silence ghost: exit %d %q", code, errs)
	}

	code, out, _ = run(t, "", "alerts", "silences", "-f", file)
	if code != 0 || !strings.Contains(out, "5e1f0000-0000-4000-8000-000000000001  api      active") {
		t.Errorf("silences: exit %d\n%s", code, out)
	}
	code, out, errs = run(t, "", "alerts", "expire", "-f", file, "5e1f0000-0000-4000-8000-000000000001")
	if code != 0 || out != "expired silence 5e1f0000-0000-4000-8000-000000000001\n" {
		t.Errorf("expire: exit %d %q %q", code, out, errs)
	}
	code, _, errs = run(t, "", "alerts", "expire", "-f", file, "nope")
	if code != 1 || !strings.Contains(errs, "alerts expire: "+f.URL+": no silence nope in shop") {
		t.Errorf("expire nope: exit %d %q", code, errs)
	}
}

func TestAlertsServerFaults(t *testing.T) {
	commands := [][]string{{"alerts"}, {"alerts", "silences"}, {"alerts", "expire", "5e1f"},
		{"alerts", "silence", "api", "--for", "1h", "--comment", "x"}}
	faults := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"503 no alertmanager", func(w http.ResponseWriter, r *http.Request) {
			apiError(w, 503, "no_alertmanager", "alerts are off: this server has no Alertmanager (set BACKPLANE_ALERTMANAGER_URL)")
		}, "%s: SERVER: alerts are off: this server has no Alertmanager (set BACKPLANE_ALERTMANAGER_URL)"},
		{"502 alertmanager down", func(w http.ResponseWriter, r *http.Request) {
			apiError(w, 502, "alertmanager_unreachable", "alertmanager: list alerts: connection refused")
		}, "%s: the server SERVER cannot reach its Alertmanager: alertmanager: list alerts: connection refused"},
		{"500", func(w http.ResponseWriter, r *http.Request) {
			apiError(w, 500, "internal", "internal error")
		}, "%s: the server SERVER failed: internal error"},
		{"403", func(w http.ResponseWriter, r *http.Request) {
			apiError(w, 403, "forbidden", "your role in shop is viewer; this needs deployer")
		}, "%s: the server refused: your role in shop is viewer; this needs deployer"},
		{"401", func(w http.ResponseWriter, r *http.Request) {
			apiError(w, 401, "unauthorized", "the token has expired or was revoked")
		}, "%s: not signed in to SERVER (the token has expired or was revoked): run backplane login --server SERVER"},
		{"400 on a field", func(w http.ResponseWriter, r *http.Request) {
			apiError(w, 400, "bad_request", "at most 720h")
		}, "%s: SERVER: at most 720h"},
	}
	for _, fl := range faults {
		t.Run(fl.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{"/": fl.handler})
			file := useServer(t, f.URL)
			for _, args := range commands {
				name := strings.Join(args[:min(2, len(args))], " ")
				code, out, errs := run(t, "", append(args, "-f", file)...)
				want := strings.ReplaceAll(fmt.Sprintf(fl.want, name), "SERVER", f.URL) + "\n"
				if code != 1 || out != "" || errs != want {
					t.Errorf("%v: exit %d, stderr %q, want %q", args, code, errs, want)
				}
				noLeak(t, out, errs)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		f := newFake(t, nil)
		url := f.URL
		f.Close()
		file := useServer(t, url)
		for _, args := range commands {
			code, _, errs := run(t, "", append(args, "-f", file)...)
			if code != 1 || !strings.Contains(errs, ": cannot reach the server "+url+": ") {
				t.Errorf("%v: exit %d %q", args, code, errs)
			}
		}
	})
}

func TestProjectSecretsThroughServer(t *testing.T) {
	var mu sync.Mutex
	var got string
	f := newFake(t, map[string]http.HandlerFunc{
		"PUT /api/v1/projects/shop/secrets/_project/SLACK_URL": func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			got = string(b)
			mu.Unlock()
			reply(w, 200, map[string]any{"name": "SLACK_URL", "version": 3})
		},
		"GET /api/v1/projects/shop/secrets/_project": func(w http.ResponseWriter, r *http.Request) {
			reply(w, 200, map[string]any{"secrets": []map[string]any{{"name": "SLACK_URL", "version": 3, "declared": true, "set": true}}})
		},
	})
	file := useServer(t, f.URL)
	const value = "https://hooks.slack.com/services/T000/B000/XXXX"
	code, out, errs := run(t, value+"\n", "secrets", "set", "-f", file, "--project", "SLACK_URL")
	if code != 0 || out != "set SLACK_URL for project shop (version 3)\n" {
		t.Fatalf("set --project: exit %d %q %q", code, out, errs)
	}
	if got != value {
		t.Errorf("the server got %q", got)
	}
	if strings.Contains(out+errs, value) {
		t.Errorf("the value was printed")
	}
	code, out, _ = run(t, "", "secrets", "list", "-f", file, "--project")
	if code != 0 || out != "SLACK_URL                3\n" {
		t.Errorf("list --project: exit %d %q", code, out)
	}
	if c := f.called(); len(c) != 2 {
		t.Errorf("calls %q (the set's answer carries the version: no list needed)", c)
	}
}

func TestSecretsArguments(t *testing.T) {
	f := newFake(t, nil)
	file := useServer(t, f.URL)
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"set", "--project", "api", "SLACK_URL"}, "secrets set: with --project, want NAME only (got 2 arguments)"},
		{[]string{"set", "--project"}, "secrets set: with --project, want NAME only (got 0 arguments)"},
		{[]string{"set", "api"}, "secrets set: want ELEMENT NAME, or --project NAME (got 1 argument)"},
		{[]string{"set", "_project", "SLACK_URL"}, "secrets set: _project is not an element: use --project for the project's secrets"},
		{[]string{"set", "--project", "not-a-name"}, `secrets set: "not-a-name" is not a valid secret name`},
		{[]string{"list", "--project", "api"}, `secrets list: --project takes no ELEMENT (got ["api"])`},
		{[]string{"list"}, "secrets list: want ELEMENT, or --project (got 0 arguments)"},
		{[]string{"list", "_project"}, "secrets list: _project is not an element"},
	}
	for _, c := range cases {
		code, out, errs := run(t, "v", append(append([]string{"secrets"}, c.args...), "-f", file)...)
		if code != exitUsage || out != "" || !strings.Contains(errs, c.msg) {
			t.Errorf("%q: exit %d %q %q, want %q", c.args, code, out, errs, c.msg)
		}
	}
	if c := f.called(); len(c) != 0 {
		t.Errorf("refused arguments reached the server: %q", c)
	}
}
