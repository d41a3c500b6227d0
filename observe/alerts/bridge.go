package alerts

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/schema"
)

// The conditions the bridge raises, as their alertname label.
const (
	AllocationFailed = "AllocationFailed"
	RestartLoop      = "RestartLoop"
	DeploymentFailed = "DeploymentFailed"
	ElementDown      = "ElementDown"
	CheckCritical    = "CheckCritical"
	// BuildFailed is raised by Event, not from Nomad's state: a build of
	// an element's commit failed.
	BuildFailed = "BuildFailed"
)

// eventLasting is how long an event alert stays firing unless resolved.
const eventLasting = 24 * time.Hour

// Default thresholds; an element's alerts block overrides them.
const (
	DefaultRestarts      = 3
	DefaultRestartWindow = 10 * time.Minute
	DefaultDownAfter     = time.Minute
	DefaultCheckAfter    = time.Minute
)

// Timings of the bridge.
const (
	// ResendEvery re-posts firing alerts, well within Alertmanager's
	// resolve_timeout (5m by default).
	ResendEvery = time.Minute
	// firingFor is how long past its last post a firing alert stays
	// firing in Alertmanager (endsAt) if Backplane goes quiet: four
	// resends, as Prometheus does.
	firingFor = 4 * ResendEvery
	// CheckEvery is how often running instances' checks are read.
	CheckEvery = 10 * time.Second
	// tick drives the time-based conditions (ElementDown, CheckCritical).
	tick = time.Second
)

// Rules are one element's alert thresholds.
type Rules struct {
	Restarts      int
	RestartWindow time.Duration
	DownAfter     time.Duration
	CheckAfter    time.Duration
}

// RulesFor reads an element's alerts block, filling the defaults.
func RulesFor(a *schema.Alerts) Rules {
	r := Rules{Restarts: DefaultRestarts, RestartWindow: DefaultRestartWindow, DownAfter: DefaultDownAfter, CheckAfter: DefaultCheckAfter}
	if a == nil {
		return r
	}
	if a.Restarts > 0 {
		r.Restarts = a.Restarts
	}
	parse := func(s string, into *time.Duration) {
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			*into = d
		}
	}
	parse(a.RestartWindow, &r.RestartWindow)
	parse(a.DownAfter, &r.DownAfter)
	parse(a.CheckAfter, &r.CheckAfter)
	return r
}

// Key names one element's job in one region.
type Key struct {
	Project, Element, Region string
}

// CheckReader reads the service checks of a job's running instances;
// *jobs.Cluster's Checks is one.
type CheckReader func(ctx context.Context, t jobs.Target, allocs []string) ([]jobs.Check, error)

// BridgeConfig wires a Bridge.
type BridgeConfig struct {
	Client *Client
	// PublicURL is where browsers reach the editor; alerts link to the
	// element there (the editor_url annotation).
	PublicURL string
	// Checks reads instances' service checks; nil turns CheckCritical off.
	Checks CheckReader
	Logger *slog.Logger
	// OnChange is called (without locks held) after a project's alerts
	// changed in the bridge, so its viewers can be told.
	OnChange func(project string)
	// MaxPending bounds the alerts waiting for Alertmanager; default 10000.
	MaxPending int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Bridge raises alerts from what Nomad reports about each deployed
// element, and resolves them when the condition clears. It is fed by the
// status watch (Observe) and keeps no state that Nomad cannot give back: a
// restarted serve recomputes what is firing from the next statuses (the
// thresholds that count time, ElementDown and CheckCritical, start again).
//
// Alerts go to Alertmanager's POST /api/v2/alerts with the labels
// alertname, project, element, region and severity, and the annotations
// summary, description and editor_url. Firing alerts are re-posted every
// ResendEvery with endsAt four resends ahead, so Alertmanager keeps them
// exactly while Backplane does. Posts go through a bounded queue that
// collapses repeats of one alert and is retried with backoff while
// Alertmanager is down.
type Bridge struct {
	cfg  BridgeConfig
	log  *slog.Logger
	now  func() time.Time
	out  *sender
	mu   sync.Mutex
	tgts map[Key]*target
}

type target struct {
	key    Key
	job    jobs.Target
	rules  Rules
	status *jobs.Status
	// downSince is when the bridge first saw no instance running.
	downSince time.Time
	// checkSince is when each failing check (alloc/check) was first seen
	// failing; checkOut is its latest output.
	checkSince map[string]time.Time
	checkOut   map[string]string
	// deploySeen is when the bridge first saw the failed deployment.
	deploySeen   string
	deploySeenAt time.Time
	firing       map[string]*firing
}

type firing struct {
	alert    PostableAlert
	lastPost time.Time
}

// NewBridge returns a bridge; Run drives it.
func NewBridge(cfg BridgeConfig) *Bridge {
	b := &Bridge{cfg: cfg, tgts: map[Key]*target{}}
	b.log = cfg.Logger
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.log = b.log.With("component", "alerts")
	b.now = cfg.Now
	if b.now == nil {
		b.now = time.Now
	}
	max := cfg.MaxPending
	if max <= 0 {
		max = 10000
	}
	b.out = newSender(cfg.Client, max, b.log)
	return b
}

// Stats are the bridge's counters.
type Stats struct {
	Firing  int    `json:"firing"`
	Posted  uint64 `json:"posted"`
	Failed  uint64 `json:"failed_posts"`
	Dropped uint64 `json:"dropped"`
	Pending int    `json:"pending"`
}

// Stats reads the counters.
func (b *Bridge) Stats() Stats {
	b.mu.Lock()
	n := 0
	for _, t := range b.tgts {
		n += len(t.firing)
	}
	b.mu.Unlock()
	st := b.out.stats()
	st.Firing = n
	return st
}

// SetProject says which jobs a project has deployed and each element's
// rules. Jobs it no longer has are forgotten, and their alerts resolved.
func (b *Bridge) SetProject(project string, s *schema.Schema, targets []jobs.Target) {
	rules := map[string]Rules{}
	if s != nil {
		for i := range s.Elements {
			rules[s.Elements[i].ID] = RulesFor(s.Elements[i].Alerts)
		}
	}
	keep := map[Key]bool{}
	b.mu.Lock()
	for _, jt := range targets {
		k := Key{Project: project, Element: jt.Element, Region: jt.Region}
		keep[k] = true
		t := b.tgts[k]
		if t == nil {
			t = &target{key: k, firing: map[string]*firing{}, checkSince: map[string]time.Time{}, checkOut: map[string]string{}}
			b.tgts[k] = t
		}
		t.job = jt
		r, ok := rules[jt.Element]
		if !ok {
			r = RulesFor(nil)
		}
		t.rules = r
	}
	var resolved []PostableAlert
	for k, t := range b.tgts {
		if k.Project == project && !keep[k] {
			resolved = append(resolved, t.resolveAll(b.now())...)
			delete(b.tgts, k)
		}
	}
	b.mu.Unlock()
	b.send(project, resolved)
}

// RemoveProject forgets a project and resolves its alerts.
func (b *Bridge) RemoveProject(project string) { b.SetProject(project, nil, nil) }

// Observe takes an element's status from the watch.
func (b *Bridge) Observe(project string, st jobs.Status) {
	k := Key{Project: project, Element: st.Element, Region: st.Region}
	b.mu.Lock()
	t := b.tgts[k]
	if t == nil {
		b.mu.Unlock()
		return
	}
	s := st
	t.status = &s
	posts := b.evaluate(t, b.now())
	b.mu.Unlock()
	b.send(project, posts)
}

func (b *Bridge) send(project string, posts []PostableAlert) {
	if len(posts) == 0 {
		return
	}
	b.out.enqueue(posts)
	if b.cfg.OnChange != nil {
		b.cfg.OnChange(project)
	}
}

// Run evaluates the time-based conditions, reads checks, re-posts firing
// alerts and delivers the queue, until ctx ends.
func (b *Bridge) Run(ctx context.Context) {
	go b.out.run(ctx)
	tk := time.NewTicker(tick)
	defer tk.Stop()
	lastChecks := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		now := b.now()
		if b.cfg.Checks != nil && now.Sub(lastChecks) >= CheckEvery {
			lastChecks = now
			b.readChecks(ctx)
		}
		b.sweep(now)
	}
}

// sweep re-evaluates every target and re-posts what is due.
func (b *Bridge) sweep(now time.Time) {
	changed := map[string][]PostableAlert{}
	var resend []PostableAlert
	b.mu.Lock()
	for _, t := range b.tgts {
		if p := b.evaluate(t, now); len(p) > 0 {
			changed[t.key.Project] = append(changed[t.key.Project], p...)
		}
		for _, f := range t.firing {
			if now.Sub(f.lastPost) >= ResendEvery {
				f.lastPost = now
				f.alert.EndsAt = now.Add(firingFor)
				resend = append(resend, f.alert)
			}
		}
	}
	b.mu.Unlock()
	if len(resend) > 0 {
		b.out.enqueue(resend)
	}
	projects := make([]string, 0, len(changed))
	for p := range changed {
		projects = append(projects, p)
	}
	sort.Strings(projects)
	for _, p := range projects {
		b.send(p, changed[p])
	}
}

// readChecks reads the checks of every running service instance.
func (b *Bridge) readChecks(ctx context.Context) {
	type job struct {
		k      Key
		t      jobs.Target
		allocs []string
	}
	var todo []job
	b.mu.Lock()
	for k, t := range b.tgts {
		if t.status != nil && t.status.Signals != nil && t.status.Signals.Service && len(t.status.Signals.Allocs) > 0 {
			todo = append(todo, job{k, t.job, t.status.Signals.Allocs})
		}
	}
	b.mu.Unlock()
	for _, j := range todo {
		cctx, cancel := context.WithTimeout(ctx, CheckEvery)
		checks, err := b.cfg.Checks(cctx, j.t, j.allocs)
		cancel()
		if err != nil {
			b.log.Debug("read checks", "project", j.k.Project, "element", j.k.Element, "region", j.k.Region, "error", err)
			if len(checks) == 0 {
				continue // unknown: keep what is known
			}
		}
		now := b.now()
		b.mu.Lock()
		if t := b.tgts[j.k]; t != nil {
			failing := map[string]bool{}
			for _, c := range checks {
				if c.Status != "failure" {
					continue
				}
				id := c.Alloc + "/" + c.Check
				failing[id] = true
				if _, ok := t.checkSince[id]; !ok {
					t.checkSince[id] = now
				}
				t.checkOut[id] = strings.TrimSpace(c.Check + ": " + c.Output)
			}
			for id := range t.checkSince {
				if !failing[id] {
					delete(t.checkSince, id)
					delete(t.checkOut, id)
				}
			}
		}
		b.mu.Unlock()
	}
}

// condition is one alert the target's state calls for now.
type condition struct {
	severity, summary, description string
	since                          time.Time
}

// conditions derives what should be firing for a target now. The caller
// holds b.mu.
func (t *target) conditions(now time.Time) (map[string]condition, bool) {
	st := t.status
	if st == nil {
		return nil, false
	}
	if st.State == jobs.StateUnknown {
		return nil, false // the region cannot be asked: keep what fires
	}
	out := map[string]condition{}
	sig := st.Signals
	if sig == nil || st.State == jobs.StateStopped {
		t.downSince = time.Time{}
		return out, true
	}
	name := t.key.Element
	where := ""
	if t.key.Region != "" {
		where = " in " + t.key.Region
	}
	if sig.Failed != nil {
		out[AllocationFailed] = condition{severity: "warning", since: sig.Failed.At,
			summary:     fmt.Sprintf("%s: an instance failed%s", name, where),
			description: sig.Failed.Message}
	}
	if d := sig.DeploymentFailed; d != nil {
		if t.deploySeen != d.ID {
			t.deploySeen, t.deploySeenAt = d.ID, now
		}
		out[DeploymentFailed] = condition{severity: "critical", since: t.deploySeenAt,
			summary:     fmt.Sprintf("%s: a deployment failed%s", name, where),
			description: d.Message}
	} else {
		t.deploySeen = ""
	}
	if !sig.Service {
		t.downSince = time.Time{}
		return out, true
	}
	r := t.rules
	n, since := 0, time.Time{}
	for _, at := range sig.Restarts {
		if now.Sub(at) > r.RestartWindow {
			break
		}
		n++
		if n == r.Restarts {
			since = at
		}
	}
	if n >= r.Restarts {
		out[RestartLoop] = condition{severity: "critical", since: since,
			summary:     fmt.Sprintf("%s: %d restarts in the last %s%s", name, n, r.RestartWindow, where),
			description: strings.TrimSpace(st.LastEvent)}
	}
	if st.Desired > 0 && sig.Up == 0 {
		if t.downSince.IsZero() {
			t.downSince = now
		}
		if now.Sub(t.downSince) >= r.DownAfter {
			out[ElementDown] = condition{severity: "critical", since: t.downSince,
				summary:     fmt.Sprintf("%s: no instance running%s (%d wanted)", name, where, st.Desired),
				description: strings.TrimSpace(st.LastEvent)}
		}
	} else {
		t.downSince = time.Time{}
	}
	var oldest time.Time
	var outs []string
	for id, at := range t.checkSince {
		if now.Sub(at) >= r.CheckAfter {
			if oldest.IsZero() || at.Before(oldest) {
				oldest = at
			}
			outs = append(outs, t.checkOut[id])
		}
	}
	if !oldest.IsZero() {
		sort.Strings(outs)
		out[CheckCritical] = condition{severity: "warning", since: oldest,
			summary:     fmt.Sprintf("%s: a health check is failing%s", name, where),
			description: strings.Join(outs, "\n")}
	}
	return out, true
}

// evaluate updates the target's firing set and returns the posts the
// change needs: new alerts, and resolutions. The caller holds b.mu.
func (b *Bridge) evaluate(t *target, now time.Time) []PostableAlert {
	conds, known := t.conditions(now)
	if !known {
		return nil
	}
	var posts []PostableAlert
	for name, c := range conds {
		a := b.alert(t.key, name, c, now)
		f := t.firing[name]
		if f != nil && f.alert.Annotations["summary"] == a.Annotations["summary"] &&
			f.alert.Annotations["description"] == a.Annotations["description"] {
			continue
		}
		if f != nil && f.alert.StartsAt.Before(a.StartsAt) {
			a.StartsAt = f.alert.StartsAt
		}
		if f == nil {
			b.log.Info("alert firing", "project", t.key.Project, "element", t.key.Element, "region", t.key.Region, "alert", name, "summary", c.summary)
		}
		t.firing[name] = &firing{alert: a, lastPost: now}
		posts = append(posts, a)
	}
	for name, f := range t.firing {
		if _, ok := conds[name]; !ok {
			a := f.alert
			a.EndsAt = now
			posts = append(posts, a)
			delete(t.firing, name)
			b.log.Info("alert resolved", "project", t.key.Project, "element", t.key.Element, "region", t.key.Region, "alert", name)
		}
	}
	sort.Slice(posts, func(i, j int) bool { return posts[i].Labels[LabelAlertname] < posts[j].Labels[LabelAlertname] })
	return posts
}

// resolveAll resolves everything the target fires. The caller holds b.mu.
func (t *target) resolveAll(now time.Time) []PostableAlert {
	var posts []PostableAlert
	for name, f := range t.firing {
		a := f.alert
		a.EndsAt = now
		posts = append(posts, a)
		delete(t.firing, name)
	}
	return posts
}

func (b *Bridge) alert(k Key, name string, c condition, now time.Time) PostableAlert {
	since := c.since
	if since.IsZero() || since.After(now) {
		since = now
	}
	ann := map[string]string{"summary": c.summary, "description": c.description}
	if u := EditorURL(b.cfg.PublicURL, k.Project, k.Element); u != "" {
		ann["editor_url"] = u
	}
	return PostableAlert{
		Labels: map[string]string{LabelAlertname: name, LabelProject: k.Project, LabelElement: k.Element,
			LabelRegion: k.Region, LabelSeverity: c.severity},
		Annotations: ann, StartsAt: since.UTC(), EndsAt: now.Add(firingFor).UTC(), GeneratorURL: EditorURL(b.cfg.PublicURL, k.Project, k.Element),
	}
}

// Event raises (firing) or resolves an alert that comes from an event
// rather than from Nomad's state, such as BuildFailed: it is posted once,
// fires for a day unless resolved sooner, and is not re-posted.
func (b *Bridge) Event(k Key, name, severity, summary, description string, firing bool) {
	now := b.now()
	a := b.alert(k, name, condition{severity: severity, since: now, summary: summary, description: description}, now)
	a.EndsAt = now.Add(eventLasting).UTC()
	if !firing {
		a.EndsAt = now.UTC()
	}
	b.send(k.Project, []PostableAlert{a})
}

// EditorURL links to an element in the editor; "" without a public URL.
func EditorURL(publicURL, project, element string) string {
	if publicURL == "" {
		return ""
	}
	return strings.TrimRight(publicURL, "/") + "/p/" + url.PathEscape(project) + "?element=" + url.QueryEscape(element)
}

// Firing lists what the bridge has firing for a project (for tests and
// the API's view when Alertmanager lags).
func (b *Bridge) Firing(project string) []PostableAlert {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []PostableAlert
	for k, t := range b.tgts {
		if k.Project != project {
			continue
		}
		for _, f := range t.firing {
			out = append(out, f.alert)
		}
	}
	sort.Slice(out, func(i, j int) bool { return alertKey(out[i]) < alertKey(out[j]) })
	return out
}

func alertKey(a PostableAlert) string {
	return a.Labels[LabelProject] + "/" + a.Labels[LabelElement] + "/" + a.Labels[LabelRegion] + "/" + a.Labels[LabelAlertname]
}
