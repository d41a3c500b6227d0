package lokitest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Entry is one stored line.
type Entry struct {
	Labels map[string]string
	TS     time.Time
	Line   string
}

// Request is what the fake saw of one request.
type Request struct {
	Path   string
	Query  url.Values
	Header http.Header
}

// Options shape the fake.
type Options struct {
	// Tenant, when set, is required in X-Scope-OrgID (401 without it).
	Tenant string
	// Username and Password, when Username is set, are required as basic
	// auth (401 without them).
	Username, Password string
}

// Server is a fake Loki on a loopback port.
type Server struct {
	*httptest.Server
	opts Options

	mu       sync.Mutex
	entries  []Entry
	requests []Request
	fail     []failure
	tails    int
	subs     map[chan Entry]struct{}
	conns    map[*websocket.Conn]struct{}
}

type failure struct {
	status int
	body   string
}

// New starts a fake Loki that stops when the test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts, subs: map[chan Entry]struct{}{}, conns: map[*websocket.Conn]struct{}{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /loki/api/v1/query_range", s.queryRange)
	mux.HandleFunc("GET /loki/api/v1/tail", s.tail)
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ready") })
	s.Server = httptest.NewServer(s.gate(mux))
	t.Cleanup(s.Close)
	return s
}

// Push stores a line and sends it to the open tails that select it.
func (s *Server) Push(labels map[string]string, ts time.Time, line string) {
	e := Entry{Labels: labels, TS: ts, Line: line}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = append(s.entries, e)
	for ch := range s.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

// FailNext makes the next request answer status with body.
func (s *Server) FailNext(status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = append(s.fail, failure{status, body})
}

// Requests is every request seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// LastQuery is the LogQL of the last request that had one.
func (s *Server) LastQuery() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.requests) - 1; i >= 0; i-- {
		if q := s.requests[i].Query.Get("query"); q != "" {
			return q
		}
	}
	return ""
}

// OpenTails is how many tail connections are open now.
func (s *Server) OpenTails() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tails
}

// gate records the request, then answers an injected failure or a
// missing tenant or credentials.
func (s *Server) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone()})
		var f *failure
		if len(s.fail) > 0 {
			f = &s.fail[0]
			s.fail = s.fail[1:]
		}
		s.mu.Unlock()
		if f != nil {
			http.Error(w, f.body, f.status)
			return
		}
		if s.opts.Tenant != "" && r.Header.Get("X-Scope-OrgID") != s.opts.Tenant {
			http.Error(w, "no org id", http.StatusUnauthorized)
			return
		}
		if s.opts.Username != "" {
			if u, p, ok := r.BasicAuth(); !ok || u != s.opts.Username || p != s.opts.Password {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// parseNanos reads a Unix nanosecond time parameter; def when absent.
func parseNanos(v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, n), nil
}

// badRequest answers 400 with text, as Loki does.
func badRequest(w http.ResponseWriter, format string, args ...any) {
	http.Error(w, fmt.Sprintf(format, args...), http.StatusBadRequest)
}

func (s *Server) queryRange(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := ParseQuery(q.Get("query"))
	if err != nil {
		badRequest(w, "parse error: %v", err)
		return
	}
	now := time.Now()
	start, err1 := parseNanos(q.Get("start"), now.Add(-time.Hour))
	end, err2 := parseNanos(q.Get("end"), now)
	limit, err3 := strconv.Atoi(cmp.Or(q.Get("limit"), "100"))
	if err1 != nil || err2 != nil || err3 != nil {
		badRequest(w, "bad start, end or limit")
		return
	}
	if limit > 5000 {
		badRequest(w, "max entries limit per query exceeded, limit > max_entries_limit (%d > 5000)", limit)
		return
	}
	dir := cmp.Or(q.Get("direction"), "backward")
	s.mu.Lock()
	var hits []Entry
	for _, e := range s.entries {
		if !e.TS.Before(start) && e.TS.Before(end) && p.Match(e.Labels, e.Line) {
			hits = append(hits, e)
		}
	}
	s.mu.Unlock()
	slices.SortStableFunc(hits, func(a, b Entry) int {
		if dir == "forward" {
			return a.TS.Compare(b.TS)
		}
		return b.TS.Compare(a.TS)
	})
	if len(hits) > limit {
		hits = hits[:limit]
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"status": "success",
		"data":   map[string]any{"resultType": "streams", "result": streams(hits)},
	})
}

// streams groups entries by their labels, as Loki answers.
func streams(entries []Entry) []map[string]any {
	var out []map[string]any
	index := map[string]int{}
	for _, e := range entries {
		key := fmt.Sprint(e.Labels)
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, map[string]any{"stream": e.Labels, "values": [][]string{}})
		}
		out[i]["values"] = append(out[i]["values"].([][]string), []string{strconv.FormatInt(e.TS.UnixNano(), 10), e.Line})
	}
	if out == nil {
		out = []map[string]any{}
	}
	return out
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// tail sends the stored lines from start (at most limit), then each new
// line, one message per line, until the client goes.
func (s *Server) tail(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := ParseQuery(q.Get("query"))
	if err != nil {
		badRequest(w, "parse error: %v", err)
		return
	}
	start, err := parseNanos(q.Get("start"), time.Now().Add(-time.Hour))
	if err != nil {
		badRequest(w, "bad start")
		return
	}
	limit, err := strconv.Atoi(cmp.Or(q.Get("limit"), "100"))
	if err != nil {
		badRequest(w, "bad limit")
		return
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	ch := make(chan Entry, 1024)
	s.mu.Lock()
	var backlog []Entry
	for _, e := range s.entries {
		if !e.TS.Before(start) && p.Match(e.Labels, e.Line) {
			backlog = append(backlog, e)
		}
	}
	s.subs[ch] = struct{}{}
	s.conns[conn] = struct{}{}
	s.tails++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, ch)
		delete(s.conns, conn)
		s.tails--
		s.mu.Unlock()
	}()
	slices.SortStableFunc(backlog, func(a, b Entry) int { return a.TS.Compare(b.TS) })
	if len(backlog) > limit {
		backlog = backlog[len(backlog)-limit:]
	}
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	send := func(e Entry) error {
		return conn.WriteJSON(map[string]any{"streams": streams([]Entry{e})})
	}
	for _, e := range backlog {
		if send(e) != nil {
			return
		}
	}
	for {
		select {
		case <-gone:
			return
		case e := <-ch:
			if p.Match(e.Labels, e.Line) && send(e) != nil {
				return
			}
		}
	}
}

// DropTails closes every open tail connection from the server's side, as
// a Loki that restarts does.
func (s *Server) DropTails() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.Close()
	}
}
