package schema

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode. Nothing may panic, and a
// schema that decodes must survive the trip the store and the editor make:
// Validate, Canonical, EncodeYAML, and Decode again of that YAML, giving
// the same canonical form.
//
//	go test ./schema -run '^$' -fuzz FuzzDecode -fuzztime 60s -parallel 1
func FuzzDecode(f *testing.F) {
	shop, err := os.ReadFile(shopPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(shop)
	s, err := Decode("", shop)
	if err != nil {
		f.Fatal(err)
	}
	shopJSON, err := json.Marshal(s)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(shopJSON)
	f.Add([]byte(yamlForm))
	f.Add([]byte(jsonForm))
	for _, seed := range []string{
		"",
		"version: 1\nproject: p\n",
		"version: 1\nproject: p\nelements: []\n",
		"elements: [{id: api, kind: app.go, scale: {maxx: 3}}]",
		"project: a\nproject: b\n",
		"elements: [{id: a, kind: k, env: {A: 1, A: 2}}]",
		"version: 1\n---\nversion: 2\n",
		"version: 1\n---\n[",
		"elements: [&e {id: a, kind: k}, {<<: *e, id: b}]",
		"a: &a [x, x]\nb: &b [*a, *a]\nelements: *b\n",
		"elements: &a [*a]",
		"elements: [{id: a, kind: k, port: 0x1F, schedule: 'TZ=UTC', layout: 1}]",
		"layout: {a: {x: 1e308, y: -0}}",
		"elements: [{id: a, kind: k, env: {\"\": \"\\0\", \"<<\": \"\\u2028\"}}]",
		"{\"elements\": [{\"id\": \"a\", \"kind\": \"k\", \"args\": [\"\\t\", \" x\", \"y \"]}]}",
		"regions: {eu: ~, us: {datacenters: []}}\ndefaults: {region: ap}\n",
		"- 1\n- 2\n",
		"\"just a string\"",
		"version: !!str 1",
		"{[a]: b}",
		"elements: [{id: a, kind: k, command: \"\\na\", env: {\"\\n x\": \" a\\n\"}, args: [on, '1:20']}]",
		"elements: [{id: a, kind: k, version: 7.10, source: {repo: r, branch: 2024-05-01, ref: 1.0}, env: {T: 2001-12-14t21:59:43.10-05:00, B: true}, args: [!!timestamp 2024-05-01, 0o17]}]",
		"elements:\n  - id: a\n    kind: k\n    command: |\n      set -e\n        make\n    args:\n      - >-\n        folded\n        text\n",
	} {
		f.Add([]byte(seed))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode("fuzz.yaml", data)
		if err != nil {
			if s != nil {
				t.Fatalf("Decode returned a schema and an error: %v", err)
			}
			if len(AsErrors(err)) == 0 {
				t.Fatalf("Decode error %v carries no problems", err)
			}
			_ = err.Error()
			return
		}
		_ = Validate(s).Error()
		c := s.Canonical()
		if again := c.Canonical(); !reflect.DeepEqual(c, again) {
			t.Fatalf("Canonical is not idempotent:\n%+v\n%+v", c, again)
		}
		out, err := c.EncodeYAML()
		if err != nil {
			t.Fatalf("EncodeYAML: %v", err)
		}
		back, err := Decode("encoded.yaml", out)
		if err != nil {
			// The encoded form is block-style YAML with every alias
			// expanded, so input just under the size caps can come out
			// over them. That refusal is correct; anything else is not.
			if IsTooLarge(err) {
				return
			}
			t.Fatalf("Decode of the encoded form: %v\n%s", err, out)
		}
		if got := back.Canonical(); !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip changed the canonical form:\n%s\ngot  %+v\nwant %+v", out, got, c)
		}
	})
}
