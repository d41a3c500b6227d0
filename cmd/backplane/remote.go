package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/schema"
)

// The CLI through the server: when a Backplane server is configured, the
// cluster commands call its API (/api/v1) with a personal token instead of
// talking to Nomad, so the server's roles and audit log apply to them. The
// server comes from --server, else BACKPLANE_SERVER, else what
// `backplane login` stored; the token from BACKPLANE_TOKEN, else the stored
// one (when it was stored for that server). --server= or BACKPLANE_SERVER=
// (set, empty) means "talk to Nomad directly" even with stored credentials.

// Environment variables of the CLI through the server.
const (
	envServer = "BACKPLANE_SERVER"
	envToken  = "BACKPLANE_TOKEN"
)

// Request deadlines: the server gives plan, deploy, rollback and destroy
// five minutes, everything else 30 seconds.
const (
	shortRequest = time.Minute
	longRequest  = 6 * time.Minute
)

// remote is a client of a Backplane server's API, for one command.
type remote struct {
	server string // base URL, without /api/v1 and without a trailing slash
	token  string
	cmd    string    // the command, as error messages name it ("deploy", "secrets set")
	warn   io.Writer // where stream drops and retries are reported
	http   *http.Client
}

// remoteFor returns the server client for a cluster command, or nil when no
// server is configured and the command talks to Nomad directly.
func (a *app) remoteFor(f *clusterFlags, cmd string) (*remote, error) {
	server, token, err := resolveServer(f.server, f.cmd != nil && f.cmd.Flags().Changed("server"))
	if err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("%s: %w", cmd, err)}
	}
	if server == "" {
		return nil, nil
	}
	if token == "" {
		return nil, &exitError{code: exitInvalid, err: fmt.Errorf("%s: not signed in to %s: run backplane login --server %s (or set %s)", cmd, server, server, envToken)}
	}
	return newRemote(server, token, cmd, a.stderr), nil
}

func newRemote(server, token, cmd string, warn io.Writer) *remote {
	return &remote{server: server, token: token, cmd: cmd, warn: warn, http: &http.Client{}}
}

// resolveServer finds the server and token: flag, then environment, then
// stored credentials. An empty server means "no server".
func resolveServer(flagServer string, flagSet bool) (server, token string, err error) {
	var stored *credentials
	loadStored := func() error {
		c, _, err := loadCredentials()
		stored = c
		return err
	}
	switch env, envSet := os.LookupEnv(envServer); {
	case flagSet:
		server = flagServer
	case envSet:
		server = env
	default:
		if err := loadStored(); err != nil {
			return "", "", err
		}
		if stored != nil {
			server = stored.Server
		}
	}
	if strings.TrimSpace(server) == "" {
		return "", "", nil
	}
	if server, err = normalizeServer(server); err != nil {
		return "", "", err
	}
	if t := strings.TrimSpace(os.Getenv(envToken)); t != "" {
		return server, t, nil
	}
	if stored == nil {
		if err := loadStored(); err != nil {
			return "", "", err
		}
	}
	if stored != nil {
		if s, err := normalizeServer(stored.Server); err == nil && s == server {
			token = stored.Token
		}
	}
	return server, token, nil
}

// normalizeServer checks a server URL and drops a trailing slash or /api/v1.
func normalizeServer(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("server %q: want an http:// or https:// URL, as https://backplane.example.com", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("server %q: want the server's base URL, without query, fragment or user", raw)
	}
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/api/v1")
	u.RawPath = ""
	return strings.TrimRight(u.String(), "/"), nil
}

// serverError is an error answer of the API:
// {"error": {"code", "message", "path"}, "problems": [...]}.
type serverError struct {
	Status     int
	Code       string
	Message    string
	Path       string
	Problems   json.RawMessage
	RetryAfter string
}

func (e *serverError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
}

// netError is a request that got no answer from the server.
type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

// request is one API call. Body is JSON-encoded unless it is a []byte,
// which is sent as is with contentType.
type request struct {
	method, path string
	body         any
	contentType  string
	accept       string
	cookies      http.CookieJar
	csrf         string
	noAuth       bool
	timeout      time.Duration
}

// do sends a request and decodes a 2xx JSON answer into out (when non-nil).
// Any other answer is a *serverError; no answer is a *netError.
func (r *remote) do(ctx context.Context, req request, out any) error {
	timeout := req.timeout
	if timeout == 0 {
		timeout = shortRequest
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := r.send(ctx, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return &netError{err: fmt.Errorf("read the answer: %w", err)}
	}
	if resp.StatusCode/100 != 2 {
		return parseServerError(resp, data)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &serverError{Status: resp.StatusCode, Message: fmt.Sprintf("unexpected answer to %s %s: %v", req.method, req.path, err)}
	}
	return nil
}

// send sends a request and returns the response, whatever its status.
func (r *remote) send(ctx context.Context, req request) (*http.Response, error) {
	var body io.Reader
	contentType := req.contentType
	switch b := req.body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(data)
		contentType = "application/json"
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, r.server+"/api/v1"+req.path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		hreq.Header.Set("Content-Type", contentType)
	}
	accept := req.accept
	if accept == "" {
		accept = "application/json"
	}
	hreq.Header.Set("Accept", accept)
	hreq.Header.Set("User-Agent", "backplane-cli/"+version)
	if !req.noAuth && r.token != "" {
		hreq.Header.Set("Authorization", "Bearer "+r.token)
	}
	if req.csrf != "" {
		hreq.Header.Set("X-CSRF-Token", req.csrf)
	}
	client := r.http
	if req.cookies != nil {
		c := *r.http
		c.Jar = req.cookies
		client = &c
	}
	resp, err := client.Do(hreq)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is named by the message around it
		}
		return nil, &netError{err: err}
	}
	return resp, nil
}

func parseServerError(resp *http.Response, data []byte) *serverError {
	e := &serverError{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Path    string `json:"path"`
		} `json:"error"`
		Problems json.RawMessage `json:"problems"`
	}
	if json.Unmarshal(data, &body) == nil && (body.Error.Code != "" || body.Error.Message != "") {
		e.Code, e.Message, e.Path, e.Problems = body.Error.Code, body.Error.Message, body.Error.Path, body.Problems
		return e
	}
	// Not the API's error shape: a proxy's page, most likely.
	e.Message = fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	if text := strings.TrimSpace(string(data)); text != "" && len(text) < 200 && !strings.Contains(text, "<") {
		e.Message += ": " + text
	}
	return e
}

// fail turns an API error into the message and exit code the user sees.
// file names the schema file, for problems about its fields.
func (r *remote) fail(file string, err error) error {
	var se *serverError
	var ne *netError
	switch {
	case errors.As(err, &se):
		if es := schemaProblems(file, se.Problems); len(es) > 0 {
			return &exitError{code: exitInvalid, err: es}
		}
		msg := se.Error()
		if se.Path != "" && !strings.Contains(msg, se.Path) {
			msg = se.Path + ": " + msg
		}
		switch {
		case se.Status == http.StatusUnauthorized:
			return &exitError{code: exitInvalid, err: fmt.Errorf("%s: not signed in to %s (%s): run backplane login --server %s", r.cmd, r.server, msg, r.server)}
		case se.Status == http.StatusForbidden:
			return &exitError{code: exitInvalid, err: fmt.Errorf("%s: the server refused: %s", r.cmd, msg)}
		case se.Status == http.StatusNotFound && se.Code == "not_found" && strings.HasPrefix(msg, "no project"):
			return &exitError{code: exitInvalid, err: fmt.Errorf("%s: %s on %s (it does not exist, or you have no role in it)", r.cmd, msg, r.server)}
		case se.Status == http.StatusTooManyRequests:
			if se.RetryAfter != "" {
				msg += " (retry after " + se.RetryAfter + "s)"
			}
			return &exitError{code: exitInvalid, err: fmt.Errorf("%s: %s: %s", r.cmd, r.server, msg)}
		case se.Status >= 500 && se.Code != "no_cluster" && se.Code != "timeout":
			return &exitError{code: exitInvalid, err: fmt.Errorf("%s: the server %s failed: %s", r.cmd, r.server, msg)}
		}
		return &exitError{code: exitInvalid, err: fmt.Errorf("%s: %s: %s", r.cmd, r.server, msg)}
	case errors.As(err, &ne):
		if errors.Is(err, context.Canceled) {
			return &exitError{code: exitInvalid, err: fmt.Errorf("%s: interrupted", r.cmd)}
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return &exitError{code: exitInvalid, err: fmt.Errorf("%s: the server %s did not answer in time", r.cmd, r.server)}
		}
		return &exitError{code: exitInvalid, err: fmt.Errorf("%s: cannot reach the server %s: %v", r.cmd, r.server, ne.err)}
	}
	return &exitError{code: exitInvalid, err: fmt.Errorf("%s: %w", r.cmd, err)}
}

// schemaProblems reads the problems of an invalid_schema answer as the
// schema package's errors, so they print as FILE: PATH: message, exactly
// as the direct path prints them. Plan problems (plain strings) are not
// about a field and give nothing here.
func schemaProblems(file string, raw json.RawMessage) schema.Errors {
	if len(raw) == 0 {
		return nil
	}
	var ps []struct {
		Path    string `json:"path"`
		Message string `json:"message"`
		Line    int    `json:"line"`
	}
	if json.Unmarshal(raw, &ps) != nil {
		return nil
	}
	var es schema.Errors
	for _, p := range ps {
		es = append(es, &schema.FieldError{File: file, Path: p.Path, Line: p.Line, Msg: p.Message})
	}
	return es
}

// stringProblems reads plan problems (a list of strings).
func stringProblems(raw json.RawMessage) []string {
	var ps []string
	if len(raw) == 0 || json.Unmarshal(raw, &ps) != nil {
		return nil
	}
	return ps
}

// projectPath is /projects/{p} followed by more escaped segments.
func projectPath(project string, rest ...string) string {
	var b strings.Builder
	b.WriteString("/projects/")
	b.WriteString(url.PathEscape(project))
	for _, s := range rest {
		b.WriteString("/")
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// fatal reports whether a failed events request is not worth retrying:
// the server answered and said no (bad credentials, no such project).
func fatal(err error) bool {
	var se *serverError
	return errors.As(err, &se) && se.Status >= 400 && se.Status < 500 && se.Status != http.StatusTooManyRequests && se.Status != http.StatusRequestTimeout
}

// Reconnect backoff for the events stream.
const (
	streamRetryMin = 250 * time.Millisecond
	streamRetryMax = 5 * time.Second
)

// watch follows the project's events stream and calls fn with each status
// event, until ctx ends or the server refuses the stream. A stream that
// drops (or a server that cannot be reached) is reported on r.warn and
// reconnected with backoff; the server replays the current statuses on
// every connect. It returns ctx's error, or the refusal.
func (r *remote) watch(ctx context.Context, project string, fn func(jobs.Status)) error {
	return r.reconnect(ctx, "the event stream", func() (bool, error) { return r.stream(ctx, project, fn) })
}

// reconnect runs once (one connection of a stream) again and again until
// ctx ends, returning ctx's error, or until once fails for good (fatal),
// returning that. Each end or failure is reported on r.warn as "<what>
// from <server> ..." and followed by a backoff, which starts over after a
// connection that delivered something.
func (r *remote) reconnect(ctx context.Context, what string, once func() (delivered bool, err error)) error {
	delay := streamRetryMin
	for {
		delivered, err := once()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if fatal(err) {
			return err
		}
		if delivered {
			delay = streamRetryMin
		}
		reason := "ended"
		if err != nil {
			reason = "failed: " + err.Error()
		}
		fmt.Fprintf(r.warn, "%s: %s from %s %s; reconnecting in %s\n", r.cmd, what, r.server, reason, delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, streamRetryMax)
	}
}

// stream reads one connection of the events stream. delivered says whether
// any status event arrived on it.
func (r *remote) stream(ctx context.Context, project string, fn func(jobs.Status)) (delivered bool, err error) {
	resp, err := r.send(ctx, request{method: http.MethodGet, path: projectPath(project, "events"), accept: "text/event-stream"})
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return false, parseServerError(resp, data)
	}
	err = readEvents(resp.Body, func(event, data string) error {
		if event != "status" || data == "" {
			return nil
		}
		var st jobs.Status
		if json.Unmarshal([]byte(data), &st) == nil {
			delivered = true
			fn(st)
		}
		return nil
	})
	return delivered, err
}

// readEvents reads a Server-Sent Events stream until it ends, calling fn
// with each event's name and data (its data lines joined by newlines);
// comments (": ping") are skipped. An error from fn stops the reading and
// is returned; a broken stream is a netError.
func readEvents(body io.Reader, fn func(event, data string) error) error {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var event string
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if err := fn(event, strings.Join(data, "\n")); err != nil {
				return err
			}
			event, data = "", nil
		case strings.HasPrefix(line, ":"):
			// a comment: ": ping", ": connected"
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				event = value
			case "data":
				data = append(data, value)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return &netError{err: err}
	}
	return nil
}
