package logship

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/observe/logship/logshiptest"
)

// benchChildEnv makes the test binary run a shipper instead of the tests,
// so the benchmark measures the shipper's own CPU and RSS, apart from the
// writer and the decoder.
const benchChildEnv = "LOGSHIP_BENCH_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(benchChildEnv) != "" {
		os.Exit(benchChild())
	}
	os.Exit(m.Run())
}

// benchChild ships with the default settings until SIGTERM, then prints
// its stats as JSON on stdout.
func benchChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	s, err := New(Config{
		LokiURL:  os.Getenv("LOGSHIP_BENCH_LOKI"),
		AllocDir: os.Getenv("LOGSHIP_BENCH_ALLOC"),
		Labels:   map[string]string{"project": "bench", "element": "api", "region": "eu", "alloc": "0123"},
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println("ready")
	if err := s.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_ = json.NewEncoder(os.Stdout).Encode(s.Stats())
	return 0
}

// BenchmarkShipper writes b.N log lines (~120 bytes, Nomad's 10 MiB
// rotation) as fast as a buffered writer can, while a shipper in a child
// process with GOMAXPROCS=1 and the default settings tails them and pushes
// to the in-test decoder. It reports the lines per second of wall time,
// the lines per CPU-second the shipper used (its own user+system time),
// the shipper's largest RSS while it tails (MiB-rss, sampled every 20 ms),
// and its peak RSS since it started (MiB-peak, VmHWM: package init
// included). LOGSHIP_BENCH_BINARY
// set to a built backplane binary measures `backplane logship` itself.
func BenchmarkShipper(b *testing.B) {
	loki := logshiptest.New(b)
	loki.Discard = true
	statsLine := make(chan []byte, 1)
	dir := newAllocDir(b)
	w := newNomadLog(b, dir, "api", "stdout", 10<<20, 0)

	cmd := exec.Command(os.Args[0])
	ready := "ready"
	if bin := os.Getenv("LOGSHIP_BENCH_BINARY"); bin != "" {
		// The real sidecar, for its RSS as a whole binary.
		cmd = exec.Command(bin, "logship", "--loki-url", loki.URL, "--alloc-dir", dir, "--label", "project=bench")
		ready = "shipping logs"
	}
	cmd.Env = append(os.Environ(), benchChildEnv+"=1", "GOMAXPROCS=1",
		"LOGSHIP_BENCH_LOKI="+loki.URL, "LOGSHIP_BENCH_ALLOC="+dir)
	pipe, err := cmd.StdoutPipe()
	if ready != "ready" {
		cmd.Stdout = nil
		pipe, err = cmd.StderrPipe()
	} else {
		cmd.Stderr = os.Stderr
	}
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	out := bufio.NewScanner(pipe)
	for out.Scan() && !strings.Contains(out.Text(), ready) {
	}
	go func() { // keep the pipe drained
		for out.Scan() {
			if strings.HasPrefix(out.Text(), "{") {
				statsLine <- append([]byte(nil), out.Bytes()...)
			}
		}
		close(statsLine)
	}()

	// RSS while tailing: VmRSS sampled from /proc, apart from the peak of
	// the whole process life (package init included) that rusage gives.
	var rssMax, hwm atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			rss, peak := memKiB(cmd.Process.Pid)
			if rss > rssMax.Load() {
				rssMax.Store(rss)
			}
			if peak > hwm.Load() {
				hwm.Store(peak)
			}
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()

	b.ResetTimer()
	start := time.Now()
	line := "2026-12-01T04:11:19.370Z level=INFO msg=\"request handled\" method=GET path=/api/v1/items/%08d status=200 dur=1.2ms\n"
	var buf strings.Builder
	for i := 0; i < b.N; i++ {
		fmt.Fprintf(&buf, line, i)
		if buf.Len() >= 64<<10 {
			w.Write([]byte(buf.String()))
			buf.Reset()
		}
	}
	w.Write([]byte(buf.String()))
	written := time.Since(start)
	loki.WaitCount(b, b.N, 5*time.Minute)
	elapsed := time.Since(start)
	b.StopTimer()
	close(stopSampling)
	<-sampled

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		b.Fatal(err)
	}
	var st Stats
	if line, ok := <-statsLine; ok {
		_ = json.Unmarshal(line, &st)
	}
	if err := cmd.Wait(); err != nil {
		b.Fatalf("child: %v", err)
	}
	if loki.Count() != b.N || st.LinesDropped != 0 {
		b.Fatalf("decoder has %d lines, want %d; stats %+v", loki.Count(), b.N, st)
	}
	ps := cmd.ProcessState
	cpu := ps.UserTime() + ps.SystemTime()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "lines/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "lines/cpu-s")
	b.ReportMetric(float64(rssMax.Load())/1024, "MiB-rss")
	b.ReportMetric(float64(hwm.Load())/1024, "MiB-peak")
	b.ReportMetric(written.Seconds()/elapsed.Seconds()*100, "%writing")
}

// memKiB is a process's resident set and its peak (VmRSS, VmHWM) in KiB.
// (rusage's maxrss of a child is no use here: it counts the parent's pages
// from before exec.)
func memKiB(pid int) (rss, peak int64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, v, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kib, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		if name == "VmRSS" {
			rss = kib
		} else {
			peak = kib
		}
	}
	return rss, peak
}

// BenchmarkReadLines is the reading hot path alone: splitting read bytes
// into cleaned, timestamped entries.
func BenchmarkReadLines(b *testing.B) {
	var data []byte
	for i := 0; len(data) < 1<<20; i++ {
		data = fmt.Appendf(data, "2026-12-01T04:11:19.370Z level=INFO msg=\"request handled\" path=/api/v1/items/%08d status=200\n", i)
	}
	lines := strings.Count(string(data), "\n")
	tl := &tail{s: &stream{}, max: DefaultMaxLineBytes, sizes: map[int]int64{}, started: true}
	out := make([]entry, 0, lines)
	now := time.Now()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out = out[:0]
		for off := 0; off < len(data); off += readBuf {
			chunk := data[off:min(off+readBuf, len(data))]
			tl.pos.Offset += int64(len(chunk))
			out = tl.consume(chunk, now, out)
		}
	}
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkEncodeBatch is building and encoding one default-size batch.
func BenchmarkEncodeBatch(b *testing.B) {
	s, err := New(Config{LokiURL: "http://127.0.0.1:1", AllocDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	st := &stream{key: streamKey{"api", "stdout"}, labels: renderLabels(map[string]string{"project": "bench"}, streamKey{"api", "stdout"})}
	var bt batch
	now := time.Now()
	for i := 0; bt.bytes < DefaultBatchBytes; i++ {
		e := entry{stream: st, ts: now.Add(time.Duration(i)), line: fmt.Sprintf("level=INFO msg=\"request handled\" path=/api/v1/items/%08d status=200", i)}
		bt.entries = append(bt.entries, e)
		bt.bytes += e.size()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := s.request(&bt)
		if _, _, err := s.pusher.encode(req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(bt.entries)*b.N)/b.Elapsed().Seconds(), "lines/s")
}
