package translator

import (
	"fmt"
	"path"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/templates"
)

// Artifact is an element's source built once for a commit: a .tar.gz of
// the checkout after source.build ran in it.
type Artifact struct {
	// URL is where Nomad clients download it; go-getter unpacks it.
	URL string
	// SHA256 (hex) is checked by Nomad before it unpacks anything.
	SHA256 string
}

// BuildOptions say what a build job builds and how it exchanges files with
// the server that keeps artifacts.
type BuildOptions struct {
	// SHA is the full commit to build, Region where to build it.
	SHA    string
	Region string
	// CacheURL is where the element's build cache is downloaded from (a
	// missing cache is an empty one). UploadURL and CacheUploadURL are
	// where the packed result and the new cache are PUT, with the tokens
	// the job's Nomad variable holds (BuildVarPath).
	CacheURL, UploadURL, CacheUploadURL string
	// Helper says how the backplane binary runs on a client for the cache
	// and upload tasks, as for the logship sidecar.
	Helper LogshipOptions
}

// Build job settings.
const (
	// BuildGroup and BuildTask name the build job's group and the task
	// that runs source.build (whose log is the build log).
	BuildGroup = "build"
	BuildTask  = "build"
	// BuildMemoryMB is the least memory a build task gets: installs and
	// compilers need more than the element's instances usually do.
	BuildMemoryMB = 1024
	// Variable items holding the one-time upload tokens.
	BuildVarUploadToken = "upload_token"
	BuildVarCacheToken  = "cache_token"
)

// BuildJobID is the build job of an element at a commit:
// <project>-<element>-build-<sha7>.
func BuildJobID(project, element, sha string) string {
	if len(sha) > 7 {
		sha = sha[:7]
	}
	return project + "-" + element + "-build-" + sha
}

// BuildVarPath is the Nomad variable a build job reads its upload tokens
// from: the job's own path, which its workload identity may read and
// nothing else's may.
func BuildVarPath(jobID string) string { return "nomad/jobs/" + jobID }

// Buildable reports whether element id is built once per commit: its kind
// runs it from source (a git checkout) and it has a source.build command.
// Elements without a build step, and image kinds such as app.docker, run
// as they are.
func Buildable(s *schema.Schema, reg *templates.Registry, id string) bool {
	_, _, err := buildSource(s, reg, id)
	return err == nil
}

// buildSource returns the element and the task of its workload that
// checks out its source.
func buildSource(s *schema.Schema, reg *templates.Registry, id string) (*schema.Element, *api.Task, error) {
	e := s.Element(id)
	if e == nil {
		return nil, nil, fmt.Errorf("no element %q", id)
	}
	if e.Source == nil || e.Source.Build == "" {
		return nil, nil, fmt.Errorf("%s has no source.build", id)
	}
	kind, ok := reg.Get(e.Kind)
	if !ok {
		return nil, nil, fmt.Errorf("%s: unknown kind %s", id, e.Kind)
	}
	regions := s.ElementRegions(e)
	region := ""
	if len(regions) > 0 {
		region = regions[0]
	}
	res, err := kind.Build(templates.BuildInput{
		Schema: s, Element: e, Path: schema.ElementPath(e.ID), Region: region,
		Driver: s.EffectiveDriver(e), JobID: s.Project + "-" + e.ID,
	})
	if err != nil {
		return nil, nil, err
	}
	for _, t := range append(append([]*api.Task{}, res.Prestart...), res.Task) {
		for _, a := range t.Artifacts {
			if a.RelativeDest != nil && *a.RelativeDest == templates.SourceDest {
				return e, t, nil
			}
		}
	}
	return nil, nil, fmt.Errorf("%s: kind %s does not run from source", id, e.Kind)
}

// BuildJob is the batch job that builds element id at o.SHA once: it
// restores the element's build cache, checks the commit out, runs
// source.build in the kind's runtime (its image under docker), packs the
// result as a .tar.gz, and uploads it and the new cache. It never
// restarts or reschedules: a failed build is reported, not retried.
func BuildJob(s *schema.Schema, reg *templates.Registry, id string, o BuildOptions) (*api.Job, error) {
	if errs := schema.Validate(s); len(errs) > 0 {
		return nil, errs
	}
	if o.SHA == "" || o.UploadURL == "" {
		return nil, fmt.Errorf("build %s: the commit and the upload URL are required", id)
	}
	e, src, err := buildSource(s, reg, id)
	if err != nil {
		return nil, err
	}
	if o.Helper.Image == "" {
		o.Helper.Image = DefaultLogshipImage
	}
	if o.Helper.ArtifactURL == "" {
		o.Helper.ArtifactURL = DefaultLogshipArtifactURL
	}
	jobID := BuildJobID(s.Project, e.ID, o.SHA)
	driver := s.EffectiveDriver(e)
	job := &api.Job{
		ID: new(jobID), Name: new(jobID), Region: new(o.Region), Namespace: new(s.Namespace), Type: new(api.JobTypeBatch),
		Datacenters: s.Datacenters(e, o.Region),
		Meta:        map[string]string{MetaProject: s.Project, MetaElement: e.ID, MetaGitSHA: o.SHA, MetaBuild: e.ID},
	}

	build := &api.Task{Name: BuildTask, Driver: driver, Config: map[string]any{}, Env: map[string]string{}}
	if img, ok := src.Config["image"]; ok {
		build.Config["image"] = img
	}
	for k, v := range src.Env {
		build.Env[k] = v
	}
	build.Env[EnvGitSHA] = o.SHA
	// Package managers keep their caches in the alloc folder, which the
	// cache task restored and the upload task saves.
	for k, v := range map[string]string{
		"XDG_CACHE_HOME": "cache/xdg", "PIP_CACHE_DIR": "cache/pip", "npm_config_cache": "cache/npm",
		"YARN_CACHE_FOLDER": "cache/yarn", "GOCACHE": "cache/go-build", "GOMODCACHE": "cache/go-mod",
		"BACKPLANE_CACHE_DIR": "cache/app",
	} {
		build.Env[k] = "${NOMAD_ALLOC_DIR}/" + v
	}
	build.Env["GOFLAGS"] = "-modcacherw" // so the cache can be removed with the alloc
	art := templates.GitArtifact(e.Source, templates.SourceDest)
	art.GetterOptions = map[string]string{"ref": o.SHA}
	build.Artifacts = []*api.TaskArtifact{art}
	dir := "${NOMAD_TASK_DIR}/src"
	if e.Source.Dir != "" {
		dir += "/" + path.Clean(e.Source.Dir)
	}
	// One stream, in order: the build log is the task's stdout.
	script := "exec 2>&1\n" +
		"mkdir -p \"$NOMAD_ALLOC_DIR/out\" \"$NOMAD_ALLOC_DIR/cache\"\n" +
		"cd \"" + dir + "\"\n" +
		e.Source.Build + "\n" +
		"cd \"$NOMAD_TASK_DIR/src\"\n" +
		"echo \"backplane: packing the build\"\n" +
		"tar -czf \"$NOMAD_ALLOC_DIR/out/app.tar.gz\" --exclude=./.git .\n" +
		"touch \"$NOMAD_ALLOC_DIR/out/ok\"\n"
	build.Templates = []*api.Template{templates.ScriptTemplate(script)}
	// The element's own env (not its secrets or connections) reaches the
	// build too: builds often read NODE_ENV and the like.
	if len(e.Env) > 0 {
		var env strings.Builder
		for _, k := range schema.SortedKeys(e.Env) {
			env.WriteString(templates.EnvLine(k, e.Env[k]))
		}
		build.Templates = append(build.Templates, envTemplate("local/env.env", env.String()))
	}
	build.Config["command"] = "/bin/sh"
	build.Config["args"] = []any{"${NOMAD_TASK_DIR}/start.sh"}
	build.Resources = src.Resources
	if build.Resources == nil || build.Resources.MemoryMB == nil || *build.Resources.MemoryMB < BuildMemoryMB {
		r := &api.Resources{CPU: new(500), MemoryMB: new(BuildMemoryMB)}
		if src.Resources != nil && src.Resources.CPU != nil && *src.Resources.CPU > 500 {
			r.CPU = src.Resources.CPU
		}
		build.Resources = r
	}

	cache := helperTask(o.Helper, "cache", driver, []any{"build-files", "restore", "--url", o.CacheURL, "--dir", "${NOMAD_ALLOC_DIR}/cache"})
	cache.Lifecycle = &api.TaskLifecycle{Hook: api.TaskLifecycleHookPrestart}
	upload := helperTask(o.Helper, "upload", driver, []any{"build-files", "upload",
		"--dir", "${NOMAD_ALLOC_DIR}", "--artifact-url", o.UploadURL, "--cache-url", o.CacheUploadURL})
	upload.Lifecycle = &api.TaskLifecycle{Hook: api.TaskLifecycleHookPoststop}
	upload.Templates = []*api.Template{{
		EmbeddedTmpl: new(fmt.Sprintf("{{ with nomadVar %q }}BACKPLANE_UPLOAD_TOKEN={{ .%s }}\nBACKPLANE_CACHE_TOKEN={{ .%s }}\n{{ end }}\n",
			BuildVarPath(jobID), BuildVarUploadToken, BuildVarCacheToken)),
		DestPath: new("secrets/upload.env"),
		Envvars:  new(true),
	}}
	upload.Resources = &api.Resources{CPU: new(100), MemoryMB: new(128)}

	job.TaskGroups = []*api.TaskGroup{{
		Name:  new(BuildGroup),
		Count: new(1),
		Tasks: []*api.Task{cache, build, upload},
		RestartPolicy: &api.RestartPolicy{
			Attempts: new(0), Mode: new(api.RestartPolicyModeFail),
		},
		ReschedulePolicy: &api.ReschedulePolicy{Attempts: new(0), Unlimited: new(false)},
		EphemeralDisk:    &api.EphemeralDisk{SizeMB: new(2048)},
	}}
	return job, nil
}

// helperTask runs the backplane binary on a client: its image under
// docker, o.Command when set (a binary on every client), otherwise the
// binary downloaded from o.ArtifactURL.
func helperTask(o LogshipOptions, name, driver string, args []any) *api.Task {
	task := &api.Task{Name: name, Driver: driver, Config: map[string]any{"args": args},
		Resources: &api.Resources{CPU: new(50), MemoryMB: new(64)}}
	switch {
	case driver == "docker":
		task.Config["image"] = o.Image
	case o.Command != "":
		task.Config["command"] = o.Command
	default:
		a := &api.TaskArtifact{GetterSource: new(o.ArtifactURL), RelativeDest: new("local/" + name)}
		if o.ArtifactChecksum != "" {
			a.GetterOptions = map[string]string{"checksum": o.ArtifactChecksum}
		}
		task.Artifacts = []*api.TaskArtifact{a}
		task.Config["command"] = "${NOMAD_TASK_DIR}/" + name + "/backplane"
	}
	return task
}
