package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	amconfig "github.com/prometheus/alertmanager/config"
	"gopkg.in/yaml.v3"
)

// operatorBase is an operator's file in the layout Merge writes (two-space
// indentation), so a merge and its undoing can be compared byte for byte.
const operatorBase = `# The operator's Alertmanager config.
global:
  resolve_timeout: 5m
  smtp_smarthost: mail.example.com:25 # the relay
  smtp_from: alertmanager@example.com
  smtp_auth_username: am
  smtp_auth_password: hunter2-operator
templates:
  - /etc/alertmanager/templates/*.tmpl
route:
  receiver: ops
  group_by: [alertname]
  routes:
    # infra alerts page, and go on to the catch-all
    - receiver: ops-pager
      matchers: ['team="infra"']
      continue: true
    - receiver: ops # catch-all
receivers:
  - name: ops
  - name: ops-pager
    webhook_configs:
      - url: http://pager.example.com/hook
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname]
time_intervals:
  - name: office-hours
    time_intervals:
      - weekdays: ['monday:friday']
`

// handWritten is the same config as an operator might type it: four-space
// indentation, compact lists, a quoted key.
const handWritten = `global:
    smtp_smarthost: 'mail.example.com:25'
    smtp_from: alertmanager@example.com
route:
    receiver: ops
    "group_by": [alertname]
    routes:
    - receiver: ops-pager   # pages
      matchers: ['team="infra"']
      continue: true
    - receiver: ops
receivers:
- name: ops
- name: ops-pager
  webhook_configs:
  - url: http://pager.example.com/hook
`

// subtree renders a project's subtree the way the translator does: routes
// are element->receiver pairs, receivers map a receiver's short name to
// its YAML body (indented by 4).
func subtree(p string, routes [][2]string, receivers map[string]string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# rendered by Backplane for %s\nroute:\n  receiver: backplane/%s\n  routes:\n    - receiver: backplane/%s\n", p, p, p)
	fmt.Fprintf(&b, "      matchers: ['project=\"%s\"']\n      group_by: [alertname, project, element, region]\n      group_wait: 30s\n      group_interval: 5m\n      repeat_interval: 4h\n", p)
	if len(routes) > 0 {
		b.WriteString("      routes:\n")
		for _, r := range routes {
			fmt.Fprintf(&b, "        - receiver: backplane/%s/%s\n          matchers: ['element=\"%s\"']\n          continue: true\n", p, r[1], r[0])
		}
	}
	fmt.Fprintf(&b, "receivers:\n  - name: backplane/%s\n", p)
	names := make([]string, 0, len(receivers))
	for n := range receivers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  - name: backplane/%s/%s\n", p, n)
		for _, line := range strings.Split(strings.TrimRight(receivers[n], "\n"), "\n") {
			b.WriteString("    " + line + "\n")
		}
	}
	return []byte(b.String())
}

func slackReceiver(secretsDir, p string) string {
	return fmt.Sprintf("slack_configs:\n  - api_url_file: %s/%s/SLACK_URL\n    channel: '#api'\n    send_resolved: true\n    title: '{{ .CommonLabels.alertname }}'\n", secretsDir, p)
}

const emailReceiver = "email_configs:\n  - to: oncall@example.com\n    send_resolved: true\n"

func shop(secretsDir string) []byte {
	return subtree("shop", [][2]string{{"api", "api-team"}, {"api", "oncall"}},
		map[string]string{"api-team": slackReceiver(secretsDir, "shop"), "oncall": emailReceiver})
}

func blog() []byte {
	return subtree("blog", [][2]string{{"web", "hooks"}},
		map[string]string{"hooks": "webhook_configs:\n  - url: http://hooks.example.com/blog\n"})
}

func mustMerge(t *testing.T, base []byte, project string, rendered []byte) []byte {
	t.Helper()
	out, err := Merge(base, project, rendered)
	if err != nil {
		t.Fatalf("Merge %s: %v", project, err)
	}
	return out
}

// doc decodes a config into its top-level mapping.
func doc(t *testing.T, b []byte) *yaml.Node {
	t.Helper()
	var d yaml.Node
	if err := yaml.Unmarshal(b, &d); err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
	return d.Content[0]
}

func enc(t *testing.T, n *yaml.Node) string {
	t.Helper()
	if n == nil {
		return "<nil>"
	}
	b, err := yaml.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// receiversOf lists the root route's routes' receivers and the receivers'
// names, in file order.
func receiversOf(t *testing.T, b []byte) (routes, receivers []string) {
	t.Helper()
	root := doc(t, b)
	for _, r := range mapValue(mapValue(root, "route"), "routes").Content {
		routes = append(routes, scalar(mapValue(r, "receiver")))
	}
	for _, r := range mapValue(root, "receivers").Content {
		receivers = append(receivers, scalar(mapValue(r, "name")))
	}
	return routes, receivers
}

// operatorParts encodes every part of a config that is not a project's:
// top-level keys other than route and receivers, the root route's own
// keys, and the operator's routes and receivers.
func operatorParts(t *testing.T, b []byte) map[string]string {
	t.Helper()
	root := doc(t, b)
	parts := map[string]string{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i].Value
		switch k {
		case "route":
			r := root.Content[i+1]
			for j := 0; j+1 < len(r.Content); j += 2 {
				if r.Content[j].Value != "routes" {
					parts["route."+r.Content[j].Value] = enc(t, r.Content[j+1])
				}
			}
			n := 0
			for _, c := range mapValue(r, "routes").Content {
				if !strings.HasPrefix(scalar(mapValue(c, "receiver")), OwnerPrefix) {
					parts[fmt.Sprintf("route.routes[op %d]", n)] = enc(t, c)
					n++
				}
			}
		case "receivers":
			for _, c := range root.Content[i+1].Content {
				if name := scalar(mapValue(c, "name")); !strings.HasPrefix(name, OwnerPrefix) {
					parts["receivers["+name+"]"] = enc(t, c)
				}
			}
		default:
			parts[k] = enc(t, root.Content[i+1])
		}
	}
	return parts
}

// projectParts encodes project p's routes and receivers.
func projectParts(t *testing.T, b []byte, p string) string {
	t.Helper()
	root := doc(t, b)
	var s strings.Builder
	for _, c := range mapValue(mapValue(root, "route"), "routes").Content {
		if Owns(p, scalar(mapValue(c, "receiver"))) {
			s.WriteString(enc(t, c))
		}
	}
	for _, c := range mapValue(root, "receivers").Content {
		if Owns(p, scalar(mapValue(c, "name"))) {
			s.WriteString(enc(t, c))
		}
	}
	return s.String()
}

func sameParts(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: operator part %s changed:\nwant %s\ngot  %s", what, k, w, got[k])
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: new operator part %s", what, k)
		}
	}
}

func equalStrings(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

func TestMergeTwoProjects(t *testing.T) {
	base := []byte(operatorBase)
	one := mustMerge(t, base, "shop", shop("/s"))
	two := mustMerge(t, one, "blog", blog())
	if _, err := amconfig.Load(string(two)); err != nil {
		t.Fatalf("Alertmanager does not load the merge: %v\n%s", err, two)
	}
	routes, receivers := receiversOf(t, two)
	if want := []string{"backplane/shop", "backplane/blog", "ops-pager", "ops"}; !equalStrings(routes, want) {
		t.Errorf("root routes go to %v, want %v (projects first, in the order applied)", routes, want)
	}
	if want := []string{"ops", "ops-pager", "backplane/shop", "backplane/shop/api-team", "backplane/shop/oncall", "backplane/blog", "backplane/blog/hooks"}; !equalStrings(receivers, want) {
		t.Errorf("receivers %v, want %v", receivers, want)
	}
	sameParts(t, "after two projects", operatorParts(t, base), operatorParts(t, two))
	for _, c := range []string{"# The operator's Alertmanager config.", "# the relay", "# infra alerts page", "# catch-all", "hunter2-operator", "/s/shop/SLACK_URL"} {
		if !bytes.Contains(two, []byte(c)) {
			t.Errorf("merged file lost %q:\n%s", c, two)
		}
	}
	if bytes.Contains(two, []byte("<secret>")) {
		t.Errorf("merged file hides a value as <secret>:\n%s", two)
	}
	// The project's subtree is the rendered one, children included.
	if got, want := projectParts(t, two, "shop"), projectParts(t, mustMerge(t, []byte(handWritten), "shop", shop("/s")), "shop"); got != want {
		t.Errorf("shop's part differs between bases:\n%s\nvs\n%s", got, want)
	}
}

func TestMergeReapplyChangesOnlyThatProject(t *testing.T) {
	base := mustMerge(t, mustMerge(t, []byte(operatorBase), "shop", shop("/s")), "blog", blog())
	fewer := subtree("shop", [][2]string{{"api", "api-team"}}, map[string]string{"api-team": slackReceiver("/s", "shop")})
	out := mustMerge(t, base, "shop", fewer)
	routes, receivers := receiversOf(t, out)
	if want := []string{"backplane/shop", "backplane/blog", "ops-pager", "ops"}; !equalStrings(routes, want) {
		t.Errorf("root routes %v, want %v", routes, want)
	}
	if want := []string{"ops", "ops-pager", "backplane/shop", "backplane/shop/api-team", "backplane/blog", "backplane/blog/hooks"}; !equalStrings(receivers, want) {
		t.Errorf("receivers %v, want %v", receivers, want)
	}
	if bytes.Contains(out, []byte("oncall@example.com")) {
		t.Errorf("the dropped email receiver is still there:\n%s", out)
	}
	if got, want := projectParts(t, out, "blog"), projectParts(t, base, "blog"); got != want {
		t.Errorf("blog changed:\n%s\nwant\n%s", got, want)
	}
	sameParts(t, "reapply", operatorParts(t, base), operatorParts(t, out))
}

func TestMergeNoElementRoutesRemovesProject(t *testing.T) {
	base := mustMerge(t, mustMerge(t, []byte(operatorBase), "shop", shop("/s")), "blog", blog())
	out := mustMerge(t, base, "shop", subtree("shop", nil, map[string]string{"api-team": slackReceiver("/s", "shop")}))
	routes, receivers := receiversOf(t, out)
	if want := []string{"backplane/blog", "ops-pager", "ops"}; !equalStrings(routes, want) {
		t.Errorf("root routes %v, want %v", routes, want)
	}
	if want := []string{"ops", "ops-pager", "backplane/blog", "backplane/blog/hooks"}; !equalStrings(receivers, want) {
		t.Errorf("receivers %v, want %v", receivers, want)
	}
	if got, want := projectParts(t, out, "blog"), projectParts(t, base, "blog"); got != want {
		t.Errorf("blog changed:\n%s\nwant\n%s", got, want)
	}
}

func TestMergeRemoveRestoresBytes(t *testing.T) {
	base := []byte(operatorBase)
	gone := subtree("shop", nil, nil)
	withShop := mustMerge(t, base, "shop", shop("/s"))
	if back := mustMerge(t, withShop, "shop", gone); !bytes.Equal(back, base) {
		t.Errorf("adding then removing shop changed the file:\n%s\nwant\n%s", back, base)
	}
	both := mustMerge(t, withShop, "blog", blog())
	onlyBlog := mustMerge(t, base, "blog", blog())
	if got := mustMerge(t, both, "shop", gone); !bytes.Equal(got, onlyBlog) {
		t.Errorf("removing shop from shop+blog differs from blog alone:\n%s\nwant\n%s", got, onlyBlog)
	}
	if got := mustMerge(t, mustMerge(t, both, "shop", gone), "blog", subtree("blog", nil, nil)); !bytes.Equal(got, base) {
		t.Errorf("removing both projects did not restore the operator's file:\n%s\nwant\n%s", got, base)
	}
}

func TestMergeKeepsHandWrittenFileWhenNothingChanges(t *testing.T) {
	base := []byte(handWritten)
	if out := mustMerge(t, base, "shop", subtree("shop", nil, nil)); !bytes.Equal(out, base) {
		t.Errorf("removing an absent project rewrote the file:\n%s", out)
	}
	once := mustMerge(t, base, "shop", shop("/s"))
	sameParts(t, "hand-written", operatorParts(t, base), operatorParts(t, once))
	if !bytes.Contains(once, []byte("# pages")) {
		t.Errorf("comment lost:\n%s", once)
	}
	if twice := mustMerge(t, once, "shop", shop("/s")); !bytes.Equal(twice, once) {
		t.Errorf("a second identical merge changed the file:\n%s\nwant\n%s", twice, once)
	}
}

func TestMergeEmptyBase(t *testing.T) {
	for name, base := range map[string][]byte{"nil": nil, "blank": []byte("\n  \n"), "comment only": []byte("# nothing yet\n")} {
		t.Run(name, func(t *testing.T) {
			out := mustMerge(t, base, "shop", subtree("shop", [][2]string{{"api", "api-team"}}, map[string]string{"api-team": slackReceiver("/s", "shop")}))
			cfg, err := amconfig.Load(string(out))
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if cfg.Route.Receiver != "default" || len(cfg.Route.Routes) != 1 || cfg.Route.Routes[0].Receiver != "backplane/shop" {
				t.Errorf("root route %+v", cfg.Route)
			}
		})
	}
}

func TestMergeRefusesWhatIsNotTheProjects(t *testing.T) {
	cases := map[string][]byte{
		"another project's receiver": subtree("shop", [][2]string{{"api", "x"}}, map[string]string{"x": emailReceiver}),
		"prefix is not ownership":    []byte("route:\n  receiver: backplane/shop\n  routes:\n    - receiver: backplane/shopping\n      routes: [{receiver: backplane/shopping}]\nreceivers:\n  - name: backplane/shopping\n"),
		"operator receiver":          []byte("route:\n  routes:\n    - receiver: backplane/shop\n      routes: [{receiver: backplane/shop}]\nreceivers:\n  - name: ops\n"),
		"global":                     []byte("global: {smtp_from: a@b.c}\nroute:\n  receiver: backplane/shop\n"),
		"null child route":           []byte("route:\n  routes:\n    - receiver: backplane/shop\n      routes:\n        -\nreceivers:\n  - name: backplane/shop\n"),
		"empty":                      nil,
		"not a mapping":              []byte("- a\n"),
	}
	for name, rendered := range cases {
		t.Run(name, func(t *testing.T) {
			if name == "another project's receiver" {
				rendered = bytes.ReplaceAll(rendered, []byte("backplane/shop/x"), []byte("backplane/blog/x"))
			}
			if out, err := Merge([]byte(operatorBase), "shop", rendered); err == nil {
				t.Fatalf("merged:\n%s", out)
			} else if !strings.Contains(err.Error(), "project shop") {
				t.Errorf("error does not name the project: %v", err)
			}
		})
	}
}

func TestOwns(t *testing.T) {
	for _, c := range []struct {
		receiver string
		want     bool
	}{
		{"backplane/shop", true}, {"backplane/shop/api-team", true}, {"backplane/shopping", false},
		{"backplane/blog/shop", false}, {"shop", false}, {"", false}, {"backplane/", false},
	} {
		if got := Owns("shop", c.receiver); got != c.want {
			t.Errorf("Owns(shop, %q) = %v", c.receiver, got)
		}
	}
}

func TestMergeInvalidConfig(t *testing.T) {
	noGlobal := []byte("route:\n  receiver: ops\nreceivers:\n  - name: ops\n")
	_, err := Merge(noGlobal, "shop", shop("/s"))
	var ie *InvalidConfigError
	if !errors.As(err, &ie) || ie.Base {
		t.Fatalf("want an InvalidConfigError of the merge, got %v", err)
	}
	if !strings.Contains(err.Error(), "no global SMTP smarthost set") || !strings.Contains(err.Error(), "global.smtp_smarthost") {
		t.Errorf("error does not say what to set: %v", err)
	}

	broken := []byte("route:\n  receiver: nobody\nreceivers:\n  - name: ops\n")
	_, err = Merge(broken, "shop", shop("/s"))
	if !errors.As(err, &ie) || !ie.Base || !strings.Contains(err.Error(), "before project shop is merged") {
		t.Errorf("want the base named as invalid, got %v", err)
	}

	for name, base := range map[string]string{
		"two documents": "route: {receiver: a}\nreceivers: [{name: a}]\n---\nroute: {}\n",
		"not YAML":      "route: [\n",
		// Alertmanager's loader panics on it, and Alertmanager crashes.
		"null route": "route:\n  receiver: a\n  routes:\n    - receiver: a\n      routes:\n        -\nreceivers:\n  - name: a\n",
	} {
		if _, err := Merge([]byte(base), "shop", shop("/s")); err == nil {
			t.Errorf("%s: merged", name)
		}
	}
}

// fakeAM stands in for Alertmanager's reload and status endpoints: a
// reload loads the file with Alertmanager's own loader, and the status
// reports what it loaded the way Alertmanager does.
type fakeAM struct {
	path string
	srv  *httptest.Server

	mu       sync.Mutex
	reloads  int
	original string
	refuse   string // non-empty: answer reloads with 500 and this
	status   string // non-empty: report this as config.original
}

func newFakeAM(t *testing.T, path string) *fakeAM {
	f := &fakeAM{path: path}
	if cfg, err := amconfig.LoadFile(path); err == nil {
		f.original = cfg.String()
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/-/reload":
			f.reloads++
			if f.refuse != "" {
				http.Error(w, f.refuse, http.StatusInternalServerError)
				return
			}
			cfg, err := amconfig.LoadFile(f.path)
			if err != nil {
				http.Error(w, "failed to reload config: "+err.Error(), http.StatusInternalServerError)
				return
			}
			f.original = cfg.String()
		case r.Method == http.MethodGet && r.URL.Path == "/api/v2/status":
			orig := f.original
			if f.status != "" {
				orig = f.status
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"config": map[string]string{"original": orig}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAM) reloadCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reloads
}

// newManager writes base to a temp config file and returns a Manager of it
// with a fake Alertmanager.
func newManager(t *testing.T, base string) (*Manager, *fakeAM) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(path, []byte(base), 0o640); err != nil {
		t.Fatal(err)
	}
	f := newFakeAM(t, path)
	c, err := NewClient(f.srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := NewManager(path, filepath.Join(dir, "secrets"), c)
	m.VerifyTimeout = time.Second
	return m, f
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestManagerApplyWritesSecretsAndReloads(t *testing.T) {
	m, f := newManager(t, operatorBase)
	ctx := context.Background()
	secrets := map[string][]byte{"SLACK_URL": []byte("https://hooks.slack.example/T0/B0/xyz\n"), "HOOK": []byte("https://h.example/1")}
	if err := m.Apply(ctx, "shop", shop(m.SecretsDir), secrets); err != nil {
		t.Fatal(err)
	}
	if f.reloadCount() != 1 {
		t.Errorf("reloads = %d, want 1", f.reloadCount())
	}
	written := readFile(t, m.Path)
	if want := mustMerge(t, []byte(operatorBase), "shop", shop(m.SecretsDir)); !bytes.Equal(written, want) {
		t.Errorf("file is not the merge:\n%s", written)
	}
	if fi, _ := os.Stat(m.Path); fi.Mode().Perm() != 0o640 {
		t.Errorf("config mode %v, want the file's own 0640", fi.Mode().Perm())
	}
	dir := filepath.Join(m.SecretsDir, "shop")
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("secrets folder: %v %v", fi, err)
	}
	for name, v := range secrets {
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", name, fi, err)
		}
		if got := readFile(t, p); !bytes.Equal(got, v) {
			t.Errorf("%s holds the wrong value", name)
		}
	}

	// The same again writes nothing and does not reload.
	before, _ := os.Stat(m.Path)
	if err := m.Apply(ctx, "shop", shop(m.SecretsDir), secrets); err != nil {
		t.Fatal(err)
	}
	if f.reloadCount() != 1 {
		t.Errorf("an unchanged Apply reloaded: reloads = %d", f.reloadCount())
	}
	if after, _ := os.Stat(m.Path); !os.SameFile(before, after) {
		t.Errorf("an unchanged Apply replaced the file")
	}

	// A secret no longer listed goes; a changed one is rewritten, with no
	// reload since the config is the same.
	secrets = map[string][]byte{"SLACK_URL": []byte("https://hooks.slack.example/T0/B0/new")}
	if err := m.Apply(ctx, "shop", shop(m.SecretsDir), secrets); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "HOOK")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale secret HOOK still there: %v", err)
	}
	if got := readFile(t, filepath.Join(dir, "SLACK_URL")); string(got) != "https://hooks.slack.example/T0/B0/new" {
		t.Errorf("SLACK_URL not updated")
	}
	if f.reloadCount() != 1 {
		t.Errorf("a secret change reloaded: reloads = %d", f.reloadCount())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("secrets folder holds %d files, want 1", len(entries))
	}
}

func TestManagerRefusesInvalidMerge(t *testing.T) {
	base := "# no global smtp settings\nroute:\n  receiver: ops\nreceivers:\n  - name: ops\n"
	m, f := newManager(t, base)
	err := m.Apply(context.Background(), "shop", shop(m.SecretsDir), nil)
	var ie *InvalidConfigError
	if !errors.As(err, &ie) {
		t.Fatalf("want an InvalidConfigError, got %v", err)
	}
	for _, want := range []string{m.Path, "no global SMTP smarthost set", "set global.smtp_smarthost in " + m.Path, "left as it was"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if got := readFile(t, m.Path); string(got) != base {
		t.Errorf("file changed:\n%s", got)
	}
	if f.reloadCount() != 0 {
		t.Errorf("reloaded %d times", f.reloadCount())
	}
}

func TestManagerReportsReloadFailure(t *testing.T) {
	m, f := newManager(t, operatorBase)
	secret := "https://hooks.slack.example/T0/B0/topsecret"
	f.refuse = "failed to reload config: cannot read " + secret
	err := m.Apply(context.Background(), "shop", shop(m.SecretsDir), map[string][]byte{"SLACK_URL": []byte(secret)})
	var nl *NotLoadedError
	if !errors.As(err, &nl) && !strings.Contains(fmt.Sprint(err), "refused to reload") {
		t.Fatalf("want a reload failure, got %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "written but Alertmanager refused to reload it") || !strings.Contains(msg, "HTTP 500") || !strings.Contains(msg, m.Path) {
		t.Errorf("error does not say the file was written and the reload refused: %v", err)
	}
	if strings.Contains(msg, "topsecret") || !strings.Contains(msg, "[secret SLACK_URL]") {
		t.Errorf("secret value not redacted: %v", err)
	}
	if !bytes.Contains(readFile(t, m.Path), []byte("backplane/shop")) {
		t.Errorf("the file was not written")
	}

	// Once Alertmanager reloads again, the same Apply makes it load the
	// file it never ran, though the file needs no change.
	f.mu.Lock()
	f.refuse = ""
	f.mu.Unlock()
	if err := m.Apply(context.Background(), "shop", shop(m.SecretsDir), map[string][]byte{"SLACK_URL": []byte(secret)}); err != nil {
		t.Fatal(err)
	}
	if f.reloadCount() != 2 {
		t.Errorf("reloads = %d, want 2", f.reloadCount())
	}
}

func TestManagerReportsConfigNotRunning(t *testing.T) {
	m, f := newManager(t, operatorBase)
	f.status = "route:\n  receiver: something-else\nreceivers:\n- name: something-else\n"
	m.VerifyTimeout = 300 * time.Millisecond
	err := m.Apply(context.Background(), "shop", shop(m.SecretsDir), nil)
	var nl *NotLoadedError
	if !errors.As(err, &nl) || nl.Refused {
		t.Fatalf("want a NotLoadedError from verification, got %v", err)
	}
	if !strings.Contains(err.Error(), "--config.file") {
		t.Errorf("error gives no lead: %v", err)
	}
}

func TestManagerRemove(t *testing.T) {
	m, f := newManager(t, operatorBase)
	ctx := context.Background()
	if err := m.Apply(ctx, "shop", shop(m.SecretsDir), map[string][]byte{"SLACK_URL": []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(ctx, "blog", blog(), nil); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, m.Path)
	if want := mustMerge(t, []byte(operatorBase), "blog", blog()); !bytes.Equal(got, want) {
		t.Errorf("after Remove:\n%s\nwant\n%s", got, want)
	}
	if _, err := os.Stat(filepath.Join(m.SecretsDir, "shop")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("shop's secrets remain: %v", err)
	}
	if f.reloadCount() != 3 {
		t.Errorf("reloads = %d, want 3", f.reloadCount())
	}
	if err := m.Remove(ctx, "shop"); err != nil || f.reloadCount() != 3 {
		t.Errorf("removing an absent project: %v, reloads %d", err, f.reloadCount())
	}
}

func TestManagerRefusesBadNames(t *testing.T) {
	m, f := newManager(t, operatorBase)
	ctx := context.Background()
	if err := m.Apply(ctx, "../etc", shop(m.SecretsDir), nil); err == nil {
		t.Error("project ../etc accepted")
	}
	if err := m.Apply(ctx, "shop", shop(m.SecretsDir), map[string][]byte{"../x": []byte("v")}); err == nil {
		t.Error("secret ../x accepted")
	}
	if got := readFile(t, m.Path); string(got) != operatorBase || f.reloadCount() != 0 {
		t.Error("a refused Apply touched the file or reloaded")
	}
}

// TestManagerSerializesWriters runs two Managers of one file (as two serve
// processes would) applying projects at once: none may lose another's.
func TestManagerSerializesWriters(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(path, []byte(operatorBase), 0o644); err != nil {
		t.Fatal(err)
	}
	ms := []*Manager{NewManager(path, filepath.Join(dir, "s"), nil), NewManager(path, filepath.Join(dir, "s"), nil)}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := fmt.Sprintf("p%d", i)
			errs <- ms[i%2].Apply(context.Background(), p, subtree(p, [][2]string{{"api", "hooks"}}, map[string]string{"hooks": "webhook_configs:\n  - url: http://h.example/\n"}), nil)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	routes, _ := receiversOf(t, readFile(t, path))
	for i := 0; i < 8; i++ {
		found := false
		for _, r := range routes {
			found = found || r == fmt.Sprintf("backplane/p%d", i)
		}
		if !found {
			t.Errorf("project p%d lost; routes %v", i, routes)
		}
	}
}

// TestMergeGoldenSubtrees merges every subtree the translator's golden
// cases render: each merges, merges again to the same bytes, and goes
// away leaving the operator's file as it was.
func TestMergeGoldenSubtrees(t *testing.T) {
	files, _ := filepath.Glob("../../translator/testdata/*/out/alertmanager.yml")
	if len(files) == 0 {
		t.Skip("no golden alertmanager.yml files")
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(filepath.Dir(f))), func(t *testing.T) {
			rendered := readFile(t, f)
			project := strings.TrimPrefix(scalar(mapValue(mapValue(doc(t, rendered), "route"), "receiver")), OwnerPrefix)
			out := mustMerge(t, []byte(operatorBase), project, rendered)
			if again := mustMerge(t, out, project, rendered); !bytes.Equal(again, out) {
				t.Errorf("a second merge changed the file")
			}
			if back := mustMerge(t, out, project, subtree(project, nil, nil)); !bytes.Equal(back, []byte(operatorBase)) {
				t.Errorf("removing %s did not restore the operator's file:\n%s", project, back)
			}
		})
	}
}
