package web

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var yamlUnmarshal = yaml.Unmarshal

const composeUpload = `name: storefront
services:
  web:
    image: ghcr.io/acme/web:1.4
    ports: ["8080:3000"]
    environment:
      DATABASE_URL: postgres://shop:${DB_PASSWORD}@db:5432/shop
      STRIPE_SECRET_KEY: sk_live_not_in_the_schema
    depends_on: [db]
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: ${DB_PASSWORD}
    volumes: [pgdata:/var/lib/postgresql/data]
volumes:
  pgdata: {}
`

func TestImportCompose(t *testing.T) {
	as := newAuthServer(t)
	body, _ := json.Marshal(map[string]any{
		"files": []map[string]string{{"name": "docker-compose.yml", "content": composeUpload}},
		"env":   "DB_PASSWORD=from-the-dot-env\n",
	})
	r := as.do(t, "POST", "/import/compose", strings.NewReader(string(body)), "Content-Type", "application/json")
	var resp struct {
		Project  struct{ Slug string }
		Revision int64
		Warnings []struct{ File, Path, Message string }
	}
	if r.Status != 201 || json.Unmarshal(r.Body, &resp) != nil || resp.Project.Slug != "storefront" {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	for _, leak := range []string{"sk_live_not_in_the_schema", "from-the-dot-env"} {
		if strings.Contains(string(r.Body), leak) {
			t.Errorf("the answer holds a secret value %q", leak)
		}
	}
	got := as.do(t, "GET", "/projects/"+resp.Project.Slug+"/schema", nil, "Accept", "application/yaml")
	y := string(got.Body)
	for _, want := range []string{"kind: db.postgres", "STRIPE_SECRET_KEY", "layout"} {
		if !strings.Contains(y, want) {
			t.Errorf("the imported schema lacks %q:\n%s", want, y)
		}
	}
	if strings.Contains(y, "sk_live") || strings.Contains(y, "from-the-dot-env") {
		t.Errorf("a secret value reached the schema:\n%s", y)
	}
	if len(resp.Warnings) == 0 {
		t.Errorf("no warnings (the secret in env must be named)")
	}
	// The slug is taken now: a second import of it is refused.
	if r := as.do(t, "POST", "/import/compose", strings.NewReader(string(body)), "Content-Type", "application/json"); r.Status != 409 {
		t.Errorf("second import: %d %s", r.Status, r.Body)
	}
}

// An import reads only the files sent with it, never the server's.
func TestImportComposeRefusesOutsideFiles(t *testing.T) {
	as := newAuthServer(t)
	for _, c := range []struct{ name, content, want string }{
		{"docker-compose.yml", "services:\n  web:\n    image: nginx\n    env_file: /etc/passwd\n", `/etc/passwd\" is outside the uploaded files`},
		{"docker-compose.yml", "services:\n  web:\n    image: nginx\n    env_file: [{path: ../../secrets.env}]\n", `is outside the uploaded files`},
		{"docker-compose.yml", "services:\n  web:\n    extends: {file: ../base.yml, service: web}\n", `../base.yml\" is outside`},
		{"docker-compose.yml", "include:\n  - /srv/other/compose.yml\nservices: {}\n", `is outside`},
		{"../docker-compose.yml", "services: {}\n", `must be a plain file name`},
		{".env", "services: {}\n", `must be a plain file name`},
		{"docker-compose.yml", "services:\n  web:\n    image: nginx\n", `the compose files set no name`},
		{"docker-compose.yml", "services:\n  web: [not, a, service\n", `docker-compose.yml`},
	} {
		project := "evil"
		if strings.Contains(c.want, "set no name") {
			project = ""
		}
		body, _ := json.Marshal(map[string]any{"project": project, "files": []map[string]string{{"name": c.name, "content": c.content}}})
		r := as.do(t, "POST", "/import/compose", strings.NewReader(string(body)), "Content-Type", "application/json")
		if r.Status/100 != 4 || !strings.Contains(string(r.Body), c.want) {
			t.Errorf("%s %q: %d %s, want a 4xx naming %q", c.name, c.content, r.Status, r.Body, c.want)
		}
	}
	if r := as.do(t, "GET", "/projects/evil", nil); r.Status != 404 {
		t.Errorf("a refused import left a project: %d", r.Status)
	}
}

// FuzzLocalPaths: the check runs on uploaded YAML before anything reads
// it; no input may panic it, and an include it lets through stays inside
// the upload.
func FuzzLocalPaths(f *testing.F) {
	f.Add([]byte(composeUpload))
	f.Add([]byte("services:\n  web:\n    env_file: [{path: ../x}]\n"))
	f.Add([]byte("include: [/etc/x]\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if localPaths("docker-compose.yml", data) != nil {
			return
		}
		var doc struct {
			Include []string `yaml:"include"`
		}
		if yamlUnmarshal(data, &doc) != nil {
			return
		}
		for _, p := range doc.Include {
			if p != "" && !filepath.IsLocal(filepath.FromSlash(p)) {
				t.Errorf("include %q outside the upload passed", p)
			}
		}
	})
}
