package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/translator"
)

// The cluster commands through the server. Each reads the schema file for
// its project (and sends it where the server takes a schema), calls the
// API, decodes the answer into the jobs types and prints it with the same
// functions, and so the same output and exit codes, as the direct path.

// source is the schema file as the server gets it.
type source struct {
	name   string // as messages name it (<stdin> for -)
	data   []byte
	schema *schema.Schema
}

func (a *app) remoteSource(f *clusterFlags) (*source, error) {
	data, s, err := a.loadSource(f.file)
	if err != nil {
		return nil, err
	}
	name := f.file
	if name == "-" {
		name = "<stdin>"
	}
	if s.Project == "" {
		return nil, &exitError{code: exitInvalid, err: fmt.Errorf("%s: project: is required: it names the project on the server", name)}
	}
	return &source{name: name, data: data, schema: s}, nil
}

func (s *source) hasElement(id string) bool {
	for _, e := range s.schema.Elements {
		if e.ID == id {
			return true
		}
	}
	return false
}

func (a *app) remotePlan(r *remote, f *clusterFlags, elements []string) error {
	src, err := a.remoteSource(f)
	if err != nil {
		return err
	}
	ctx, cancel := signalContext()
	defer cancel()
	body := map[string]any{"yaml": string(src.data)}
	if len(elements) > 0 {
		body["elements"] = elements
	}
	var resp struct {
		Items    []*jobs.PlanItem `json:"items"`
		Problems []string         `json:"problems"`
		Warnings []string         `json:"warnings"`
		Builds   []plannedBuild   `json:"builds"`
	}
	err = r.do(ctx, request{method: http.MethodPost, path: projectPath(src.schema.Project, "plan"), body: body, timeout: longRequest}, &resp)
	if err != nil {
		return r.fail(src.name, err)
	}
	plan := &jobs.Plan{Project: src.schema.Project, Items: resp.Items, Problems: resp.Problems, Warnings: resp.Warnings}
	if f.jsonOut && resp.Builds != nil {
		// The plan's JSON, with the builds a deploy would run first.
		if err := writeJSON(a.stdout, struct {
			*jobs.Plan
			Builds []plannedBuild `json:"builds"`
		}{plan, resp.Builds}); err != nil {
			return err
		}
		if planBlocked(plan) {
			return &exitError{code: exitInvalid}
		}
		return nil
	}
	if !f.jsonOut {
		a.printPlannedBuilds(src.schema, resp.Builds)
	}
	return a.finishPlan(plan, f.jsonOut)
}

func (a *app) remoteDeploy(r *remote, f *clusterFlags, elements []string, prune, wait bool, timeout time.Duration) error {
	src, err := a.remoteSource(f)
	if err != nil {
		return err
	}
	project := src.schema.Project
	ctx, cancel := signalContext()
	defer cancel()
	started := time.Now()
	var before map[string]jobs.Status
	if wait {
		before = r.statusNow(ctx, project)
	}
	body := map[string]any{"yaml": string(src.data), "prune": prune}
	if len(elements) > 0 {
		body["elements"] = elements
	}
	var resp struct {
		Items []*jobs.ApplyItem `json:"items"`
	}
	// The server builds what needs building before it applies; with
	// --wait, the builds' logs print while it does.
	var builds *buildFollower
	if wait {
		out := a.stdout
		if f.jsonOut {
			out = a.stderr
		}
		builds = startBuildFollower(ctx, r, project, elements, out)
	}
	limit := longRequest
	if builds != nil {
		limit += buildsTimeout // the server builds before it applies
	}
	err = builds.follow(ctx, func() error {
		return r.do(ctx, request{method: http.MethodPost, path: projectPath(project, "deploy"), body: body, timeout: limit}, &resp)
	})
	if err != nil {
		var se *serverError
		if errors.As(err, &se) && se.Code == "build_failed" {
			return &exitError{code: exitInvalid, err: fmt.Errorf("deploy %s: nothing applied: %s", project, se.Message)}
		}
		if errors.As(err, &se) && se.Code == "blocked" {
			if problems := stringProblems(se.Problems); len(problems) > 0 {
				if f.jsonOut {
					_ = writeJSON(a.stdout, map[string]any{"plan": &jobs.Plan{Project: project, Problems: problems}})
				}
				return &exitError{code: exitInvalid, err: fmt.Errorf("deploy %s: nothing applied; fix these first:\n  %s", project, strings.Join(problems, "\n  "))}
			}
		}
		return r.fail(src.name, err)
	}
	view := newProgress(a, !f.jsonOut && isTerminal(a.stdout), f.jsonOut)
	for _, it := range resp.Items {
		view.applied(it)
	}
	registered := time.Since(started)
	var statuses []jobs.Status
	if wait {
		statuses = a.waitHealthy(ctx, r.watchFunc(project), waitTargets(resp.Items), a.remoteBatchJobs(src),
			freshAfter(resp.Items, before), timeout, view)
	}
	report := deployReport{Project: project, Items: resp.Items, Statuses: statuses,
		RegisteredAfter: registered.Seconds(), Elapsed: time.Since(started).Seconds()}
	return a.finishDeploy(report, view, f.jsonOut)
}

// statusNow reads the project's statuses by region/job ID; nil when the
// server cannot tell (no cluster, a head revision with problems).
func (r *remote) statusNow(ctx context.Context, project string) map[string]jobs.Status {
	var resp struct {
		Statuses []jobs.Status `json:"statuses"`
	}
	if err := r.do(ctx, request{method: http.MethodGet, path: projectPath(project, "status")}, &resp); err != nil {
		return nil
	}
	out := make(map[string]jobs.Status, len(resp.Statuses))
	for _, s := range resp.Statuses {
		out[s.Region+"/"+s.JobID] = s
	}
	return out
}

// freshAfter tells statuses of this deploy from older ones. On connect, the
// events stream replays the last status the server knows of each job,
// which for a job just registered may be its previous version, healthy: it
// must not end the wait. A registered job's status is fresh once its
// version is past the one read before the deploy (or it left "stopped",
// for a job that was not registered); unchanged jobs are fresh as they are.
func freshAfter(items []*jobs.ApplyItem, before map[string]jobs.Status) func(jobs.Target, jobs.Status) bool {
	registered := map[string]bool{}
	for _, it := range items {
		if it.Outcome == jobs.OutcomeRegistered {
			registered[it.Region+"/"+it.JobID] = true
		}
	}
	return func(t jobs.Target, s jobs.Status) bool {
		key := t.Region + "/" + t.JobID
		if !registered[key] {
			return true
		}
		b, ok := before[key]
		if !ok || b.State == jobs.StateUnknown {
			return true
		}
		return s.Version > b.Version || (b.State == jobs.StateStopped && s.State != jobs.StateStopped)
	}
}

// remoteBatchJobs finds the schema's batch jobs by translating it here,
// best effort: the server may know kinds this machine does not, and then
// every job is waited for as a service.
func (a *app) remoteBatchJobs(src *source) map[string]bool {
	reg, err := a.registry()
	if err != nil {
		return nil
	}
	b, err := translator.Translate(src.schema, reg, translator.Options{})
	if err != nil {
		return nil
	}
	return batchJobs(b)
}

// watchFunc follows the project's statuses on the server's events stream;
// waitHealthy keeps those of its targets. A refusal (401, 403) is said on
// stderr, since the wait then ends with what it has.
func (r *remote) watchFunc(project string) watchFunc {
	return func(ctx context.Context, _ []jobs.Target, fn func(jobs.Status)) error {
		err := r.watch(ctx, project, fn)
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(r.warn, "%v\n", r.fail("", err))
		}
		return err
	}
}

func (a *app) remoteStatus(r *remote, f *clusterFlags, elements []string, watch bool) error {
	src, err := a.remoteSource(f)
	if err != nil {
		return err
	}
	only := map[string]bool{}
	for _, e := range elements {
		only[e] = true
	}
	keep := func(s jobs.Status) bool { return len(only) == 0 || only[s.Element] }
	ctx, cancel := signalContext()
	defer cancel()
	if watch {
		err := r.watch(ctx, src.schema.Project, func(s jobs.Status) {
			if !keep(s) {
				return
			}
			if f.jsonOut {
				_ = writeJSON(a.stdout, s)
				return
			}
			a.printStatus(s)
		})
		if err != nil && ctx.Err() == nil {
			return r.fail(src.name, err)
		}
		return nil
	}
	var resp struct {
		Statuses []jobs.Status `json:"statuses"`
	}
	if err := r.do(ctx, request{method: http.MethodGet, path: projectPath(src.schema.Project, "status")}, &resp); err != nil {
		return r.fail(src.name, err)
	}
	statuses := make([]jobs.Status, 0, len(resp.Statuses))
	for _, s := range resp.Statuses {
		if keep(s) {
			statuses = append(statuses, s)
		}
	}
	if f.jsonOut {
		return writeJSON(a.stdout, statuses)
	}
	a.printStatuses(statuses)
	return nil
}

func (a *app) remoteRollback(r *remote, f *clusterFlags, element string, version int64) error {
	src, err := a.remoteSource(f)
	if err != nil {
		return err
	}
	if !src.hasElement(element) {
		return &exitError{code: exitUsage, err: fmt.Errorf("rollback: no element %q in %s", element, src.name)}
	}
	body := map[string]any{"element": element}
	if version >= 0 {
		body["version"] = version
	}
	ctx, cancel := signalContext()
	defer cancel()
	var resp struct {
		Results []jobs.OpResult `json:"results"`
	}
	err = r.do(ctx, request{method: http.MethodPost, path: projectPath(src.schema.Project, "rollback"), body: body, timeout: longRequest}, &resp)
	if err != nil {
		return r.fail(src.name, err)
	}
	return a.opResults(f.jsonOut, "rolled back to version", resp.Results)
}

func (a *app) remoteDestroy(r *remote, f *clusterFlags, elements []string, purge bool) error {
	src, err := a.remoteSource(f)
	if err != nil {
		return err
	}
	body := map[string]any{"purge": purge}
	if len(elements) > 0 {
		body["elements"] = elements
	}
	ctx, cancel := signalContext()
	defer cancel()
	var resp struct {
		Results []jobs.OpResult `json:"results"`
	}
	err = r.do(ctx, request{method: http.MethodPost, path: projectPath(src.schema.Project, "destroy"), body: body, timeout: longRequest}, &resp)
	if err != nil {
		return r.fail(src.name, err)
	}
	return a.opResults(f.jsonOut, "destroyed", resp.Results)
}

// remoteSetSecret sets an element's secret, or the project's when element
// is jobs.ProjectSecrets (the server takes that reserved name on the same
// route).
func (a *app) remoteSetSecret(r *remote, f *clusterFlags, element, name string) error {
	src, err := a.remoteSource(f)
	if err != nil {
		return err
	}
	if !schema.ValidEnvName(name) {
		return &exitError{code: exitUsage, err: fmt.Errorf("secrets set: %q is not a valid secret name", name)}
	}
	if element != jobs.ProjectSecrets && !src.hasElement(element) {
		return &exitError{code: exitUsage, err: fmt.Errorf("secrets set: no element %q in %s", element, src.name)}
	}
	value, err := a.readSecretValue()
	if err != nil {
		return err
	}
	ctx, cancel := signalContext()
	defer cancel()
	path := projectPath(src.schema.Project, "secrets", element, name)
	var set struct {
		Version int `json:"version"`
	}
	err = r.do(ctx, request{method: http.MethodPut, path: path, body: value, contentType: "text/plain; charset=utf-8"}, &set)
	if err != nil {
		return r.fail(src.name, err)
	}
	owner := secretOwner(src.schema.Project, element)
	if set.Version > 0 {
		fmt.Fprintf(a.stdout, "set %s for %s (version %d)\n", name, owner, set.Version)
		return nil
	}
	// An older server answers 204: the version comes from the list.
	infos, err := r.secrets(ctx, src.schema.Project, element)
	for _, i := range infos {
		if err == nil && i.Name == name {
			fmt.Fprintf(a.stdout, "set %s for %s (version %d)\n", name, owner, i.Version)
			return nil
		}
	}
	fmt.Fprintf(a.stdout, "set %s for %s\n", name, owner)
	return nil
}

func (a *app) remoteSecrets(r *remote, f *clusterFlags, element string) error {
	src, err := a.remoteSource(f)
	if err != nil {
		return err
	}
	ctx, cancel := signalContext()
	defer cancel()
	infos, err := r.secrets(ctx, src.schema.Project, element)
	if err != nil {
		return r.fail(src.name, err)
	}
	return a.printSecrets(infos, f.jsonOut)
}

// secrets lists an element's (or, for jobs.ProjectSecrets, the project's)
// secret names and versions.
func (r *remote) secrets(ctx context.Context, project, element string) ([]jobs.SecretInfo, error) {
	var resp struct {
		Secrets []jobs.SecretInfo `json:"secrets"`
	}
	if err := r.do(ctx, request{method: http.MethodGet, path: projectPath(project, "secrets", element)}, &resp); err != nil {
		return nil, err
	}
	return resp.Secrets, nil
}
