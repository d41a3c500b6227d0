package schema

import (
	"bytes"
	"flag"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestCanonicalFillsDefaults(t *testing.T) {
	dc1 := []string{DefaultDatacenter}
	cases := []struct {
		name        string
		in          *Schema
		wantRegions map[string]Region
		wantDefault Defaults
		wantNS      string
	}{
		{
			name:        "nothing set",
			in:          &Schema{Project: "p"},
			wantRegions: map[string]Region{"global": {Datacenters: dc1}},
			wantDefault: Defaults{Region: "global", Driver: "docker"},
			wantNS:      "default",
		},
		{
			name:        "default region without regions",
			in:          &Schema{Project: "p", Defaults: Defaults{Region: "eu"}},
			wantRegions: map[string]Region{"eu": {Datacenters: dc1}},
			wantDefault: Defaults{Region: "eu", Driver: "docker"},
			wantNS:      "default",
		},
		{
			name:        "one region without datacenters",
			in:          &Schema{Project: "p", Regions: map[string]Region{"us": {ConsulDatacenter: "us1"}}},
			wantRegions: map[string]Region{"us": {Datacenters: dc1, ConsulDatacenter: "us1"}},
			wantDefault: Defaults{Region: "us", Driver: "docker"},
			wantNS:      "default",
		},
		{
			// With two regions there is no obvious default; Canonical does
			// not invent one (Validate asks the user for it).
			name:        "two regions",
			in:          &Schema{Project: "p", Regions: map[string]Region{"eu": {Datacenters: []string{"eu-1"}}, "us": {}}},
			wantRegions: map[string]Region{"eu": {Datacenters: []string{"eu-1"}}, "us": {Datacenters: dc1}},
			wantDefault: Defaults{Driver: "docker"},
			wantNS:      "default",
		},
		{
			name: "explicit values kept",
			in: &Schema{
				Version: 1, Project: "p", Namespace: "prod",
				Regions:  map[string]Region{"eu": {Datacenters: []string{"eu-2", "eu-1"}}},
				Defaults: Defaults{Region: "eu", Driver: "exec"},
			},
			wantRegions: map[string]Region{"eu": {Datacenters: []string{"eu-2", "eu-1"}}},
			wantDefault: Defaults{Region: "eu", Driver: "exec"},
			wantNS:      "prod",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.in.Canonical()
			if c.Version != Version {
				t.Errorf("version = %d, want %d", c.Version, Version)
			}
			if c.Namespace != tc.wantNS {
				t.Errorf("namespace = %q, want %q", c.Namespace, tc.wantNS)
			}
			if !reflect.DeepEqual(c.Regions, tc.wantRegions) {
				t.Errorf("regions = %+v, want %+v", c.Regions, tc.wantRegions)
			}
			if c.Defaults != tc.wantDefault {
				t.Errorf("defaults = %+v, want %+v", c.Defaults, tc.wantDefault)
			}
		})
	}
}

// Element-level defaults stay unset: an element keeps following the
// project's defaults when those change later.
func TestCanonicalLeavesElementDefaults(t *testing.T) {
	c := (&Schema{Project: "p", Elements: []Element{{ID: "a", Kind: "k"}}}).Canonical()
	e := c.Elements[0]
	if e.Driver != "" || e.Placement != nil {
		t.Fatalf("element got defaults copied in: %+v", e)
	}
}

func TestCanonicalSortsAndPrunes(t *testing.T) {
	in := &Schema{
		Project:   "p",
		Receivers: map[string]Receiver{},
		Elements: []Element{
			{
				ID: "web", Kind: "k",
				Secrets:   []string{"Z", "A", "M"},
				Args:      []string{"--b", "--a"},
				Placement: &Placement{Regions: []string{"us", "eu"}, Datacenters: []string{"dc2", "dc1"}},
			},
			{
				ID: "api", Kind: "k",
				Env: map[string]string{}, Params: map[string]string{}, Secrets: []string{}, Args: []string{},
				Placement: &Placement{Regions: []string{}}, Alerts: &Alerts{Receivers: []string{}},
			},
			{ID: "db", Kind: "k"},
		},
		Connections: []Connection{
			{From: "web", To: "db"},
			{From: "api", To: "db", Env: "SECOND"},
			{From: "api", To: "cache"},
			{From: "api", To: "db", Env: "FIRST"},
		},
		Layout: map[string]Position{},
	}
	c := in.Canonical()

	var ids []string
	for _, e := range c.Elements {
		ids = append(ids, e.ID)
	}
	if strings.Join(ids, ",") != "api,db,web" {
		t.Errorf("elements in order %v", ids)
	}
	wantConns := []Connection{
		{From: "api", To: "cache"},
		{From: "api", To: "db", Env: "SECOND"}, // equal keys keep their order
		{From: "api", To: "db", Env: "FIRST"},
		{From: "web", To: "db"},
	}
	if !reflect.DeepEqual(c.Connections, wantConns) {
		t.Errorf("connections = %+v", c.Connections)
	}
	web := c.Element("web")
	if !reflect.DeepEqual(web.Secrets, []string{"A", "M", "Z"}) {
		t.Errorf("secrets = %v", web.Secrets)
	}
	if !reflect.DeepEqual(web.Placement.Regions, []string{"eu", "us"}) {
		t.Errorf("placement.regions = %v", web.Placement.Regions)
	}
	// Order carries meaning in args and in datacenter preference: kept.
	if !reflect.DeepEqual(web.Args, []string{"--b", "--a"}) {
		t.Errorf("args = %v", web.Args)
	}
	if !reflect.DeepEqual(web.Placement.Datacenters, []string{"dc2", "dc1"}) {
		t.Errorf("placement.datacenters = %v", web.Placement.Datacenters)
	}
	api := c.Element("api")
	if api.Env != nil || api.Params != nil || api.Secrets != nil || api.Args != nil || api.Placement != nil || api.Alerts != nil {
		t.Errorf("empty values kept: %+v", api)
	}
	if c.Receivers != nil || c.Layout != nil {
		t.Errorf("empty maps kept: receivers %v layout %v", c.Receivers, c.Layout)
	}

	empty := (&Schema{Project: "p", Elements: []Element{}, Connections: []Connection{}}).Canonical()
	if empty.Elements != nil || empty.Connections != nil {
		t.Errorf("empty lists kept: elements %#v connections %#v", empty.Elements, empty.Connections)
	}
}

// An element list written as `elements: []` and one left out mean the same
// thing, and so do the other empty lists and maps.
func TestCanonicalEmptyEqualsAbsent(t *testing.T) {
	a := mustDecode(t, "version: 1\nproject: p\n")
	b := mustDecode(t, "version: 1\nproject: p\nelements: []\nconnections: []\nlayout: {}\nreceivers: {}\nregions: {}\n")
	if !reflect.DeepEqual(a.Canonical(), b.Canonical()) {
		t.Fatalf("canonical forms differ:\n%+v\n%+v", a.Canonical(), b.Canonical())
	}

	el := "version: 1\nproject: p\nelements:\n  - id: a\n    kind: k\n"
	a = mustDecode(t, el+"    placement: {regions: [global]}\n")
	b = mustDecode(t, el+"    placement: {regions: [global], datacenters: []}\n    args: []\n    env: {}\n    alerts: {receivers: []}\n")
	if !reflect.DeepEqual(a.Canonical(), b.Canonical()) {
		t.Fatalf("canonical elements differ:\n%+v\n%+v", a.Canonical().Elements, b.Canonical().Elements)
	}
}

func TestCanonicalDoesNotModifyInput(t *testing.T) {
	cases := []struct {
		name string
		make func() *Schema
	}{
		{"base", func() *Schema {
			s := validBase()
			// Out of order, so Canonical has sorting to do.
			s.Elements[0], s.Elements[4] = s.Elements[4], s.Elements[0]
			s.Connections[0], s.Connections[2] = s.Connections[2], s.Connections[0]
			s.Elements[4].Secrets = []string{"Z", "A"}
			s.Elements[4].Placement.Regions = []string{"us", "eu"}
			s.Regions["empty"] = Region{}
			return s
		}},
		{"bare", func() *Schema { return &Schema{Elements: []Element{{ID: "b"}, {ID: "a"}}} }},
		// JSON cannot carry NaN or infinities; a copy made through JSON
		// must still not share storage with the input.
		{"non-finite layout", func() *Schema {
			s := validBase()
			s.Elements[0], s.Elements[1] = s.Elements[1], s.Elements[0]
			s.Elements[1].Secrets = []string{"Z", "A"}
			s.Layout["api"] = Position{X: math.Inf(1), Y: 1}
			return s
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, pristine := tc.make(), tc.make()
			c := in.Canonical()
			if !reflect.DeepEqual(in, pristine) {
				t.Fatalf("Canonical modified its input:\n got %+v\nwant %+v", in, pristine)
			}
			// Writing through every reference in the copy leaves the input alone.
			for i := range c.Elements {
				e := &c.Elements[i]
				e.ID += "-x"
				if e.Env != nil {
					e.Env["NEW"] = "x"
				}
				for j := range e.Secrets {
					e.Secrets[j] = "CHANGED"
				}
				if e.Scale != nil {
					e.Scale.Count = 99
				}
				if e.Source != nil {
					e.Source.Repo = "changed"
				}
				if e.Placement != nil {
					for j := range e.Placement.Regions {
						e.Placement.Regions[j] = "changed"
					}
				}
			}
			for name, r := range c.Regions {
				for j := range r.Datacenters {
					r.Datacenters[j] = "changed"
				}
				c.Regions[name] = Region{}
			}
			for _, r := range c.Receivers {
				if r.Slack != nil {
					r.Slack.Channel = "changed"
				}
			}
			for i := range c.Connections {
				c.Connections[i].From = "changed"
			}
			if c.Layout != nil {
				c.Layout["new"] = Position{}
			}
			if !reflect.DeepEqual(in, pristine) {
				t.Fatalf("the canonical copy shares storage with the input:\n got %+v\nwant %+v", in, pristine)
			}
		})
	}
}

func TestCanonicalIdempotent(t *testing.T) {
	for name, s := range map[string]*Schema{
		"shop":  mustDecode(t, string(readShop(t))),
		"base":  validBase(),
		"bare":  {},
		"yaml":  mustDecode(t, yamlForm),
		"empty": {Elements: []Element{}, Regions: map[string]Region{"x": {}}},
	} {
		t.Run(name, func(t *testing.T) {
			once := s.Canonical()
			twice := once.Canonical()
			if !reflect.DeepEqual(once, twice) {
				t.Fatalf("Canonical is not idempotent:\nonce  %+v\ntwice %+v", once, twice)
			}
		})
	}
}

// Two schemas that differ only in the order of their lists and maps have
// the same canonical form.
func TestCanonicalIgnoresOrder(t *testing.T) {
	want := mustDecode(t, string(readShop(t))).Canonical()
	rng := rand.New(rand.NewSource(7))
	for i := range 20 {
		s := mustDecode(t, string(readShop(t)))
		rng.Shuffle(len(s.Elements), func(a, b int) { s.Elements[a], s.Elements[b] = s.Elements[b], s.Elements[a] })
		rng.Shuffle(len(s.Connections), func(a, b int) { s.Connections[a], s.Connections[b] = s.Connections[b], s.Connections[a] })
		for j := range s.Elements {
			e := &s.Elements[j]
			rng.Shuffle(len(e.Secrets), func(a, b int) { e.Secrets[a], e.Secrets[b] = e.Secrets[b], e.Secrets[a] })
			if e.Placement != nil {
				r := e.Placement.Regions
				rng.Shuffle(len(r), func(a, b int) { r[a], r[b] = r[b], r[a] })
			}
		}
		if got := s.Canonical(); !reflect.DeepEqual(got, want) {
			t.Fatalf("shuffle %d: canonical form differs", i)
		}
	}

	// And written out in a different order in the file.
	a := mustDecode(t, "project: p\nelements: [{id: b, kind: k, secrets: [Y, X]}, {id: a, kind: k}]\nconnections: [{from: b, to: a}, {from: a, to: b}]\n")
	b := mustDecode(t, "elements:\n  - {kind: k, id: a}\n  - {secrets: [X, Y], id: b, kind: k}\nconnections:\n  - {to: b, from: a}\n  - {to: a, from: b}\nproject: p\nversion: 1\nnamespace: default\n")
	if !reflect.DeepEqual(a.Canonical(), b.Canonical()) {
		t.Fatalf("differently ordered files have different canonical forms:\n%+v\n%+v", a.Canonical(), b.Canonical())
	}
	// A real difference still shows.
	b.Elements[1].Secrets = append(b.Elements[1].Secrets, "Z")
	if reflect.DeepEqual(a.Canonical(), b.Canonical()) {
		t.Fatal("schemas with different secrets have the same canonical form")
	}
}

func TestEffectiveDriver(t *testing.T) {
	cases := []struct {
		name    string
		project string
		element string
		want    string
	}{
		{"element's own", "exec", "raw_exec", "raw_exec"},
		{"project default", "exec", "", "exec"},
		{"built-in default", "", "", "docker"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Schema{Defaults: Defaults{Driver: tc.project}}
			if got := s.EffectiveDriver(&Element{Driver: tc.element}); got != tc.want {
				t.Fatalf("EffectiveDriver = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestElementRegions(t *testing.T) {
	two := map[string]Region{"eu": {}, "us": {}}
	cases := []struct {
		name  string
		s     *Schema
		place *Placement
		want  []string
	}{
		{"placement sorted", &Schema{Regions: two, Defaults: Defaults{Region: "eu"}}, &Placement{Regions: []string{"us", "eu"}}, []string{"eu", "us"}},
		{"project default", &Schema{Regions: two, Defaults: Defaults{Region: "us"}}, nil, []string{"us"}},
		{"empty placement uses default", &Schema{Regions: two, Defaults: Defaults{Region: "us"}}, &Placement{Datacenters: []string{"dc9"}}, []string{"us"}},
		{"the only region", &Schema{Regions: map[string]Region{"ap": {}}}, nil, []string{"ap"}},
		{"no regions at all", &Schema{}, nil, []string{"global"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := &Element{ID: "a", Placement: tc.place}
			got := tc.s.ElementRegions(e)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ElementRegions = %v, want %v", got, tc.want)
			}
			if tc.place != nil && len(tc.place.Regions) > 0 {
				got[0] = "changed"
				if tc.place.Regions[0] == "changed" {
					t.Fatal("ElementRegions returned the placement's own slice")
				}
				if tc.place.Regions[0] != "us" {
					t.Fatal("ElementRegions sorted the placement in place")
				}
			}
		})
	}
}

func TestDatacenters(t *testing.T) {
	s := &Schema{Regions: map[string]Region{
		"eu": {Datacenters: []string{"eu-1", "eu-2"}},
		"us": {},
	}}
	cases := []struct {
		name   string
		place  *Placement
		region string
		want   []string
	}{
		{"element's own", &Placement{Datacenters: []string{"edge"}}, "eu", []string{"edge"}},
		{"region's", nil, "eu", []string{"eu-1", "eu-2"}},
		{"region's when placement names regions only", &Placement{Regions: []string{"eu"}}, "eu", []string{"eu-1", "eu-2"}},
		{"region without datacenters", nil, "us", []string{"dc1"}},
		{"undeclared region", nil, "ap", []string{"dc1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := s.Datacenters(&Element{Placement: tc.place}, tc.region)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Datacenters = %v, want %v", got, tc.want)
			}
			got[0] = "changed"
			if again := s.Datacenters(&Element{Placement: tc.place}, tc.region); again[0] == "changed" {
				t.Fatal("Datacenters returned shared storage")
			}
		})
	}
}

// EncodeYAML output decodes back to the same canonical schema.
func TestEncodeYAMLRoundTrip(t *testing.T) {
	for name, s := range map[string]*Schema{
		"shop": mustDecode(t, string(readShop(t))),
		"base": validBase(),
		"yaml": mustDecode(t, yamlForm),
		"bare": {Project: "p"},
		"awkward strings": {Project: "p", Elements: []Element{{
			ID: "a", Kind: "k", Version: "7", Command: "echo 'a: b' # not a comment",
			Env: map[string]string{
				"NUM": "007", "BOOL": "true", "NULL": "null", "TILDE": "~", "DATE": "2024-01-01",
				"MULTI": "line1\nline2\n", "LEAD": " x", "EMPTY": "", "HASH": "#x", "STAR": "*a",
				"QUOTE": `"q'`, "UNI": "héllo ☃", "NUL": "a\x00b", "TAB": "\tx", "<<": "<<",
				"CR": "a\r\nb", "NEL": "a\u0085b", "LS": "a\u2028b", "BOM": "\ufeffx", "TRAIL": "x \n",
				// yaml.v3's literal blocks lose or break on these.
				"LEADNL": "\na", "LEADNL2": "\n a", "INDENTED": " a\n", "TABNL": "\t\n", "NL": "\n", "ON": "on", "SEXA": "1:20",
				"multi\nline key": "x",
			},
			Args:   []string{"-", "- x", "[a]", "{b}", "<<", "? x", "! y", "%z", "@w", "`v", "\n", "\nset -e\n  make\n"},
			Params: map[string]string{"x": "0x1F", "y": "1e3", "z": ".inf"},
		}}, Layout: map[string]Position{"a": {X: 0.1, Y: -1e-9}, "odd key: x": {X: 1e21}}},
	} {
		t.Run(name, func(t *testing.T) {
			c := s.Canonical()
			data, err := c.EncodeYAML()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Decode("encoded.yaml", data)
			if err != nil {
				t.Fatalf("decode of encoded form: %v\n%s", err, data)
			}
			if !reflect.DeepEqual(back.Canonical(), c) {
				t.Fatalf("round trip changed the schema:\n%s\ngot  %+v\nwant %+v", data, back.Canonical(), c)
			}
			// Encoding is deterministic.
			again, _ := c.EncodeYAML()
			if !bytes.Equal(data, again) {
				t.Fatal("two encodings of one schema differ")
			}
		})
	}
}

// The canonical YAML of the shop example is kept as a golden file, so a
// change to the canonical form or the encoding shows up in review.
// `go test ./schema -run TestCanonicalGolden -update` rewrites it.
func TestCanonicalGolden(t *testing.T) {
	data, err := mustDecode(t, string(readShop(t))).Canonical().EncodeYAML()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "shop.canonical.yaml")
	if *update {
		if err := os.WriteFile(golden, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(data, want) {
		t.Fatalf("canonical YAML differs from %s (run with -update if intended):\n%s", golden, data)
	}
	if !bytes.HasPrefix(data, []byte("version: 1\nproject: shop\nnamespace: default\n")) {
		t.Fatalf("unexpected start:\n%s", data)
	}
}
