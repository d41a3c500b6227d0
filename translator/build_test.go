package translator

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
)

const buildSchema = `version: 1
project: shop
defaults: { driver: raw_exec }
elements:
  - id: api
    kind: app.python
    source: { repo: "https://git.example.com/acme/shop.git", branch: main, dir: services/api,
              build: "pip install -r requirements.txt", start: "python3 app.py" }
    env: { APP_MODE: production }
    secrets: [STRIPE_KEY]
    port: 8000
    scale: { count: 2 }
  - id: plain
    kind: app.python
    source: { repo: "https://git.example.com/acme/shop.git", start: "python3 app.py" }
  - id: site
    kind: static
    source: { repo: "https://git.example.com/acme/site.git", build: "npm ci && npm run build", dir: dist }
  - id: box
    kind: app.docker
    image: nginx:1.27
    driver: docker
`

const testSHA = "0123456789abcdef0123456789abcdef01234567"

func TestBuildable(t *testing.T) {
	s := mustDecode(t, buildSchema)
	for id, want := range map[string]bool{"api": true, "plain": false, "site": true, "box": false, "nope": false} {
		if got := Buildable(s, testRegistry(t), id); got != want {
			t.Errorf("Buildable(%s) = %v, want %v", id, got, want)
		}
	}
}

func findJob(t *testing.T, b *Bundle, id string) *api.Job {
	t.Helper()
	for _, jobs := range b.Jobs {
		for _, j := range jobs {
			if *j.ID == id {
				return j
			}
		}
	}
	t.Fatalf("no job %s", id)
	return nil
}

// An element with a built artifact downloads it, checked against its
// digest, and runs source.start only; the job is the same bytes for the
// same commit and artifact.
func TestTranslateWithArtifact(t *testing.T) {
	s := mustDecode(t, buildSchema)
	art := Artifact{URL: "https://bp.example.com/artifacts/shop/api/" + testSHA + ".tar.gz?token=t0k", SHA256: strings.Repeat("ab", 32)}
	opts := Options{GitSHAs: map[string]string{"api": testSHA}, Artifacts: map[string]Artifact{"api": art}}
	b := translate(t, s, opts)
	job := findJob(t, b, "shop-api")
	if job.Meta[MetaArtifact] != art.SHA256 || job.Meta[MetaGitSHA] != testSHA {
		t.Errorf("meta %v", job.Meta)
	}
	task := job.TaskGroups[0].Tasks[0]
	if len(task.Artifacts) != 1 || *task.Artifacts[0].GetterSource != art.URL ||
		task.Artifacts[0].GetterOptions["checksum"] != "sha256:"+art.SHA256 || *task.Artifacts[0].RelativeDest != "local/src" {
		t.Fatalf("artifacts %+v", task.Artifacts)
	}
	script := *task.Templates[0].EmbeddedTmpl
	if strings.Contains(script, "pip install") || !strings.Contains(script, "python3 app.py") || !strings.Contains(script, "/src/services/api") {
		t.Errorf("start script:\n%s", script)
	}
	if task.Env[EnvGitSHA] != testSHA {
		t.Errorf("env %v", task.Env)
	}
	again, _ := json.Marshal(findJob(t, translate(t, s, opts), "shop-api"))
	first, _ := json.Marshal(job)
	if string(again) != string(first) {
		t.Errorf("not deterministic")
	}
	// Without an artifact it builds in the instance, as before.
	job = findJob(t, translate(t, s, Options{GitSHAs: map[string]string{"api": testSHA}}), "shop-api")
	if script := *job.TaskGroups[0].Tasks[0].Templates[0].EmbeddedTmpl; !strings.Contains(script, "pip install") {
		t.Errorf("without an artifact the build is gone:\n%s", script)
	}
	// A static site's fetch task takes the artifact and only copies.
	site := findJob(t, translate(t, s, Options{Artifacts: map[string]Artifact{"site": art}}), "shop-site")
	fetch := site.TaskGroups[0].Tasks[0]
	if fetch.Name != "fetch" || *fetch.Artifacts[0].GetterSource != art.URL || strings.Contains(*fetch.Templates[0].EmbeddedTmpl, "npm ci") {
		t.Errorf("static fetch task: %+v", fetch)
	}
}

func TestBuildJob(t *testing.T) {
	s := mustDecode(t, buildSchema)
	o := BuildOptions{SHA: testSHA, Region: "global", UploadURL: "https://bp.example.com/artifacts/shop/api/" + testSHA + ".tar.gz",
		CacheURL: "https://bp.example.com/artifacts/shop/api/cache.tar.gz?token=r", CacheUploadURL: "https://bp.example.com/artifacts/shop/api/cache.tar.gz",
		Helper: LogshipOptions{Command: "/usr/local/bin/backplane"}}
	job, err := BuildJob(s, testRegistry(t), "api", o)
	if err != nil {
		t.Fatal(err)
	}
	if *job.ID != "shop-api-build-0123456" || *job.Type != "batch" || job.Meta[MetaBuild] != "api" || job.Meta[MetaGitSHA] != testSHA {
		t.Fatalf("job %s %s %v", *job.ID, *job.Type, job.Meta)
	}
	g := job.TaskGroups[0]
	if *g.RestartPolicy.Attempts != 0 || *g.ReschedulePolicy.Attempts != 0 || *g.Count != 1 {
		t.Errorf("a build is never retried: %+v %+v", g.RestartPolicy, g.ReschedulePolicy)
	}
	var names []string
	for _, tk := range g.Tasks {
		hook := ""
		if tk.Lifecycle != nil {
			hook = tk.Lifecycle.Hook
		}
		names = append(names, tk.Name+":"+hook)
	}
	if strings.Join(names, " ") != "cache:prestart build: upload:poststop" {
		t.Errorf("tasks %v", names)
	}
	build := g.Tasks[1]
	script := *build.Templates[0].EmbeddedTmpl
	for _, want := range []string{"cd \"${NOMAD_TASK_DIR}/src/services/api\"", "pip install -r requirements.txt", "tar -czf", "out/ok"} {
		if !strings.Contains(script, want) {
			t.Errorf("build script lacks %q:\n%s", want, script)
		}
	}
	if strings.Contains(script, "python3 app.py") {
		t.Errorf("the build runs the start command:\n%s", script)
	}
	if len(build.Templates) != 2 || !strings.Contains(*build.Templates[1].EmbeddedTmpl, "APP_MODE") || strings.Contains(*build.Templates[1].EmbeddedTmpl, "STRIPE_KEY") {
		t.Errorf("the build's env: %+v", build.Templates)
	}
	if build.Artifacts[0].GetterOptions["ref"] != testSHA || *build.Resources.MemoryMB < BuildMemoryMB {
		t.Errorf("build task %+v %+v", build.Artifacts[0], build.Resources)
	}
	up := g.Tasks[2]
	if tmpl := *up.Templates[0].EmbeddedTmpl; !strings.Contains(tmpl, `nomadVar "nomad/jobs/shop-api-build-0123456"`) {
		t.Errorf("upload template: %s", tmpl)
	}
	if up.Config["command"] != "/usr/local/bin/backplane" {
		t.Errorf("upload task %+v", up.Config)
	}
	if _, err := BuildJob(s, testRegistry(t), "plain", o); err == nil || !strings.Contains(err.Error(), "no source.build") {
		t.Errorf("plain: %v", err)
	}
	if _, err := BuildJob(s, testRegistry(t), "box", o); err == nil {
		t.Errorf("box builds")
	}
}
