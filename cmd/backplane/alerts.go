package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/backplane-dev/backplane/observe/alerts"
)

// envAlertmanagerURL names the Alertmanager the alerts commands read when
// no Backplane server is configured.
const envAlertmanagerURL = "BACKPLANE_ALERTMANAGER_URL"

// Silence bounds, the server's (web/alerts.go): checked here too, so a
// direct silence obeys them and a bad one is refused before any request.
const (
	minSilence        = time.Minute
	maxSilence        = 90 * 24 * time.Hour
	maxSilenceComment = 1000 // characters
)

// alertView is a firing alert as the server's API returns it and as
// `alerts --json` prints it, whichever way it was read.
type alertView struct {
	Fingerprint string    `json:"fingerprint"`
	Alertname   string    `json:"alertname"`
	Element     string    `json:"element"`
	Region      string    `json:"region"`
	Severity    string    `json:"severity"`
	Summary     string    `json:"summary"`
	Description string    `json:"description"`
	EditorURL   string    `json:"editor_url,omitempty"`
	StartsAt    time.Time `json:"starts_at"`
	State       string    `json:"state"` // active | suppressed
	SilencedBy  []string  `json:"silenced_by"`
}

// silenceView is a silence of the project, as the server's API returns it.
type silenceView struct {
	ID        string    `json:"id"`
	Element   string    `json:"element"`
	Comment   string    `json:"comment"`
	CreatedBy string    `json:"created_by"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	State     string    `json:"state"` // active | pending | expired
}

// alertSource is where the alerts commands read and write: Alertmanager,
// or a Backplane server's API.
type alertSource interface {
	alerts(ctx context.Context, element string) ([]alertView, error)
	silences(ctx context.Context) ([]silenceView, error)
	silence(ctx context.Context, element string, d time.Duration, comment string) (*silenceView, error)
	// expire ends a silence of the project; one that has ended already is
	// left as it is.
	expire(ctx context.Context, id string) error
	// fail turns an error into the command's.
	fail(err error) error
}

// alertsFlags are the flags every alerts command takes.
type alertsFlags struct {
	clusterFlags
	amURL string
}

func (f *alertsFlags) register(cmd *cobra.Command, jsonUsage string) {
	f.cmd = cmd
	fl := cmd.Flags()
	fl.StringVar(&f.server, "server", "", "go through this Backplane server (env "+envServer+"; default: the one backplane login stored; --server= talks to Alertmanager directly)")
	fl.StringVarP(&f.file, "file", "f", "backplane.yaml", "schema file, which names the project (YAML or JSON; - for stdin)")
	fl.StringVar(&f.amURL, "alertmanager-url", os.Getenv(envAlertmanagerURL), "Alertmanager's base URL, used when no server is configured (env "+envAlertmanagerURL+")")
	fl.BoolVar(&f.jsonOut, "json", false, jsonUsage)
}

func (a *app) alertsCmd() *cobra.Command {
	var f alertsFlags
	var element string
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List the project's firing alerts; silence and unsilence elements (Alertmanager)",
		Long: `Alerts lists the project's firing alerts, by element, region and name, as

  ELEMENT REGION ALERT SEVERITY SINCE SUMMARY

An alert a silence holds back is marked "(silenced)". --element keeps one
element's; --json prints one document, {"alerts": [...]}.

The project is the schema file's (-f). With a Backplane server configured
(BACKPLANE_SERVER or backplane login) the commands go through its API, with
your role there (reading is a viewer's right, silencing a deployer's);
otherwise straight to Alertmanager at BACKPLANE_ALERTMANAGER_URL.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runAlerts(&f, element)
		},
	}
	f.register(cmd, `print one JSON document: {"alerts": [...]}`)
	cmd.Flags().StringVar(&element, "element", "", "only this element's alerts")
	cmd.AddCommand(a.alertsSilenceCmd(), a.alertsSilencesCmd(), a.alertsExpireCmd())
	return cmd
}

func (a *app) alertsSilenceCmd() *cobra.Command {
	var f alertsFlags
	var dur, comment string
	cmd := &cobra.Command{
		Use:   "silence ELEMENT --for DURATION --comment TEXT",
		Short: "Silence an element's alerts for a while",
		Long: `Silence holds back every alert of ELEMENT in the project (all regions)
for --for (a Go duration: 30m, 2h, 72h; from 1m to 2160h, 90 days), with
--comment saying why (at most 1000 characters). It prints the silence's ID, for alerts expire, and
when it ends. Directly against Alertmanager the silence matches
project=<project> and element=<ELEMENT> and is created by $USER; through a
server, by the signed-in user.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runSilence(&f, args[0], dur, comment)
		},
	}
	f.register(cmd, `print the silence as one JSON document: {"silence": {...}}`)
	cmd.Flags().StringVar(&dur, "for", "", "how long the silence lasts, e.g. 30m, 2h, 72h (1m to 2160h)")
	cmd.Flags().StringVar(&comment, "comment", "", "why the alerts are silenced (required)")
	return cmd
}

func (a *app) alertsSilencesCmd() *cobra.Command {
	var f alertsFlags
	cmd := &cobra.Command{
		Use:   "silences",
		Short: "List the project's silences",
		Long: `Silences lists the project's silences, active and pending first, as

  ID ELEMENT STATE ENDS BY COMMENT

Expired ones are listed too while Alertmanager keeps them (five days by
default).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runSilences(&f)
		},
	}
	f.register(cmd, `print one JSON document: {"silences": [...]}`)
	return cmd
}

func (a *app) alertsExpireCmd() *cobra.Command {
	var f alertsFlags
	cmd := &cobra.Command{
		Use:   "expire ID",
		Short: "End one of the project's silences now",
		Long: `Expire ends a silence of the project now (its ID as alerts silence and
alerts silences print it). A silence of another project is refused.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runExpire(&f, args[0])
		},
	}
	f.register(cmd, "print the outcome as JSON")
	return cmd
}

// alertsProject loads the schema for its project and finds where alerts
// are: the server when one is configured, else Alertmanager.
func (a *app) alertsProject(f *alertsFlags, cmd string) (*source, alertSource, error) {
	data, s, err := a.loadSource(f.file)
	if err != nil {
		return nil, nil, err
	}
	name := f.file
	if name == "-" {
		name = "<stdin>"
	}
	if s.Project == "" {
		return nil, nil, &exitError{code: exitInvalid, err: fmt.Errorf("%s: project: is required: it names the project whose alerts these are", name)}
	}
	src := &source{name: name, data: data, schema: s}
	r, err := a.remoteFor(&f.clusterFlags, cmd)
	if err != nil {
		return nil, nil, err
	}
	if r != nil {
		return src, &remoteAlerts{r: r, project: s.Project, file: name}, nil
	}
	if strings.TrimSpace(f.amURL) == "" {
		return nil, nil, &exitError{code: exitInvalid, err: fmt.Errorf("%s: Alertmanager is not configured: set %s (or --alertmanager-url) to Alertmanager's base URL, e.g. http://127.0.0.1:9093, or go through a Backplane server that has it (backplane login)", cmd, envAlertmanagerURL)}
	}
	c, err := alerts.NewClient(strings.TrimSpace(f.amURL), nil)
	if err != nil {
		return nil, nil, &exitError{code: exitUsage, err: fmt.Errorf("%s: --alertmanager-url: %w", cmd, err)}
	}
	return src, &amAlerts{c: c, project: s.Project, cmd: cmd}, nil
}

func (a *app) runAlerts(f *alertsFlags, element string) error {
	src, as, err := a.alertsProject(f, "alerts")
	if err != nil {
		return err
	}
	if element != "" && !src.hasElement(element) {
		// A destroyed element's alerts may still fire: list them anyway.
		fmt.Fprintf(a.stderr, "alerts: note: %s has no element %q; listing its alerts anyway\n", src.name, element)
	}
	ctx, cancel := signalContext()
	defer cancel()
	list, err := as.alerts(ctx, element)
	if err != nil {
		return as.fail(err)
	}
	sortAlerts(list)
	if f.jsonOut {
		return writeJSON(a.stdout, map[string]any{"alerts": list})
	}
	if len(list) == 0 {
		fmt.Fprintf(a.stdout, "no alerts firing in %s\n", src.schema.Project)
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ELEMENT\tREGION\tALERT\tSEVERITY\tSINCE\tSUMMARY")
	for _, al := range list {
		name := dash(al.Alertname)
		if len(al.SilencedBy) > 0 {
			name += " (silenced)"
		} else if al.State == "suppressed" {
			name += " (inhibited)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", dash(al.Element), dash(al.Region), name, dash(al.Severity),
			ago(now.Sub(al.StartsAt)), oneLine(al.Summary))
	}
	return tw.Flush()
}

func (a *app) runSilence(f *alertsFlags, element, dur, comment string) error {
	d, err := parseSilenceDuration(dur)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("alerts silence: --for: %w", err)}
	}
	comment = strings.TrimSpace(comment)
	switch {
	case comment == "":
		return &exitError{code: exitUsage, err: errors.New("alerts silence: --comment is required: say why the alerts are silenced")}
	case !utf8.ValidString(comment) || utf8.RuneCountInString(comment) > maxSilenceComment:
		return &exitError{code: exitUsage, err: fmt.Errorf("alerts silence: --comment: at most %d characters of text", maxSilenceComment)}
	}
	src, as, err := a.alertsProject(f, "alerts silence")
	if err != nil {
		return err
	}
	if !src.hasElement(element) {
		return &exitError{code: exitUsage, err: fmt.Errorf("alerts silence: no element %q in %s", element, src.name)}
	}
	ctx, cancel := signalContext()
	defer cancel()
	s, err := as.silence(ctx, element, d, comment)
	if err != nil {
		return as.fail(err)
	}
	if f.jsonOut {
		return writeJSON(a.stdout, map[string]any{"silence": s})
	}
	fmt.Fprintf(a.stdout, "silenced %s in %s until %s (%s): silence %s\n", element, src.schema.Project,
		s.EndsAt.UTC().Format(time.RFC3339), shortDuration(time.Until(s.EndsAt)), s.ID)
	return nil
}

// parseSilenceDuration reads --for: a Go duration from minSilence to
// maxSilence.
func parseSilenceDuration(s string) (time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return 0, errors.New("is required: how long the silence lasts, e.g. 2h")
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: want e.g. 30m, 2h or 72h", s)
	}
	if d < minSilence {
		return 0, fmt.Errorf("%s: a silence lasts at least 1m", s)
	}
	if d > maxSilence {
		return 0, fmt.Errorf("%s: a silence lasts at most 2160h (90 days)", s)
	}
	return d, nil
}

func (a *app) runSilences(f *alertsFlags) error {
	src, as, err := a.alertsProject(f, "alerts silences")
	if err != nil {
		return err
	}
	ctx, cancel := signalContext()
	defer cancel()
	list, err := as.silences(ctx)
	if err != nil {
		return as.fail(err)
	}
	sortSilences(list)
	if f.jsonOut {
		return writeJSON(a.stdout, map[string]any{"silences": list})
	}
	if len(list) == 0 {
		fmt.Fprintf(a.stdout, "no silences in %s\n", src.schema.Project)
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tELEMENT\tSTATE\tENDS\tBY\tCOMMENT")
	for _, s := range list {
		ends := s.EndsAt.UTC().Format("2006-01-02T15:04Z")
		if d := s.EndsAt.Sub(now); d > 0 {
			ends += " (in " + shortDuration(d) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, dash(s.Element), dash(s.State), ends, dash(s.CreatedBy), oneLine(s.Comment))
	}
	return tw.Flush()
}

func (a *app) runExpire(f *alertsFlags, id string) error {
	id = strings.TrimSpace(id)
	if id == "" {
		return &exitError{code: exitUsage, err: errors.New("alerts expire: want a silence ID, as alerts silences prints it")}
	}
	_, as, err := a.alertsProject(f, "alerts expire")
	if err != nil {
		return err
	}
	ctx, cancel := signalContext()
	defer cancel()
	if err := as.expire(ctx, id); err != nil {
		return as.fail(err)
	}
	if f.jsonOut {
		return writeJSON(a.stdout, map[string]any{"id": id, "state": "expired"})
	}
	fmt.Fprintf(a.stdout, "expired silence %s\n", id)
	return nil
}

// sortAlerts orders alerts by element, region, name and start.
func sortAlerts(list []alertView) {
	slices.SortStableFunc(list, func(x, y alertView) int {
		return cmpAll(strings.Compare(x.Element, y.Element), strings.Compare(x.Region, y.Region),
			strings.Compare(x.Alertname, y.Alertname), x.StartsAt.Compare(y.StartsAt), strings.Compare(x.Fingerprint, y.Fingerprint))
	})
}

// silenceRank puts active silences first, then pending, then expired.
var silenceRank = map[string]int{"active": 0, "pending": 1, "expired": 2}

func sortSilences(list []silenceView) {
	rank := func(s string) int {
		if r, ok := silenceRank[s]; ok {
			return r
		}
		return 3
	}
	slices.SortStableFunc(list, func(x, y silenceView) int {
		return cmpAll(rank(x.State)-rank(y.State), x.EndsAt.Compare(y.EndsAt), strings.Compare(x.ID, y.ID))
	})
}

func cmpAll(cs ...int) int {
	for _, c := range cs {
		if c != 0 {
			return c
		}
	}
	return 0
}

// ago is a short age: 45s, 12m, 3h, 2d.
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(0, int(d.Seconds())))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// shortDuration rounds to the minute and drops zero units: 2h, 1h30m, 45s.
func shortDuration(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	s := d.Round(time.Minute).String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// oneLine keeps a table row on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// amAlerts reads and writes Alertmanager directly, scoped to the project
// by its label.
type amAlerts struct {
	c       *alerts.Client
	project string
	cmd     string
}

func (s *amAlerts) alerts(ctx context.Context, element string) ([]alertView, error) {
	pairs := []string{alerts.LabelProject, s.project}
	if element != "" {
		pairs = append(pairs, alerts.LabelElement, element)
	}
	list, err := s.c.Alerts(ctx, alerts.Filter(pairs...))
	if err != nil {
		return nil, err
	}
	out := make([]alertView, 0, len(list))
	for _, al := range list {
		if al.Labels[alerts.LabelProject] != s.project {
			continue // Alertmanager filtered already; this is belt and braces
		}
		out = append(out, viewAlert(al))
	}
	return out, nil
}

// viewAlert turns Alertmanager's alert into the API's shape.
func viewAlert(al alerts.Alert) alertView {
	state := al.Status.State
	if state != "suppressed" {
		state = "active" // "unprocessed" is an alert Alertmanager has not routed yet
	}
	return alertView{
		Fingerprint: al.Fingerprint,
		Alertname:   al.Labels[alerts.LabelAlertname],
		Element:     al.Labels[alerts.LabelElement],
		Region:      al.Labels[alerts.LabelRegion],
		Severity:    al.Labels[alerts.LabelSeverity],
		Summary:     al.Annotations["summary"],
		Description: al.Annotations["description"],
		EditorURL:   al.Annotations["editor_url"],
		StartsAt:    al.StartsAt,
		State:       state,
		SilencedBy:  append([]string{}, al.Status.SilencedBy...),
	}
}

func (s *amAlerts) silences(ctx context.Context) ([]silenceView, error) {
	list, err := s.c.Silences(ctx, alerts.Filter(alerts.LabelProject, s.project))
	if err != nil {
		return nil, err
	}
	out := make([]silenceView, 0, len(list))
	for i := range list {
		// The filter keeps silences with a project matcher whose value is
		// the project's name, regular expressions too; only an equality
		// matcher makes it this project's.
		if list[i].Label(alerts.LabelProject) == s.project {
			out = append(out, viewSilence(&list[i]))
		}
	}
	return out, nil
}

func viewSilence(sil *alerts.Silence) silenceView {
	return silenceView{ID: sil.ID, Element: sil.Label(alerts.LabelElement), Comment: sil.Comment, CreatedBy: sil.CreatedBy,
		StartsAt: sil.StartsAt, EndsAt: sil.EndsAt, State: sil.State()}
}

func (s *amAlerts) silence(ctx context.Context, element string, d time.Duration, comment string) (*silenceView, error) {
	now := time.Now()
	sil := alerts.Silence{
		Matchers: []alerts.Matcher{
			{Name: alerts.LabelProject, Value: s.project, IsEqual: true},
			{Name: alerts.LabelElement, Value: element, IsEqual: true},
		},
		StartsAt:  now,
		EndsAt:    now.Add(d),
		CreatedBy: cliUser(),
		Comment:   comment,
	}
	id, err := s.c.CreateSilence(ctx, sil)
	if err != nil {
		return nil, err
	}
	sil.ID = id
	v := viewSilence(&sil)
	v.State = "active"
	return &v, nil
}

// cliUser is who a silence made directly is created by.
func cliUser() string {
	if u := strings.TrimSpace(os.Getenv("USER")); u != "" {
		return u
	}
	return "backplane-cli"
}

// errNotOurs is a silence that exists but is not the project's.
type errNotOurs struct{ id, project, theirs string }

func (e *errNotOurs) Error() string {
	if e.theirs == "" {
		return fmt.Sprintf("silence %s is not one of %s's: it has no project=%q matcher", e.id, e.project, e.project)
	}
	return fmt.Sprintf("silence %s is not one of %s's: it silences project %q", e.id, e.project, e.theirs)
}

// errNoSilence is a silence Alertmanager does not have.
type errNoSilence struct{ id string }

func (e *errNoSilence) Error() string { return fmt.Sprintf("no silence %q", e.id) }

func (s *amAlerts) expire(ctx context.Context, id string) error {
	sil, err := s.c.Silence(ctx, id)
	if err != nil {
		var ae *alerts.APIError
		// 404: no such silence; 422 or 400: not a silence ID at all.
		if errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusUnprocessableEntity || ae.Status == http.StatusBadRequest) {
			return &errNoSilence{id: id}
		}
		return err
	}
	if p := sil.Label(alerts.LabelProject); p != s.project {
		return &errNotOurs{id: id, project: s.project, theirs: p}
	}
	if sil.State() == "expired" {
		return nil // Alertmanager refuses to expire it again; it has ended
	}
	if err := s.c.ExpireSilence(ctx, id); err != nil {
		if alerts.IsNotFound(err) {
			return &errNoSilence{id: id}
		}
		return err
	}
	return nil
}

func (s *amAlerts) fail(err error) error {
	var ae *alerts.APIError
	var nf *errNoSilence
	var no *errNotOurs
	switch {
	case errors.As(err, &nf), errors.As(err, &no):
		return &exitError{code: exitInvalid, err: fmt.Errorf("%s: %w", s.cmd, err)}
	case errors.As(err, &ae):
		return &exitError{code: exitInvalid, err: fmt.Errorf("%s: Alertmanager at %s refused: HTTP %d: %s", s.cmd, s.c.URL(), ae.Status, oneLine(ae.Body))}
	case errors.Is(err, context.Canceled):
		return &exitError{code: exitInvalid, err: fmt.Errorf("%s: interrupted", s.cmd)}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return &exitError{code: exitInvalid, err: fmt.Errorf("%s: Alertmanager at %s did not answer in time", s.cmd, s.c.URL())}
		}
		return &exitError{code: exitInvalid, err: fmt.Errorf("%s: cannot reach Alertmanager at %s: %v", s.cmd, s.c.URL(), ue.Err)}
	}
	return &exitError{code: exitInvalid, err: fmt.Errorf("%s: %w", s.cmd, err)}
}

// remoteAlerts goes through a Backplane server's API.
type remoteAlerts struct {
	r       *remote
	project string
	file    string
}

func (s *remoteAlerts) alerts(ctx context.Context, element string) ([]alertView, error) {
	path := projectPath(s.project, "alerts")
	if element != "" {
		path += "?" + url.Values{"element": {element}}.Encode()
	}
	var resp struct {
		Alerts []alertView `json:"alerts"`
	}
	if err := s.r.do(ctx, request{method: http.MethodGet, path: path}, &resp); err != nil {
		return nil, err
	}
	out := make([]alertView, 0, len(resp.Alerts))
	for _, al := range resp.Alerts {
		if al.SilencedBy == nil {
			al.SilencedBy = []string{}
		}
		out = append(out, al)
	}
	return out, nil
}

func (s *remoteAlerts) silences(ctx context.Context) ([]silenceView, error) {
	var resp struct {
		Silences []silenceView `json:"silences"`
	}
	if err := s.r.do(ctx, request{method: http.MethodGet, path: projectPath(s.project, "silences")}, &resp); err != nil {
		return nil, err
	}
	if resp.Silences == nil {
		resp.Silences = []silenceView{}
	}
	return resp.Silences, nil
}

func (s *remoteAlerts) silence(ctx context.Context, element string, d time.Duration, comment string) (*silenceView, error) {
	body := map[string]string{"element": element, "duration": d.String(), "comment": comment}
	var resp struct {
		Silence *silenceView `json:"silence"`
	}
	if err := s.r.do(ctx, request{method: http.MethodPost, path: projectPath(s.project, "silences"), body: body}, &resp); err != nil {
		return nil, err
	}
	if resp.Silence == nil || resp.Silence.ID == "" {
		return nil, &serverError{Status: http.StatusOK, Message: "the server created the silence but did not say its ID"}
	}
	return resp.Silence, nil
}

func (s *remoteAlerts) expire(ctx context.Context, id string) error {
	return s.r.do(ctx, request{method: http.MethodDelete, path: projectPath(s.project, "silences", id)}, nil)
}

// fail is the remote's, but for the server's two Alertmanager answers,
// which are not the server failing: it has none, or cannot reach it.
func (s *remoteAlerts) fail(err error) error {
	var se *serverError
	if errors.As(err, &se) {
		switch se.Code {
		case "no_alertmanager":
			return &exitError{code: exitInvalid, err: fmt.Errorf("%s: %s: %s", s.r.cmd, s.r.server, se.Error())}
		case "alertmanager_unreachable":
			return &exitError{code: exitInvalid, err: fmt.Errorf("%s: the server %s cannot reach its Alertmanager: %s", s.r.cmd, s.r.server, se.Error())}
		}
	}
	return s.r.fail(s.file, err)
}
