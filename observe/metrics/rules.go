package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/backplane-dev/backplane/observe/internal/files"
)

// DefaultRulesVerifyTimeout bounds how long Apply and Remove wait for
// Prometheus to report the rules of a file just written or removed.
const DefaultRulesVerifyTimeout = 5 * time.Second

// RulesManager keeps one Prometheus rule file per project, <Dir>/<project>.yml,
// and makes the Prometheus at URL load them.
//
// # Setting it up
//
// Prometheus reads the folder (rule_files: [<Dir>/*.yml]) and runs with
// --web.enable-lifecycle, so POST /-/reload works. The process that runs
// the RulesManager creates files in Dir (each written beside its old
// version and renamed over it, mode 0644) and the lock file
// <Dir>/.backplane.lock. Nothing else in Dir is touched, so the operator
// may keep rule files of their own there.
//
// Each project's file holds one group, "backplane-<project>", as the
// translator renders it (Bundle.PrometheusRules). After a write Prometheus
// is reloaded, and Apply checks through GET /api/v1/rules that it runs the
// group with the file's rules. A file Prometheus refuses is taken back:
// the previous file (or no file) is put in place and Prometheus reloaded
// again, so a bad file never stays where the next reload or restart of
// Prometheus would trip on it.
//
// Writers are serialized by a mutex and, across processes (several serve
// replicas on one host), by an flock on the lock file.
type RulesManager struct {
	// Dir is the folder of rule files.
	Dir string
	// URL is the Prometheus base URL. When empty, files are written and
	// nothing is reloaded or checked: Prometheus reads them at its next
	// start or reload.
	URL string
	// HTTP is the client for URL; a client with a 30s timeout when nil.
	HTTP *http.Client
	// Logger, when set, gets one line per file written, removed or taken
	// back.
	Logger *slog.Logger
	// VerifyTimeout bounds the wait for Prometheus to report a change;
	// zero means DefaultRulesVerifyTimeout.
	VerifyTimeout time.Duration

	mu sync.Mutex
}

// NewRulesManager returns a RulesManager of dir, which it creates when
// missing, reloading the Prometheus at prometheusURL ("" for none).
func NewRulesManager(dir, prometheusURL string) (*RulesManager, error) {
	if dir == "" {
		return nil, errors.New("prometheus rules: no folder given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("prometheus rules folder %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("prometheus rules folder %s: %w", dir, err)
	}
	m := &RulesManager{Dir: abs, HTTP: &http.Client{Timeout: 30 * time.Second}}
	if prometheusURL != "" {
		u, err := url.Parse(strings.TrimRight(prometheusURL, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("prometheus URL %q: want http(s)://host[:port]", prometheusURL)
		}
		if u.User != nil {
			return nil, fmt.Errorf("prometheus URL %q: credentials in the URL are not supported", u.Redacted())
		}
		m.URL = u.String()
	}
	return m, nil
}

var projectRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// GroupName is the rule group of a project's file.
func GroupName(project string) string { return "backplane-" + project }

// file is the project's rule file, once the name is known to be a DNS
// label (so the path cannot leave Dir).
func (m *RulesManager) file(project string) (string, error) {
	if !projectRE.MatchString(project) {
		return "", fmt.Errorf("prometheus rules: project %q: want a lowercase DNS label", project)
	}
	if m.Dir == "" {
		return "", errors.New("prometheus rules: no folder configured")
	}
	return filepath.Join(m.Dir, project+".yml"), nil
}

// ruleID is what the check compares of each rule: its name and labels.
type ruleID struct {
	Name   string
	Labels map[string]string
}

func (r ruleID) equal(o ruleID) bool {
	return r.Name == o.Name && maps.Equal(r.Labels, o.Labels)
}

func (r ruleID) String() string { return r.Name + "{element=" + r.Labels["element"] + "}" }

// parseRules reads a rule file's rules; it must hold exactly the group
// "backplane-<project>".
func parseRules(project, path string, data []byte) ([]ruleID, error) {
	var f struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert  string            `yaml:"alert"`
				Record string            `yaml:"record"`
				Labels map[string]string `yaml:"labels"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("prometheus rules %s: %w", path, err)
	}
	want := GroupName(project)
	if len(f.Groups) != 1 || f.Groups[0].Name != want {
		return nil, fmt.Errorf("prometheus rules %s: want exactly one group, %q", path, want)
	}
	ids := []ruleID{}
	for i, r := range f.Groups[0].Rules {
		name := r.Alert + r.Record
		if name == "" || (r.Alert != "" && r.Record != "") {
			return nil, fmt.Errorf("prometheus rules %s: rule %d: want one of alert or record", path, i+1)
		}
		if r.Labels == nil {
			r.Labels = map[string]string{}
		}
		ids = append(ids, ruleID{Name: name, Labels: r.Labels})
	}
	return ids, nil
}

// Apply writes rules, a rule file for project, to <Dir>/<project>.yml
// atomically, reloads Prometheus and checks that it runs the group
// "backplane-<project>" with exactly the file's rules (names and labels).
//
// When Prometheus refuses the reload (it answers 500 with its reason), the
// previous file, or no file, is put back, Prometheus reloaded again, and
// the error names the file and the reason. When Prometheus cannot be
// reached the new file stays, for Prometheus to read at its next start or
// reload, and the error says so. A file equal to the one in place, whose
// group Prometheus already runs, writes and reloads nothing.
func (m *RulesManager) Apply(ctx context.Context, project string, rules []byte) error {
	path, err := m.file(project)
	if err != nil {
		return err
	}
	want, err := parseRules(project, path, rules)
	if err != nil {
		return err
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()

	old, oldInfo, err := readFile(path)
	if err != nil {
		return err
	}
	if oldInfo != nil && bytes.Equal(old, rules) {
		if m.URL == "" {
			return nil
		}
		if err := m.check(ctx, project, want, false); err == nil {
			return nil
		}
		// Prometheus does not run the file yet (a reload that failed, a
		// Prometheus that was down): load it.
		if err := m.reload(ctx); err != nil {
			return fmt.Errorf("prometheus rules %s are unchanged, but Prometheus does not run them: %w", path, err)
		}
		return m.verify(ctx, path, project, want)
	}
	if err := writeAtomic(path, rules); err != nil {
		return fmt.Errorf("prometheus rules %s: write: %w", path, err)
	}
	m.log("prometheus rules written", "file", path, "project", project, "rules", len(want))
	if m.URL == "" {
		return nil
	}
	if err := m.reload(ctx); err != nil {
		return m.takeBack(ctx, path, project, old, oldInfo, err)
	}
	return m.verify(ctx, path, project, want)
}

// Remove removes the project's rule file, reloads Prometheus and checks
// that it no longer runs the project's group. A reload Prometheus refuses
// puts the file back, as Apply does.
func (m *RulesManager) Remove(ctx context.Context, project string) error {
	path, err := m.file(project)
	if err != nil {
		return err
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()

	old, oldInfo, err := readFile(path)
	if err != nil {
		return err
	}
	if oldInfo == nil {
		if m.URL == "" {
			return nil
		}
		if err := m.check(ctx, project, nil, true); err == nil {
			return nil
		}
		if err := m.reload(ctx); err != nil {
			return fmt.Errorf("prometheus rules %s are removed, but Prometheus still runs them: %w", path, err)
		}
		return m.verifyGone(ctx, path, project)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("prometheus rules %s: remove: %w", path, err)
	}
	files.SyncDir(m.Dir)
	m.log("prometheus rules removed", "file", path, "project", project)
	if m.URL == "" {
		return nil
	}
	if err := m.reload(ctx); err != nil {
		return m.takeBack(ctx, path, project, old, oldInfo, err)
	}
	return m.verifyGone(ctx, path, project)
}

// refusedError is a reload Prometheus answered with an error: it read
// the files and would not load them.
type refusedError struct{ reason string }

func (e *refusedError) Error() string { return e.reason }

// takeBack handles a failed reload after path was written or removed.
// When Prometheus refused, old (nil info: no file) is put back and
// Prometheus reloaded again; when it was not reached the change stays.
func (m *RulesManager) takeBack(ctx context.Context, path, project string, old []byte, oldInfo fs.FileInfo, reloadErr error) error {
	var refused *refusedError
	if !errors.As(reloadErr, &refused) {
		return fmt.Errorf("prometheus rules %s: changed, but Prometheus did not reload: %w; it reads the folder at its next start or reload", path, reloadErr)
	}
	// Put things back even when ctx has ended: a file Prometheus refused
	// must not stay.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var err error
	what := "the previous file is back in place"
	if oldInfo != nil {
		err = writeAtomic(path, old)
	} else {
		what = "the file is removed"
		if err = os.Remove(path); errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		files.SyncDir(m.Dir)
	}
	if err != nil {
		return fmt.Errorf("prometheus rules %s: Prometheus refused them (%s), and putting the previous file back failed: %w", path, refused.reason, err)
	}
	m.log("prometheus rules taken back", "file", path, "project", project, "reason", refused.reason)
	msg := fmt.Sprintf("prometheus rules %s: Prometheus refused to load them: %s (its log names the rule at fault); %s", path, refused.reason, what)
	if err := m.reload(ctx); err != nil {
		return fmt.Errorf("%s, but Prometheus does not reload that either: %w", msg, err)
	}
	return errors.New(msg)
}

// reload asks Prometheus to reload its config and rule files.
func (m *RulesManager) reload(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL+"/-/reload", nil)
	if err != nil {
		return err
	}
	resp, err := m.client().Do(req)
	if err != nil {
		return fmt.Errorf("prometheus %s: %w", m.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	reason := strings.TrimSpace(string(body))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusInternalServerError:
		if reason == "" {
			reason = resp.Status
		}
		return &refusedError{reason: reason}
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("prometheus %s: reload: %s (start Prometheus with --web.enable-lifecycle)", m.URL, firstLine(reason, resp.Status))
	default:
		return fmt.Errorf("prometheus %s: reload: HTTP %d: %s", m.URL, resp.StatusCode, firstLine(reason, resp.Status))
	}
}

func firstLine(s, fallback string) string {
	s, _, _ = strings.Cut(s, "\n")
	if s == "" {
		return fallback
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// verify polls Prometheus until it runs the project's group with want.
func (m *RulesManager) verify(ctx context.Context, path, project string, want []ruleID) error {
	if err := m.poll(ctx, func() error { return m.check(ctx, project, want, false) }); err != nil {
		return fmt.Errorf("prometheus rules %s: written and reloaded, but %w", path, err)
	}
	m.log("prometheus rules loaded", "file", path, "project", project, "url", m.URL)
	return nil
}

// verifyGone polls Prometheus until it no longer runs the project's group.
func (m *RulesManager) verifyGone(ctx context.Context, path, project string) error {
	if err := m.poll(ctx, func() error { return m.check(ctx, project, nil, true) }); err != nil {
		return fmt.Errorf("prometheus rules %s: removed and reloaded, but %w", path, err)
	}
	return nil
}

func (m *RulesManager) poll(ctx context.Context, check func() error) error {
	timeout := m.VerifyTimeout
	if timeout <= 0 {
		timeout = DefaultRulesVerifyTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// check reads the project's group from Prometheus: it must run it with
// exactly want, or, with gone, not at all. The group counts as the
// project's when its name is "backplane-<project>" and its file is named
// <project>.yml (Prometheus may see Dir under another path).
func (m *RulesManager) check(ctx context.Context, project string, want []ruleID, gone bool) error {
	name := GroupName(project)
	q := url.Values{"rule_group[]": {name}, "exclude_alerts": {"true"}} // newer Prometheus filters; older ones ignore both
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL+"/api/v1/rules?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := m.client().Do(req)
	if err != nil {
		return fmt.Errorf("prometheus %s: rules: %w", m.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("prometheus %s: rules: %w", m.URL, err)
	}
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Groups []struct {
				Name  string `json:"name"`
				File  string `json:"file"`
				Rules []struct {
					Name   string            `json:"name"`
					Labels map[string]string `json:"labels"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("prometheus %s: rules: HTTP %d: %s", m.URL, resp.StatusCode, firstLine(string(body), resp.Status))
	}
	if out.Status != "success" {
		return fmt.Errorf("prometheus %s: rules: %s", m.URL, out.Error)
	}
	var mismatch []ruleID
	found := false
	for _, g := range out.Data.Groups {
		if g.Name != name || filepath.Base(g.File) != project+".yml" {
			continue
		}
		if gone {
			return fmt.Errorf("prometheus at %s still runs group %q from %s", m.URL, name, g.File)
		}
		found = true
		got := make([]ruleID, 0, len(g.Rules))
		for _, r := range g.Rules {
			if r.Labels == nil {
				r.Labels = map[string]string{}
			}
			got = append(got, ruleID{Name: r.Name, Labels: r.Labels})
		}
		if sameRules(got, want) {
			return nil
		}
		mismatch = got
	}
	switch {
	case gone:
		return nil
	case found:
		return fmt.Errorf("prometheus at %s runs group %q with %d rules %s, not the file's %d %s", m.URL, name, len(mismatch), summarize(mismatch), len(want), summarize(want))
	default:
		return fmt.Errorf("prometheus at %s does not run group %q from a file %s.yml (are %s/*.yml among its rule_files?)", m.URL, name, project, m.Dir)
	}
}

func sameRules(a, b []ruleID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].equal(b[i]) {
			return false
		}
	}
	return true
}

// summarize names the first rules of a list, for errors.
func summarize(rs []ruleID) string {
	var names []string
	for i, r := range rs {
		if i == 4 {
			names = append(names, "…")
			break
		}
		names = append(names, r.String())
	}
	return "[" + strings.Join(names, " ") + "]"
}

func (m *RulesManager) client() *http.Client {
	if m.HTTP != nil {
		return m.HTTP
	}
	return http.DefaultClient
}

func (m *RulesManager) log(msg string, args ...any) {
	if m.Logger != nil {
		m.Logger.Info(msg, args...)
	}
}

// lock takes the mutex and an flock on <Dir>/.backplane.lock, waiting for
// other processes until ctx ends.
func (m *RulesManager) lock(ctx context.Context) (func(), error) {
	m.mu.Lock()
	path := filepath.Join(m.Dir, ".backplane.lock")
	unlock, err := files.Lock(ctx, path)
	if err != nil {
		m.mu.Unlock()
		return nil, fmt.Errorf("prometheus rules: lock %s: %w", path, err)
	}
	return func() {
		unlock()
		m.mu.Unlock()
	}, nil
}

// readFile reads a rule file; a missing one reads as nil with a nil
// FileInfo.
func readFile(path string) ([]byte, fs.FileInfo, error) {
	b, info, err := files.Read(path)
	if err != nil {
		return nil, nil, fmt.Errorf("prometheus rules %s: %w", path, err)
	}
	return b, info, nil
}

// writeAtomic replaces path with data, mode 0644.
func writeAtomic(path string, data []byte) error {
	return files.WriteAtomic(path, data, 0o644, -1, -1)
}
