package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLogsInBrowser drives the editor's Logs tab and the project's Logs page
// (issue 9) in a real headless Chromium against a real `backplane serve`
// reading a real Loki (the run's, shared): web/ui/e2e/logs.e2e.mjs signs in, opens an element's
// Logs tab and sees that element's lines only (not the other element's,
// not another project's), pages back with "Load older", searches plain
// text and a regex (the match highlighted; a bad regex shows the server's
// error), filters by stream, region and allocation, live-tails a line it
// pushes to Loki itself, and opens the project's Logs page. Skipped without
// chromium, node, the built editor or `loki`.
func TestLogsInBrowser(t *testing.T) {
	b := requireBrowser(t)
	loki := startLoki(t)
	s := serve(t, "BACKPLANE_LOKI_URL="+loki.URL, "BACKPLANE_LOKI_TENANT="+lokiTenant)

	// The run's Loki is shared (and kept across -count): each run of this
	// test has projects of its own.
	logsBrowserRuns++
	slug, other := "e2e-logs", "e2e-logs-other"
	if logsBrowserRuns > 1 {
		slug, other = fmt.Sprintf("e2e-logs-%d", logsBrowserRuns), fmt.Sprintf("e2e-logs-other-%d", logsBrowserRuns)
	}
	for p, tmpl := range map[string]string{slug: logsBrowserYAML, other: logsBrowserOtherYAML} {
		yaml := strings.ReplaceAll(tmpl, "PROJECT", p)
		if code, _, body := s.call(t, "POST", "/projects", `{"slug":"`+p+`"}`, "Content-Type", "application/json"); code != 201 {
			t.Fatalf("create %s: %d %s", p, code, body)
		}
		if code, _, body := s.call(t, "PUT", "/projects/"+p+"/schema", yaml, "Content-Type", "application/yaml", "If-Match", "*"); code != 200 {
			t.Fatalf("schema of %s: %d %s", p, code, body)
		}
	}
	admin := e2eAdmin(t, s, "lena")

	now := time.Now()
	fx := logsFixture(now, slug, other)
	pushLokiJSON(t, loki, fx.lines)
	// The suite starts once serve finds the lines (the first and last of
	// each kind), so the browser sees them all on its first search.
	deadline := time.Now().Add(15 * time.Second)
	for _, c := range []struct {
		slug, query string
		n           int
	}{
		{slug, "element=worker", fx.expect["worker"]},
		{slug, "element=api&q=" + url.QueryEscape("api line 030 "), 1},
		{slug, "element=api&q=" + url.QueryEscape("api bulk 0001 "), 1},
		{slug, "element=api&q=" + url.QueryEscape(fmt.Sprintf("api bulk %04d ", logsBulkLines)), 1},
		{other, "q=OTHER-PROJECT", 1},
	} {
		for {
			code, _, body := s.call(t, "GET", "/projects/"+c.slug+"/logs?since=1h&limit=100&"+c.query, "")
			var page struct {
				Lines []json.RawMessage `json:"lines"`
			}
			_ = json.Unmarshal([]byte(body), &page)
			if code == 200 && len(page.Lines) == c.n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("serve finds %d lines of %s?%s, want %d: %d %.300s", len(page.Lines), c.slug, c.query, c.n, code, body)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	expect, _ := json.Marshal(fx.expect)
	b.run(t, "logs.e2e.mjs", 5*time.Minute, append(admin,
		"BASE_URL="+s.URL, "E2E_SLUG="+slug, "LOKI_URL="+loki.URL, "LOKI_TENANT="+lokiTenant,
		"E2E_LOGS_EXPECT="+string(expect), "E2E_LOGS_DEPLOY_AT="+fx.deployAt.UTC().Format(time.RFC3339Nano))...)

	// The lines the suite pushed while live-tailing (one of api, shown,
	// and one of worker, not shown in api's tab) are in Loki, found
	// through serve like any other, and only in their project.
	code, _, body := s.call(t, "GET", "/projects/"+slug+"/logs?since=1h&q="+url.QueryEscape("LIVE-"), "")
	if code != 200 || !strings.Contains(body, "api line LIVE-") || !strings.Contains(body, "worker line LIVE-") {
		t.Errorf("the live lines through serve: %d %.500s", code, body)
	}
	if code, _, body := s.call(t, "GET", "/projects/"+other+"/logs?since=1h&q="+url.QueryEscape("LIVE-"), ""); code != 200 || strings.Contains(body, "LIVE-") {
		t.Errorf("another project sees the live lines: %d %.500s", code, body)
	}
}

// logsBrowserRuns counts the runs of TestLogsInBrowser in this process.
var logsBrowserRuns int

// The projects' schemas; PROJECT is the slug.
const logsBrowserYAML = `version: 1
project: PROJECT
regions:
  eu: { datacenters: [eu-west-1] }
  us: { datacenters: [us-east-1] }
defaults: { region: eu, driver: raw_exec }
elements:
  - { id: api, kind: app.command, command: "run-api", port: 8080, placement: { regions: [eu, us] } }
  - { id: worker, kind: worker, command: "run-worker" }
connections:
  - { from: worker, to: api }
layout: { api: { x: 80, y: 140 }, worker: { x: 420, y: 140 } }
`

const logsBrowserOtherYAML = `version: 1
project: PROJECT
defaults: { region: eu, driver: raw_exec }
elements:
  - { id: api, kind: app.command, command: "run-api", port: 8080 }
`

// e2eLogLine is one line pushed to Loki, with the sidecar's labels.
type e2eLogLine struct {
	project, element, region, alloc, stream string
	ts                                      time.Time
	text                                    string
}

type logsBrowserFixture struct {
	lines    []e2eLogLine
	expect   map[string]int
	deployAt time.Time
}

// logsBulkLines is how many older lines api has: more than the editor
// keeps in memory (5,000), so paging back reaches its cap.
const logsBulkLines = 5200

// Allocation IDs of the fixture: one per element and region.
const (
	allocAPIEU  = "a1e0c2d4-5b6f-4a8e-9c1d-0000000000e1"
	allocAPIUS  = "b7f3e9a1-2c4d-4e6f-8a0b-0000000000u1"
	allocWorker = "c3d5f7a9-1b2c-4d3e-9f8a-0000000000w1"
)

// logsFixture is what the suite searches: for project/api 30 numbered
// lines in the last 90 seconds (odd in eu, even in us; every sixth a
// timeout, a few errors, some on stderr) and logsBulkLines older "bulk"
// lines from 20 minutes ago (so the first page of 500 has "Load older",
// and paging back reaches the editor's cap of 5,000 lines); 12 lines of
// project/worker (some with "timeout" too); and one line of api in the
// other project. expect holds the counts the browser checks.
func logsFixture(now time.Time, project, other string) logsBrowserFixture {
	fx := logsBrowserFixture{expect: map[string]int{}}
	add := func(l e2eLogLine) { fx.lines = append(fx.lines, l) }
	start := now.Add(-90 * time.Second)
	for i := 1; i <= 30; i++ {
		region, alloc := "eu", allocAPIEU
		if i%2 == 0 {
			region, alloc = "us", allocAPIUS
			fx.expect["apiUS"]++
		}
		stream, text := "stdout", fmt.Sprintf("api line %03d GET /orders/%d 200 in %dms", i, 1000+i, 3+i%17)
		switch {
		case i%6 == 0:
			text = fmt.Sprintf("api line %03d timeout talking to db user=%d", i, i)
			fx.expect["apiTimeout"]++
		case i%10 == 3:
			text = fmt.Sprintf("api line %03d ERROR charge failed: card declined", i)
			stream = "stderr"
			fx.expect["apiError"]++
		}
		if i%5 == 0 {
			stream = "stderr"
		}
		if stream == "stderr" {
			fx.expect["apiStderr"]++
		}
		ts := start.Add(time.Duration(i) * 2 * time.Second)
		if i > 15 {
			fx.expect["apiSinceDeploy"]++
		}
		add(e2eLogLine{project, "api", region, alloc, stream, ts, text})
	}
	fx.deployAt = start.Add(31 * time.Second) // between api lines 15 and 16
	bulk := now.Add(-20 * time.Minute)
	for i := 1; i <= logsBulkLines; i++ {
		add(e2eLogLine{project, "api", "eu", allocAPIEU, "stdout", bulk.Add(time.Duration(i) * 20 * time.Millisecond),
			fmt.Sprintf("api bulk %04d GET /health 200", i)})
	}
	fx.expect["api"] = 30 + logsBulkLines
	for i := 1; i <= 12; i++ {
		stream, text := "stdout", fmt.Sprintf("worker line %03d processed job %d", i, 500+i)
		if i%4 == 0 {
			stream, text = "stderr", fmt.Sprintf("worker line %03d timeout polling the queue", i)
			fx.expect["workerTimeout"]++
		}
		add(e2eLogLine{project, "worker", "eu", allocWorker, stream, start.Add(time.Duration(i)*5*time.Second + time.Second), text})
	}
	fx.expect["worker"] = 12
	add(e2eLogLine{other, "api", "eu", allocAPIEU, "stdout", now.Add(-45 * time.Second), "api line 999 OTHER-PROJECT timeout talking to db"})
	return fx
}

// pushLokiJSON sends lines to Loki's push API as JSON, one stream per set
// of labels (project, element, region, alloc, task, stream: what the
// logship sidecar sends), in the suite's tenant.
func pushLokiJSON(t *testing.T, loki *realLoki, lines []e2eLogLine) {
	t.Helper()
	type stream struct {
		Stream map[string]string `json:"stream"`
		Values [][2]string       `json:"values"`
	}
	byLabels := map[string]*stream{}
	var order []string
	for _, l := range lines {
		k := strings.Join([]string{l.project, l.element, l.region, l.alloc, l.stream}, "|")
		s := byLabels[k]
		if s == nil {
			s = &stream{Stream: map[string]string{"project": l.project, "element": l.element, "region": l.region, "alloc": l.alloc, "task": l.element, "stream": l.stream}}
			byLabels[k] = s
			order = append(order, k)
		}
		s.Values = append(s.Values, [2]string{strconv.FormatInt(l.ts.UnixNano(), 10), l.text})
	}
	var streams []*stream
	for _, k := range order {
		streams = append(streams, byLabels[k])
	}
	body, _ := json.Marshal(map[string]any{"streams": streams})
	req, _ := http.NewRequest("POST", loki.URL+"/loki/api/v1/push", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Scope-OrgID", lokiTenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("push %d lines to loki: %d %s", len(lines), resp.StatusCode, data)
	}
}
