package templates

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-envparse"

	"github.com/backplane-dev/backplane/schema"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadDirUserKind(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"nats.yaml": natsSpec,
		"job.yml": `name: job
label: Job
category: worker
icon: play
run: command
image: "alpine:3"
fields: [command, env]
required: [command]
no_service: true
`,
		"echo.json": `{"name": "app.echo", "label": "Echo", "category": "app", "run": "image",
 "image": "hashicorp/http-echo", "args": ["-listen=:5678"], "port": 5678, "fields": ["port", "resources"]}`,
		"README.md":       "# not a kind: {{{",
		"notes.txt":       "name: [",
		"backup.yaml~":    "garbage: [",
		"nested/bad.yaml": "name: BAD",
		"UPPER.YML":       "name: upper.case\nlabel: Upper\ncategory: x\nrun: image\nimage: busybox\n",
		"empty-icon.yaml": "name: plain\nlabel: Plain\ncategory: x\nrun: image\nimage: busybox\n",
	})
	r := newBuiltins(t)
	if err := LoadDir(r, dir); err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	want := append([]string{"app.echo", "job", "plain", "queue.nats", "upper.case"}, builtinNames...)
	got := r.Names()
	if len(got) != len(want) {
		t.Fatalf("Names() = %q, want the built-ins and %q", got, want[:5])
	}
	for _, name := range want[:5] {
		if _, ok := r.Get(name); !ok {
			t.Errorf("%s not registered", name)
		}
	}

	var nats *Info
	for _, info := range r.Infos() {
		if info.Name == "queue.nats" {
			nats = &info
		}
		if contains(builtinNames, info.Name) == info.User {
			t.Errorf("%s: User = %v", info.Name, info.User)
		}
	}
	if nats == nil {
		t.Fatal("queue.nats is not in Infos()")
	}
	if nats.Label != "NATS" || nats.Category != "queue" || nats.Icon != "nats" || !nats.Service || nats.Connects {
		t.Errorf("queue.nats info %+v", *nats)
	}
	if !reflect.DeepEqual(nats.Exports, []Export{{Env: "NATS_URL", URL: "nats://{host}:{port}"}}) {
		t.Errorf("queue.nats exports %+v", nats.Exports)
	}
	if !reflect.DeepEqual(nats.Versions, []string{"2.10", "2.9"}) || nats.Defaults.Images["2.9"] != "nats:2.9" {
		t.Errorf("queue.nats versions %q, images %q", nats.Versions, nats.Defaults.Images)
	}
	if nats.Defaults.Port != 4222 || nats.Defaults.Driver != "docker" || nats.Defaults.Resources != (schema.Resources{CPU: 150, Memory: 96}) {
		t.Errorf("queue.nats defaults %+v", nats.Defaults)
	}

	// The job kind has no service: no exports, and nothing may connect to it.
	job, _ := r.Get("job")
	if info := job.Info(); info.Service || len(info.Exports) > 0 {
		t.Errorf("job info %+v: want no service", info)
	}
	echo, _ := r.Get("app.echo")
	if ex := echo.Info().Exports; len(ex) != 1 || ex[0].Env != "{ID}_URL" || ex[0].URL != "http://{host}:{port}" {
		t.Errorf("app.echo default exports %+v", ex)
	}

	s := decodeSchema(t, `version: 1
project: shop
elements:
  - { id: q, kind: queue.nats, version: "2.9", params: { token: "t0k{{en" }, volume: { name: nats-data } }
  - { id: w, kind: job, command: ./work }
  - { id: e, kind: app.echo }
  - { id: api, kind: app.command, command: ./api, port: 80 }
connections:
  - { from: api, to: q }
  - { from: api, to: e }
  - { from: w, to: api }
`)
	if errs := r.Validate(s); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	if errs := r.Validate(decodeSchema(t, "version: 1\nproject: shop\nelements:\n  - { id: w, kind: job, command: w }\n  - { id: api, kind: app.command, command: x, port: 80 }\nconnections:\n  - { from: api, to: w }\n")); len(errs) != 1 || errs[0].Path != "connections[0].to" {
		t.Errorf("connection to a kind without a service: %v", errs)
	}

	k, _ := r.Get("queue.nats")
	res, err := k.Build(BuildInput{
		Schema: s, Element: s.Element("q"), Path: schema.ElementPath("q"),
		Region: "global", Driver: "docker", JobID: "shop-q",
	})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if got := res.Task.Config["image"]; got != "nats:2.9" {
		t.Errorf("image %v, want nats:2.9", got)
	}
	if got := res.Task.Config["args"]; !reflect.DeepEqual(got, []any{"--cluster_name", "${NATS_CLUSTER}"}) {
		t.Errorf("args %v", got)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings for the kind's own args: %v", res.Warnings)
	}
	// Param values reach the task through an env template, exactly.
	wantEnv := map[string]string{"NATS_CLUSTER": "main", "NATS_TOKEN": "t0k{{en"}
	var gotEnv map[string]string
	for _, tpl := range res.Task.Templates {
		if *tpl.DestPath == "local/params.env" {
			var err error
			gotEnv, err = envparse.Parse(strings.NewReader(execTemplate(t, *tpl.EmbeddedTmpl, nil)))
			if err != nil {
				t.Fatalf("params.env: %v", err)
			}
		}
	}
	if !reflect.DeepEqual(gotEnv, wantEnv) {
		t.Errorf("params env %q, want %q", gotEnv, wantEnv)
	}
	if res.Port == nil || *res.Port != (Port{Label: "http", To: 4222}) {
		t.Errorf("port %+v", res.Port)
	}
	if res.Check == nil || res.Check.Type != "tcp" {
		t.Errorf("check %+v, want tcp", res.Check)
	}
	if v := res.Volumes["data"]; v == nil || v.Source != "nats-data" || len(res.Task.VolumeMounts) != 1 || *res.Task.VolumeMounts[0].Destination != "/data" {
		t.Errorf("volumes %+v, mounts %+v", res.Volumes, res.Task.VolumeMounts)
	}
	if *res.Task.Resources.CPU != 150 || *res.Task.Resources.MemoryMB != 96 {
		t.Errorf("resources %d/%d, want the kind's 150/96", *res.Task.Resources.CPU, *res.Task.Resources.MemoryMB)
	}
}

// lineErrors returns each problem of a LoadDir or ParseSpec error.
func lineErrors(t *testing.T, err error) schema.Errors {
	t.Helper()
	var errs schema.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v (%T) is not schema.Errors", err, err)
	}
	return errs
}

func TestLoadDirBuiltinName(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"pg.yaml": "name: db.postgres\nlabel: My Postgres\ncategory: database\nrun: image\nimage: postgres:16\n",
	})
	r := newBuiltins(t)
	err := LoadDir(r, dir)
	if err == nil {
		t.Fatal("LoadDir accepted a kind named like a built-in")
	}
	file := filepath.Join(dir, "pg.yaml")
	want := file + `: name: "db.postgres" is already a built-in kind; pick another name`
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	k, _ := r.Get("db.postgres")
	if k.Info().Label != "PostgreSQL" || k.Info().User {
		t.Errorf("the built-in was replaced: %+v", k.Info())
	}
}

func TestLoadDirDuplicateNames(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.yaml": natsSpec,
		"b.yml":  strings.Replace(natsSpec, "label: NATS", "label: NATS again", 1),
	})
	r := newBuiltins(t)
	err := LoadDir(r, dir)
	if err == nil {
		t.Fatal("LoadDir accepted two kinds with one name")
	}
	errs := lineErrors(t, err)
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yml")
	if len(errs) != 1 || errs[0].File != b || errs[0].Path != "name" || !strings.Contains(errs[0].Msg, a) || !strings.Contains(errs[0].Msg, `"queue.nats"`) {
		t.Errorf("error %q, want one about name in %s naming %s", err, b, a)
	}
	if _, ok := r.Get("queue.nats"); ok {
		t.Error("queue.nats registered although the folder has problems")
	}
}

// badSpecs each break natsSpec in one way, with the one problem expected.
var badSpecs = []struct {
	name, find, replace string
	path, msg           string
}{
	{"unknown field", "icon: nats\n", "icon: nats\ncolour: green\n", "colour", `unknown field "colour"`},
	{"wrong type", "port: 4222", "port: big", "port", "must be an integer"},
	{"bad run", "run: image", "run: binary", "run", `"binary" must be one of source, command, image`},
	{"image missing for run image", `image: "nats:{version}"` + "\n", "", "image", "is required when run is image"},
	{"version without versions", `versions: ["2.10", "2.9"]` + "\n", "", "versions", "is required when image uses {version}"},
	{"not an element field", "fields: [version,", "fields: [colour,", "fields[0]", `"colour" is not an element field`},
	{"required not in fields", "leaf: true\n", "leaf: true\nrequired: [command]\n", "required[0]", `"command" is required but not listed in fields`},
	{"export env invalid", "env: NATS_URL", "env: NATS-URL", "exports[0].env", `"NATS-URL" must be an environment variable name, optionally with {ID}`},
	{"export env empty", "env: NATS_URL", `env: ""`, "exports[0].env", `"" must be an environment variable name`},
	{"export without host", `url: "nats://{host}:{port}"`, `url: "nats://localhost:{port}"`, "exports[0].url", "must contain {host}"},
	{"param env invalid", "env: NATS_TOKEN", "env: 9TOKEN", "params.token.env", `"9TOKEN" is not a valid environment variable name`},
	{"params not in fields", "driver, params]", "driver]", "fields", "must list params when the kind declares params"},
	{"bad name", "name: queue.nats", "name: Queue.NATS", "name", `"Queue.NATS" must be lowercase`},
	{"no name", "name: queue.nats\n", "", "name", "is required"},
	{"no label", "label: NATS\n", "", "label", "is required"},
	{"no category", "category: queue\n", "", "category", "is required"},
	{"bad icon", "icon: nats", "icon: NATS!", "icon", `"NATS!" must be lowercase letters, digits and '-'`},
	{"port out of range", "port: 4222", "port: 70000", "port", "70000 is out of range 1-65535"},
	{"exports without a port", "port: 4222\n", "", "exports", "a kind without a port and a service exports nothing"},
	{"exports without a service", "leaf: true\n", "leaf: true\nno_service: true\n", "exports", "a kind without a port and a service exports nothing"},
	{"bad env name", "leaf: true\n", "leaf: true\nenv: { \"A B\": x }\n", `env["A B"]`, `"A B" is not a valid environment variable name`},
	{"periodic without schedule", "leaf: true\n", "leaf: true\nperiodic: true\n", "required", "must list schedule when periodic is true"},
	{"invalid yaml", "label: NATS", "label: [NATS", "", "invalid YAML"},
}

func TestLoadDirBadFiles(t *testing.T) {
	for _, c := range badSpecs {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(natsSpec, c.find) {
				t.Fatalf("natsSpec has no %q", c.find)
			}
			bad := strings.Replace(natsSpec, c.find, c.replace, 1)
			dir := writeFiles(t, map[string]string{
				"bad.yaml":  bad,
				"good.yaml": strings.Replace(natsSpec, "queue.nats", "queue.other", 1),
			})
			r := newBuiltins(t)
			err := LoadDir(r, dir)
			if err == nil {
				t.Fatalf("LoadDir accepted:\n%s", bad)
			}
			file := filepath.Join(dir, "bad.yaml")
			errs := lineErrors(t, err)
			if len(errs) != 1 {
				t.Fatalf("got %d problems, want 1:\n%v", len(errs), err)
			}
			prefix := file + ": "
			if c.path != "" {
				prefix += c.path + ": "
			}
			if line := err.Error(); !strings.HasPrefix(line, prefix) || !strings.Contains(line, c.msg) {
				t.Errorf("error %q, want %q followed by %q", line, prefix, c.msg)
			}
			if got := r.Names(); !reflect.DeepEqual(got, builtinNames) {
				t.Errorf("registered %q although a file is bad", got)
			}
		})
	}
}

func TestLoadDirReportsEveryFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.yaml": "name: a\nlabel: A\ncategory: x\nrun: binary\n",
		"b.yaml": "name: b\nlabel: B\ncategory: x\nrun: image\nfields: [colour]\n",
		"c.yaml": natsSpec,
		"d.yaml": "",
	})
	err := LoadDir(newBuiltins(t), dir)
	got := strings.Split(err.Error(), "\n")
	want := []string{
		filepath.Join(dir, "a.yaml") + `: run: "binary" must be one of source, command, image`,
		filepath.Join(dir, "b.yaml") + ": image: is required when run is image",
		filepath.Join(dir, "b.yaml") + `: fields[0]: "colour" is not an element field`,
		filepath.Join(dir, "d.yaml") + ": file is empty",
	}
	if len(got) != len(want) {
		t.Fatalf("errors:\n%s\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestLoadDirMissing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	err := LoadDir(newBuiltins(t), dir)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), dir) {
		t.Errorf("LoadDir(missing) = %v, want ErrNotExist naming the folder", err)
	}
}

func TestLoadDirEmpty(t *testing.T) {
	r := newBuiltins(t)
	if err := LoadDir(r, writeFiles(t, map[string]string{"README.md": "kinds go here"})); err != nil {
		t.Fatal(err)
	}
	if got := r.Names(); !reflect.DeepEqual(got, builtinNames) {
		t.Errorf("Names() = %q", got)
	}
}

func TestParseSpec(t *testing.T) {
	spec, errs := ParseSpec("nats.yaml", []byte(natsSpec))
	if len(errs) > 0 {
		t.Fatalf("ParseSpec: %v", errs)
	}
	want := Spec{
		Name: "queue.nats", Label: "NATS", Category: "queue", Icon: "nats", Description: "NATS server",
		Run: RunImage, Image: "nats:{version}", Versions: []string{"2.10", "2.9"},
		Args: []string{"--cluster_name", "${NATS_CLUSTER}"}, Port: 4222, Scheme: "nats",
		Resources: schema.Resources{CPU: 150, Memory: 96}, VolumePath: "/data",
		Fields: []string{"version", "volume", "env", "resources", "placement", "alerts", "driver", "params"},
		Leaf:   true,
		Params: map[string]Param{
			"cluster": {Env: "NATS_CLUSTER", Default: "main", Help: "cluster name"},
			"token":   {Env: "NATS_TOKEN", Required: true},
		},
		Exports: []Export{{Env: "NATS_URL", URL: "nats://{host}:{port}"}},
		user:    true,
	}
	if !reflect.DeepEqual(*spec, want) {
		t.Errorf("ParseSpec =\n%+v\nwant\n%+v", *spec, want)
	}

	// JSON is read too, with the same strictness.
	if _, errs := ParseSpec("k.json", []byte(`{"name": "x", "label": "X", "category": "c", "run": "image", "image": "i", "extra": 1}`)); len(errs) != 1 || errs[0].Path != "extra" || errs[0].File != "k.json" {
		t.Errorf("JSON with an unknown field: %v", errs)
	}
	// Source and command kinds must require what they run.
	for _, c := range []struct{ src, path, msg string }{
		{"name: a\nlabel: A\ncategory: app\nrun: source\nfields: [source]\n", "required", "must list source when run is source"},
		{"name: a\nlabel: A\ncategory: app\nrun: command\nfields: [command]\n", "required", "must list command when run is command"},
	} {
		_, errs := ParseSpec("k.yaml", []byte(c.src))
		if len(errs) != 1 || errs[0].Path != c.path || errs[0].Msg != c.msg || errs[0].File != "k.yaml" {
			t.Errorf("ParseSpec(%q) = %v, want %s: %s", c.src, errs, c.path, c.msg)
		}
	}
	// Every problem is reported, each with the file.
	_, errs = ParseSpec("k.yaml", []byte("name: Bad\nrun: x\nport: -1\n"))
	var paths []string
	for _, e := range errs {
		paths = append(paths, e.Path)
		if e.File != "k.yaml" {
			t.Errorf("%v has no file", e)
		}
	}
	if want := []string{"name", "label", "category", "run", "port"}; !reflect.DeepEqual(paths, want) {
		t.Errorf("paths %q, want %q", paths, want)
	}
}

func FuzzParseSpec(f *testing.F) {
	f.Add([]byte(natsSpec))
	for _, c := range badSpecs {
		f.Add([]byte(strings.Replace(natsSpec, c.find, c.replace, 1)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, errs := ParseSpec("k.yaml", data)
		if (spec == nil) == (len(errs) == 0) {
			t.Fatalf("ParseSpec returned spec %v and %d errors", spec, len(errs))
		}
		for _, e := range errs {
			if e.File != "k.yaml" {
				t.Fatalf("problem without the file: %v", e)
			}
		}
		if spec != nil {
			k := FromSpec(*spec)
			if k.Info().Name != spec.Name || !k.Info().User {
				t.Fatalf("info %+v", k.Info())
			}
		}
	})
}
