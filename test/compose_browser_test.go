package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// composeStorefront is a web app with Postgres and Redis, as a team would
// run it with docker compose: the image tag and the passwords come from
// the .env, and STRIPE_SECRET_KEY looks like a secret.
const composeStorefront = `# The storefront: a Node.js web app with Postgres and Redis.
name: storefront
services:
  web:
    image: ghcr.io/acme/storefront-web:${APP_VERSION}
    ports:
      - "8080:3000"
    environment:
      NODE_ENV: production
      LOG_LEVEL: info
      DATABASE_URL: postgres://storefront:${POSTGRES_PASSWORD}@db:5432/storefront
      REDIS_URL: redis://cache:6379/0
      STRIPE_SECRET_KEY: ${STRIPE_SECRET_KEY}
    depends_on:
      db:
        condition: service_healthy
      cache:
        condition: service_started
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://localhost:3000/healthz"]
      interval: 10s
  db:
    image: postgres:16-alpine
    environment:
      POSTGRES_USER: storefront
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}
      POSTGRES_DB: storefront
    volumes:
      - pgdata:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U storefront"]
  cache:
    image: redis:7-alpine
    volumes:
      - redisdata:/data
volumes:
  pgdata:
  redisdata:
`

// composeOverride is merged over docker-compose.yml: its LOG_LEVEL wins
// only when the files go in that order.
const composeOverride = `services:
  web:
    environment:
      LOG_LEVEL: debug
`

// The .env's secret values: they must reach neither the schema, nor the
// page, nor serve's output or database.
const (
	composeStripeKey  = "sk_live_e2e_not_in_the_schema"
	composePGPassword = "pg-e2e-not-in-the-schema"
)

// composePasswd is a compose file that would have the server read its own
// /etc/passwd.
const composePasswd = `name: passwd-leak
services:
  web:
    image: nginx:1.27
    env_file: /etc/passwd
`

// TestComposeImportBrowser drives the projects page's "Import compose" in a
// real headless Chromium (web/ui/e2e/compose.e2e.mjs) against a real
// `backplane serve`: a server admin picks docker-compose.yml, its override
// and its .env (in the wrong order), imports them, sees the warnings (one
// names the secret STRIPE_SECRET_KEY), opens the project and sees a node
// per element on the canvas; then a compose file with env_file: /etc/passwd
// is refused in the form. The test checks through the API that the
// project's schema holds the elements, merged in order with the .env's
// variables and without the secret values, and that the refused import
// made no project. Skipped without chromium, node or the built editor.
func TestComposeImportBrowser(t *testing.T) {
	b := requireBrowser(t)
	s := serve(t)
	s.Secret(composeStripeKey)
	s.Secret(composePGPassword)

	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	files := []string{
		write("docker-compose.override.yml", composeOverride),
		write(".env", "APP_VERSION=3.2.0\nPOSTGRES_PASSWORD="+composePGPassword+"\nSTRIPE_SECRET_KEY="+composeStripeKey+"\n"),
		write("docker-compose.yml", composeStorefront),
	}
	bad := write("refused/docker-compose.yml", composePasswd)

	b.run(t, "compose.e2e.mjs", 5*time.Minute, append(e2eAdmin(t, s, "ivy"),
		"BASE_URL="+s.URL,
		"E2E_COMPOSE_FILES="+strings.Join(files, ":"),
		"E2E_SLUG=storefront", "E2E_SECRET=STRIPE_SECRET_KEY", "E2E_ELEMENTS=web,db,cache",
		"E2E_BAD_COMPOSE="+bad, "E2E_BAD_SLUG=passwd-leak")...)

	code, _, body := s.call(t, "GET", "/projects/storefront/schema", "")
	var doc struct {
		Revision int `json:"revision"`
		Schema   struct {
			Project  string `json:"project"`
			Elements []struct {
				ID      string            `json:"id"`
				Kind    string            `json:"kind"`
				Image   string            `json:"image"`
				Port    int               `json:"port"`
				Env     map[string]string `json:"env"`
				Secrets []string          `json:"secrets"`
			} `json:"elements"`
			Connections []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"connections"`
		} `json:"schema"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &doc) != nil {
		t.Fatalf("GET the imported schema: %d %s", code, body)
	}
	sc := doc.Schema
	if sc.Project != "storefront" || doc.Revision != 1 {
		t.Errorf("the import made project %q at revision %d, want storefront at 1", sc.Project, doc.Revision)
	}
	kinds := map[string]string{}
	for _, e := range sc.Elements {
		kinds[e.ID] = e.Kind
		if e.ID != "web" {
			continue
		}
		if e.Image != "ghcr.io/acme/storefront-web:3.2.0" {
			t.Errorf("web's image is %q: the .env's APP_VERSION was not used", e.Image)
		}
		if e.Env["LOG_LEVEL"] != "debug" {
			t.Errorf("web's LOG_LEVEL is %q, want the override's debug (the files were not merged in order)", e.Env["LOG_LEVEL"])
		}
		if !slices.Contains(e.Secrets, "STRIPE_SECRET_KEY") {
			t.Errorf("web's secrets are %v, want STRIPE_SECRET_KEY among them", e.Secrets)
		}
		if _, ok := e.Env["STRIPE_SECRET_KEY"]; ok {
			t.Errorf("STRIPE_SECRET_KEY is a plain env var of web")
		}
	}
	want := map[string]string{"web": "app.docker", "db": "db.postgres", "cache": "cache.redis"}
	for id, kind := range want {
		if kinds[id] != kind {
			t.Errorf("element %s is %q, want %s (elements: %v)", id, kinds[id], kind, kinds)
		}
	}
	if len(kinds) != len(want) {
		t.Errorf("the schema has the elements %v, want %v", kinds, want)
	}
	var conns []string
	for _, c := range sc.Connections {
		conns = append(conns, c.From+"->"+c.To)
	}
	slices.Sort(conns)
	if !slices.Equal(conns, []string{"web->cache", "web->db"}) {
		t.Errorf("the connections are %v, want web->cache and web->db", conns)
	}
	for _, leak := range []string{composeStripeKey, composePGPassword} {
		if strings.Contains(body, leak) {
			t.Errorf("the schema holds a secret value of the .env (%.8s…)", leak)
		}
	}

	// The refused import made nothing: storefront is the only project.
	code, _, body = s.call(t, "GET", "/projects", "")
	var list struct {
		Projects []struct {
			Slug string `json:"slug"`
		} `json:"projects"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil {
		t.Fatalf("GET /projects: %d %s", code, body)
	}
	if len(list.Projects) != 1 || list.Projects[0].Slug != "storefront" {
		t.Errorf("the projects are %s, want storefront only (the refused import made one?)", body)
	}
}
