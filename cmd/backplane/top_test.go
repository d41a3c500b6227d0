package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/observe/metrics"
)

const mib = 1 << 20

var topNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// topSnapshot has, out of order: a running instance with figures, a
// pending one, one whose stats failed, and one of an element without
// reservations.
func topSnapshot() metrics.Snapshot {
	return metrics.Snapshot{At: topNow, Instances: []metrics.Instance{
		{Element: "db", Region: "us", Alloc: "9f3c2b1a-0000-4000-8000-000000000003", State: "running", Restarts: 2,
			CPUReservedMHz: 500, MemoryLimitBytes: 1024 * mib, StartedAt: topNow.Add(-50 * time.Hour),
			Error: "region us: stats of instance 9f3c2b1a: Unexpected response code: 500 (rpc error:\nno path to node)"},
		{Element: "api", Region: "eu", Alloc: "d2e4f6a8-0000-4000-8000-000000000002", State: "pending",
			CPUReservedMHz: 300, MemoryLimitBytes: 64 * mib},
		{Element: "api", Region: "eu", Alloc: "1a2b3c4d-0000-4000-8000-000000000001", State: "running", Restarts: 0,
			CPUMHz: 35.4, CPUReservedMHz: 300, CPUPercent: 11.8, MemoryBytes: 64174080, MemoryLimitBytes: 64 * mib, MemoryPercent: 95.6,
			StartedAt: topNow.Add(-(12*time.Minute + 5*time.Second)), At: topNow},
		{Element: "worker", Region: "eu", Alloc: "77777777-0000-4000-8000-000000000004", State: "running", Restarts: 11,
			CPUMHz: 0.4, MemoryBytes: 512, StartedAt: topNow.Add(-45 * time.Second), At: topNow},
	}}
}

func TestTopTable(t *testing.T) {
	snap := normalizeSnapshot(topSnapshot())
	got := topTable(snap, []string{"web in ap: region ap: connection refused"}, nil).lines()
	want := []string{
		"ELEMENT  REGION  ALLOC     STATE    CPU           MEM/LIMIT                RESTARTS  UPTIME",
		"api      eu      1a2b3c4d  running  35 MHz (12%)  61.2 MiB / 64 MiB (96%)  0         12m5s",
		"api      eu      d2e4f6a8  pending  -             -                        0         -",
		"db       us      9f3c2b1a  running  -             -                        2         2d2h",
		"worker   eu      77777777  running  0.4 MHz       512 B                    11        45s",
		"note: no figures for 1 instance: region us: stats of instance 9f3c2b1a: Unexpected response code: 500 (rpc error: no path to node)",
		"note: web in ap: region ap: connection refused",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Every cell starts where its header does.
	for _, row := range got[1:5] {
		for _, h := range topColumns {
			at := strings.Index(got[0], h)
			if at > 0 && row[at-1] != ' ' || row[at] == ' ' {
				t.Errorf("row %q: column %s does not start at %d", row, h, at)
			}
		}
	}
}

func TestTopTableNotes(t *testing.T) {
	t.Run("one note for many failures", func(t *testing.T) {
		snap := metrics.Snapshot{At: topNow}
		for i, e := range []string{"boom", "boom", "other"} {
			snap.Instances = append(snap.Instances, metrics.Instance{Element: "api", Region: "eu", Alloc: fmt.Sprint(i), State: "running", Error: e})
		}
		notes := topTable(snap, nil, nil).notes
		if len(notes) != 1 || notes[0] != "note: no figures for 3 instances: boom (and 1 other error)" {
			t.Errorf("notes %q", notes)
		}
	})
	t.Run("no instances", func(t *testing.T) {
		f := topTable(metrics.Snapshot{At: topNow}, []string{"not deployed: api in eu"}, nil)
		if len(f.rows) != 1 || !strings.Contains(f.rows[0], "no instance") || len(f.notes) != 1 {
			t.Errorf("rows %q notes %q", f.rows, f.notes)
		}
	})
}

func TestTopColumnsDoNotShrink(t *testing.T) {
	wide := metrics.Snapshot{At: topNow, Instances: []metrics.Instance{{Element: "a-very-long-element", Region: "eu", Alloc: "1", State: "pending"}}}
	narrow := metrics.Snapshot{At: topNow, Instances: []metrics.Instance{{Element: "db", Region: "eu", Alloc: "1", State: "pending"}}}
	first := topTable(wide, nil, nil)
	second := topTable(narrow, nil, first.widths)
	if strings.Index(second.header, "REGION") != strings.Index(first.header, "REGION") {
		t.Errorf("columns moved:\n%s\n%s", first.header, second.header)
	}
	if alone := topTable(narrow, nil, nil); strings.Index(alone.header, "REGION") != len("ELEMENT  ") {
		t.Errorf("a fresh table is not as narrow as it can be: %q", alone.header)
	}
}

func TestTopHumanUnits(t *testing.T) {
	cases := []struct {
		name, got, want string
	}{
		{"bytes", humanBytes(0), "0 B"},
		{"bytes below a KiB", humanBytes(1023), "1023 B"},
		{"a KiB", humanBytes(1024), "1 KiB"},
		{"MiB with a decimal", humanBytes(64174080), "61.2 MiB"},
		{"whole MiB", humanBytes(128 * mib), "128 MiB"},
		{"rounds up into the next unit", humanBytes(1024*mib - 1), "1 GiB"},
		{"GiB", humanBytes(3*1024*mib + 512*mib), "3.5 GiB"},
		{"MHz below 10", humanMHz(0.04), "0 MHz"},
		{"MHz with a decimal", humanMHz(3.25), "3.2 MHz"},
		{"MHz rounds to 10", humanMHz(9.97), "10 MHz"},
		{"whole MHz", humanMHz(35.4), "35 MHz"},
		{"percent below 10", humanPercent(0.44), "0.4%"},
		{"zero percent", humanPercent(0), "0%"},
		{"whole percent", humanPercent(95.6), "96%"},
		{"past the reservation", humanPercent(250), "250%"},
		{"seconds", humanUptime(45 * time.Second), "45s"},
		{"negative (clock skew)", humanUptime(-time.Second), "0s"},
		{"minutes", humanUptime(12*time.Minute + 5*time.Second), "12m5s"},
		{"hours", humanUptime(3*time.Hour + 4*time.Minute + 59*time.Second), "3h4m"},
		{"days", humanUptime(50 * time.Hour), "2d2h"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestTopScreen(t *testing.T) {
	f := topTable(normalizeSnapshot(topSnapshot()), nil, nil)
	f.head = []string{"backplane top: shop, every 2s, at 12:00:00 (Ctrl-C quits)"}

	t.Run("not a terminal: frames one after another, no escape codes", func(t *testing.T) {
		var b bytes.Buffer
		s := newTopScreen(&b)
		s.draw(f)
		s.draw(f)
		out := b.String()
		if strings.Contains(out, "\033") {
			t.Errorf("escape codes in %q", out)
		}
		one := strings.Join(f.lines(), "\n") + "\n"
		if out != one+"\n"+one {
			t.Errorf("got:\n%s", out)
		}
	})

	t.Run("terminal: in place, cut to the window", func(t *testing.T) {
		var b bytes.Buffer
		width, height := 40, 30
		s := &topScreen{w: &b, tty: true, size: func() (int, int) { return width, height }, clear: true}
		s.draw(f)
		first := b.String()
		if !strings.HasPrefix(first, "\033[H\033[2J") || !strings.HasSuffix(first, "\033[J") {
			t.Errorf("first frame does not clear the screen: %q", first)
		}
		lines := strings.Split(strings.TrimSuffix(strings.TrimPrefix(first, "\033[H\033[2J"), "\033[J"), "\033[K\n")
		lines = lines[:len(lines)-1]
		if len(lines) != len(f.lines()) {
			t.Fatalf("%d lines, want %d", len(lines), len(f.lines()))
		}
		for i, l := range lines {
			if n := len([]rune(l)); n > width-1 || !strings.HasPrefix(f.lines()[i], l) {
				t.Errorf("line %d %q (%d characters): not a cut of %q to %d", i, l, n, f.lines()[i], width-1)
			}
		}
		b.Reset()
		s.draw(f)
		if again := b.String(); !strings.HasPrefix(again, "\033[H") || strings.Contains(again, "\033[2J") {
			t.Errorf("a redraw clears the screen (it flickers): %q", again)
		}
		// A resize clears the screen once: the terminal may have reflowed
		// the old frame.
		width, height = 200, 5
		s.resized()
		b.Reset()
		s.draw(f)
		out := b.String()
		if !strings.HasPrefix(out, "\033[H\033[2J") {
			t.Errorf("a resize does not clear the screen: %q", out)
		}
		got := strings.Split(strings.TrimSuffix(strings.TrimPrefix(out, "\033[H\033[2J"), "\033[K\n\033[J"), "\033[K\n")
		// 5 rows: 4 lines and the cursor's; the notes stay, rows go.
		want := []string{f.head[0], f.header, "… 4 more (narrow with --element or --region)", f.notes[0]}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("in 5 rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

func TestTopFitKeepsSomeRows(t *testing.T) {
	f := frame{head: []string{"h"}, header: "H", rows: []string{"1", "2", "3", "4", "5"}, notes: []string{"n"}}
	if got := strings.Join(f.fit(6), ","); got != "h,H,1,2,… 3 more (narrow with --element or --region),n" {
		t.Errorf("fit(6): %s", got)
	}
	if got := strings.Join(f.fit(8), ","); got != "h,H,1,2,3,4,5,n" {
		t.Errorf("fit(8): %s", got)
	}
	if got := f.fit(2); len(got) != 2 {
		t.Errorf("fit(2): %q", got)
	}
}

// statsCall is one stats read the direct path made.
type statsCall struct{ alloc, namespace string }

func TestTopDirectReadsEachRunningInstanceOnce(t *testing.T) {
	targets := []jobs.Target{
		{Element: "api", Region: "eu", JobID: "shop-api", Namespace: "team"},
		{Element: "cache", Region: "eu", JobID: "shop-cache"},
		{Element: "db", Region: "us", JobID: "shop-db"},
		{Element: "web", Region: "ap", JobID: "shop-web"},
	}
	status := func(_ context.Context, ts []jobs.Target) []jobs.Status {
		return []jobs.Status{
			{Element: "api", Region: "eu", JobID: "shop-api", State: jobs.StateDeploying, Signals: &jobs.Signals{
				CPUReservedMHz: 200, MemoryLimitBytes: 100 * mib,
				Instances: []jobs.Instance{
					{ID: "a2", State: "running", Restarts: 1, StartedAt: topNow.Add(-time.Minute)},
					{ID: "a1", State: "running"},
					{ID: "a3", State: "pending"},
				}}},
			{Element: "cache", Region: "eu", JobID: "shop-cache", State: jobs.StateStopped, LastEvent: "not registered"},
			{Element: "db", Region: "us", JobID: "shop-db", State: jobs.StateHealthy, Signals: &jobs.Signals{
				Instances: []jobs.Instance{{ID: "d1", State: "running"}}}},
			{Element: "web", Region: "ap", JobID: "shop-web", State: jobs.StateUnknown, LastEvent: "region ap: dial tcp: connection refused"},
		}
	}
	var mu sync.Mutex
	var calls []statsCall
	stats := func(_ context.Context, t jobs.Target, alloc string) (jobs.AllocStats, error) {
		mu.Lock()
		calls = append(calls, statsCall{alloc, t.Namespace})
		mu.Unlock()
		if alloc == "d1" {
			return jobs.AllocStats{}, errors.New("region us: stats of instance d1: no path to node")
		}
		return jobs.AllocStats{CPUMHz: 50, MemoryBytes: 25 * mib, At: topNow}, nil
	}
	src := newClusterTop("shop", targets, status, stats)
	snap, notes, err := src.snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i].alloc < calls[j].alloc })
	if fmt.Sprint(calls) != "[{a1 team} {a2 team} {d1 }]" {
		t.Errorf("stats reads %v: want one per running instance, with the job's namespace", calls)
	}
	var order []string
	for _, in := range snap.Instances {
		order = append(order, in.Element+"/"+in.Alloc)
	}
	if strings.Join(order, " ") != "api/a1 api/a2 api/a3 db/d1" {
		t.Errorf("order %v", order)
	}
	a2 := snap.Instances[1]
	if a2.CPUPercent != 25 || a2.MemoryPercent != 25 || a2.Restarts != 1 || a2.At != topNow {
		t.Errorf("api/a2 %+v", a2)
	}
	if p := snap.Instances[2]; p.State != "pending" || !p.At.IsZero() || p.Error != "" {
		t.Errorf("pending %+v", p)
	}
	if d := snap.Instances[3]; d.Error == "" || !d.At.IsZero() {
		t.Errorf("db/d1 %+v: want its error and no figures", d)
	}
	if strings.Join(notes, "|") != "web in ap: region ap: dial tcp: connection refused|not deployed: cache in eu" {
		t.Errorf("notes %q", notes)
	}
}

func TestTopArguments(t *testing.T) {
	t.Setenv("NOMAD_ADDR", "http://127.0.0.1:1") // nothing here reaches it
	file := writeFile(t, t.TempDir(), "backplane.yaml", shopYAML)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"an argument", []string{"api"}, `unknown command "api" for "backplane top"`},
		{"interval too short", []string{"--interval", "200ms"}, "top: --interval: want at least 1s, got 200ms"},
		{"not a duration", []string{"--interval", "2"}, `invalid argument "2" for "--interval"`},
		{"unknown element", []string{"--element", "apii"}, `top: --element: no element "apii" in ` + file},
		{"unknown region", []string{"--region", "mars"}, `top: --region: no element of ` + file + ` runs in region "mars" (regions: global)`},
		{"element not in region", []string{"--element", "api", "--region", "mars"}, `top: --region: api runs in region "mars" (regions: global)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := run(t, "", append([]string{"top", "-f", file}, c.args...)...)
			if code != exitUsage || out != "" || !strings.Contains(errs, c.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, out, errs, c.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		code, _, errs := run(t, "", "top", "-f", "/nonexistent/backplane.yaml")
		if code != exitUsage || !strings.Contains(errs, "read /nonexistent/backplane.yaml") {
			t.Errorf("exit %d: %s", code, errs)
		}
	})
}

// topServer answers /metrics/now with the snapshot, recording each query.
func topServer(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) (*fake, chan string) {
	queries := make(chan string, 100)
	var n atomic.Int32
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /api/v1/projects/shop/metrics/now": func(w http.ResponseWriter, r *http.Request) {
			queries <- r.URL.RawQuery
			answer(int(n.Add(1)), w, r)
		},
	})
	return f, queries
}

func TestTopThroughServer(t *testing.T) {
	f, queries := topServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { reply(w, 200, topSnapshot()) })
	file := useServer(t, f.URL)

	code, out, errs := run(t, "", "top", "--once", "-f", file)
	want := strings.Join(topTable(normalizeSnapshot(topSnapshot()), nil, nil).lines(), "\n") + "\n"
	if code != 0 || out != want {
		t.Errorf("exit %d, stderr %s\ngot:\n%s\nwant:\n%s", code, errs, out, want)
	}
	if q := <-queries; q != "" {
		t.Errorf("query %q, want none", q)
	}

	code, out, errs = run(t, "", "top", "--json", "-f", file, "--element", "api", "--region", "global")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if q := <-queries; q != "element=api&region=global" {
		t.Errorf("query %q", q)
	}
	// The document is metrics.Snapshot: {"instances": [...], "at": ...},
	// the instances sorted by element, region and alloc.
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc) != 2 || doc["instances"] == nil || doc["at"] == nil {
		t.Fatalf("%v: %s", err, out)
	}
	var ins []map[string]any
	if err := json.Unmarshal(doc["instances"], &ins); err != nil || len(ins) != 4 {
		t.Fatalf("%v: %s", err, doc["instances"])
	}
	for _, k := range []string{"element", "region", "alloc", "state", "cpu_mhz", "cpu_reserved_mhz", "cpu_percent",
		"memory_bytes", "memory_limit_bytes", "memory_percent", "restarts", "started_at", "at"} {
		if _, ok := ins[0][k]; !ok {
			t.Errorf("instance lacks %q: %v", k, ins[0])
		}
	}
	if ins[0]["alloc"] != "1a2b3c4d-0000-4000-8000-000000000001" || ins[1]["state"] != "pending" || ins[2]["error"] == nil {
		t.Errorf("instances out of order or incomplete: %s", doc["instances"])
	}
	if _, ok := ins[1]["at"]; ok {
		t.Errorf("a pending instance has an \"at\": %v", ins[1])
	}
	noLeak(t, out, errs)
}

func TestTopThroughServerEmptyAnswer(t *testing.T) {
	f, _ := topServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		reply(w, 200, map[string]any{"instances": nil, "at": topNow})
	})
	file := useServer(t, f.URL)
	code, out, _ := run(t, "", "top", "--json", "-f", file)
	if code != 0 || !strings.Contains(out, `"instances": []`) {
		t.Errorf("exit %d: %s", code, out)
	}
}

func TestTopServerFaults(t *testing.T) {
	faults := []struct {
		name    string
		handler func(w http.ResponseWriter)
		want    string
	}{
		{"503 no cluster", func(w http.ResponseWriter) {
			apiError(w, 503, "no_cluster", "no cluster connected: set NOMAD_ADDR")
		}, "top: URL: no cluster connected: set NOMAD_ADDR"},
		{"401", func(w http.ResponseWriter) {
			apiError(w, 401, "unauthorized", "the token has expired or was revoked")
		}, "top: not signed in to URL (the token has expired or was revoked): run backplane login --server URL"},
		{"404", func(w http.ResponseWriter) {
			apiError(w, 404, "not_found", `no project "shop"`)
		}, `top: no project "shop" on URL (it does not exist, or you have no role in it)`},
		{"500", func(w http.ResponseWriter) {
			apiError(w, 500, "internal", "internal error: database is locked")
		}, "top: the server URL failed: internal error: database is locked"},
	}
	for _, fl := range faults {
		for _, mode := range [][]string{{"--once"}, {"--json"}, {}} {
			t.Run(fl.name+" "+strings.Join(mode, ""), func(t *testing.T) {
				f, _ := topServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { fl.handler(w) })
				file := useServer(t, f.URL)
				code, out, errs := run(t, "", append([]string{"top", "-f", file}, mode...)...)
				want := strings.ReplaceAll(fl.want, "URL", f.URL)
				if code != exitInvalid || out != "" || !strings.Contains(errs, want+"\n") {
					t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 1 and a line %q", code, out, errs, want)
				}
				noLeak(t, out, errs)
			})
		}
	}
	t.Run("unreachable", func(t *testing.T) {
		f := newFake(t, nil)
		url := f.URL
		f.Close()
		file := useServer(t, url)
		code, out, errs := run(t, "", "top", "--once", "-f", file)
		if code != exitInvalid || out != "" || !strings.Contains(errs, "top: cannot reach the server "+url+": ") || !strings.Contains(errs, "connection refused") {
			t.Errorf("exit %d, stdout %q, stderr %s", code, out, errs)
		}
	})
}

// liveTop runs a live `backplane top` (stdout not a terminal) until it has
// printed n lines, then sends Ctrl-C.
func liveTopRun(t *testing.T, n int, args ...string) (int, string, string) {
	t.Helper()
	out := &interrupter{n: n}
	var errs bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Main(append([]string{"top", "--interval", "1s"}, args...), strings.NewReader(""), out, &errs)
	}()
	select {
	case code := <-done:
		return code, out.String(), errs.String()
	case <-time.After(15 * time.Second):
		t.Fatalf("live top printed %q, want %d lines; stderr %q", out.String(), n, errs.String())
	}
	return 0, "", ""
}

func TestTopLiveThroughServer(t *testing.T) {
	one := metrics.Snapshot{At: topNow, Instances: []metrics.Instance{topSnapshot().Instances[2]}}
	f, _ := topServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 2 {
			apiError(w, 500, "internal", "internal error: database is locked")
			return
		}
		reply(w, 200, one)
	})
	file := useServer(t, f.URL)
	// Two tables of three lines, a blank line between: then Ctrl-C.
	code, out, errs := liveTopRun(t, 7, "-f", file)
	if code != 0 {
		t.Fatalf("exit %d after Ctrl-C, want 0; stderr %s", code, errs)
	}
	tables := strings.Split(out, "\n\n")
	if len(tables) != 2 || strings.Contains(out, "\033") {
		t.Fatalf("want two tables without escape codes:\n%q", out)
	}
	for _, tb := range tables {
		lines := strings.Split(strings.TrimSuffix(tb, "\n"), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "backplane top: shop, every 1s, at ") ||
			!strings.HasPrefix(lines[1], "ELEMENT") || !strings.HasPrefix(lines[2], "api ") {
			t.Errorf("table %q", tb)
		}
	}
	// The refresh that failed was said, and the next one went on.
	if !strings.Contains(errs, "top: refresh failed: internal error: database is locked; retrying\n") {
		t.Errorf("stderr %q", errs)
	}
	if calls := len(f.called()); calls != 3 {
		t.Errorf("%d requests, want 3 (one refresh each)", calls)
	}
}

func TestTopLiveStopsWhenTheServerRefuses(t *testing.T) {
	f, _ := topServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n > 1 {
			apiError(w, 401, "unauthorized", "the token has expired or was revoked")
			return
		}
		reply(w, 200, topSnapshot())
	})
	file := useServer(t, f.URL)
	code, out, errs := liveTopRun(t, 1000, "-f", file)
	if code != exitInvalid || !strings.Contains(errs, "top: not signed in to "+f.URL) || !strings.Contains(out, "ELEMENT") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
