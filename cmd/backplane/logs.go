package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/backplane-dev/backplane/observe/logs"
	"github.com/backplane-dev/backplane/schema"
)

// logsOptions are the flags of `backplane logs`.
type logsOptions struct {
	region, since, from, to string
	grep, regex             string
	stream, alloc           string
	limit                   int
	follow                  bool
	// Loki, when not going through a server.
	lokiURL, tenant, authFile string
}

// logFlagNames maps a search field to the flag that sets it.
var logFlagNames = map[string]string{"q": "--grep", "element": "ELEMENT"}

func (a *app) logsCmd() *cobra.Command {
	var f clusterFlags
	var o logsOptions
	cmd := &cobra.Command{
		Use:   "logs [ELEMENT]",
		Short: "Search and follow an element's logs (from Loki)",
		Long: `Logs prints the lines an element's tasks wrote, as the logship sidecars
shipped them to Loki: the last --limit lines (default 100) of the window
(--since, default 1h; or --from and --to), oldest first, as

  TIME ELEMENT REGION ALLOC STREAM LINE

--grep keeps the lines that contain a string, --regex those a regular
expression (RE2, as Go's regexp) matches; --region, --stream and --alloc
(a full allocation ID or its first characters) narrow them. Without ELEMENT
every element of the project is searched. --follow then prints new lines
as they arrive, until Ctrl-C. --json prints one JSON object per line:
{"ts", "element", "region", "alloc", "task", "stream", "line"}.

The project is the schema file's (-f). With a Backplane server configured
(BACKPLANE_SERVER or backplane login) the search goes through its API, with
your role there; otherwise straight to Loki at BACKPLANE_LOKI_URL (with
BACKPLANE_LOKI_TENANT and BACKPLANE_LOKI_BASIC_AUTH_FILE when Loki needs
them).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			element := ""
			if len(args) == 1 {
				element = args[0]
			}
			return a.runLogs(&f, &o, element)
		},
	}
	f.cmd = cmd
	fl := cmd.Flags()
	fl.StringVar(&f.server, "server", "", "go through this Backplane server (env "+envServer+"; default: the one backplane login stored; --server= reads Loki directly)")
	fl.StringVarP(&f.file, "file", "f", "backplane.yaml", "schema file, which names the project (YAML or JSON; - for stdin)")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON object per line")
	fl.StringVar(&o.region, "region", "", "only this region")
	fl.StringVar(&o.since, "since", "", "how far back to look, e.g. 15m, 1h, 7d (default 1h)")
	fl.StringVar(&o.from, "from", "", "start of the window: RFC 3339 time, date or Unix seconds")
	fl.StringVar(&o.to, "to", "", "end of the window (default now)")
	fl.StringVar(&o.grep, "grep", "", "only lines that contain this string")
	fl.StringVar(&o.regex, "regex", "", "only lines this regular expression (RE2) matches")
	fl.StringVar(&o.stream, "stream", "", "only stdout or stderr")
	fl.StringVar(&o.alloc, "alloc", "", "only this allocation (its ID or the start of it)")
	fl.IntVar(&o.limit, "limit", logs.DefaultLimit, "print at most this many lines of the window (the newest)")
	fl.BoolVar(&o.follow, "follow", false, "then print new lines as they arrive, until Ctrl-C")
	fl.StringVar(&o.lokiURL, "loki-url", os.Getenv(logs.EnvURL), "Loki's base URL, read when no server is configured (env "+logs.EnvURL+")")
	fl.StringVar(&o.tenant, "loki-tenant", os.Getenv(logs.EnvTenant), "Loki tenant, sent as X-Scope-OrgID (env "+logs.EnvTenant+")")
	fl.StringVar(&o.authFile, "loki-basic-auth-file", os.Getenv(logs.EnvBasicAuthFile), "file holding user:password for Loki (env "+logs.EnvBasicAuthFile+")")
	return cmd
}

// logSource is where lines come from: Loki, or a server's API.
type logSource interface {
	// page is one page of the search, newest first.
	page(ctx context.Context, limit int, cursor string) (*logs.RangeResult, error)
	// tail calls fn with each new line from start on until ctx ends.
	tail(ctx context.Context, start time.Time, seen *logs.Dedup, fn func(logs.Line) error) error
	// fail turns an error into the command's.
	fail(err error) error
}

func (a *app) runLogs(f *clusterFlags, o *logsOptions, element string) error {
	s, err := a.load(f.file)
	if err != nil {
		return err
	}
	name := f.file
	if name == "-" {
		name = "<stdin>"
	}
	if s.Project == "" {
		return &exitError{code: exitInvalid, err: fmt.Errorf("%s: project: is required: it names the project whose logs are read", name)}
	}
	if element != "" && !hasElement(s, element) {
		// A destroyed element's logs stay in Loki: search anyway.
		fmt.Fprintf(a.stderr, "logs: note: %s has no element %q; searching its logs anyway\n", name, element)
	}
	q := logs.Query{Project: s.Project, Element: element, Region: o.region, Alloc: o.alloc, Stream: o.stream, Search: o.grep, Regex: o.regex}
	if err := q.Validate(); err != nil {
		return usageError(err)
	}
	win, err := logs.ParseWindow(o.since, o.from, o.to, time.Now())
	if err != nil {
		return usageError(err)
	}
	if o.limit < 1 {
		return &exitError{code: exitUsage, err: fmt.Errorf("logs: --limit: want at least 1")}
	}
	if o.follow && o.to != "" {
		return &exitError{code: exitUsage, err: fmt.Errorf("logs: --to: --follow has no end; leave --to out")}
	}
	src, err := a.logSource(f, o, q, win)
	if err != nil {
		return err
	}
	ctx, cancel := signalContext()
	defer cancel()
	var seen logs.Dedup
	lines, more, err := readNewest(ctx, src, o.limit)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return src.fail(err)
	}
	for _, l := range lines {
		seen.Fresh(l)
		a.printLogLine(l, f.jsonOut)
	}
	if more && !o.follow {
		fmt.Fprintf(a.stderr, "logs: showing the newest %d lines; there are older ones (raise --limit, or narrow --since or --from)\n", len(lines))
	}
	if !o.follow {
		return nil
	}
	start := seen.Resume()
	if start.IsZero() {
		start = time.Now()
	}
	err = src.tail(ctx, start, &seen, func(l logs.Line) error {
		a.printLogLine(l, f.jsonOut)
		return nil
	})
	if err != nil && ctx.Err() == nil {
		return src.fail(err)
	}
	return nil
}

func hasElement(s *schema.Schema, id string) bool {
	for _, e := range s.Elements {
		if e.ID == id {
			return true
		}
	}
	return false
}

// usageError reports a search problem by the flag at fault.
func usageError(err error) error {
	var fe *logs.FieldError
	if errors.As(err, &fe) {
		flag, ok := logFlagNames[fe.Field]
		if !ok {
			flag = "--" + fe.Field
		}
		return &exitError{code: exitUsage, err: fmt.Errorf("logs: %s: %s", flag, fe.Msg)}
	}
	return &exitError{code: exitUsage, err: fmt.Errorf("logs: %w", err)}
}

// readNewest reads up to limit of the newest lines, page by page, and
// returns them oldest first; more says whether older ones are left.
func readNewest(ctx context.Context, src logSource, limit int) ([]logs.Line, bool, error) {
	var lines []logs.Line
	cursor := ""
	for len(lines) < limit {
		res, err := src.page(ctx, min(limit-len(lines), logs.MaxLimit), cursor)
		if err != nil {
			return nil, false, err
		}
		lines = append(lines, res.Lines...)
		cursor = res.Next
		if cursor == "" {
			break
		}
	}
	slices.Reverse(lines)
	return lines, cursor != "", nil
}

// logSource picks the server's API when one is configured, else Loki.
func (a *app) logSource(f *clusterFlags, o *logsOptions, q logs.Query, win logs.Window) (logSource, error) {
	r, err := a.remoteFor(f, "logs")
	if err != nil {
		return nil, err
	}
	if r != nil {
		return &remoteLogs{r: r, q: q, win: win}, nil
	}
	cfg := logs.Config{URL: o.lokiURL, Tenant: o.tenant}
	if strings.TrimSpace(cfg.URL) == "" {
		return nil, &exitError{code: exitInvalid, err: errors.New("logs: Loki is not configured: set " + logs.EnvURL +
			" (or --loki-url) to Loki's base URL, e.g. http://127.0.0.1:3100, or go through a Backplane server that has it (backplane login)")}
	}
	if o.authFile != "" {
		if err := cfg.LoadBasicAuth(o.authFile); err != nil {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("logs: --loki-basic-auth-file: %w", err)}
		}
	}
	c, err := logs.New(cfg)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("logs: %w", err)}
	}
	return &lokiLogs{c: c, q: q, win: win, warn: a.stderr}, nil
}

// printLogLine prints TIME ELEMENT REGION ALLOC(8) STREAM LINE, or the line
// as one JSON object.
func (a *app) printLogLine(l logs.Line, jsonOut bool) {
	if jsonOut {
		data, _ := json.Marshal(l)
		fmt.Fprintf(a.stdout, "%s\n", data)
		return
	}
	alloc := l.Alloc
	if len(alloc) > 8 {
		alloc = alloc[:8]
	}
	fmt.Fprintf(a.stdout, "%s %s %s %s %s %s\n", l.TS.UTC().Format("2006-01-02T15:04:05.000Z"),
		pad(dash(l.Element), 12), pad(dash(l.Region), 6), pad(dash(alloc), 8), pad(dash(l.Stream), 6), l.Line)
}

// lokiLogs reads Loki directly.
type lokiLogs struct {
	c    *logs.Client
	q    logs.Query
	win  logs.Window
	warn io.Writer
}

func (s *lokiLogs) page(ctx context.Context, limit int, cursor string) (*logs.RangeResult, error) {
	return s.c.QueryRange(ctx, logs.RangeInput{Query: s.q, Window: s.win, Limit: limit, Direction: logs.Backward, Cursor: cursor})
}

func (s *lokiLogs) tail(ctx context.Context, start time.Time, seen *logs.Dedup, fn func(logs.Line) error) error {
	in := logs.TailInput{Query: s.q, Start: start, Limit: logs.MaxLimit, Notice: func(m string) { fmt.Fprintf(s.warn, "logs: %s\n", m) }}
	return s.c.Tail(ctx, in, func(l logs.Line) error {
		if !seen.Fresh(l) {
			return nil
		}
		return fn(l)
	})
}

func (s *lokiLogs) fail(err error) error {
	var fe *logs.FieldError
	if errors.As(err, &fe) {
		return usageError(err)
	}
	return &exitError{code: exitInvalid, err: fmt.Errorf("logs: %w", err)}
}

// remoteLogs reads through a Backplane server's API.
type remoteLogs struct {
	r   *remote
	q   logs.Query
	win logs.Window
}

// params are the search's query parameters.
func (s *remoteLogs) params() url.Values {
	v := url.Values{}
	for k, val := range map[string]string{"element": s.q.Element, "region": s.q.Region, "alloc": s.q.Alloc,
		"stream": s.q.Stream, "q": s.q.Search, "regex": s.q.Regex} {
		if val != "" {
			v.Set(k, val)
		}
	}
	return v
}

func (s *remoteLogs) page(ctx context.Context, limit int, cursor string) (*logs.RangeResult, error) {
	v := s.params()
	v.Set("limit", strconv.Itoa(limit))
	if cursor != "" {
		v.Set("cursor", cursor)
	} else {
		v.Set("from", s.win.Start.UTC().Format(time.RFC3339Nano))
		v.Set("to", s.win.End.UTC().Format(time.RFC3339Nano))
	}
	var res logs.RangeResult
	err := s.r.do(ctx, request{method: http.MethodGet, path: projectPath(s.q.Project, "logs") + "?" + v.Encode()}, &res)
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// tail follows the server's SSE tail; a dropped stream is reopened from
// the newest line's time, with backoff, without repeating lines.
func (s *remoteLogs) tail(ctx context.Context, start time.Time, seen *logs.Dedup, fn func(logs.Line) error) error {
	first := true
	err := s.r.reconnect(ctx, "the tail", func() (bool, error) {
		if t := seen.Resume(); !first && !t.IsZero() {
			start = t // a reopened tail resumes from the newest line seen
		}
		first = false
		return s.tailOnce(ctx, start, seen, fn)
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (s *remoteLogs) tailOnce(ctx context.Context, start time.Time, seen *logs.Dedup, fn func(logs.Line) error) (delivered bool, err error) {
	v := s.params()
	v.Set("from", start.UTC().Format(time.RFC3339Nano))
	v.Set("limit", strconv.Itoa(logs.MaxLimit))
	resp, err := s.r.send(ctx, request{method: http.MethodGet, path: projectPath(s.q.Project, "logs", "tail") + "?" + v.Encode(), accept: "text/event-stream"})
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return false, parseServerError(resp, data)
	}
	err = readEvents(resp.Body, func(event, data string) error {
		switch event {
		case "line":
			var l logs.Line
			if json.Unmarshal([]byte(data), &l) == nil && seen.Fresh(l) {
				delivered = true
				return fn(l)
			}
		case "notice", "error":
			var m struct {
				Message string `json:"message"`
			}
			if json.Unmarshal([]byte(data), &m) == nil && m.Message != "" {
				fmt.Fprintf(s.r.warn, "logs: %s\n", m.Message)
			}
		}
		return nil
	})
	return delivered, err
}

func (s *remoteLogs) fail(err error) error {
	var fe *logs.FieldError
	if errors.As(err, &fe) {
		return usageError(err)
	}
	return s.r.fail("", err)
}
