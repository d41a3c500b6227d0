package logs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Environment variables of the Loki settings.
const (
	EnvURL           = "BACKPLANE_LOKI_URL"
	EnvTenant        = "BACKPLANE_LOKI_TENANT"
	EnvBasicAuthFile = "BACKPLANE_LOKI_BASIC_AUTH_FILE"
)

// pushPath is what a push URL ends with; the query base is what precedes it.
const pushPath = "/loki/api/v1/push"

// ErrNotConfigured is returned when no Loki URL is set.
var ErrNotConfigured = errors.New("loki is not configured: set " + EnvURL + " to Loki's base URL (e.g. http://127.0.0.1:3100)")

// Config says where Loki is and how to authenticate to it.
type Config struct {
	// URL is Loki's base URL (http://loki:3100), the one the sidecar
	// pushes to; a push URL (.../loki/api/v1/push) is taken as its base.
	URL string
	// Tenant, when set, is sent as X-Scope-OrgID.
	Tenant string
	// Username and Password, when Username is set, are sent as basic auth.
	Username, Password string
	// HTTPClient sends query_range; a client of the package's own when nil.
	HTTPClient *http.Client
}

// String shows the settings without the password.
func (c Config) String() string {
	s := "loki " + c.URL
	if c.Tenant != "" {
		s += " tenant " + c.Tenant
	}
	if c.Username != "" {
		s += " basic auth as " + c.Username
	}
	return s
}

// ConfigFromEnv reads BACKPLANE_LOKI_URL, BACKPLANE_LOKI_TENANT and
// BACKPLANE_LOKI_BASIC_AUTH_FILE. A missing URL is not an error: the
// result then has no URL.
func ConfigFromEnv() (Config, error) {
	cfg := Config{URL: os.Getenv(EnvURL), Tenant: os.Getenv(EnvTenant)}
	if f := os.Getenv(EnvBasicAuthFile); f != "" {
		if err := cfg.LoadBasicAuth(f); err != nil {
			return Config{}, fmt.Errorf("%s: %w", EnvBasicAuthFile, err)
		}
	}
	return cfg, nil
}

// LoadBasicAuth reads user:password from file (one line; surrounding
// whitespace dropped). The error never quotes the file's content.
func (c *Config) LoadBasicAuth(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read basic auth file: %w", err)
	}
	user, pass, ok := strings.Cut(strings.TrimSpace(string(data)), ":")
	if !ok || user == "" || strings.ContainsAny(user, "\r\n") || strings.ContainsAny(pass, "\r\n") {
		return fmt.Errorf("basic auth file %s: want one line user:password", file)
	}
	c.Username, c.Password = user, pass
	return nil
}

// Client queries one Loki.
type Client struct {
	base   *url.URL
	cfg    Config
	client *http.Client
}

// New checks the settings and returns a client. A URL that carries
// credentials is refused: they go in the basic auth file.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.URL) == "" {
		return nil, ErrNotConfigured
	}
	u, err := url.Parse(strings.TrimSpace(cfg.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("loki url: want an http:// or https:// URL, as http://127.0.0.1:3100")
	}
	if u.User != nil {
		return nil, fmt.Errorf("loki url: carries credentials; put them in %s (user:password) instead", EnvBasicAuthFile)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("loki url: want Loki's base URL, without query or fragment")
	}
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), pushPath)
	u.RawPath = ""
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Transport: newTransport()}
	}
	return &Client{base: u, cfg: cfg, client: client}, nil
}

// newTransport is the client's own transport, so that nothing set on
// http.DefaultTransport reaches Loki.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// URL is the query base, as errors and messages may name it.
func (c *Client) URL() string { return c.base.String() }

// endpoint is the base URL with path and query.
func (c *Client) endpoint(path string, q url.Values) *url.URL {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = q.Encode()
	return &u
}

// header adds the tenant and basic auth.
func (c *Client) header(h http.Header) {
	if c.cfg.Tenant != "" {
		h.Set("X-Scope-OrgID", c.cfg.Tenant)
	}
	if c.cfg.Username != "" {
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.cfg.Username+":"+c.cfg.Password)))
	}
}

// Error is an answer from Loki other than success.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("loki answered %d: %s", e.Status, msg)
}

// BadQuery reports whether Loki refused the query itself (a 400: a parse
// error, a window or limit over its bounds), as opposed to failing.
func (e *Error) BadQuery() bool { return e.Status == http.StatusBadRequest }

// maxErrorBody is how much of an error answer is kept.
const maxErrorBody = 2048

// maxResponse bounds a query_range answer: MaxLimit lines of Loki's
// largest default line size, and then some.
const maxResponse = 1400 << 20

func readError(resp *http.Response) *Error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	msg := strings.TrimSpace(string(data))
	var body struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(data, &body) == nil {
		if body.Message != "" {
			msg = body.Message
		} else if body.Error != "" {
			msg = body.Error
		}
	}
	return &Error{Status: resp.StatusCode, Message: msg}
}

// RangeInput is one page of a search.
type RangeInput struct {
	Query  Query
	Window Window
	// Limit is the most lines returned; DefaultLimit when 0.
	Limit     int
	Direction Direction // Backward when ""
	// Cursor continues from a previous page's Next; it carries the window
	// and direction of that search, and Window and Direction are ignored.
	Cursor string
}

// RangeResult is a page of lines, in the input's direction.
type RangeResult struct {
	Lines []Line `json:"lines"`
	// Next continues the search after these lines; "" when there are no
	// more.
	Next string `json:"next"`
	// LogQL is the query that was sent.
	LogQL string `json:"-"`
}

// QueryRange runs one page of a search through query_range.
func (c *Client) QueryRange(ctx context.Context, in RangeInput) (*RangeResult, error) {
	logql, err := in.Query.LogQL()
	if err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 0 || limit > MaxLimit {
		return nil, fieldErr("limit", "%d: want a whole number from 1 to %d", limit, MaxLimit)
	}
	cur := cursor{Start: in.Window.Start.UnixNano(), End: in.Window.End.UnixNano(), Dir: in.Direction}
	if cur.Dir == "" {
		cur.Dir = Backward
	}
	if in.Cursor != "" {
		if cur, err = decodeCursor(in.Cursor, logql); err != nil {
			return nil, err
		}
	} else if _, err := ParseDirection(string(cur.Dir)); err != nil {
		return nil, err
	}
	if cur.Start >= cur.End {
		return &RangeResult{Lines: []Line{}, LogQL: logql}, nil
	}
	// Lines already returned at the boundary come again; ask for them too.
	ask := min(limit+len(cur.Skip), MaxLimit)
	q := url.Values{
		"query":     {logql},
		"start":     {strconv.FormatInt(cur.Start, 10)},
		"end":       {strconv.FormatInt(cur.End, 10)},
		"limit":     {strconv.Itoa(ask)},
		"direction": {string(cur.Dir)},
	}
	raw, err := c.queryRange(ctx, q)
	if err != nil {
		return nil, err
	}
	sortLines(raw, cur.Dir)
	skip := make(map[uint64]struct{}, len(cur.Skip))
	for _, k := range cur.Skip {
		skip[k] = struct{}{}
	}
	boundary := cur.boundary()
	lines := make([]Line, 0, min(len(raw), limit))
	for _, l := range raw {
		if l.TS.UnixNano() == boundary {
			if _, ok := skip[l.key()]; ok {
				continue
			}
		}
		if len(lines) == limit {
			break
		}
		lines = append(lines, l)
	}
	res := &RangeResult{Lines: lines, LogQL: logql}
	// A full answer may have more behind it; a short one has not.
	if len(raw) >= ask && len(lines) > 0 {
		res.Next = cur.next(lines, logql, boundary, cur.Skip).encode()
	}
	return res, nil
}

// queryRange sends one query_range and returns its lines, unsorted.
func (c *Client) queryRange(ctx context.Context, q url.Values) ([]Line, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint("/loki/api/v1/query_range", q).String(), nil)
	if err != nil {
		return nil, err
	}
	c.header(req.Header)
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, c.netError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, readError(resp)
	}
	var body struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponse)).Decode(&body); err != nil {
		return nil, fmt.Errorf("loki %s: read query_range answer: %w", c.URL(), err)
	}
	if body.Data.ResultType != "streams" {
		return nil, fmt.Errorf("loki %s: query_range answered %q, want streams", c.URL(), body.Data.ResultType)
	}
	return decodeStreams(body.Data.Result)
}

// netError names Loki without the query (which the URL of a url.Error
// holds in full).
func (c *Client) netError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("loki %s: %w", c.URL(), err)
}

// stream is one stream of a Loki answer: labels and [ts, line, ...] pairs.
type stream struct {
	Stream map[string]string   `json:"stream"`
	Values [][]json.RawMessage `json:"values"`
}

func decodeStreams(raw json.RawMessage) ([]Line, error) {
	var streams []stream
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &streams); err != nil {
			return nil, fmt.Errorf("decode loki streams: %w", err)
		}
	}
	var lines []Line
	for _, s := range streams {
		for _, v := range s.Values {
			l, err := decodeEntry(s.Stream, v)
			if err != nil {
				return nil, err
			}
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// decodeEntry reads ["<unix ns>", "<line>", {structured metadata}?].
func decodeEntry(labels map[string]string, v []json.RawMessage) (Line, error) {
	if len(v) < 2 {
		return Line{}, fmt.Errorf("decode loki entry: want [timestamp, line], got %d values", len(v))
	}
	var tsText, text string
	if err := json.Unmarshal(v[0], &tsText); err != nil {
		return Line{}, fmt.Errorf("decode loki entry timestamp: %w", err)
	}
	ns, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return Line{}, fmt.Errorf("decode loki entry timestamp %q: %w", tsText, err)
	}
	if err := json.Unmarshal(v[1], &text); err != nil {
		return Line{}, fmt.Errorf("decode loki entry line: %w", err)
	}
	return lineFromLabels(labels, time.Unix(0, ns).UTC(), text), nil
}
