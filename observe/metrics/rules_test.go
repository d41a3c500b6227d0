package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// fakeProm stands in for Prometheus: /-/reload reads every *.yml in dir,
// as rule_files: [<dir>/*.yml] does, or refuses with a 500 and keeps what
// it ran; /api/v1/rules lists what it runs.
type fakeProm struct {
	t   *testing.T
	dir string
	srv *httptest.Server

	mu      sync.Mutex
	reloads int
	rules   int
	groups  []promGroup
	// refuse, when it returns a reason, makes the reload fail with it.
	refuse func(files map[string][]byte) string
	// hide drops a group name from /api/v1/rules.
	hide string
}

type promGroup struct {
	Name  string     `json:"name"`
	File  string     `json:"file"`
	Rules []promRule `json:"rules"`
}

type promRule struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
	Health string            `json:"health"`
}

func newFakeProm(t *testing.T, dir string) *fakeProm {
	f := &fakeProm{t: t, dir: dir}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /-/reload", f.reload)
	mux.HandleFunc("GET /api/v1/rules", f.list)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeProm) reload(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reloads++
	paths, _ := filepath.Glob(filepath.Join(f.dir, "*.yml"))
	files := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		files[p] = b
	}
	if f.refuse != nil {
		if reason := f.refuse(files); reason != "" {
			http.Error(w, reason, http.StatusInternalServerError)
			return
		}
	}
	var groups []promGroup
	for _, p := range paths {
		var doc struct {
			Groups []struct {
				Name  string `yaml:"name"`
				Rules []struct {
					Alert  string            `yaml:"alert"`
					Labels map[string]string `yaml:"labels"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		if err := yaml.Unmarshal(files[p], &doc); err != nil {
			http.Error(w, "failed to reload config: "+err.Error(), http.StatusInternalServerError)
			return
		}
		for _, g := range doc.Groups {
			pg := promGroup{Name: g.Name, File: p, Rules: []promRule{}}
			for _, r := range g.Rules {
				pg.Rules = append(pg.Rules, promRule{Name: r.Alert, Labels: r.Labels, Health: "unknown"})
			}
			groups = append(groups, pg)
		}
	}
	f.groups = groups
}

func (f *fakeProm) list(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules++
	groups := []promGroup{}
	for _, g := range f.groups {
		if g.Name != f.hide {
			groups = append(groups, g)
		}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"groups": groups}})
}

func (f *fakeProm) counts() (reloads, rules int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reloads, f.rules
}

func (f *fakeProm) runs(group string) []promRule {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, g := range f.groups {
		if g.Name == group {
			return g.Rules
		}
	}
	return nil
}

// ruleFile is a project's rule file as the translator writes it, with one
// MemoryNearLimit rule per element.
func ruleFile(project string, elements ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# rules for %s\ngroups:\n  - name: \"backplane-%s\"\n    rules:", project, project)
	for _, e := range elements {
		fmt.Fprintf(&b, "\n      - alert: \"MemoryNearLimit\"\n        expr: \"sum by (alloc_id, task) (nomad_client_allocs_memory_rss{job=\\\"%[1]s-%[2]s\\\"}) > 0\"\n        labels:\n          element: \"%[2]s\"\n          project: \"%[1]s\"\n          severity: \"warning\"", project, e)
	}
	if len(elements) == 0 {
		b.WriteString(" []")
	}
	b.WriteByte('\n')
	return []byte(b.String())
}

func newTestRules(t *testing.T) (*RulesManager, *fakeProm) {
	t.Helper()
	dir := t.TempDir()
	p := newFakeProm(t, dir)
	m, err := NewRulesManager(dir, p.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	m.VerifyTimeout = 300 * time.Millisecond
	return m, p
}

func TestRulesApplyWritesReloadsAndChecks(t *testing.T) {
	m, p := newTestRules(t)
	ctx := context.Background()
	v1 := ruleFile("shop", "api", "db")
	if err := m.Apply(ctx, "shop", v1); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(m.Dir, "shop.yml")
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, v1) {
		t.Fatalf("file = %q, %v", got, err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", info.Mode().Perm())
	}
	if r, _ := p.counts(); r != 1 {
		t.Errorf("%d reloads, want 1", r)
	}
	if rs := p.runs("backplane-shop"); len(rs) != 2 || rs[1].Labels["element"] != "db" {
		t.Errorf("Prometheus runs %+v", rs)
	}
	entries, _ := os.ReadDir(m.Dir)
	for _, e := range entries {
		if e.Name() != "shop.yml" && e.Name() != ".backplane.lock" {
			t.Errorf("left behind: %s", e.Name())
		}
	}

	// The same rules again: nothing written, nothing reloaded.
	before, _ := os.Stat(path)
	if err := m.Apply(ctx, "shop", v1); err != nil {
		t.Fatal(err)
	}
	if r, _ := p.counts(); r != 1 {
		t.Errorf("an unchanged file reloaded Prometheus (%d reloads)", r)
	}
	if after, _ := os.Stat(path); !after.ModTime().Equal(before.ModTime()) || !os.SameFile(before, after) {
		t.Error("an unchanged file was rewritten")
	}

	// Other rules with the same names: the check tells them apart by labels.
	v2 := ruleFile("shop", "api", "cache")
	if err := m.Apply(ctx, "shop", v2); err != nil {
		t.Fatal(err)
	}
	if rs := p.runs("backplane-shop"); len(rs) != 2 || rs[1].Labels["element"] != "cache" {
		t.Errorf("Prometheus runs %+v", rs)
	}
}

func TestRulesRefusedReloadPutsThePreviousFileBack(t *testing.T) {
	const reason = `failed to reload config: one or more errors occurred while applying the new configuration (--config.file="prometheus.yml")`
	m, p := newTestRules(t)
	ctx := context.Background()
	v1 := ruleFile("shop", "api")
	if err := m.Apply(ctx, "shop", v1); err != nil {
		t.Fatal(err)
	}
	p.refuse = func(files map[string][]byte) string {
		for _, b := range files {
			if bytes.Contains(b, []byte(`"broken"`)) {
				return reason
			}
		}
		return ""
	}
	err := m.Apply(ctx, "shop", ruleFile("shop", "api", "broken"))
	if err == nil {
		t.Fatal("Apply succeeded although Prometheus refused the file")
	}
	path := filepath.Join(m.Dir, "shop.yml")
	for _, want := range []string{path, reason, "previous file is back"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	got, rerr := os.ReadFile(path)
	if rerr != nil || !bytes.Equal(got, v1) {
		t.Errorf("file after refusal = %q, %v; want the previous file byte for byte", got, rerr)
	}
	if r, _ := p.counts(); r != 3 {
		t.Errorf("%d reloads, want 3 (first apply, refused, after putting it back)", r)
	}
	if rs := p.runs("backplane-shop"); len(rs) != 1 {
		t.Errorf("Prometheus runs %+v, want the previous rules", rs)
	}

	// A project with no file before has none after.
	err = m.Apply(ctx, "new", ruleFile("new", "broken"))
	if err == nil || !strings.Contains(err.Error(), reason) || !strings.Contains(err.Error(), "file is removed") {
		t.Fatalf("error = %v", err)
	}
	if _, serr := os.Stat(filepath.Join(m.Dir, "new.yml")); !errors.Is(serr, fs.ErrNotExist) {
		t.Errorf("refused file of a new project stays: %v", serr)
	}
}

func TestRulesGroupNotRunAfterReload(t *testing.T) {
	m, p := newTestRules(t)
	p.hide = "backplane-shop"
	err := m.Apply(context.Background(), "shop", ruleFile("shop", "api"))
	if err == nil || !strings.Contains(err.Error(), `does not run group "backplane-shop"`) || !strings.Contains(err.Error(), "rule_files") {
		t.Fatalf("error = %v", err)
	}
}

func TestRulesUnchangedFileNotRunIsReloaded(t *testing.T) {
	m, p := newTestRules(t)
	v1 := ruleFile("shop", "api")
	if err := os.WriteFile(filepath.Join(m.Dir, "shop.yml"), v1, 0o644); err != nil {
		t.Fatal(err)
	}
	// Prometheus started before the file existed: it does not run it.
	if err := m.Apply(context.Background(), "shop", v1); err != nil {
		t.Fatal(err)
	}
	if r, _ := p.counts(); r != 1 {
		t.Errorf("%d reloads, want 1", r)
	}
	if rs := p.runs("backplane-shop"); len(rs) != 1 {
		t.Errorf("Prometheus runs %+v", rs)
	}
}

func TestRulesBadProjectRefused(t *testing.T) {
	m, p := newTestRules(t)
	outside := filepath.Join(filepath.Dir(m.Dir), "outside")
	for _, name := range []string{"", "../outside", "a/b", "Shop", "shop.yml", "-shop", "shop-", ".", "..", "sh op", strings.Repeat("a", 64)} {
		t.Run(name, func(t *testing.T) {
			err := m.Apply(context.Background(), name, ruleFile(name, "api"))
			if err == nil || !strings.Contains(err.Error(), "DNS label") {
				t.Errorf("Apply(%q) = %v", name, err)
			}
			if err := m.Remove(context.Background(), name); err == nil {
				t.Errorf("Remove(%q) succeeded", name)
			}
		})
	}
	entries, _ := os.ReadDir(m.Dir)
	if len(entries) != 0 {
		t.Errorf("files written: %v", entries)
	}
	if _, err := os.Stat(outside + ".yml"); err == nil {
		t.Error("a file was written outside the folder")
	}
	if r, l := p.counts(); r+l != 0 {
		t.Errorf("Prometheus asked %d times", r+l)
	}
}

func TestRulesFileMustHoldTheProjectGroup(t *testing.T) {
	m, p := newTestRules(t)
	for name, body := range map[string][]byte{
		"other group": ruleFile("other", "api"),
		"two groups":  append(ruleFile("shop", "api"), []byte("  - name: extra\n    rules: []\n")...),
		"not yaml":    []byte("groups: [\n"),
	} {
		t.Run(name, func(t *testing.T) {
			if err := m.Apply(context.Background(), "shop", body); err == nil {
				t.Error("accepted")
			}
		})
	}
	if _, err := os.Stat(filepath.Join(m.Dir, "shop.yml")); err == nil {
		t.Error("file written")
	}
	if r, _ := p.counts(); r != 0 {
		t.Errorf("%d reloads", r)
	}
}

func TestRulesRemove(t *testing.T) {
	m, p := newTestRules(t)
	ctx := context.Background()
	if err := m.Apply(ctx, "shop", ruleFile("shop", "api")); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(m.Dir, "shop.yml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file still there: %v", err)
	}
	if p.runs("backplane-shop") != nil {
		t.Error("Prometheus still runs the group")
	}
	r1, _ := p.counts()
	if err := m.Remove(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	if r2, _ := p.counts(); r2 != r1 {
		t.Error("removing a removed project reloaded Prometheus")
	}

	// A refused reload puts the file back.
	v1 := ruleFile("shop", "api")
	if err := m.Apply(ctx, "shop", v1); err != nil {
		t.Fatal(err)
	}
	p.refuse = func(map[string][]byte) string { return "failed to reload config: boom" }
	if err := m.Remove(ctx, "shop"); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Remove = %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(m.Dir, "shop.yml")); !bytes.Equal(got, v1) {
		t.Errorf("file after refused remove = %q", got)
	}
}

func TestRulesPrometheusDownKeepsTheNewFile(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	m, err := NewRulesManager(dir, url)
	if err != nil {
		t.Fatal(err)
	}
	v1 := ruleFile("shop", "api")
	err = m.Apply(context.Background(), "shop", v1)
	if err == nil || !strings.Contains(err.Error(), "did not reload") {
		t.Fatalf("Apply = %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "shop.yml")); !bytes.Equal(got, v1) {
		t.Error("the new file is not in place for Prometheus's next start")
	}
}

func TestRulesConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	p := newFakeProm(t, dir)
	// Two managers of one folder, as two serve processes: the flock and
	// the mutex keep each reload from seeing a half-done change.
	var ms []*RulesManager
	for range 2 {
		m, err := NewRulesManager(dir, p.srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			project := fmt.Sprintf("p%d", i%5)
			errs <- ms[i%2].Apply(context.Background(), project, ruleFile(project, fmt.Sprintf("e%d", i)))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yml"))
	if len(files) != 5 {
		t.Errorf("%d files, want 5", len(files))
	}
}

func TestNewRulesManager(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rules", "sub")
	m, err := NewRulesManager(dir, "http://127.0.0.1:9090/")
	if err != nil {
		t.Fatal(err)
	}
	if m.URL != "http://127.0.0.1:9090" {
		t.Errorf("URL %q", m.URL)
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		t.Errorf("folder not created: %v", err)
	}
	for _, bad := range []string{"127.0.0.1:9090", "ftp://x", "http://user:pw@x"} {
		if _, err := NewRulesManager(dir, bad); err == nil {
			t.Errorf("URL %q accepted", bad)
		} else if strings.Contains(err.Error(), "pw") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	if _, err := NewRulesManager("", ""); err == nil {
		t.Error("empty folder accepted")
	}
	// Without a URL files are only written.
	m, err = NewRulesManager(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(context.Background(), "shop", ruleFile("shop")); err != nil {
		t.Fatal(err)
	}
}
