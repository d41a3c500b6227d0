// Package logshiptest is a stand-in for Loki's push API in tests: an HTTP
// server on loopback that decodes pushes as Loki does (snappy-compressed
// protobuf, or JSON, gzipped or not) and records every entry. Like Loki it
// refuses lines over its max line size and lines that are not UTF-8, and it
// can be told to fail (a status code) or to go away (connection refused)
// and come back on the same address.
//
// It is test support: it must not import web or store.
package logshiptest

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang/snappy"
	"github.com/grafana/loki-client-go/pkg/logproto"
	"github.com/prometheus/prometheus/promql/parser"
)

// DefaultMaxLineBytes is Loki's default max_line_size (256KB).
const DefaultMaxLineBytes = 256_000

// Entry is one pushed log line with its stream's labels.
type Entry struct {
	Labels map[string]string
	TS     time.Time
	Line   string
}

// Server records what is pushed to it.
type Server struct {
	// URL is the base URL, as a shipper's LokiURL.
	URL string
	// MaxLineBytes: longer lines are refused with 400. Set before pushing.
	MaxLineBytes int
	// Discard, when set before pushing, counts entries without keeping
	// them (for benchmarks).
	Discard bool

	addr string
	mu   sync.Mutex
	srv  *http.Server
	// status, when not 0, answers every push with it.
	status    int
	entries   []Entry
	discarded int
	pushes    map[string]int // by content type
	refused   int
	// OnPush, when set, runs before a push is decoded (under no lock).
	onPush func()
}

// New starts a server on a free loopback port; it stops at the end of the
// test.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{MaxLineBytes: DefaultMaxLineBytes, pushes: map[string]int{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("logshiptest: listen: %v", err)
	}
	s.addr = l.Addr().String()
	s.URL = "http://" + s.addr
	s.serve(l)
	t.Cleanup(s.Down)
	return s
}

func (s *Server) serve(l net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /loki/api/v1/push", s.push)
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ready\n") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// Down closes the listener and every connection: pushes get "connection
// refused" until Up.
func (s *Server) Down() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Up listens again on the same address.
func (s *Server) Up(t testing.TB) {
	t.Helper()
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if l, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("logshiptest: listen again on %s: %v", s.addr, err)
	}
	s.serve(l)
}

// SetStatus makes every push fail with code; 0 accepts pushes again.
func (s *Server) SetStatus(code int) {
	s.mu.Lock()
	s.status = code
	s.mu.Unlock()
}

// OnPush sets a function that runs at the start of every push.
func (s *Server) OnPush(f func()) {
	s.mu.Lock()
	s.onPush = f
	s.mu.Unlock()
}

// Entries returns a copy of what was recorded, in arrival order.
func (s *Server) Entries() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Entry(nil), s.entries...)
}

// Count is the number of entries recorded (or counted, with Discard).
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries) + s.discarded
}

// Pushes is the number of accepted pushes per content type
// ("application/x-protobuf", "application/json").
func (s *Server) Pushes() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.pushes {
		out[k] = v
	}
	return out
}

// Refused is the number of pushes answered with an error.
func (s *Server) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// WaitCount waits until at least n entries are recorded.
func (s *Server) WaitCount(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for s.Count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("logshiptest: %d entries after %s, want %d", s.Count(), timeout, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *Server) push(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	status, onPush := s.status, s.onPush
	s.mu.Unlock()
	if onPush != nil {
		onPush()
	}
	fail := func(code int, msg string) {
		s.mu.Lock()
		s.refused++
		s.mu.Unlock()
		http.Error(w, msg, code)
	}
	if status != 0 {
		fail(status, "logshiptest: told to fail")
		return
	}
	ct := r.Header.Get("Content-Type")
	body, err := readBody(r)
	if err != nil {
		fail(http.StatusBadRequest, err.Error())
		return
	}
	var entries []Entry
	switch ct {
	case "application/x-protobuf":
		entries, err = decodeProtobuf(body)
	case "application/json":
		entries, err = decodeJSON(body)
	default:
		err = fmt.Errorf("unsupported Content-Type %q", ct)
	}
	if err == nil {
		err = s.check(entries)
	}
	if err != nil {
		fail(http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	if s.Discard {
		s.discarded += len(entries)
	} else {
		s.entries = append(s.entries, entries...)
	}
	s.pushes[ct]++
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		rd = gz
	}
	return io.ReadAll(io.LimitReader(rd, 64<<20))
}

func (s *Server) check(entries []Entry) error {
	for _, e := range entries {
		if len(e.Line) > s.MaxLineBytes {
			return fmt.Errorf("line too long: %d bytes, max %d", len(e.Line), s.MaxLineBytes)
		}
		if !utf8.ValidString(e.Line) {
			return errors.New("line is not valid UTF-8")
		}
	}
	return nil
}

func decodeProtobuf(body []byte) ([]Entry, error) {
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	var req logproto.PushRequest
	if err := req.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("protobuf: %w", err)
	}
	var out []Entry
	for _, st := range req.Streams {
		labels, err := parseLabels(st.Labels)
		if err != nil {
			return nil, err
		}
		for _, e := range st.Entries {
			out = append(out, Entry{Labels: labels, TS: e.Timestamp, Line: e.Line})
		}
	}
	return out, nil
}

func parseLabels(s string) (map[string]string, error) {
	ls, err := parser.ParseMetric(s)
	if err != nil {
		return nil, fmt.Errorf("labels %q: %w", s, err)
	}
	out := map[string]string{}
	for _, l := range ls {
		out[l.Name] = l.Value
	}
	return out, nil
}

func decodeJSON(body []byte) ([]Entry, error) {
	var req struct {
		Streams []struct {
			Stream map[string]string `json:"stream"`
			Values [][]string        `json:"values"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	var out []Entry
	for _, st := range req.Streams {
		for _, v := range st.Values {
			if len(v) < 2 {
				return nil, errors.New("json: a value is [ts, line]")
			}
			ns, err := strconv.ParseInt(v[0], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("json: timestamp %q: %w", v[0], err)
			}
			out = append(out, Entry{Labels: st.Stream, TS: time.Unix(0, ns), Line: v[1]})
		}
	}
	return out, nil
}

// Lines returns the lines of the entries whose labels include match, in
// arrival order.
func Lines(entries []Entry, match map[string]string) []string {
	var out []string
	for _, e := range entries {
		if matches(e.Labels, match) {
			out = append(out, e.Line)
		}
	}
	return out
}

func matches(labels, match map[string]string) bool {
	for k, v := range match {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// Describe summarises entries for a failure message.
func Describe(entries []Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d entries", len(entries))
	for i, e := range entries {
		if i == 5 {
			b.WriteString("\n  …")
			break
		}
		line := e.Line
		if len(line) > 80 {
			line = line[:80] + "…"
		}
		fmt.Fprintf(&b, "\n  %v %q", e.Labels, line)
	}
	return b.String()
}
