package templates

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/backplane-dev/backplane/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read golden file (go test ./templates -update writes it): %v", err)
	}
	if string(want) != got {
		t.Errorf("%s differs; run go test ./templates -update and review the diff.\ngot:\n%s\nwant:\n%s", p, got, want)
	}
}

func appTarget(id string) *schema.Element {
	return &schema.Element{ID: id, Kind: "app.command", Command: "./" + id, Port: 3000}
}

func lbConn(to string, weight int, path string, lookup Lookup) Connection {
	c := Connection{
		Connection: schema.Connection{From: "lb", To: to, Weight: weight},
		Target:     appTarget(to), Service: "shop-" + to, Env: strings.ToUpper(to) + "_URL", Lookup: lookup,
	}
	if path != "" {
		c.Route = &schema.Route{Path: path}
	}
	return c
}

// routedLB is a load balancer with routes over every kind of lookup: two
// services share /api with weights, / goes to a Connect upstream, /admin to a
// service in another Consul datacenter.
func routedLB(t *testing.T, policy string) *BuildResult {
	t.Helper()
	web := lbConn("web", 0, "", LookupUpstream)
	web.BindPort = 21000
	admin := lbConn("admin", 0, "/admin", LookupConsul)
	admin.Datacenter = "us"
	e := schema.Element{ID: "lb", Kind: "lb.nginx", Port: 8080}
	if policy != "" {
		e.Upstream = &schema.Upstream{Policy: policy}
	}
	return buildOne(t, newBuiltins(t), e, "docker", Options{},
		lbConn("api", 3, "/api", LookupNomad),
		lbConn("api2", 1, "/api", LookupConsul),
		web, admin)
}

var lbServices = map[string][]fakeService{
	"shop-api":      {{"10.0.0.1", 3000}, {"10.0.0.2", 3001}},
	"shop-api2":     {{"fd00:1::1", 4000}}, // IPv6: nginx needs it in brackets
	"shop-admin@us": {{"10.9.0.1", 5000}},
}

func nginxConf(t *testing.T, res *BuildResult) (text, rendered string, lookups []string) {
	t.Helper()
	tm := findTemplate(res.Task, "local/nginx.conf")
	if tm == nil {
		t.Fatal("no local/nginx.conf template")
	}
	if deref(tm.ChangeMode) != "signal" || deref(tm.ChangeSignal) != "SIGHUP" {
		t.Errorf("nginx.conf change mode %q %q, want a SIGHUP reload", deref(tm.ChangeMode), deref(tm.ChangeSignal))
	}
	text = deref(tm.EmbeddedTmpl)
	rendered = execTemplate(t, text, stubFuncs(lbServices, "", &lookups))
	return text, rendered, lookups
}

func TestNginxConfig(t *testing.T) {
	res := routedLB(t, "least_conn")
	text, rendered, lookups := nginxConf(t, res)
	golden(t, "lb_nginx_routes.conf.tmpl", text)
	golden(t, "lb_nginx_routes.conf", rendered)

	for _, want := range []string{
		`{{- range nomadService "shop-api" }}` + "\n    server " + AddressTemplate + ":{{ .Port }} weight=3;\n{{- end }}",
		`{{- range service "shop-api2" }}` + "\n    server " + AddressTemplate + ":{{ .Port }} weight=1;\n{{- end }}",
		`{{- range service "shop-admin@us" }}` + "\n    server " + AddressTemplate + ":{{ .Port }};\n{{- end }}",
		"    server 127.0.0.1:21000;\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("template lacks %q", want)
		}
	}
	// One upstream per route path, longest path first, each with the
	// policy, its servers and a placeholder.
	wantUpstreams := []string{
		"  upstream u0 {\n    least_conn;\n    server 10.9.0.1:5000;\n    # Keeps the block valid while no instance is registered.\n    server 127.0.0.1:1 down;\n  }\n",
		"  upstream u1 {\n    least_conn;\n    server 10.0.0.1:3000 weight=3;\n    server 10.0.0.2:3001 weight=3;\n    server [fd00:1::1]:4000 weight=1;\n    # Keeps the block valid while no instance is registered.\n    server 127.0.0.1:1 down;\n  }\n",
		"  upstream u2 {\n    least_conn;\n    server 127.0.0.1:21000;\n    # Keeps the block valid while no instance is registered.\n    server 127.0.0.1:1 down;\n  }\n",
	}
	for _, want := range wantUpstreams {
		if !strings.Contains(rendered, want) {
			t.Errorf("rendered config lacks\n%s", want)
		}
	}
	if n := strings.Count(rendered, "upstream u"); n != 3 {
		t.Errorf("%d upstream blocks, want 3", n)
	}
	for _, want := range []string{
		"    listen 8080;\n",
		"    location /admin {\n      proxy_pass http://u0;\n",
		"    location /api {\n      proxy_pass http://u1;\n",
		"    location / {\n      proxy_pass http://u2;\n",
		"pid /tmp/nginx-env-NOMAD_ALLOC_ID.pid;",
	} {
		if !strings.Contains(rendered, want) {
			t.Errorf("rendered config lacks %q", want)
		}
	}
	if strings.Contains(rendered, "return 404") {
		t.Error("a 404 location although / is routed")
	}
	wantLookups := []string{"env NOMAD_ALLOC_ID", "service shop-admin@us", "nomadService shop-api", "service shop-api2"}
	if !reflect.DeepEqual(lookups, wantLookups) {
		t.Errorf("lookups %q, want %q", lookups, wantLookups)
	}
	if strings.Count(rendered, "{") != strings.Count(rendered, "}") {
		t.Errorf("unbalanced braces in\n%s", rendered)
	}
}

func TestNginxPolicy(t *testing.T) {
	cases := []struct {
		policy    string
		directive string
	}{
		{"", ""},
		{"round_robin", ""},
		{"least_conn", "    least_conn;\n"},
		{"ip_hash", "    ip_hash;\n"},
	}
	for _, c := range cases {
		t.Run("policy "+c.policy, func(t *testing.T) {
			_, rendered, _ := nginxConf(t, routedLB(t, c.policy))
			for _, d := range []string{"least_conn;", "ip_hash;", "round_robin"} {
				want := 0
				if c.directive != "" && strings.Contains(c.directive, d) {
					want = 3 // once in each upstream block
				}
				if n := strings.Count(rendered, d); n != want {
					t.Errorf("%q appears %d times, want %d", d, n, want)
				}
			}
			if c.directive != "" && !strings.Contains(rendered, "  upstream u1 {\n"+c.directive) {
				t.Errorf("the directive does not open the upstream block")
			}
		})
	}
}

func TestNginxWithoutRootRoute(t *testing.T) {
	res := buildOne(t, newBuiltins(t), schema.Element{ID: "lb", Kind: "lb.nginx", Port: 80}, "docker", Options{},
		lbConn("api", 0, "/api", LookupNomad))
	_, rendered, _ := nginxConf(t, res)
	for _, want := range []string{
		"    location /api {\n      proxy_pass http://u0;\n",
		"    location / {\n      return 404;\n    }\n",
		"    server 10.0.0.1:3000;\n",
	} {
		if !strings.Contains(rendered, want) {
			t.Errorf("rendered config lacks %q:\n%s", want, rendered)
		}
	}
	if strings.Contains(rendered, "weight=") {
		t.Error("a weight on a connection without one")
	}
}

// Without connections the config is still valid nginx: it answers 404.
func TestNginxNoConnections(t *testing.T) {
	res := buildOne(t, newBuiltins(t), schema.Element{ID: "lb", Kind: "lb.nginx", Port: 80}, "docker", Options{})
	_, rendered, _ := nginxConf(t, res)
	if strings.Contains(rendered, "upstream") || !strings.Contains(rendered, "return 404;") {
		t.Errorf("config without connections:\n%s", rendered)
	}
}

func TestServiceQuery(t *testing.T) {
	cases := []struct {
		c    Connection
		want string
	}{
		{Connection{Service: "shop-api", Lookup: LookupNomad}, `nomadService "shop-api"`},
		{Connection{Service: "shop-api"}, `nomadService "shop-api"`},
		{Connection{Service: "shop-api", Lookup: LookupConsul}, `service "shop-api"`},
		{Connection{Service: "shop-api", Lookup: LookupConsul, Datacenter: "us-east"}, `service "shop-api@us-east"`},
		{Connection{Service: "shop-api", Lookup: LookupUpstream, BindPort: 9}, ``},
	}
	for _, c := range cases {
		if got := c.c.ServiceQuery(); got != c.want {
			t.Errorf("ServiceQuery(%+v) = %q, want %q", c.c, got, c.want)
		}
	}
}
