package sinks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// HTTP is a sink on http://127.0.0.1:port that records every POST (any
// path) and answers "ok", which is what Slack's incoming webhooks answer
// and all Alertmanager's webhook receiver needs.
type HTTP struct {
	// URL is the sink's base URL; any path under it records too, so one
	// sink can stand for several receivers (URL+"/slack", URL+"/hook").
	URL string
	srv *httptest.Server
	rec *recorder[Message]
}

// Message is one POST the HTTP sink received.
type Message struct {
	Path        string
	ContentType string
	Body        []byte
	Received    time.Time
}

// Slack is a Slack incoming-webhook message, as Alertmanager's slack
// notifier posts it: the text goes in attachments.
type Slack struct {
	Channel     string            `json:"channel"`
	Username    string            `json:"username"`
	Text        string            `json:"text"`
	Attachments []SlackAttachment `json:"attachments"`
}

// SlackAttachment is one attachment of a Slack message.
type SlackAttachment struct {
	Title     string `json:"title"`
	TitleLink string `json:"title_link"`
	Pretext   string `json:"pretext"`
	Text      string `json:"text"`
	Fallback  string `json:"fallback"`
	Color     string `json:"color"`
	Footer    string `json:"footer"`
}

// Webhook is Alertmanager's webhook payload (version 4).
type Webhook struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"` // firing | resolved
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []WebhookAlert    `json:"alerts"`
}

// WebhookAlert is one alert of a webhook payload.
type WebhookAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Slack decodes the message as a Slack message.
func (m Message) Slack() (Slack, error) {
	var s Slack
	if err := json.Unmarshal(m.Body, &s); err != nil {
		return s, fmt.Errorf("not a Slack message: %w", err)
	}
	if s.Text == "" && len(s.Attachments) == 0 {
		return s, errors.New("not a Slack message: no text and no attachments")
	}
	return s, nil
}

// Webhook decodes the message as an Alertmanager webhook payload.
func (m Message) Webhook() (Webhook, error) {
	var w Webhook
	if err := json.Unmarshal(m.Body, &w); err != nil {
		return w, fmt.Errorf("not an Alertmanager webhook payload: %w", err)
	}
	if w.Version == "" || w.Status == "" {
		return w, errors.New("not an Alertmanager webhook payload: no version or status")
	}
	return w, nil
}

// NewHTTP starts an HTTP sink, stopped in t.Cleanup.
func NewHTTP(t testing.TB) *HTTP {
	t.Helper()
	s := &HTTP{rec: newRecorder[Message]()}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.rec.add(Message{Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Body: body, Received: time.Now()})
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok")
	}))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Messages is every POST received so far, in order.
func (s *HTTP) Messages() []Message { return s.rec.all() }

// Wait returns the first message match accepts, waiting up to timeout;
// the test fails, listing what arrived, when none does.
func (s *HTTP) Wait(t testing.TB, timeout time.Duration, match func(Message) bool) Message {
	t.Helper()
	return s.rec.wait(t, timeout, "HTTP message", match, describe)
}

// WaitWebhook returns the first Alertmanager webhook payload match accepts.
func (s *HTTP) WaitWebhook(t testing.TB, timeout time.Duration, match func(Webhook) bool) Webhook {
	t.Helper()
	m := s.rec.wait(t, timeout, "webhook payload", func(m Message) bool {
		w, err := m.Webhook()
		return err == nil && match(w)
	}, describe)
	w, _ := m.Webhook()
	return w
}

// WaitSlack returns the first Slack message match accepts.
func (s *HTTP) WaitSlack(t testing.TB, timeout time.Duration, match func(Slack) bool) Slack {
	t.Helper()
	m := s.rec.wait(t, timeout, "Slack message", func(m Message) bool {
		sl, err := m.Slack()
		return err == nil && match(sl)
	}, describe)
	sl, _ := m.Slack()
	return sl
}

func describe(m Message) string { return m.Path + " " + string(m.Body) }

// Firing reports whether a webhook payload is firing and holds an alert
// whose labels include every pair in labels.
func (w Webhook) Firing(labels map[string]string) bool {
	return w.Status == "firing" && w.Has(labels)
}

// Has reports whether some alert's labels include every pair in labels.
func (w Webhook) Has(labels map[string]string) bool {
	for _, a := range w.Alerts {
		ok := true
		for k, v := range labels {
			ok = ok && a.Labels[k] == v
		}
		if ok {
			return true
		}
	}
	return false
}

// Webhooks is every message received so far that is an Alertmanager
// webhook payload, in order.
func (s *HTTP) Webhooks() []Webhook {
	var out []Webhook
	for _, m := range s.rec.all() {
		if w, err := m.Webhook(); err == nil {
			out = append(out, w)
		}
	}
	return out
}

// Slacks is every message received so far that is a Slack message, in
// order.
func (s *HTTP) Slacks() []Slack {
	var out []Slack
	for _, m := range s.rec.all() {
		if sl, err := m.Slack(); err == nil {
			out = append(out, sl)
		}
	}
	return out
}
