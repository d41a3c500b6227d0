package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/observe/alerts"
	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/translator"
)

// AlertConfigApplier loads a project's rendered Alertmanager subtree into
// the Alertmanager config file and removes it; *alerts.Manager is one.
type AlertConfigApplier interface {
	Apply(ctx context.Context, project string, rendered []byte, secrets map[string][]byte) error
	Remove(ctx context.Context, project string) error
}

// AlertsConfig wires alerting. Without a Client the alerts endpoints
// answer 503 no_alertmanager, and nothing raises alerts.
type AlertsConfig struct {
	Client *alerts.Client
	// Config manages the Alertmanager config file; nil when the operator
	// manages it (deploys then load no routes).
	Config AlertConfigApplier
	// Options go to the translator: where Alertmanager reads secret files,
	// and the project routes' timings.
	Options translator.AlertingOptions
}

var errNoAlertmanager = &apiError{Status: http.StatusServiceUnavailable, Code: "no_alertmanager",
	Message: "alerts are off: this server has no Alertmanager (set BACKPLANE_ALERTMANAGER_URL)"}

// Silence bounds.
const (
	minSilence     = time.Minute
	maxSilence     = 90 * 24 * time.Hour
	maxSilenceText = 1000
	// alertPoll re-reads the alerts of projects someone is looking at, so
	// metric-rule alerts and silences made elsewhere show up too.
	alertPoll = 5 * time.Second
)

// alerting is the server's alerting side: the bridge that raises alerts
// from the status watch, and the alert events for the editor.
type alerting struct {
	s      *Server
	client *alerts.Client
	config AlertConfigApplier
	bridge *alerts.Bridge
	cancel context.CancelFunc

	mu      sync.Mutex
	pending map[string]bool // projects with a refresh scheduled
}

type checkReader interface {
	Checks(ctx context.Context, t jobs.Target, allocs []string) ([]jobs.Check, error)
}

func newAlerting(s *Server, cfg AlertsConfig) *alerting {
	if cfg.Client == nil {
		return nil
	}
	a := &alerting{s: s, client: cfg.Client, config: cfg.Config, pending: map[string]bool{}}
	bc := alerts.BridgeConfig{Client: cfg.Client, PublicURL: s.publicURL, Logger: s.log, OnChange: a.changed}
	if cr, ok := s.cluster.(checkReader); ok && s.cluster != nil {
		bc.Checks = cr.Checks
	}
	a.bridge = alerts.NewBridge(bc)
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	go a.bridge.Run(ctx)
	go a.poll(ctx)
	return a
}

func (a *alerting) stop() {
	if a != nil {
		a.cancel()
	}
}

// changed schedules a re-read of a project's alerts, shortly: the bridge
// has just queued a post, which Alertmanager takes a moment to ingest.
func (a *alerting) changed(project string) {
	a.mu.Lock()
	if a.pending[project] {
		a.mu.Unlock()
		return
	}
	a.pending[project] = true
	a.mu.Unlock()
	time.AfterFunc(300*time.Millisecond, func() {
		a.mu.Lock()
		delete(a.pending, project)
		a.mu.Unlock()
		if a.s.hub.hasSubscribers(project) {
			a.refresh(context.Background(), project)
		}
	})
}

func (a *alerting) poll(ctx context.Context) {
	tk := time.NewTicker(alertPoll)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		for _, p := range a.s.hub.subscribedProjects() {
			a.refresh(ctx, p)
		}
	}
}

// refresh reads a project's alerts from Alertmanager and sends them to its
// subscribers when they changed.
func (a *alerting) refresh(ctx context.Context, project string) {
	ctx, cancel := context.WithTimeout(ctx, RequestTimeout)
	defer cancel()
	list, err := a.list(ctx, project, "")
	if err != nil {
		a.s.log.Debug("read alerts for the event stream", "project", project, "error", err)
		return
	}
	a.s.hub.publishAlerts(project, encodeEvent("alert", gin.H{"alerts": list}))
}

// alertView is one alert as the API and the editor show it.
type alertView struct {
	Fingerprint string    `json:"fingerprint"`
	Alertname   string    `json:"alertname"`
	Element     string    `json:"element"`
	Region      string    `json:"region"`
	Severity    string    `json:"severity"`
	Summary     string    `json:"summary"`
	Description string    `json:"description"`
	EditorURL   string    `json:"editor_url"`
	StartsAt    time.Time `json:"starts_at"`
	// State is "active" or "suppressed" (silenced or inhibited).
	State      string   `json:"state"`
	SilencedBy []string `json:"silenced_by"`
}

func (a *alerting) list(ctx context.Context, project, element string) ([]alertView, error) {
	filter := alerts.Filter(alerts.LabelProject, project)
	if element != "" {
		filter = append(filter, alerts.Filter(alerts.LabelElement, element)...)
	}
	as, err := a.client.Alerts(ctx, filter)
	if err != nil {
		return nil, err
	}
	out := make([]alertView, 0, len(as))
	for _, x := range as {
		v := alertView{
			Fingerprint: x.Fingerprint, Alertname: x.Labels[alerts.LabelAlertname], Element: x.Labels[alerts.LabelElement],
			Region: x.Labels[alerts.LabelRegion], Severity: x.Labels[alerts.LabelSeverity],
			Summary: x.Annotations["summary"], Description: x.Annotations["description"], EditorURL: x.Annotations["editor_url"],
			StartsAt: x.StartsAt.UTC(), State: x.Status.State, SilencedBy: x.Status.SilencedBy,
		}
		if v.SilencedBy == nil {
			v.SilencedBy = []string{}
		}
		if v.State == "unprocessed" {
			v.State = "active"
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Element != out[j].Element {
			return out[i].Element < out[j].Element
		}
		if out[i].Alertname != out[j].Alertname {
			return out[i].Alertname < out[j].Alertname
		}
		return out[i].Region < out[j].Region
	})
	return out, nil
}

// amError turns an Alertmanager failure into the API's answer.
func amError(err error) error {
	var ae *alerts.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
		return errBadRequest(ae.Error())
	}
	return &apiError{Status: http.StatusBadGateway, Code: "alertmanager_unreachable", Message: err.Error()}
}

func (s *Server) listAlerts(c *gin.Context) error {
	if s.alerts == nil {
		return errNoAlertmanager
	}
	list, err := s.alerts.list(c.Request.Context(), c.Param("p"), c.Query("element"))
	if err != nil {
		return amError(err)
	}
	c.JSON(http.StatusOK, gin.H{"alerts": list})
	return nil
}

// silenceView is one silence as the API shows it.
type silenceView struct {
	ID        string    `json:"id"`
	Element   string    `json:"element"`
	Comment   string    `json:"comment"`
	CreatedBy string    `json:"created_by"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	State     string    `json:"state"`
}

func viewSilence(x *alerts.Silence) silenceView {
	return silenceView{ID: x.ID, Element: x.Label(alerts.LabelElement), Comment: x.Comment, CreatedBy: x.CreatedBy,
		StartsAt: x.StartsAt.UTC(), EndsAt: x.EndsAt.UTC(), State: x.State()}
}

func (s *Server) listSilences(c *gin.Context) error {
	if s.alerts == nil {
		return errNoAlertmanager
	}
	slug := c.Param("p")
	list, err := s.alerts.client.Silences(c.Request.Context(), alerts.Filter(alerts.LabelProject, slug))
	if err != nil {
		return amError(err)
	}
	out := make([]silenceView, 0, len(list))
	for i := range list {
		// Only silences scoped to this project by an equality matcher:
		// a silence with project=~".*" is an operator's, not the project's.
		if list[i].Label(alerts.LabelProject) == slug {
			out = append(out, viewSilence(&list[i]))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartsAt.After(out[j].StartsAt) })
	c.JSON(http.StatusOK, gin.H{"silences": out})
	return nil
}

func (s *Server) createSilence(c *gin.Context) error {
	if s.alerts == nil {
		return errNoAlertmanager
	}
	var req struct {
		Element  string `json:"element"`
		Duration string `json:"duration"`
		Comment  string `json:"comment"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request.Context()
	slug := c.Param("p")
	if req.Element == "" {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "element", Message: "element is required"}
	}
	if _, err := s.elementOfHead(ctx, slug, req.Element); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			ae.Status, ae.Code, ae.Path = http.StatusBadRequest, "bad_request", "element"
		}
		return err
	}
	d, err := time.ParseDuration(req.Duration)
	switch {
	case err != nil:
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "duration", Message: fmt.Sprintf("%q is not a duration (for example 30m or 2h)", req.Duration)}
	case d < minSilence || d > maxSilence:
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "duration", Message: fmt.Sprintf("a silence lasts between %s and %s", minSilence, "90 days")}
	}
	comment := strings.TrimSpace(req.Comment)
	switch {
	case comment == "":
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "comment", Message: "say why in a comment"}
	case utf8.RuneCountInString(comment) > maxSilenceText || !utf8.ValidString(comment):
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "comment", Message: fmt.Sprintf("a comment is at most %d characters of text", maxSilenceText)}
	}
	now := time.Now().UTC()
	sil := alerts.Silence{
		Matchers: []alerts.Matcher{
			{Name: alerts.LabelProject, Value: slug, IsEqual: true},
			{Name: alerts.LabelElement, Value: req.Element, IsEqual: true},
		},
		StartsAt: now, EndsAt: now.Add(d), CreatedBy: author(c), Comment: comment,
	}
	id, err := s.alerts.client.CreateSilence(ctx, sil)
	if err != nil {
		return amError(err)
	}
	sil.ID = id
	s.audit(c, slug, "silence.create", fmt.Sprintf("%s for %s (%s): %s", req.Element, d, id, comment))
	s.alerts.changed(slug)
	v := viewSilence(&sil)
	v.State = "active"
	c.JSON(http.StatusCreated, gin.H{"silence": v})
	return nil
}

func (s *Server) expireSilence(c *gin.Context) error {
	if s.alerts == nil {
		return errNoAlertmanager
	}
	ctx := c.Request.Context()
	slug, id := c.Param("p"), c.Param("id")
	sil, err := s.alerts.client.Silence(ctx, id)
	if err != nil {
		if alerts.IsNotFound(err) {
			return errNotFound("no silence " + id)
		}
		var ae *alerts.APIError
		if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
			return errNotFound("no silence " + id) // not a silence ID at all
		}
		return amError(err)
	}
	if sil.Label(alerts.LabelProject) != slug {
		return errNotFound("no silence " + id + " in " + slug)
	}
	if sil.State() != "expired" {
		if err := s.alerts.client.ExpireSilence(ctx, id); err != nil {
			return amError(err)
		}
	}
	s.audit(c, slug, "silence.expire", fmt.Sprintf("%s (%s)", id, sil.Label(alerts.LabelElement)))
	s.alerts.changed(slug)
	c.Status(http.StatusNoContent)
	return nil
}

// applyAlerts loads the project's routes and receivers into the
// Alertmanager config, with the project secrets the receivers read. It
// does nothing when the server does not manage the config.
func (s *Server) applyAlerts(ctx context.Context, slug string, b *translator.Bundle) error {
	if s.alerts == nil || s.alerts.config == nil {
		return nil
	}
	secrets := map[string][]byte{}
	if len(b.AlertSecrets) > 0 {
		sr, ok := s.cluster.(projectSecretReader)
		if s.cluster == nil || !ok || !s.cluster.HasVault() {
			return fmt.Errorf("receivers read project secrets %s, which live in Vault: set VAULT_ADDR and VAULT_TOKEN for serve", strings.Join(b.AlertSecrets, ", "))
		}
		var err error
		if secrets, err = sr.ProjectSecretValues(ctx, slug, b.AlertSecrets); err != nil {
			return err
		}
	}
	return s.alerts.config.Apply(ctx, slug, []byte(b.Alertmanager), secrets)
}

type projectSecretReader interface {
	ProjectSecretValues(ctx context.Context, project string, names []string) (map[string][]byte, error)
}

// follow makes the bridge raise alerts for the project's deployed jobs,
// with the element rules of sc.
func (s *Server) follow(slug string, sc *schema.Schema, b *translator.Bundle) {
	if s.alerts == nil {
		return
	}
	s.alerts.bridge.SetProject(slug, sc, jobs.Targets(b))
	s.hub.pin(slug, b)
}

// forgetAlerts resolves a deleted project's alerts and removes its routes
// and metric rules.
func (s *Server) forgetAlerts(ctx context.Context, slug string) {
	if s.rules != nil {
		if err := s.rules.Remove(ctx, slug); err != nil {
			s.log.Warn("remove a deleted project's metric rules", "project", slug, "error", err)
		}
	}
	if s.alerts == nil {
		return
	}
	s.alerts.bridge.RemoveProject(slug)
	if s.alerts.config != nil {
		if err := s.alerts.config.Remove(ctx, slug); err != nil {
			s.log.Warn("remove a deleted project's alert routes", "project", slug, "error", err)
		}
	}
}

// resumeAlerts runs at start: for every project that has been deployed,
// it loads its routes again (the config file may be new) and has the
// bridge follow its jobs, so what fires is recomputed from Nomad.
func (s *Server) resumeAlerts(ctx context.Context) {
	if (s.alerts == nil && s.rules == nil) || s.cluster == nil {
		return
	}
	ps, err := s.store.ListProjects(ctx)
	if err != nil {
		s.log.Warn("alerts: list projects", "error", err)
		return
	}
	for _, p := range ps {
		ds, err := s.store.ListDeployments(ctx, p.Slug, 20)
		if err != nil || len(ds) == 0 {
			continue
		}
		var rev int64
		for _, d := range ds {
			if d.Action == "deploy" && d.Status == "succeeded" {
				rev = d.Revision
				break
			}
		}
		if rev == 0 {
			continue
		}
		r, b, err := s.revisionBundle(ctx, p.Slug, rev)
		if err != nil {
			s.log.Warn("alerts: read the deployed revision", "project", p.Slug, "revision", rev, "error", err)
			continue
		}
		sc, err := schema.Decode("", []byte(r.YAML))
		if err != nil {
			continue
		}
		if err := s.applyAlerts(ctx, p.Slug, b); err != nil {
			s.log.Warn("alerts: load the project's routes", "project", p.Slug, "error", err)
		}
		if s.rules != nil {
			if err := s.rules.Apply(ctx, p.Slug, []byte(b.PrometheusRules)); err != nil {
				s.log.Warn("metrics: load the project's rules", "project", p.Slug, "error", err)
			}
		}
		s.follow(p.Slug, sc, b)
	}
}
