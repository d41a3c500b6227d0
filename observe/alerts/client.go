package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Labels every alert Backplane raises or reads carries; routes match on
// project and element.
const (
	LabelAlertname = "alertname"
	LabelProject   = "project"
	LabelElement   = "element"
	LabelRegion    = "region"
	LabelSeverity  = "severity"
)

// Client speaks Alertmanager's HTTP API v2 (and its /-/reload endpoint).
// Its zero value is not usable; use NewClient.
type Client struct {
	base *url.URL
	http *http.Client
}

// NewClient returns a client for the Alertmanager at rawURL
// (http://127.0.0.1:9093). A URL with a path prefix (behind a proxy at
// /alertmanager) keeps it.
func NewClient(rawURL string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(rawURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("alertmanager URL %q: want http(s)://host[:port]", rawURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("alertmanager URL %q: credentials in the URL are not supported", u.Redacted())
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{base: u, http: hc}, nil
}

// URL is the Alertmanager's base URL.
func (c *Client) URL() string { return c.base.String() }

// PostableAlert is one alert as POST /api/v2/alerts takes it.
type PostableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Alert is an alert as GET /api/v2/alerts returns it.
type Alert struct {
	Fingerprint  string            `json:"fingerprint"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	UpdatedAt    time.Time         `json:"updatedAt"`
	GeneratorURL string            `json:"generatorURL"`
	Status       struct {
		// State is "active", "suppressed" or "unprocessed".
		State       string   `json:"state"`
		SilencedBy  []string `json:"silencedBy"`
		InhibitedBy []string `json:"inhibitedBy"`
	} `json:"status"`
	Receivers []struct {
		Name string `json:"name"`
	} `json:"receivers"`
}

// Matcher is one silence matcher.
type Matcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual bool   `json:"isEqual"`
}

// Silence is an Alertmanager silence.
type Silence struct {
	ID        string    `json:"id,omitempty"`
	Matchers  []Matcher `json:"matchers"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
	Status    *struct {
		// State is "active", "pending" or "expired".
		State string `json:"state"`
	} `json:"status,omitempty"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// State is the silence's state, "" when Alertmanager did not say.
func (s *Silence) State() string {
	if s.Status == nil {
		return ""
	}
	return s.Status.State
}

// Label returns the value a silence's equality matcher requires of a label,
// or "" when it has none for it.
func (s *Silence) Label(name string) string {
	for _, m := range s.Matchers {
		if m.Name == name && !m.IsRegex && m.IsEqual {
			return m.Value
		}
	}
	return ""
}

// Status is the part of GET /api/v2/status that Backplane reads.
type Status struct {
	Config struct {
		Original string `json:"original"`
	} `json:"config"`
	VersionInfo map[string]string `json:"versionInfo"`
	Uptime      time.Time         `json:"uptime"`
}

// APIError is a non-2xx answer from Alertmanager.
type APIError struct {
	Op     string
	Status int
	Body   string
}

func (e *APIError) Error() string {
	msg := strings.TrimSpace(e.Body)
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return fmt.Sprintf("alertmanager: %s: HTTP %d: %s", e.Op, e.Status, msg)
}

// IsNotFound reports whether err is a 404 from Alertmanager.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// Filter builds Alertmanager's filter=... matchers: label="value" for
// every pair, sorted by the caller.
func Filter(pairs ...string) []string {
	out := make([]string, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, fmt.Sprintf("%s=%q", pairs[i], pairs[i+1]))
	}
	return out
}

// PostAlerts posts alerts (firing or, with EndsAt in the past, resolved).
func (c *Client) PostAlerts(ctx context.Context, alerts []PostableAlert) error {
	return c.do(ctx, "post alerts", http.MethodPost, "/api/v2/alerts", nil, alerts, nil)
}

// Alerts lists the alerts that match every filter (label="value"), active
// and silenced, not inhibited-away ones' status hidden.
func (c *Client) Alerts(ctx context.Context, filter []string) ([]Alert, error) {
	q := url.Values{}
	for _, f := range filter {
		q.Add("filter", f)
	}
	var out []Alert
	err := c.do(ctx, "list alerts", http.MethodGet, "/api/v2/alerts", q, nil, &out)
	return out, err
}

// Silences lists the silences that match every filter (label="value").
func (c *Client) Silences(ctx context.Context, filter []string) ([]Silence, error) {
	q := url.Values{}
	for _, f := range filter {
		q.Add("filter", f)
	}
	var out []Silence
	err := c.do(ctx, "list silences", http.MethodGet, "/api/v2/silences", q, nil, &out)
	return out, err
}

// Silence reads one silence.
func (c *Client) Silence(ctx context.Context, id string) (*Silence, error) {
	var out Silence
	if err := c.do(ctx, "read silence", http.MethodGet, "/api/v2/silence/"+url.PathEscape(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateSilence creates a silence and returns its ID.
func (c *Client) CreateSilence(ctx context.Context, s Silence) (string, error) {
	s.ID = ""
	s.Status = nil
	var out struct {
		SilenceID string `json:"silenceID"`
	}
	if err := c.do(ctx, "create silence", http.MethodPost, "/api/v2/silences", nil, s, &out); err != nil {
		return "", err
	}
	return out.SilenceID, nil
}

// ExpireSilence ends a silence now.
func (c *Client) ExpireSilence(ctx context.Context, id string) error {
	return c.do(ctx, "expire silence", http.MethodDelete, "/api/v2/silence/"+url.PathEscape(id), nil, nil, nil)
}

// Status reads Alertmanager's status, including the config it runs.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var out Status
	if err := c.do(ctx, "read status", http.MethodGet, "/api/v2/status", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Reload asks Alertmanager to reload its config file. Alertmanager answers
// 500 with the reason when the file does not load.
func (c *Client) Reload(ctx context.Context) error {
	return c.do(ctx, "reload", http.MethodPost, "/-/reload", nil, nil, nil)
}

func (c *Client) do(ctx context.Context, op, method, path string, q url.Values, body, out any) error {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	if q != nil {
		u.RawQuery = q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("alertmanager: %s: %w", op, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("alertmanager: %s: %w", op, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("alertmanager: %s: %w", op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return &APIError{Op: op, Status: resp.StatusCode, Body: string(b)}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(out); err != nil {
		return fmt.Errorf("alertmanager: %s: decode answer: %w", op, err)
	}
	return nil
}
