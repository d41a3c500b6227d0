package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	amconfig "github.com/prometheus/alertmanager/config"
	"gopkg.in/yaml.v3"

	"github.com/backplane-dev/backplane/observe/internal/files"
)

// OwnerPrefix starts the name of every receiver Backplane owns: a project
// P owns the receiver "backplane/P" and every "backplane/P/...", and the
// routes directly under the root route that go to one of them.
const OwnerPrefix = "backplane/"

// DefaultVerifyTimeout bounds how long Apply waits for Alertmanager to
// report the config it wrote.
const DefaultVerifyTimeout = 5 * time.Second

// minimalBase is the config Merge starts from when the file is empty or
// missing: every alert no route claims goes to a receiver that sends
// nothing.
const minimalBase = `route:
  receiver: default
receivers:
  - name: default
`

// Manager owns Backplane's parts of one Alertmanager config file, the one
// the operator's Alertmanager runs (its --config.file), and nothing else in
// it.
//
// # Setting it up
//
// The operator keeps writing the file's own parts (global with the
// smtp_* settings email receivers need, templates, inhibit_rules,
// time_intervals, the root route and their receivers) and points Backplane
// at it: BACKPLANE_ALERTMANAGER_CONFIG is the file, BACKPLANE_ALERTMANAGER_URL
// the Alertmanager that runs it. The process that runs the Manager must be
// able to create files in the file's folder (it writes the new file beside
// the old one and renames it over, keeping its mode and, where allowed,
// its owner; a symlinked file has its target replaced) and a lock file
// "<file>.lock" there. Secret files go under SecretsDir/<project>/, mode
// 0600 in folders of mode 0700, so Alertmanager must run as the same user
// as the Manager to read them. Alertmanager reads them when it sends a
// notification, so a changed secret value needs no reload.
//
// Each project's part is its routes, first under the root route's routes
// (ahead of any operator catch-all), and its receivers, appended to
// receivers. The operator may edit the rest of the file at any time; an
// edit to a project's part is undone by the project's next Apply.
//
// The file is edited as YAML nodes, so unknown keys, key order, quoting
// and comments of the operator's parts survive. The first write re-indents
// the file to two spaces; after that an Apply that changes nothing writes
// nothing. Every write is validated with Alertmanager's own config loader
// first and is refused, leaving the file as it was, when it would not load.
//
// A Manager serializes its writers with a mutex and, across processes
// (several serve replicas on one host), with an flock on "<file>.lock".
type Manager struct {
	// Path is the Alertmanager config file.
	Path string
	// SecretsDir holds the projects' secret files, one folder per project.
	SecretsDir string
	// Client reaches the Alertmanager that runs Path. When nil the file is
	// written and nothing is reloaded (Alertmanager picks it up on its own
	// reload, SIGHUP or POST /-/reload).
	Client *Client
	// Logger, when set, gets one line per change to the file. No secret
	// value is ever logged.
	Logger *slog.Logger
	// VerifyTimeout bounds the wait for Alertmanager to report the config
	// just written; zero means DefaultVerifyTimeout.
	VerifyTimeout time.Duration

	mu sync.Mutex
}

// NewManager returns a Manager of the config file at path, writing secret
// files under secretsDir and reloading through c (nil: no reload).
func NewManager(path, secretsDir string, c *Client) *Manager {
	return &Manager{Path: path, SecretsDir: secretsDir, Client: c}
}

// InvalidConfigError is a config Alertmanager would not load; nothing was
// written.
type InvalidConfigError struct {
	// File is the config file, when a Manager knows it.
	File    string
	Project string
	// Base is true when the file was invalid before the project was merged.
	Base bool
	// Reason is Alertmanager's message.
	Reason string
}

func (e *InvalidConfigError) Error() string {
	name := "alertmanager config"
	file := "the Alertmanager config file"
	if e.File != "" {
		name += " " + e.File
		file = e.File
	}
	if e.Base {
		return fmt.Sprintf("%s does not load as it is, before project %s is merged: %s; fix the file", name, e.Project, e.Reason)
	}
	msg := fmt.Sprintf("%s: with project %s merged, Alertmanager would reject it: %s", name, e.Project, e.Reason)
	if h := hint(e.Reason, file); h != "" {
		msg += " (" + h + ")"
	}
	if e.File != "" {
		msg += "; " + e.File + " is left as it was"
	}
	return msg
}

// hint says how to fix the problems an operator or a schema author can
// run into.
func hint(reason, file string) string {
	switch {
	case strings.Contains(reason, "no global SMTP smarthost set"):
		return "set global.smtp_smarthost in " + file + ", or the receiver's smarthost in the schema"
	case strings.Contains(reason, "no global SMTP from set"):
		return "set global.smtp_from in " + file + ", or the receiver's from in the schema"
	case strings.Contains(reason, "undefined receiver"):
		return "every route's receiver must be listed under receivers"
	}
	return ""
}

// NotLoadedError is a config that was written but that Alertmanager does
// not run: it refused to reload it, or it still reports another config.
type NotLoadedError struct {
	File string
	// Refused is true when Alertmanager answered the reload with an error.
	Refused bool
	Err     error
}

func (e *NotLoadedError) Error() string {
	if e.Refused {
		return fmt.Sprintf("alertmanager config %s: written but Alertmanager refused to reload it: %v", e.File, e.Err)
	}
	return fmt.Sprintf("alertmanager config %s: written and reloaded, but Alertmanager does not report it (does it run this file as --config.file?): %v", e.File, e.Err)
}

func (e *NotLoadedError) Unwrap() error { return e.Err }

var (
	projectRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	secretRE  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$`)
)

func checkProject(project string) error {
	if !projectRE.MatchString(project) {
		return fmt.Errorf("alertmanager config: project %q: want a lowercase DNS label", project)
	}
	return nil
}

// Apply merges project's rendered route subtree and receivers into the
// config file and makes Alertmanager load it. secrets maps a secret's name
// to its value: each is written to SecretsDir/<project>/<name> (mode 0600,
// atomically) before the config, and the project's secret files no longer
// listed are removed once Alertmanager runs the new config. A rendered
// subtree with no element routes removes the project's part (see Merge).
//
// A merge Alertmanager would not load is refused with an
// *InvalidConfigError and the file stays byte for byte as it was. A merge
// equal to the file writes nothing and reloads nothing (it reloads only if
// Alertmanager does not run the file). A reload Alertmanager refuses, or
// a config it does not report afterwards, is a *NotLoadedError: the file
// is then already written. No error carries a secret value.
func (m *Manager) Apply(ctx context.Context, project string, rendered []byte, secrets map[string][]byte) error {
	if err := checkProject(project); err != nil {
		return err
	}
	names := make([]string, 0, len(secrets))
	for name := range secrets {
		if !secretRE.MatchString(name) {
			return fmt.Errorf("alertmanager config: project %s: secret name %q: want letters, digits, _ . -", project, name)
		}
		names = append(names, name)
	}
	if len(secrets) > 0 && m.SecretsDir == "" {
		return fmt.Errorf("alertmanager config: project %s has secrets (%s) but no secrets folder is configured", project, strings.Join(names, ", "))
	}
	routes, receivers, err := parseRendered(project, rendered)
	if err != nil {
		return err
	}
	err = m.update(ctx, project, routes, receivers, secrets, false)
	return redact(err, secrets)
}

// Remove removes the project's routes and receivers from the config file,
// makes Alertmanager load it, then removes the project's secret files.
func (m *Manager) Remove(ctx context.Context, project string) error {
	if err := checkProject(project); err != nil {
		return err
	}
	return m.update(ctx, project, nil, nil, nil, true)
}

func (m *Manager) update(ctx context.Context, project string, routes, receivers []*yaml.Node, secrets map[string][]byte, remove bool) error {
	if m.Path == "" {
		return errors.New("alertmanager config: no config file configured")
	}
	path := m.Path
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	unlock, err := m.lock(ctx, path)
	if err != nil {
		return err
	}
	defer unlock()

	base, info, err := readConfig(path)
	if err != nil {
		return err
	}
	if !remove && len(secrets) > 0 {
		if err := m.writeSecrets(project, secrets); err != nil {
			return err
		}
	}
	out, err := merge(base, project, routes, receivers)
	if err != nil {
		var ie *InvalidConfigError
		if errors.As(err, &ie) {
			ie.File = m.Path
			return ie
		}
		return fmt.Errorf("alertmanager config %s: project %s: %w", m.Path, project, err)
	}
	if info != nil && bytes.Equal(out, base) {
		if err := m.ensureLoaded(ctx, out); err != nil {
			return err
		}
	} else {
		if err := writeConfig(path, out, info); err != nil {
			return fmt.Errorf("alertmanager config %s: write: %w", m.Path, err)
		}
		m.log("alertmanager config written", "file", m.Path, "project", project, "removed", routes == nil)
		if err := m.reload(ctx, out); err != nil {
			return err
		}
	}
	if remove {
		if m.SecretsDir != "" {
			if err := os.RemoveAll(filepath.Join(m.SecretsDir, project)); err != nil {
				return fmt.Errorf("alertmanager config: project %s: remove its secret files: %w", project, err)
			}
		}
		return nil
	}
	return m.removeStaleSecrets(project, secrets)
}

func (m *Manager) log(msg string, args ...any) {
	if m.Logger != nil {
		m.Logger.Info(msg, args...)
	}
}

// lock takes the Manager's mutex and an flock on <path>.lock, waiting for
// other processes until ctx ends.
func (m *Manager) lock(ctx context.Context, path string) (func(), error) {
	m.mu.Lock()
	unlock, err := files.Lock(ctx, path+".lock")
	if err != nil {
		m.mu.Unlock()
		return nil, fmt.Errorf("alertmanager config %s: lock: %w", m.Path, err)
	}
	return func() {
		unlock()
		m.mu.Unlock()
	}, nil
}

// readConfig reads the config file; a missing one reads as empty, with a
// nil FileInfo.
func readConfig(path string) ([]byte, fs.FileInfo, error) {
	b, info, err := files.Read(path)
	if err != nil {
		return nil, nil, fmt.Errorf("alertmanager config %s: %w", path, err)
	}
	return b, info, nil
}

// writeConfig replaces the file at path with data, atomically, with the
// old file's mode and (where allowed) owner, or 0644 for a new file.
func writeConfig(path string, data []byte, old fs.FileInfo) error {
	mode := fs.FileMode(0o644)
	uid, gid := -1, -1
	if old != nil {
		mode = old.Mode().Perm()
		if st, ok := old.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	}
	return files.WriteAtomic(path, data, mode, uid, gid)
}

// writeSecrets writes each secret that differs from its file.
func (m *Manager) writeSecrets(project string, secrets map[string][]byte) error {
	if err := os.MkdirAll(m.SecretsDir, 0o700); err != nil {
		return fmt.Errorf("alertmanager secrets: %w", err)
	}
	dir := filepath.Join(m.SecretsDir, project)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("alertmanager secrets: project %s: %w", project, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("alertmanager secrets: project %s: %w", project, err)
	}
	for _, name := range sortedKeys(secrets) {
		p := filepath.Join(dir, name)
		if cur, err := os.ReadFile(p); err == nil && bytes.Equal(cur, secrets[name]) {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("alertmanager secrets: project %s: secret %s: %w", project, name, err)
			}
			continue
		}
		if err := files.WriteAtomic(p, secrets[name], 0o600, -1, -1); err != nil {
			// The error names paths, never the value.
			return fmt.Errorf("alertmanager secrets: project %s: write secret %s: %w", project, name, err)
		}
	}
	return nil
}

// removeStaleSecrets removes the project's secret files (and leftover temp
// files) not in secrets.
func (m *Manager) removeStaleSecrets(project string, secrets map[string][]byte) error {
	if m.SecretsDir == "" {
		return nil
	}
	dir := filepath.Join(m.SecretsDir, project)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("alertmanager secrets: project %s: %w", project, err)
	}
	for _, e := range entries {
		if _, keep := secrets[e.Name()]; keep || !e.Type().IsRegular() {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("alertmanager secrets: project %s: remove stale %s: %w", project, e.Name(), err)
		}
	}
	if len(secrets) == 0 {
		_ = os.Remove(dir) // only when empty
	}
	return nil
}

// redact replaces every secret value in err's message.
func redact(err error, secrets map[string][]byte) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	msg := err.Error()
	changed := false
	for _, name := range sortedKeys(secrets) {
		for _, v := range []string{string(secrets[name]), strings.TrimSpace(string(secrets[name]))} {
			if v != "" && strings.Contains(msg, v) {
				msg = strings.ReplaceAll(msg, v, "[secret "+name+"]")
				changed = true
			}
		}
	}
	if !changed {
		return err
	}
	return errors.New(msg)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// reload asks Alertmanager to load the file just written, then waits until
// it reports it.
func (m *Manager) reload(ctx context.Context, written []byte) error {
	if m.Client == nil {
		return nil
	}
	if err := m.Client.Reload(ctx); err != nil {
		return &NotLoadedError{File: m.Path, Refused: true, Err: err}
	}
	if err := m.verify(ctx, written); err != nil {
		return &NotLoadedError{File: m.Path, Err: err}
	}
	m.log("alertmanager reloaded", "file", m.Path, "url", m.Client.URL())
	return nil
}

// ensureLoaded reloads when Alertmanager does not run the file already
// (a previous reload failed, or Alertmanager was down).
func (m *Manager) ensureLoaded(ctx context.Context, current []byte) error {
	if m.Client == nil {
		return nil
	}
	want, err := viewOfFile(current)
	if err != nil {
		return fmt.Errorf("alertmanager config %s: %w", m.Path, err)
	}
	st, err := m.Client.Status(ctx)
	if err != nil {
		return fmt.Errorf("alertmanager config %s is up to date, but: %w", m.Path, err)
	}
	if got, err := viewOfOriginal(st.Config.Original); err == nil && got == want {
		return nil
	}
	return m.reload(ctx, current)
}

// verify polls Alertmanager's status until the config it runs is the one
// written, or the verify timeout passes.
//
// Alertmanager's config.original is not the file's bytes: it is its own
// re-marshalling of the loaded config (defaults filled in, secrets shown
// as <secret>, comments and formatting gone, and, in v0.28.1, the From,
// To and Subject headers its email notifier adds to each email_configs).
// So it equals neither the file nor the config package's String() of it,
// and both sides are
// reduced to the same view, the route tree (receiver, matchers, match,
// match_re, continue, group_by, the group timers) and the receivers (name
// and how many of each kind of integration), the written file after going
// through the same loader and marshaller. That view stays comparable
// across Alertmanager versions that add fields.
func (m *Manager) verify(ctx context.Context, written []byte) error {
	want, err := viewOfFile(written)
	if err != nil {
		return err
	}
	timeout := m.VerifyTimeout
	if timeout <= 0 {
		timeout = DefaultVerifyTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		st, err := m.Client.Status(ctx)
		switch {
		case err != nil:
			last = err
		default:
			got, err := viewOfOriginal(st.Config.Original)
			if err == nil && got == want {
				return nil
			}
			if err != nil {
				last = fmt.Errorf("read its config: %w", err)
			} else {
				last = errors.New("it reports a different route tree or receivers")
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %s: %w", timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// routeView and receiverView are what verify compares.
type routeView struct {
	Receiver       string            `yaml:"receiver" json:"receiver,omitempty"`
	Matchers       []string          `yaml:"matchers" json:"matchers,omitempty"`
	Match          map[string]string `yaml:"match" json:"match,omitempty"`
	MatchRE        map[string]string `yaml:"match_re" json:"match_re,omitempty"`
	Continue       bool              `yaml:"continue" json:"continue,omitempty"`
	GroupBy        []string          `yaml:"group_by" json:"group_by,omitempty"`
	GroupWait      string            `yaml:"group_wait" json:"group_wait,omitempty"`
	GroupInterval  string            `yaml:"group_interval" json:"group_interval,omitempty"`
	RepeatInterval string            `yaml:"repeat_interval" json:"repeat_interval,omitempty"`
	Routes         []*routeView      `yaml:"routes" json:"routes,omitempty"`
}

type configView struct {
	Route     *routeView       `yaml:"route" json:"route"`
	Receivers []map[string]any `yaml:"receivers" json:"-"`
	Names     []string         `yaml:"-" json:"receivers"`
}

func viewOfFile(b []byte) (string, error) {
	cfg, err := loadConfig(string(b))
	if err != nil {
		return "", err
	}
	return viewOfOriginal(cfg.String())
}

func viewOfOriginal(s string) (string, error) {
	var v configView
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return "", err
	}
	for _, r := range v.Receivers {
		name, _ := r["name"].(string)
		var kinds []string
		for k, val := range r {
			if l, ok := val.([]any); ok && strings.HasSuffix(k, "_configs") && len(l) > 0 {
				kinds = append(kinds, fmt.Sprintf("%s=%d", k, len(l)))
			}
		}
		sort.Strings(kinds)
		v.Names = append(v.Names, name+"["+strings.Join(kinds, ",")+"]")
	}
	out, err := json.Marshal(v)
	return string(out), err
}

// Merge merges project's rendered route subtree and receivers into base,
// an Alertmanager config file, and returns the new file. It is pure: no
// file, no network.
//
// rendered is what the translator renders for the project: a root route
// (ignored but for its checks) whose routes are the project's routes, and
// receivers. Every route and receiver in it must be the project's: a
// receiver named "backplane/<project>" or "backplane/<project>/...". The
// project's routes replace the routes directly under base's root route
// that go to one of its receivers, ahead of every route that is not
// Backplane's; its receivers replace the ones it owns. A rendered subtree
// whose project routes have no child routes (no element picks a receiver)
// removes the project's part. Nothing else in base changes; a merge that
// changes nothing returns base as it was.
//
// An empty base stands for a minimal config: a root route to a receiver
// named "default" with no integrations. The result is checked with
// Alertmanager's own loader; one it would not load is an
// *InvalidConfigError.
func Merge(base []byte, project string, rendered []byte) ([]byte, error) {
	if err := checkProject(project); err != nil {
		return nil, err
	}
	routes, receivers, err := parseRendered(project, rendered)
	if err != nil {
		return nil, err
	}
	return merge(base, project, routes, receivers)
}

// merge puts routes and receivers (none: remove the project's part) in
// place of the project's in base.
func merge(base []byte, project string, routes, receivers []*yaml.Node) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil { // the YAML library on input it cannot handle
			out, err = nil, fmt.Errorf("cannot edit the config as YAML: %v", r)
		}
	}()
	doc, err := parseDoc(base)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if doc == nil {
		base = []byte(minimalBase)
		if doc, err = parseDoc(base); err != nil {
			return nil, err
		}
	} else if _, err := loadConfig(string(base)); err != nil {
		return nil, &InvalidConfigError{Project: project, Base: true, Reason: err.Error()}
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, errors.New("the top level is not a mapping")
	}
	_, route := mapGet(root, "route")
	if route == nil || deref(route).Kind != yaml.MappingNode {
		return nil, errors.New("no root route")
	}
	route = deref(route)
	owned := func(n *yaml.Node) bool { return Owns(project, scalar(mapValue(n, "receiver"))) }
	backplane := func(n *yaml.Node) bool { return strings.HasPrefix(scalar(mapValue(n, "receiver")), OwnerPrefix) }
	changedRoutes, err := replaceIn(route, "routes", owned, backplane, routes)
	if err != nil {
		return nil, fmt.Errorf("route.routes: %w", err)
	}
	changedReceivers, err := replaceIn(root, "receivers", func(n *yaml.Node) bool { return Owns(project, scalar(mapValue(n, "name"))) }, nil, receivers)
	if err != nil {
		return nil, fmt.Errorf("receivers: %w", err)
	}
	if !changedRoutes && !changedReceivers {
		return base, nil
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	out = buf.Bytes()
	if _, err := loadConfig(string(out)); err != nil {
		return nil, &InvalidConfigError{Project: project, Reason: err.Error()}
	}
	return out, nil
}

// loadConfig is Alertmanager's own loader, which panics on some input: a
// null child route (`routes: [null]`) makes v0.28.1's Load panic, and a
// running Alertmanager asked to reload such a file crashes. So a panic is
// a refusal, and such a file is never written.
func loadConfig(s string) (cfg *amconfig.Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			cfg, err = nil, fmt.Errorf("Alertmanager's config loader crashes on it (%v): is a route or receiver empty?", r)
		}
	}()
	return amconfig.Load(s)
}

// Owns reports whether receiver is one of project's: "backplane/<project>"
// or "backplane/<project>/...".
func Owns(project, receiver string) bool {
	p := OwnerPrefix + project
	return receiver == p || strings.HasPrefix(receiver, p+"/")
}

// replaceIn replaces the items of the list under key in m that owned
// accepts with items. A new item goes where the first old one was, or
// else after the leading run of items lead accepts (lead nil: at the
// end). It reports whether the list changed. A list it emptied, or
// created and left empty, is removed with its key.
func replaceIn(m *yaml.Node, key string, owned, lead func(*yaml.Node) bool, items []*yaml.Node) (bool, error) {
	idx := -1
	var seq *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			idx, seq = i, m.Content[i+1]
		}
	}
	if seq != nil {
		seq = deref(seq)
	}
	switch {
	case seq == nil || (seq.Kind == yaml.ScalarNode && seq.Tag == "!!null"):
		if len(items) == 0 {
			return false, nil
		}
		list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: append([]*yaml.Node(nil), items...)}
		if idx >= 0 {
			m.Content[idx+1] = list
		} else {
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, list)
		}
		return true, nil
	case seq.Kind != yaml.SequenceNode:
		return false, errors.New("not a list")
	}
	old := seq.Content
	kept := make([]*yaml.Node, 0, len(old)+len(items))
	first := -1
	for _, n := range old {
		if owned(n) {
			if first < 0 {
				first = len(kept)
			}
			continue
		}
		kept = append(kept, n)
	}
	pos := len(kept)
	if lead != nil {
		pos = 0
		for pos < len(kept) && lead(kept[pos]) {
			pos++
		}
	}
	if first >= 0 && first < pos || first >= 0 && lead == nil {
		pos = first
	}
	next := make([]*yaml.Node, 0, len(kept)+len(items))
	next = append(next, kept[:pos]...)
	next = append(next, items...)
	next = append(next, kept[pos:]...)
	if sameNodes(old, next) {
		return false, nil
	}
	if len(next) == 0 && first >= 0 {
		m.Content = append(m.Content[:idx:idx], m.Content[idx+2:]...)
		return true, nil
	}
	seq.Content = next
	if len(items) > 0 {
		seq.Style &^= yaml.FlowStyle
	}
	return true, nil
}

// sameNodes reports whether two lists encode the same.
func sameNodes(a, b []*yaml.Node) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] == b[i] {
			continue
		}
		x, err1 := yaml.Marshal(a[i])
		y, err2 := yaml.Marshal(b[i])
		if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
			return false
		}
	}
	return true
}

// parseRendered returns the project's routes and receivers from a
// rendered subtree; none when no project route has child routes.
func parseRendered(project string, rendered []byte) (routes, receivers []*yaml.Node, err error) {
	fail := func(format string, args ...any) ([]*yaml.Node, []*yaml.Node, error) {
		return nil, nil, fmt.Errorf("rendered alertmanager subtree of project %s: "+format, append([]any{project}, args...)...)
	}
	doc, err := parseDoc(rendered)
	if err != nil {
		return fail("%v", err)
	}
	if doc == nil {
		return fail("empty")
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return fail("the top level is not a mapping")
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i].Value; k != "route" && k != "receivers" {
			return fail("%s: only route and receivers are merged", k)
		}
	}
	route := deref(mapValue(root, "route"))
	if route == nil || route.Kind != yaml.MappingNode {
		return fail("no route")
	}
	if r := scalar(mapValue(route, "receiver")); r != "" && !Owns(project, r) {
		return fail("route.receiver %q is not the project's (want %s%s or %s%s/...)", r, OwnerPrefix, project, OwnerPrefix, project)
	}
	children := false
	if list := deref(mapValue(route, "routes")); list != nil {
		if list.Kind != yaml.SequenceNode {
			if !(list.Kind == yaml.ScalarNode && list.Tag == "!!null") {
				return fail("route.routes is not a list")
			}
		} else {
			for i, n := range list.Content {
				n = deref(n)
				if n.Kind != yaml.MappingNode {
					return fail("route.routes[%d] is not a mapping", i)
				}
				if r := scalar(mapValue(n, "receiver")); !Owns(project, r) {
					return fail("route.routes[%d].receiver %q is not the project's", i, r)
				}
				if sub := deref(mapValue(n, "routes")); sub != nil && sub.Kind == yaml.SequenceNode && len(sub.Content) > 0 {
					children = true
				}
				if err := checkChildRoutes(project, n, fmt.Sprintf("route.routes[%d]", i)); err != nil {
					return fail("%v", err)
				}
				routes = append(routes, n)
			}
		}
	}
	if list := deref(mapValue(root, "receivers")); list != nil {
		if list.Kind != yaml.SequenceNode {
			if !(list.Kind == yaml.ScalarNode && list.Tag == "!!null") {
				return fail("receivers is not a list")
			}
		} else {
			for i, n := range list.Content {
				n = deref(n)
				if n.Kind != yaml.MappingNode {
					return fail("receivers[%d] is not a mapping", i)
				}
				if name := scalar(mapValue(n, "name")); !Owns(project, name) {
					return fail("receivers[%d].name %q is not the project's", i, name)
				}
				receivers = append(receivers, n)
			}
		}
	}
	if !children {
		return nil, nil, nil
	}
	return routes, receivers, nil
}

// checkChildRoutes checks that every route below n is a mapping whose
// receiver, when set, is the project's.
func checkChildRoutes(project string, n *yaml.Node, at string) error {
	list := deref(mapValue(n, "routes"))
	if list == nil || list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
		return nil
	}
	if list.Kind != yaml.SequenceNode {
		return fmt.Errorf("%s.routes is not a list", at)
	}
	for i, c := range list.Content {
		c = deref(c)
		here := fmt.Sprintf("%s.routes[%d]", at, i)
		if c.Kind != yaml.MappingNode {
			return fmt.Errorf("%s is not a mapping", here)
		}
		if r := scalar(mapValue(c, "receiver")); r != "" && !Owns(project, r) {
			return fmt.Errorf("%s.receiver %q is not the project's", here, r)
		}
		if err := checkChildRoutes(project, c, here); err != nil {
			return err
		}
	}
	return nil
}

// parseDoc decodes one YAML document; nil when b holds none.
func parseDoc(b []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, errors.New("more than one YAML document")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	if c := doc.Content[0]; c.Kind == yaml.ScalarNode && c.Tag == "!!null" {
		return nil, nil
	}
	return &doc, nil
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// mapValue is the value under key in mapping n, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	_, v := mapGet(deref(n), key)
	return v
}

func mapGet(n *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

// scalar is a scalar node's value, or "".
func scalar(n *yaml.Node) string {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}
