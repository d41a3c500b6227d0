package templates

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/backplane-dev/backplane/schema"
)

func exportOf(t *testing.T, kind string) Export {
	t.Helper()
	k, ok := newBuiltins(t).Get(kind)
	if !ok || len(k.Info().Exports) == 0 {
		t.Fatalf("%s exports nothing", kind)
	}
	return k.Info().Exports[0]
}

var pgCreds = &Credentials{Path: "backplane/shop/db/credentials", Keys: []string{"password"}, User: "app", Database: "app"}

func TestEnvTemplateExact(t *testing.T) {
	c := Connection{Connection: schema.Connection{From: "api", To: "db"}, Service: "shop-db", Env: "DATABASE_URL", Lookup: LookupNomad}
	got := c.EnvTemplate(exportOf(t, "db.postgres"), pgCreds, false)
	want := `{{ range $i, $s := nomadService "shop-db" }}{{ if eq $i 0 }}{{ with $s }}` +
		`DATABASE_URL=postgres://app:{{ with secret "secret/data/backplane/shop/db/credentials" }}{{ .Data.data.password }}{{ end }}@{{ if .Address | contains ":" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }}/app` +
		"\n{{ end }}{{ end }}{{ end }}"
	if got != want {
		t.Errorf("EnvTemplate =\n%s\nwant\n%s", got, want)
	}
}

// templateContains is consul-template's `contains` (funcs.go: contains(v, l)
// calls in(l, v)): in a pipeline, `l | contains v` is true when the string
// l contains v, or the list l has the element v.
func templateContains(v, l any) (bool, error) {
	switch list := l.(type) {
	case string:
		s, ok := v.(string)
		return ok && strings.Contains(list, s), nil
	case []string:
		for _, x := range list {
			if x == v {
				return true, nil
			}
		}
		return false, nil
	}
	return false, fmt.Errorf("contains: cannot search %T", l)
}

func TestEnvTemplate(t *testing.T) {
	services := map[string][]fakeService{
		"shop-v6":      {{"fd00:10::7", 3000}, {"10.0.0.9", 3001}},
		"shop-v6b":     {{"::1", 5432}},
		"shop-db":      {{"10.0.0.1", 5432}, {"10.0.0.2", 5433}},
		"shop-db@us":   {{"10.8.0.1", 6000}},
		"shop-api":     {{"10.0.0.5", 3000}},
		"shop-cache":   {{"10.0.0.6", 6379}},
		"shop-missing": nil,
	}
	cases := []struct {
		name    string
		conn    Connection
		kind    string
		exp     *Export // overrides the kind's export
		creds   *Credentials
		open    bool
		want    map[string]string
		lookups []string
	}{
		{
			name: "nomad with credentials", kind: "db.postgres", creds: pgCreds,
			conn:    Connection{Service: "shop-db", Env: "DATABASE_URL", Lookup: LookupNomad},
			want:    map[string]string{"DATABASE_URL": "postgres://app:pw@10.0.0.1:5432/app"},
			lookups: []string{"nomadService shop-db", "secret secret/data/backplane/shop/db/credentials"},
		},
		{
			name: "nomad open", kind: "db.postgres", open: true,
			conn:    Connection{Service: "shop-db", Env: "DATABASE_URL", Lookup: LookupNomad},
			want:    map[string]string{"DATABASE_URL": "postgres://app@10.0.0.1:5432/app?sslmode=disable"},
			lookups: []string{"nomadService shop-db"},
		},
		{
			name: "consul local", kind: "db.mongodb", creds: pgCreds,
			conn:    Connection{Service: "shop-db", Env: "MAIL_DB_URL", Lookup: LookupConsul},
			want:    map[string]string{"MAIL_DB_URL": "mongodb://app:pw@10.0.0.1:5432/app?authSource=admin"},
			lookups: []string{"service shop-db", "secret secret/data/backplane/shop/db/credentials"},
		},
		{
			name: "ipv6 address in brackets", kind: "app.nodejs",
			conn:    Connection{Service: "shop-v6", Env: "API_URL", Lookup: LookupNomad},
			want:    map[string]string{"API_URL": "http://[fd00:10::7]:3000"},
			lookups: []string{"nomadService shop-v6"},
		},
		{
			name: "ipv6 loopback with credentials", kind: "db.postgres", creds: pgCreds,
			conn:    Connection{Service: "shop-v6b", Env: "DATABASE_URL", Lookup: LookupConsul},
			want:    map[string]string{"DATABASE_URL": "postgres://app:pw@[::1]:5432/app"},
			lookups: []string{"service shop-v6b", "secret secret/data/backplane/shop/db/credentials"},
		},
		{
			name: "consul across regions", kind: "db.mysql", open: true,
			conn:    Connection{Service: "shop-db", Env: "MYSQL_URL", Lookup: LookupConsul, Datacenter: "us"},
			want:    map[string]string{"MYSQL_URL": "mysql://root@10.8.0.1:6000/app"},
			lookups: []string{"service shop-db@us"},
		},
		{
			name: "upstream with credentials", kind: "cache.redis",
			creds:   &Credentials{Path: "backplane/shop/cache/credentials", Keys: []string{"password"}, User: "default"},
			conn:    Connection{Service: "shop-cache", Env: "REDIS_URL", Lookup: LookupUpstream, BindPort: 16379},
			want:    map[string]string{"REDIS_URL": "redis://:pw@127.0.0.1:16379/0"},
			lookups: []string{"secret secret/data/backplane/shop/cache/credentials"},
		},
		{
			name: "upstream open", kind: "mq.rabbitmq", open: true,
			conn: Connection{Service: "shop-mq", Env: "AMQP_URL", Lookup: LookupUpstream, BindPort: 15672},
			want: map[string]string{"AMQP_URL": "amqp://guest:guest@127.0.0.1:15672/"},
		},
		{
			name: "open URL ignored with credentials", kind: "db.postgres", creds: pgCreds, open: false,
			conn:    Connection{Service: "shop-db", Env: "DATABASE_URL", Lookup: LookupUpstream, BindPort: 15432},
			want:    map[string]string{"DATABASE_URL": "postgres://app:pw@127.0.0.1:15432/app"},
			lookups: []string{"secret secret/data/backplane/shop/db/credentials"},
		},
		{
			name: "app renamed", kind: "app.nodejs",
			conn:    Connection{Service: "shop-api", Env: EnvName("{ID}_URL", "api"), Lookup: LookupNomad},
			want:    map[string]string{"API_URL": "http://10.0.0.5:3000"},
			lookups: []string{"nomadService shop-api"},
		},
		{
			name: "no instance yet", kind: "app.nodejs",
			conn:    Connection{Service: "shop-missing", Env: "X_URL", Lookup: LookupNomad},
			want:    map[string]string{},
			lookups: []string{"nomadService shop-missing"},
		},
		{
			name: "literal braces in a user kind's URL",
			exp:  &Export{Env: "X_URL", URL: "x://{host}:{port}/{{db}}?q={other}&{"},
			conn: Connection{Service: "shop-api", Env: "X_URL", Lookup: LookupNomad},
			want: map[string]string{"X_URL": "x://10.0.0.5:3000/{{db}}?q={other}&{"},
		},
		{
			name: "literal braces over an upstream",
			exp:  &Export{Env: "X_URL", URL: "x://{host}:{port}/{{{ .Evil }}"},
			conn: Connection{Service: "shop-api", Env: "X_URL", Lookup: LookupUpstream, BindPort: 7},
			want: map[string]string{"X_URL": "x://127.0.0.1:7/{{{ .Evil }}"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var exp Export
			if c.exp != nil {
				exp = *c.exp
			} else {
				exp = exportOf(t, c.kind)
			}
			text := c.conn.EnvTemplate(exp, c.creds, c.open)
			var lookups []string
			rendered := execTemplate(t, text, stubFuncs(services, "pw", &lookups))
			if got := parseEnv(t, rendered); !reflect.DeepEqual(got, c.want) {
				t.Errorf("renders %q (from %s), want %q", got, text, c.want)
			}
			if c.lookups != nil && !reflect.DeepEqual(lookups, c.lookups) {
				t.Errorf("lookups %q, want %q", lookups, c.lookups)
			}
		})
	}
}

func TestURLTemplate(t *testing.T) {
	cases := []struct{ pattern, want string }{
		{"http://{host}:{port}", "http://H:P"},
		{"x://{password}@{host}", "x://S@H"},
		{"{unknown}/{host}", "{unknown}/H"},
		{"{", "{"},
		{"}{host}{", "}H{"},
		{"a{{host}}", "a{{host}}"},
		{"{{", "{{"},
		{"{{{host}", "{{{host}"},
		{"{user}:{database}", "{user}:{database}"},
	}
	for _, c := range cases {
		text := URLTemplate(c.pattern, `{{ "H" }}`, `{{ "P" }}`, `{{ "S" }}`)
		if got := execTemplate(t, text, nil); got != c.want {
			t.Errorf("URLTemplate(%q) renders %q (from %q), want %q", c.pattern, got, text, c.want)
		}
	}
}
