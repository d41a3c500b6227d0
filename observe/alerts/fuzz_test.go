package alerts

import (
	"bytes"
	"strings"
	"testing"

	amconfig "github.com/prometheus/alertmanager/config"
	"gopkg.in/yaml.v3"
)

// FuzzMerge feeds Merge arbitrary operator files and rendered subtrees.
// It must never panic (a recovered panic of the YAML library counts as
// one), and whatever it returns must load in Alertmanager, put the
// project's routes first when it has any, and be a fixed point: merging
// the same subtree again returns the same bytes.
func FuzzMerge(f *testing.F) {
	for _, base := range []string{operatorBase, handWritten, "", "route: {receiver: a}\nreceivers: [{name: a}]\n",
		"route:\n  receiver: a\n  routes: [{receiver: backplane/shop, matchers: ['x=\"y\"']}]\nreceivers: [{name: a}, {name: backplane/shop}]\n",
		"a: &x {receiver: a}\nroute: *x\nreceivers: [{name: a}]\n", "route: [\n", "- 1\n", "route:\n  receiver: a\n  routes:\nreceivers:\n- name: a\n"} {
		f.Add([]byte(base), shop("/s"))
		f.Add([]byte(base), subtree("shop", nil, nil))
		f.Add([]byte(base), subtree("shop", [][2]string{{"api", "h"}}, map[string]string{"h": "webhook_configs: [{url: 'http://h/'}]"}))
	}
	f.Fuzz(func(t *testing.T, base, rendered []byte) {
		out, err := Merge(base, "shop", rendered)
		if err != nil {
			if strings.Contains(err.Error(), "cannot edit the config as YAML") {
				t.Fatalf("the YAML library panicked: %v", err)
			}
			return
		}
		if _, err := amconfig.Load(string(out)); err != nil {
			t.Fatalf("Merge returned a config Alertmanager rejects: %v\n%s", err, out)
		}
		again, err := Merge(out, "shop", rendered)
		if err != nil {
			t.Fatalf("merging again: %v\n%s", err, out)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("not a fixed point:\n%s\nthen\n%s", out, again)
		}
		routes, _, err := parseRendered("shop", rendered)
		if err != nil || len(routes) == 0 {
			return
		}
		root := deref(mustDoc(t, out).Content[0])
		first := deref(mapValue(mapValue(root, "route"), "routes")).Content[0]
		if r := scalar(mapValue(first, "receiver")); !strings.HasPrefix(r, OwnerPrefix) {
			t.Fatalf("first root route goes to %q, not a project:\n%s", r, out)
		}
	})
}

func mustDoc(t *testing.T, b []byte) *yaml.Node {
	t.Helper()
	d, err := parseDoc(b)
	if err != nil || d == nil {
		t.Fatalf("parse %v:\n%s", err, b)
	}
	return d
}
