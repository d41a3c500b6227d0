package logship

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/backplane-dev/backplane/observe/logship/logshiptest"
)

func TestShipsEveryTaskButItselfWithLabels(t *testing.T) {
	for _, enc := range []struct {
		name, encoding, contentType string
	}{
		{"protobuf", EncodingProtobuf, "application/x-protobuf"},
		{"json", EncodingJSON, "application/json"},
	} {
		t.Run(enc.name, func(t *testing.T) {
			loki := logshiptest.New(t)
			dir := newAllocDir(t)
			newNomadLog(t, dir, "api", "stdout", 0, 0).Lines("api-out", 0, 100)
			newNomadLog(t, dir, "api", "stderr", 0, 0).Lines("api-err", 0, 50)
			newNomadLog(t, dir, "worker.v2", "stdout", 0, 0).Lines("worker", 0, 30)
			newNomadLog(t, dir, "logship", "stderr", 0, 0).Lines("self", 0, 10)
			// Nomad's pipes and anything else in the folder are not logs.
			for _, name := range []string{"api.stdout.fifo", "api.stdout.x", "notes.txt", ".api.stdout.0.swp"} {
				if err := os.WriteFile(filepath.Join(dir, "logs", name), []byte("nope\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cfg := testConfig(loki, dir)
			cfg.Encoding = enc.encoding
			r := start(t, cfg)
			loki.WaitCount(t, 180, 10*time.Second)
			r.stop(t)

			entries := loki.Entries()
			base := map[string]string{"project": "shop", "element": "api", "region": "eu", "alloc": "a1b2"}
			for _, tc := range []struct {
				task, stream, prefix string
				n                    int
			}{
				{"api", "stdout", "api-out", 100},
				{"api", "stderr", "api-err", 50},
				{"worker.v2", "stdout", "worker", 30},
			} {
				want := map[string]string{"task": tc.task, "stream": tc.stream}
				for k, v := range base {
					want[k] = v
				}
				checkExactlyOnce(t, logshiptest.Lines(entries, want), wantLines(tc.prefix, 0, tc.n))
			}
			if len(entries) != 180 {
				t.Fatalf("%s", logshiptest.Describe(entries))
			}
			for _, e := range entries {
				if len(e.Labels) != 6 {
					t.Fatalf("labels %v: want project, element, region, alloc, task, stream", e.Labels)
				}
			}
			if p := loki.Pushes(); p[enc.contentType] == 0 || len(p) != 1 {
				t.Fatalf("pushes %v, want only %s", p, enc.contentType)
			}
			if st := r.Stats(); st.LinesSent != 180 || st.LinesDropped != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestTimestampsIncreasePerStream(t *testing.T) {
	loki := logshiptest.New(t)
	dir := newAllocDir(t)
	// Equal lines read in one go must keep distinct timestamps, or Loki
	// would keep only one of them.
	newNomadLog(t, dir, "api", "stdout", 0, 0).Write([]byte(strings.Repeat("same\n", 500)))
	cfg := testConfig(loki, dir)
	fixed := time.Unix(1_700_000_000, 0)
	cfg.Now = func() time.Time { return fixed }
	r := start(t, cfg)
	loki.WaitCount(t, 500, 10*time.Second)
	r.stop(t)
	es := loki.Entries()
	for i := 1; i < len(es); i++ {
		if !es[i].TS.After(es[i-1].TS) {
			t.Fatalf("entry %d at %v, not after %v", i, es[i].TS, es[i-1].TS)
		}
	}
}

func TestFollowsRotation(t *testing.T) {
	loki := logshiptest.New(t)
	dir := newAllocDir(t)
	// 1 KiB files: lines are cut across files, as Nomad cuts them.
	w := newNomadLog(t, dir, "api", "stdout", 1024, 0)
	w.Lines("line", 0, 300)
	r := start(t, testConfig(loki, dir))
	loki.WaitCount(t, 300, 10*time.Second)
	// New index files appear while it runs, and old ones are removed.
	for i := 300; i < 1500; i += 100 {
		w.Lines("line", i, i+100)
		time.Sleep(5 * time.Millisecond)
	}
	loki.WaitCount(t, 1500, 10*time.Second)
	matches, _ := filepath.Glob(filepath.Join(dir, "logs", "api.stdout.*"))
	for _, m := range matches {
		if !strings.HasSuffix(m, ".0") && !strings.HasSuffix(m, ".1") {
			continue
		}
		if err := os.Remove(m); err != nil {
			t.Fatal(err)
		}
	}
	w.Lines("line", 1500, 1600)
	loki.WaitCount(t, 1600, 10*time.Second)
	r.stop(t)
	if w.index < 10 {
		t.Fatalf("only %d files written; the test needs rotation", w.index+1)
	}
	checkExactlyOnce(t, logshiptest.Lines(loki.Entries(), nil), wantLines("line", 0, 1600))
	if st := r.Stats(); st.FilesLost != 0 || st.BytesDropped != 0 {
		t.Fatalf("stats %+v: nothing was lost", st)
	}
}

func TestRestartResumesWithoutLossOrRepeats(t *testing.T) {
	loki := logshiptest.New(t)
	dir := newAllocDir(t)
	w := newNomadLog(t, dir, "api", "stdout", 4096, 0)
	w.Lines("line", 0, 1000)
	cfg := testConfig(loki, dir)

	r := start(t, cfg)
	loki.WaitCount(t, 1000, 10*time.Second)
	r.stop(t)
	// Written while no sidecar runs, across rotation, and a line left
	// unfinished at the stop is completed later.
	w.Lines("line", 1000, 2000)

	r = start(t, cfg)
	loki.WaitCount(t, 2000, 10*time.Second)
	w.Lines("line", 2000, 2500)
	loki.WaitCount(t, 2500, 10*time.Second)
	r.stop(t)

	// A third run with nothing new sends nothing.
	r = start(t, cfg)
	time.Sleep(100 * time.Millisecond)
	r.stop(t)
	if st := r.Stats(); st.LinesSent != 0 {
		t.Fatalf("third run sent %d lines, want 0", st.LinesSent)
	}
	checkExactlyOnce(t, logshiptest.Lines(loki.Entries(), nil), wantLines("line", 0, 2500))
}

func TestStoppedWhileLokiDownLosesNothing(t *testing.T) {
	loki := logshiptest.New(t)
	dir := newAllocDir(t)
	w := newNomadLog(t, dir, "api", "stdout", 0, 0)
	w.Lines("line", 0, 200)
	cfg := testConfig(loki, dir)
	cfg.FlushTimeout = 100 * time.Millisecond

	r := start(t, cfg)
	loki.WaitCount(t, 200, 10*time.Second)
	loki.SetStatus(http.StatusServiceUnavailable)
	w.Lines("line", 200, 400)
	waitFor(t, func() bool { return r.Stats().Retries > 0 })
	// Stopped with 200 lines read but never acknowledged: their offsets
	// were not saved, so the next run sends them.
	r.stop(t)
	loki.SetStatus(0)
	r = start(t, cfg)
	loki.WaitCount(t, 400, 10*time.Second)
	r.stop(t)
	checkExactlyOnce(t, logshiptest.Lines(loki.Entries(), nil), wantLines("line", 0, 400))
}

func TestLokiDownThenUp(t *testing.T) {
	for _, tc := range []struct {
		name       string
		down, up   func(t *testing.T, loki *logshiptest.Server)
		wantRefuse bool
	}{
		{"500s", func(_ *testing.T, l *logshiptest.Server) { l.SetStatus(http.StatusInternalServerError) },
			func(_ *testing.T, l *logshiptest.Server) { l.SetStatus(0) }, true},
		{"429s", func(_ *testing.T, l *logshiptest.Server) { l.SetStatus(http.StatusTooManyRequests) },
			func(_ *testing.T, l *logshiptest.Server) { l.SetStatus(0) }, true},
		{"connection refused", func(_ *testing.T, l *logshiptest.Server) { l.Down() },
			func(t *testing.T, l *logshiptest.Server) { l.Up(t) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loki := logshiptest.New(t)
			dir := newAllocDir(t)
			w := newNomadLog(t, dir, "api", "stderr", 2048, 0)
			tc.down(t, loki)
			r := start(t, testConfig(loki, dir))
			w.Lines("line", 0, 500)
			waitFor(t, func() bool { return r.Stats().Retries >= 3 })
			w.Lines("line", 500, 1000)
			tc.up(t, loki)
			loki.WaitCount(t, 1000, 10*time.Second)
			r.stop(t)
			checkExactlyOnce(t, logshiptest.Lines(loki.Entries(), nil), wantLines("line", 0, 1000))
			st := r.Stats()
			if st.LinesDropped != 0 || st.BytesDropped != 0 || st.LinesSent != 1000 {
				t.Fatalf("stats %+v", st)
			}
			if tc.wantRefuse && loki.Refused() < 3 {
				t.Fatalf("loki refused %d pushes, want retries", loki.Refused())
			}
			if !strings.Contains(r.log.String(), "loki push failed; retrying") || !strings.Contains(r.log.String(), "loki takes pushes again") {
				t.Fatalf("outage not reported:\n%s", r.log.String())
			}
		})
	}
}

// With Loki down, the shipper holds at most BufferBytes and stops reading;
// the files are the rest of the buffer. When Nomad removes files it never
// read, that is dropped, counted and reported, and the rest still arrives.
func TestBufferFullThenRotatedAwayIsCountedAsDropped(t *testing.T) {
	loki := logshiptest.New(t)
	dir := newAllocDir(t)
	w := newNomadLog(t, dir, "api", "stdout", 64<<10, 0)
	cfg := testConfig(loki, dir)
	cfg.BatchBytes = 4 << 10
	cfg.BufferBytes = 16 << 10
	loki.SetStatus(http.StatusBadGateway)
	r := start(t, cfg)

	pad := strings.Repeat("x", 87)
	var b bytes.Buffer
	for i := 0; i < 2500; i++ { // 100-byte lines: files 0 to 3, far more than the buffer
		fmt.Fprintf(&b, "keep-%06d %s\n", i, pad)
	}
	w.Write(b.Bytes())
	waitFor(t, func() bool { return r.Stats().Retries >= 2 })
	time.Sleep(50 * time.Millisecond) // several polls: the shipper has listed every file
	if got, max := r.bufferedBytes(), cfg.BufferBytes+2*readBuf; got > max {
		t.Fatalf("holding %d bytes with Loki down, want at most %d", got, max)
	}
	// Nomad (max_files) removes files 1 and 2 before they were read. File
	// 0 is open, so it is still read to its end.
	size1, size2 := fileSize(t, dir, "api.stdout.1"), fileSize(t, dir, "api.stdout.2")
	removeLog(t, dir, "api.stdout.1")
	removeLog(t, dir, "api.stdout.2")
	w.Lines("after", 0, 100)
	loki.SetStatus(0)

	waitFor(t, func() bool {
		ls := logshiptest.Lines(loki.Entries(), nil)
		return len(ls) > 0 && ls[len(ls)-1] == "after-000099"
	})
	got := logshiptest.Lines(loki.Entries(), nil)
	perFile := (64 << 10) / (len(pad) + 13)
	// File 0's lines, then (its last line is cut and finished in file 1,
	// which is gone) a joined line, then file 3's.
	var want []string
	for i := 0; i < perFile; i++ {
		want = append(want, fmt.Sprintf("keep-%06d %s", i, pad))
	}
	checkExactlyOnce(t, got[:perFile], want)
	if tail := got[len(got)-100:]; tail[0] != "after-000000" {
		checkExactlyOnce(t, tail, wantLines("after", 0, 100))
	}
	st := r.Stats()
	if st.BytesDropped != size1+size2 || st.FilesLost != 2 || st.LinesDropped != 0 {
		t.Fatalf("stats %+v, want %d bytes in 2 files dropped", st, size1+size2)
	}
	if !strings.Contains(r.log.String(), "dropped log data") || !strings.Contains(r.log.String(), "files_lost_total=2") {
		t.Fatalf("drop not reported on stderr:\n%s", r.log.String())
	}
	r.stop(t)
}

func TestRefusedBatchIsDroppedAndCounted(t *testing.T) {
	loki := logshiptest.New(t)
	dir := newAllocDir(t)
	w := newNomadLog(t, dir, "api", "stdout", 0, 0)
	loki.SetStatus(http.StatusBadRequest)
	cfg := testConfig(loki, dir)
	r := start(t, cfg)
	w.Lines("bad", 0, 10)
	waitFor(t, func() bool { return r.Stats().LinesDropped == 10 })
	loki.SetStatus(0)
	w.Lines("good", 0, 10)
	loki.WaitCount(t, 10, 5*time.Second)
	r.stop(t)
	checkExactlyOnce(t, logshiptest.Lines(loki.Entries(), nil), wantLines("good", 0, 10))
	if !strings.Contains(r.log.String(), "loki refused a batch") {
		t.Fatalf("refusal not reported:\n%s", r.log.String())
	}
}

func TestStopFlushesWhatItHolds(t *testing.T) {
	loki := logshiptest.New(t)
	dir := newAllocDir(t)
	w := newNomadLog(t, dir, "api", "stdout", 0, 0)
	cfg := testConfig(loki, dir)
	cfg.BatchWait = time.Hour // only a full batch or the stop sends
	r := start(t, cfg)
	w.Lines("line", 0, 50)
	w.Write([]byte("last words without a newline"))
	time.Sleep(100 * time.Millisecond)
	if n := loki.Count(); n != 0 {
		t.Fatalf("%d entries sent before the batch was due", n)
	}
	r.stop(t)
	want := append(wantLines("line", 0, 50), "last words without a newline")
	checkExactlyOnce(t, logshiptest.Lines(loki.Entries(), nil), want)
	st, err := loadState(cfg.withDefaults(t).StateFile)
	if err != nil {
		t.Fatal(err)
	}
	if p := st[streamKey{"api", "stdout"}]; p.Offset != fileSize(t, dir, "api.stdout.0") {
		t.Fatalf("saved offset %+v, want the end of the file", p)
	}
}

func TestLongLinesAreSplitWithAMarker(t *testing.T) {
	loki := logshiptest.New(t)
	dir := newAllocDir(t)
	// 4 MiB files, so the 1 MiB line also crosses a rotation.
	w := newNomadLog(t, dir, "api", "stdout", 4<<20, 0)
	w.Write(bytes.Repeat([]byte("p"), 3<<20+512<<10)) // pad: no newline yet...
	w.Write([]byte("\n"))
	long := strings.Repeat("é0123456789", (1<<20)/12) // multi-byte runes at every cut
	w.Write([]byte("before\n" + long + "\nafter\n"))
	r := start(t, testConfig(loki, dir))
	waitFor(t, func() bool {
		ls := logshiptest.Lines(loki.Entries(), nil)
		return len(ls) > 0 && ls[len(ls)-1] == "after"
	})
	r.stop(t)
	got := logshiptest.Lines(loki.Entries(), nil)
	var pieces []string
	for i, l := range got {
		if len(l) > DefaultMaxLineBytes {
			t.Fatalf("entry %d has %d bytes, over %d", i, len(l), DefaultMaxLineBytes)
		}
		if !utf8.ValidString(l) {
			t.Fatalf("entry %d is not UTF-8", i)
		}
		if l == "before" {
			pieces = got[i+1 : len(got)-1]
		}
	}
	if len(pieces) != 5 {
		t.Fatalf("1 MiB line in %d pieces, want 5", len(pieces))
	}
	var joined strings.Builder
	for i, p := range pieces {
		last := i == len(pieces)-1
		if strings.HasSuffix(p, LineSplitMarker) == last {
			t.Fatalf("piece %d of %d: marker present = %v", i, len(pieces), !last)
		}
		joined.WriteString(strings.TrimSuffix(p, LineSplitMarker))
	}
	if joined.String() != long {
		t.Fatal("pieces do not join back into the line")
	}
}

func TestInvalidUTF8IsReplaced(t *testing.T) {
	loki := logshiptest.New(t)
	dir := newAllocDir(t)
	w := newNomadLog(t, dir, "api", "stderr", 0, 0)
	w.Write([]byte("ok\nbad \xff\xfe byte\r\ncut \xe2\x82\nlatin1 caf\xe9\n\xc0\x80\nend\n"))
	r := start(t, testConfig(loki, dir))
	loki.WaitCount(t, 6, 5*time.Second)
	r.stop(t)
	want := []string{"ok", "bad \uFFFD byte", "cut \uFFFD", "latin1 caf\uFFFD", "\uFFFD", "end"}
	checkExactlyOnce(t, logshiptest.Lines(loki.Entries(), nil), want)
}

func TestStateSurvivesAndRejectsGarbage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "logship.state")
	want := map[streamKey]position{{"api", "stdout"}: {Index: 3, Offset: 77}, {"a.b", "stderr"}: {Index: 0, Offset: 5}}
	if err := saveState(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := loadState(path)
	if err != nil || len(got) != 2 || got[streamKey{"api", "stdout"}] != want[streamKey{"api", "stdout"}] || got[streamKey{"a.b", "stderr"}] != want[streamKey{"a.b", "stderr"}] {
		t.Fatalf("got %v, %v", got, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "sub", "*.tmp-*")); len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	for name, content := range map[string]string{
		"not json":    "{",
		"old version": `{"version": 0, "streams": {}}`,
		"bad stream":  `{"version": 1, "streams": {"api.stdin": {"index": 0, "offset": 0}}}`,
		"negative":    `{"version": 1, "streams": {"api.stdout": {"index": 0, "offset": -1}}}`,
	} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := loadState(path); !errors.Is(err, errCorruptState) {
			t.Errorf("%s: %v, want errCorruptState", name, err)
		}
	}
	if st, err := loadState(filepath.Join(dir, "missing")); err != nil || len(st) != 0 {
		t.Fatalf("missing file: %v, %v", st, err)
	}
}

func TestCorruptStateStartsOver(t *testing.T) {
	loki := logshiptest.New(t)
	dir := newAllocDir(t)
	newNomadLog(t, dir, "api", "stdout", 0, 0).Lines("line", 0, 10)
	cfg := testConfig(loki, dir)
	state := filepath.Join(dir, "data", DefaultStateFileName)
	if err := os.WriteFile(state, []byte("\x00garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := start(t, cfg)
	loki.WaitCount(t, 10, 5*time.Second)
	r.stop(t)
	checkExactlyOnce(t, logshiptest.Lines(loki.Entries(), nil), wantLines("line", 0, 10))
	if _, err := os.Stat(state + ".corrupt"); err != nil || !strings.Contains(r.log.String(), "offsets unreadable") {
		t.Fatalf("bad state not set aside and reported: %v\n%s", err, r.log.String())
	}
	if _, err := loadState(state); err != nil {
		t.Fatalf("new state: %v", err)
	}
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no url", Config{AllocDir: "/a"}, "loki url: required"},
		{"bad url", Config{LokiURL: "loki:3100", AllocDir: "/a"}, "must be an http or https URL"},
		{"no alloc dir", Config{LokiURL: "http://l"}, "alloc dir: required"},
		{"bad label", Config{LokiURL: "http://l", AllocDir: "/a", Labels: map[string]string{"9x": "y"}}, `label "9x"`},
		{"reserved label", Config{LokiURL: "http://l", AllocDir: "/a", Labels: map[string]string{"task": "y"}}, "set by the shipper"},
		{"encoding", Config{LokiURL: "http://l", AllocDir: "/a", Encoding: "xml"}, `encoding "xml"`},
		{"tiny lines", Config{LokiURL: "http://l", AllocDir: "/a", MaxLineBytes: 10}, "max line bytes 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	c := Config{LokiURL: "http://loki:3100/", AllocDir: "/a"}
	if err := c.fill(); err != nil || c.pushURL() != "http://loki:3100/loki/api/v1/push" || c.StateFile != "/a/data/logship.state" {
		t.Fatalf("%v %q %q", err, c.pushURL(), c.StateFile)
	}
}

func TestParseLabels(t *testing.T) {
	got, err := ParseLabels([]string{"project=shop", "alloc=a=b", "empty="})
	if err != nil || got["project"] != "shop" || got["alloc"] != "a=b" || got["empty"] != "" {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range [][]string{{"novalue"}, {"=x"}, {"a=1", "a=2"}} {
		if _, err := ParseLabels(bad); err == nil {
			t.Errorf("%v: parsed", bad)
		}
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fileSize(t testing.TB, dir, name string) int64 {
	t.Helper()
	info, err := os.Stat(filepath.Join(dir, "logs", name))
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

func removeLog(t testing.TB, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, "logs", name)); err != nil {
		t.Fatal(err)
	}
}

func (c Config) withDefaults(t testing.TB) Config {
	t.Helper()
	if err := c.fill(); err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *Shipper) bufferedBytes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buffered
}
