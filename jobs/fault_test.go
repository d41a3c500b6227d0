package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/templates"
	"github.com/backplane-dev/backplane/translator"
)

// requestTimeout is the per-request timeout of the clusters under test. A
// region that hangs fails after it.
const requestTimeout = 300 * time.Millisecond

// returnBound is how long a call may take before the test calls it stuck.
// It is generous: it catches a hang, not a slow machine.
const returnBound = 5 * time.Second

// mode is how the fake Nomad answers one kind of request in one region.
type mode int

const (
	answer  mode = iota // answer normally
	fail500             // HTTP 500 with fakeConfig.failBody
	hang                // never answer; the client times out
	missing             // HTTP 404, as for an unknown job
)

// Operations the fake routes modes by.
const (
	opPlan       = "plan"
	opRegister   = "register"
	opList       = "list"
	opStatus     = "status" // job info, deployment and allocations
	opDeregister = "deregister"
	opVersions   = "versions"
	opRevert     = "revert"
)

// fakeConfig says how a fake Nomad behaves. It is fixed before the server
// starts; what changes while it runs lives in fakeNomad behind its mutex.
type fakeConfig struct {
	// modes by operation, then by region; absent means answer.
	modes map[string]map[string]mode
	// failBody is the body of a fail500 answer.
	failBody string
	// planDiff is the plan's diff (default: type Added).
	planDiff *nomad.JobDiff
	// planIndex is the job modify index the plan reports.
	planIndex uint64
	// regions is what GET /v1/regions lists.
	regions []string
	// listed is what GET /v1/jobs lists, by region, before prefix filtering.
	listed map[string][]*nomad.JobListStub
	// status answers GET /v1/job/<id>, /deployment and /allocations; a nil
	// job is a 404.
	status func(region, id string) (*nomad.Job, *nomad.Deployment, []*nomad.AllocationListStub)
	// versions answers GET /v1/job/<id>/versions, newest first.
	versions func(region, id string) []*nomad.Job
	// stream serves the n-th (from 1) GET /v1/event/stream.
	stream func(w http.ResponseWriter, r *http.Request, n int)
	// onAllocList runs on the n-th (from 1) GET /v1/allocations.
	onAllocList func(n int)
}

// fakeIndex is the Raft index the fake reports on every answer.
const fakeIndex = 7

// seen is one request the fake received.
type seen struct {
	Method string
	Path   string
	Region string
	Query  string
	Body   []byte
}

type fakeNomad struct {
	cfg  fakeConfig
	srv  *httptest.Server
	done chan struct{} // closed at cleanup: releases hung handlers

	mu      sync.Mutex
	reqs    []seen
	streams int
	polls   int
}

// newFakeNomad starts a fake Nomad HTTP API on 127.0.0.1 that serves every
// region from one server, routed by the region query parameter.
func newFakeNomad(t *testing.T, cfg fakeConfig) *fakeNomad {
	t.Helper()
	if cfg.failBody == "" {
		cfg.failBody = "rpc error: internal error"
	}
	f := &fakeNomad{cfg: cfg, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/regions", f.regions)
	mux.HandleFunc("/v1/jobs", f.jobs)
	mux.HandleFunc("/v1/job/{id}", f.job)
	mux.HandleFunc("/v1/job/{id}/plan", f.plan)
	mux.HandleFunc("/v1/job/{id}/deployment", f.deployment)
	mux.HandleFunc("/v1/job/{id}/deployments", f.deployments)
	mux.HandleFunc("/v1/job/{id}/allocations", f.allocations)
	mux.HandleFunc("/v1/job/{id}/versions", f.versionsHandler)
	mux.HandleFunc("/v1/job/{id}/revert", f.revert)
	mux.HandleFunc("/v1/event/stream", f.stream)
	mux.HandleFunc("/v1/allocations", f.allocList)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("fake nomad: unexpected %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{Method: r.Method, Path: r.URL.Path, Region: r.URL.Query().Get("region"), Query: r.URL.RawQuery, Body: body})
		f.mu.Unlock()
		w.Header().Set("X-Nomad-Index", strconv.FormatUint(fakeIndex, 10))
		w.Header().Set("X-Nomad-LastContact", "0")
		w.Header().Set("X-Nomad-KnownLeader", "true")
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.done) }) // runs first: unblock hung handlers
	return f
}

// cluster connects a Cluster to the fake, with a short request timeout.
func (f *fakeNomad) cluster(t *testing.T) *Cluster {
	t.Helper()
	c, err := Connect(Config{NomadAddr: f.srv.URL, RequestTimeout: requestTimeout}, nil)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return c
}

// requests lists what the fake received with the given method and path.
func (f *fakeNomad) requests(method, path string) []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []seen
	for _, r := range f.reqs {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// registers lists the job registrations the fake received (PUT or POST).
func (f *fakeNomad) registers() []seen {
	return append(f.requests(http.MethodPut, "/v1/jobs"), f.requests(http.MethodPost, "/v1/jobs")...)
}

func (f *fakeNomad) counts() (streams, polls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.streams, f.polls
}

// intercept applies the configured mode for op in the request's region. It
// reports whether it answered the request.
func (f *fakeNomad) intercept(op string, w http.ResponseWriter, r *http.Request) bool {
	switch f.cfg.modes[op][r.URL.Query().Get("region")] {
	case fail500:
		http.Error(w, f.cfg.failBody, http.StatusInternalServerError)
	case hang:
		select {
		case <-r.Context().Done():
		case <-f.done:
		}
	case missing:
		http.Error(w, "job not found", http.StatusNotFound)
	default:
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeNomad) regions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, f.cfg.regions)
}

func (f *fakeNomad) jobs(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		if f.intercept(opList, w, r) {
			return
		}
		prefix := r.URL.Query().Get("prefix")
		out := []*nomad.JobListStub{}
		for _, s := range f.cfg.listed[r.URL.Query().Get("region")] {
			if strings.HasPrefix(s.ID, prefix) {
				out = append(out, s)
			}
		}
		writeJSON(w, out)
	case http.MethodPut, http.MethodPost:
		if f.intercept(opRegister, w, r) {
			return
		}
		writeJSON(w, nomad.JobRegisterResponse{EvalID: "eval-" + r.URL.Query().Get("region"), JobModifyIndex: 8})
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (f *fakeNomad) plan(w http.ResponseWriter, r *http.Request) {
	if f.intercept(opPlan, w, r) {
		return
	}
	diff := f.cfg.planDiff
	if diff == nil {
		diff = &nomad.JobDiff{Type: "Added", ID: r.PathValue("id")}
	}
	writeJSON(w, nomad.JobPlanResponse{JobModifyIndex: f.cfg.planIndex, Diff: diff})
}

func (f *fakeNomad) job(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodDelete:
		if f.intercept(opDeregister, w, r) {
			return
		}
		writeJSON(w, nomad.JobDeregisterResponse{EvalID: "eval-rm-" + r.URL.Query().Get("region")})
	case http.MethodGet:
		if f.intercept(opStatus, w, r) {
			return
		}
		j, _, _ := f.observe(r)
		if j == nil {
			http.Error(w, "job not found", http.StatusNotFound)
			return
		}
		writeJSON(w, j)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (f *fakeNomad) observe(r *http.Request) (*nomad.Job, *nomad.Deployment, []*nomad.AllocationListStub) {
	if f.cfg.status == nil {
		return nil, nil, nil
	}
	return f.cfg.status(r.URL.Query().Get("region"), r.PathValue("id"))
}

func (f *fakeNomad) deployment(w http.ResponseWriter, r *http.Request) {
	if f.intercept(opStatus, w, r) {
		return
	}
	_, d, _ := f.observe(r)
	writeJSON(w, d) // null when there is none, as Nomad answers
}

func (f *fakeNomad) deployments(w http.ResponseWriter, r *http.Request) {
	if f.intercept(opStatus, w, r) {
		return
	}
	ds := []*nomad.Deployment{}
	if _, d, _ := f.observe(r); d != nil {
		ds = append(ds, d)
	}
	writeJSON(w, ds)
}

func (f *fakeNomad) allocations(w http.ResponseWriter, r *http.Request) {
	if f.intercept(opStatus, w, r) {
		return
	}
	_, _, as := f.observe(r)
	if as == nil {
		as = []*nomad.AllocationListStub{}
	}
	writeJSON(w, as)
}

func (f *fakeNomad) versionsHandler(w http.ResponseWriter, r *http.Request) {
	if f.intercept(opVersions, w, r) {
		return
	}
	var vs []*nomad.Job
	if f.cfg.versions != nil {
		vs = f.cfg.versions(r.URL.Query().Get("region"), r.PathValue("id"))
	}
	writeJSON(w, nomad.JobVersionsResponse{Versions: vs})
}

func (f *fakeNomad) revert(w http.ResponseWriter, r *http.Request) {
	if f.intercept(opRevert, w, r) {
		return
	}
	writeJSON(w, nomad.JobRegisterResponse{EvalID: "eval-revert-" + r.URL.Query().Get("region")})
}

func (f *fakeNomad) stream(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.streams++
	n := f.streams
	f.mu.Unlock()
	if f.cfg.stream == nil {
		http.Error(w, "event stream disabled", http.StatusInternalServerError)
		return
	}
	f.cfg.stream(w, r, n)
}

func (f *fakeNomad) allocList(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.polls++
	n := f.polls
	f.mu.Unlock()
	if f.cfg.onAllocList != nil {
		f.cfg.onAllocList(n)
	}
	// A blocking query at the current index waits, as Nomad's does, until
	// its wait time passes: nothing changes here.
	if idx, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64); idx >= fakeIndex {
		wait, err := time.ParseDuration(r.URL.Query().Get("wait"))
		if err != nil || wait <= 0 {
			wait = 5 * time.Minute
		}
		select {
		case <-time.After(wait):
		case <-r.Context().Done():
			return
		case <-f.done:
			return
		}
	}
	writeJSON(w, []*nomad.AllocationListStub{})
}

// bundle translates a small schema: one app.command element "api" (with
// the given extra YAML lines) placed in the given regions of project shop.
func bundle(t *testing.T, regions []string, extra ...string) *translator.Bundle {
	t.Helper()
	src := fmt.Sprintf(`version: 1
project: shop
regions: {eu: {}, us: {}, ap: {}}
defaults: {region: eu, driver: raw_exec}
elements:
  - id: api
    kind: app.command
    command: sleep 1000
    placement: {regions: [%s]}
`, strings.Join(regions, ", "))
	for _, line := range extra {
		src += "    " + line + "\n"
	}
	s, err := schema.Decode("backplane.yaml", []byte(src))
	if err != nil {
		t.Fatalf("decode schema: %v", err)
	}
	reg, err := templates.NewBuiltinRegistry()
	if err != nil {
		t.Fatalf("registry: %v", err)
	}
	b, err := translator.Translate(s, reg, translator.Options{})
	if err != nil {
		t.Fatalf("translate: %v", err)
	}
	return b
}

// within runs fn and fails the test when it does not return in returnBound.
func within[T any](t *testing.T, what string, fn func() T) T {
	t.Helper()
	ch := make(chan T, 1)
	go func() { ch <- fn() }()
	select {
	case v := <-ch:
		return v
	case <-time.After(returnBound):
		t.Fatalf("%s did not return within %v", what, returnBound)
		panic("unreachable")
	}
}

type planOut struct {
	p   *Plan
	err error
}

type applyOut struct {
	res *Result
	err error
}

func plan(t *testing.T, c *Cluster, b *translator.Bundle, opts PlanOptions) *Plan {
	t.Helper()
	out := within(t, "Plan", func() planOut {
		p, err := c.Plan(context.Background(), b, opts)
		return planOut{p, err}
	})
	if out.err != nil {
		t.Fatalf("Plan: %v", out.err)
	}
	return out.p
}

func apply(t *testing.T, c *Cluster, p *Plan, opts ApplyOptions) (*Result, error) {
	t.Helper()
	out := within(t, "Apply", func() applyOut {
		res, err := c.Apply(context.Background(), p, opts)
		return applyOut{res, err}
	})
	return out.res, out.err
}

func planItem(t *testing.T, p *Plan, element, region string) *PlanItem {
	t.Helper()
	for _, it := range p.Items {
		if it.Element == element && it.Region == region {
			return it
		}
	}
	t.Fatalf("plan has no item for %s in %s; items: %s", element, region, jsonString(p.Items))
	return nil
}

func applyItem(t *testing.T, r *Result, element, region string) *ApplyItem {
	t.Helper()
	for _, it := range r.Items {
		if it.Element == element && it.Region == region {
			return it
		}
	}
	t.Fatalf("result has no item for %s in %s; items: %s", element, region, jsonString(r.Items))
	return nil
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func wantContains(t *testing.T, what, got string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(got, s) {
			t.Errorf("%s = %q, want it to contain %q", what, got, s)
		}
	}
}

func regionsOf(rs []seen) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Region)
	}
	slices.Sort(out)
	return out
}

func TestPlanApplyRegionFaults(t *testing.T) {
	f := newFakeNomad(t, fakeConfig{
		modes: map[string]map[string]mode{
			opPlan:     {"us": fail500, "ap": hang},
			opRegister: {"us": fail500, "ap": hang},
			opList:     {"ap": hang},
		},
		regions: []string{"ap", "eu", "us"},
	})
	c := f.cluster(t)
	b := bundle(t, []string{"eu", "us", "ap"})

	p := plan(t, c, b, PlanOptions{})
	if len(p.Problems) > 0 {
		t.Errorf("Problems = %q, want none", p.Problems)
	}
	if len(p.Items) != 3 {
		t.Fatalf("plan has %d items, want 3: %s", len(p.Items), jsonString(p.Items))
	}
	if eu := planItem(t, p, "api", "eu"); eu.Action != ActionCreate || eu.Err != "" || eu.JobID != "shop-api" {
		t.Errorf("eu: %s, want a create without error", jsonString(eu))
	}
	us := planItem(t, p, "api", "us")
	if us.Action != ActionError {
		t.Errorf("us: action %s, want %s", us.Action, ActionError)
	}
	wantContains(t, "us error", us.Err, "shop-api", "region us", "500")
	ap := planItem(t, p, "api", "ap")
	if ap.Action != ActionError {
		t.Errorf("ap: action %s, want %s", ap.Action, ActionError)
	}
	wantContains(t, "ap error", ap.Err, "shop-api", "region ap")

	var mu sync.Mutex
	var progressed []string
	res, err := apply(t, c, p, ApplyOptions{Progress: func(it *ApplyItem) {
		mu.Lock()
		defer mu.Unlock()
		progressed = append(progressed, it.Region)
	}})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := applyItem(t, res, "api", "eu"); got.Outcome != OutcomeRegistered || got.EvalID != "eval-eu" || got.Err != "" {
		t.Errorf("eu: %s, want registered with eval-eu", jsonString(got))
	}
	for _, region := range []string{"us", "ap"} {
		got := applyItem(t, res, "api", region)
		if got.Outcome != OutcomeFailed {
			t.Errorf("%s: outcome %s, want %s", region, got.Outcome, OutcomeFailed)
		}
		wantContains(t, region+" error", got.Err, "shop-api", "region "+region)
	}
	if res.OK() {
		t.Error("Result.OK() = true, want false")
	}
	// Only eu planned, so only eu is registered: a failed plan is never
	// applied blind.
	if got := regionsOf(f.registers()); !slices.Equal(got, []string{"eu"}) {
		t.Errorf("register requests for regions %q, want [eu]", got)
	}
	var req nomad.JobRegisterRequest
	if err := json.Unmarshal(f.registers()[0].Body, &req); err != nil {
		t.Fatalf("register body: %v", err)
	}
	if req.Job == nil || req.Job.ID == nil || *req.Job.ID != "shop-api" || !req.EnforceIndex {
		t.Errorf("register request %s, want job shop-api with the index enforced", f.registers()[0].Body)
	}
	mu.Lock()
	slices.Sort(progressed)
	if !slices.Equal(progressed, []string{"ap", "eu", "us"}) {
		t.Errorf("Progress saw %q, want one call per region", progressed)
	}
	mu.Unlock()
}

func TestApplyRegisterFaults(t *testing.T) {
	f := newFakeNomad(t, fakeConfig{
		modes: map[string]map[string]mode{
			opRegister: {"us": fail500, "ap": hang},
		},
		regions: []string{"ap", "eu", "us"},
	})
	c := f.cluster(t)
	p := plan(t, c, bundle(t, []string{"eu", "us", "ap"}), PlanOptions{})
	for _, it := range p.Items {
		if it.Action != ActionCreate {
			t.Fatalf("%s: action %s (%s), want create", it.Region, it.Action, it.Err)
		}
	}

	// Apply on a context without deadline: only the per-request timeout
	// can end the hung region's request.
	res, err := apply(t, c, p, ApplyOptions{})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := applyItem(t, res, "api", "eu"); got.Outcome != OutcomeRegistered || got.EvalID != "eval-eu" {
		t.Errorf("eu: %s, want registered", jsonString(got))
	}
	us := applyItem(t, res, "api", "us")
	if us.Outcome != OutcomeFailed {
		t.Errorf("us: outcome %s, want %s", us.Outcome, OutcomeFailed)
	}
	wantContains(t, "us error", us.Err, "deploy shop-api in region us", "500", "internal error")
	ap := applyItem(t, res, "api", "ap")
	if ap.Outcome != OutcomeFailed {
		t.Errorf("ap: outcome %s, want %s", ap.Outcome, OutcomeFailed)
	}
	wantContains(t, "ap error", ap.Err, "deploy shop-api in region ap", "deadline exceeded")
	if res.OK() {
		t.Error("Result.OK() = true, want false")
	}
	if got := regionsOf(f.registers()); !slices.Equal(got, []string{"ap", "eu", "us"}) {
		t.Errorf("register requests for regions %q, want one per region", got)
	}
}

func TestApplyConflict(t *testing.T) {
	f := newFakeNomad(t, fakeConfig{
		modes:     map[string]map[string]mode{opRegister: {"eu": fail500}},
		failBody:  "Enforcing job modify index 5: job exists with conflicting job modify index: 6",
		planIndex: 5,
		planDiff: &nomad.JobDiff{Type: "Edited", ID: "shop-api", TaskGroups: []*nomad.TaskGroupDiff{{
			Type: "Edited", Name: "api",
			Fields: []*nomad.FieldDiff{{Type: "Edited", Name: "Count", Old: "1", New: "2"}, {Type: "None", Name: "Name", Old: "api", New: "api"}},
		}}},
	})
	c := f.cluster(t)
	p := plan(t, c, bundle(t, []string{"eu"}), PlanOptions{})
	it := planItem(t, p, "api", "eu")
	if it.Action != ActionUpdate || it.ModifyIndex != 5 {
		t.Fatalf("plan item %s, want an update at modify index 5", jsonString(it))
	}
	if want := []string{`~ group api: Count: "1" => "2"`}; !slices.Equal(it.Changes, want) {
		t.Errorf("Changes = %q, want %q", it.Changes, want)
	}

	res, err := apply(t, c, p, ApplyOptions{})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	got := applyItem(t, res, "api", "eu")
	if got.Outcome != OutcomeConflict {
		t.Errorf("outcome %s (%s), want %s", got.Outcome, got.Err, OutcomeConflict)
	}
	// ApplyItem.Err is a string (it goes to JSON), so the sentinel shows
	// as its text.
	wantContains(t, "conflict error", got.Err, ErrConflict.Error(), "shop-api", "region eu", "nothing was overwritten")
	if res.OK() {
		t.Error("Result.OK() = true with a conflict, want false")
	}
	regs := f.registers()
	if len(regs) != 1 {
		t.Fatalf("%d register requests, want 1", len(regs))
	}
	var req nomad.JobRegisterRequest
	if err := json.Unmarshal(regs[0].Body, &req); err != nil {
		t.Fatalf("register body: %v", err)
	}
	if !req.EnforceIndex || req.JobModifyIndex != 5 {
		t.Errorf("register enforce=%v index=%d, want the plan's index 5 enforced", req.EnforceIndex, req.JobModifyIndex)
	}
}

func TestApplyBlockedBySecretsWithoutVault(t *testing.T) {
	f := newFakeNomad(t, fakeConfig{regions: []string{"eu"}})
	c := f.cluster(t)
	if c.HasVault() {
		t.Fatal("cluster has Vault, want none")
	}
	p := plan(t, c, bundle(t, []string{"eu"}, "secrets: [STRIPE_KEY]"), PlanOptions{})
	if len(p.Problems) == 0 {
		t.Fatal("Problems is empty, want the missing Vault named")
	}
	wantContains(t, "problem", strings.Join(p.Problems, "\n"), "vault: api ", "VAULT_ADDR")

	res, err := apply(t, c, p, ApplyOptions{})
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("Apply error = %v, want it to wrap ErrBlocked", err)
	}
	if res != nil {
		t.Errorf("Apply result = %s, want nil", jsonString(res))
	}
	wantContains(t, "Apply error", err.Error(), "vault: api ")
	if regs := f.registers(); len(regs) != 0 {
		t.Errorf("%d register requests reached Nomad, want none", len(regs))
	}
}

func TestApplyUnchangedDoesNotRegister(t *testing.T) {
	f := newFakeNomad(t, fakeConfig{
		planDiff:  &nomad.JobDiff{Type: "None", ID: "shop-api"},
		planIndex: 12,
		regions:   []string{"eu"},
	})
	c := f.cluster(t)
	p := plan(t, c, bundle(t, []string{"eu"}), PlanOptions{})
	if it := planItem(t, p, "api", "eu"); it.Action != ActionUnchanged || len(it.Changes) != 0 {
		t.Fatalf("plan item %s, want unchanged", jsonString(it))
	}
	res, err := apply(t, c, p, ApplyOptions{})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := applyItem(t, res, "api", "eu"); got.Outcome != OutcomeUnchanged {
		t.Errorf("outcome %s, want %s", got.Outcome, OutcomeUnchanged)
	}
	if !res.OK() {
		t.Error("Result.OK() = false, want true")
	}
	if regs := f.registers(); len(regs) != 0 {
		t.Errorf("%d register requests for an unchanged job, want none", len(regs))
	}
}

func TestPlanApplyPrune(t *testing.T) {
	meta := func(project, element string) map[string]string {
		return map[string]string{translator.MetaProject: project, translator.MetaElement: element}
	}
	f := newFakeNomad(t, fakeConfig{
		regions: []string{"eu", "us"},
		listed: map[string][]*nomad.JobListStub{
			"eu": {
				{ID: "shop-api", Meta: meta("shop", "api"), JobModifyIndex: 3},                  // still in the bundle
				{ID: "shop-old", Meta: meta("shop", "old"), JobModifyIndex: 9},                  // removed from the schema
				{ID: "shop-gone", Meta: meta("shop", "gone"), Stop: true},                       // already stopped
				{ID: "shop-cron/periodic-1", ParentID: "shop-cron", Meta: meta("shop", "cron")}, // a child run
				{ID: "shop-theirs", Meta: meta("shopping", "theirs")},                           // another project
				{ID: "other-old", Meta: meta("shop", "old")},                                    // outside the prefix
			},
			// A region the bundle no longer uses, known from /v1/regions.
			"us": {{ID: "shop-legacy", Meta: meta("shop", "legacy"), JobModifyIndex: 4}},
		},
	})
	c := f.cluster(t)
	b := bundle(t, []string{"eu"})
	p := plan(t, c, b, PlanOptions{})
	var got []string
	for _, it := range p.Items {
		got = append(got, fmt.Sprintf("%s/%s/%s/%s", it.Element, it.Region, it.JobID, it.Action))
	}
	want := []string{"api/eu/shop-api/create", "legacy/us/shop-legacy/remove", "old/eu/shop-old/remove"}
	if !slices.Equal(got, want) {
		t.Fatalf("plan items %q, want %q", got, want)
	}
	if it := planItem(t, p, "old", "eu"); it.ModifyIndex != 9 {
		t.Errorf("removal modify index %d, want 9", it.ModifyIndex)
	}
	for _, l := range f.requests(http.MethodGet, "/v1/jobs") {
		wantContains(t, "list query", l.Query, "prefix=shop-")
	}

	t.Run("without prune", func(t *testing.T) {
		res, err := apply(t, c, p, ApplyOptions{})
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		for _, r := range []string{"eu", "us"} {
			el := map[string]string{"eu": "old", "us": "legacy"}[r]
			if it := applyItem(t, res, el, r); it.Outcome != OutcomeSkipped {
				t.Errorf("%s in %s: outcome %s, want %s", el, r, it.Outcome, OutcomeSkipped)
			}
		}
		if !res.OK() {
			t.Error("Result.OK() = false, want true")
		}
		if n := len(f.requests(http.MethodDelete, "/v1/job/shop-old")) + len(f.requests(http.MethodDelete, "/v1/job/shop-legacy")); n != 0 {
			t.Errorf("%d deregister requests without prune, want none", n)
		}
	})

	t.Run("with prune", func(t *testing.T) {
		res, err := apply(t, c, p, ApplyOptions{Prune: true})
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if it := applyItem(t, res, "old", "eu"); it.Outcome != OutcomeRemoved || it.EvalID != "eval-rm-eu" {
			t.Errorf("old in eu: %s, want removed", jsonString(it))
		}
		if it := applyItem(t, res, "legacy", "us"); it.Outcome != OutcomeRemoved || it.EvalID != "eval-rm-us" {
			t.Errorf("legacy in us: %s, want removed", jsonString(it))
		}
		if got := regionsOf(f.requests(http.MethodDelete, "/v1/job/shop-old")); !slices.Equal(got, []string{"eu"}) {
			t.Errorf("deregister shop-old in regions %q, want [eu]", got)
		}
		if got := regionsOf(f.requests(http.MethodDelete, "/v1/job/shop-legacy")); !slices.Equal(got, []string{"us"}) {
			t.Errorf("deregister shop-legacy in regions %q, want [us]", got)
		}
		for _, d := range f.requests(http.MethodDelete, "/v1/job/shop-old") {
			wantContains(t, "deregister query", d.Query, "purge=false")
		}
		if n := len(f.requests(http.MethodDelete, "/v1/job/shop-api")); n != 0 {
			t.Errorf("deregistered shop-api %d times, want never", n)
		}
	})

	t.Run("narrowed to one element", func(t *testing.T) {
		p := plan(t, c, b, PlanOptions{Elements: []string{"api"}})
		if len(p.Items) != 1 || p.Items[0].Element != "api" {
			t.Errorf("plan items %s, want only api", jsonString(p.Items))
		}
		if _, err := c.Plan(context.Background(), b, PlanOptions{Elements: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("Plan for an unknown element: error %v, want one naming it", err)
		}
	})
}

func TestStatusAndOpsAcrossRegions(t *testing.T) {
	f := newFakeNomad(t, fakeConfig{
		modes: map[string]map[string]mode{
			opStatus:     {"ap": hang},
			opVersions:   {"ap": hang},
			opDeregister: {"us": missing, "ap": hang},
		},
		status: func(region, id string) (*nomad.Job, *nomad.Deployment, []*nomad.AllocationListStub) {
			if region != "eu" || id != "shop-api" {
				return nil, nil, nil
			}
			j := job("service", 2, 1)
			j.SubmitTime = new(time.Unix(1_700_000_000, 0).UnixNano())
			return j, &nomad.Deployment{JobID: id, JobVersion: 2, Status: "successful", StatusDescription: "Deployment completed successfully"},
				[]*nomad.AllocationListStub{healthyAlloc(2)}
		},
		versions: func(region, id string) []*nomad.Job {
			v := func(n uint64, stable bool) *nomad.Job {
				return &nomad.Job{ID: new(id), Version: new(n), Stable: new(stable)}
			}
			if region == "eu" {
				return []*nomad.Job{v(2, true), v(1, false), v(0, true)}
			}
			return []*nomad.Job{v(1, true), v(0, false)}
		},
	})
	c := f.cluster(t)
	targets := Targets(bundle(t, []string{"eu", "us", "ap"}))
	if got := jsonString(targets); got != `[{"element":"api","region":"ap","job_id":"shop-api","namespace":"default"},{"element":"api","region":"eu","job_id":"shop-api","namespace":"default"},{"element":"api","region":"us","job_id":"shop-api","namespace":"default"}]` {
		t.Fatalf("Targets = %s", got)
	}

	t.Run("status", func(t *testing.T) {
		sts := within(t, "StatusAll", func() []Status { return c.StatusAll(context.Background(), targets) })
		byRegion := map[string]Status{}
		for _, s := range sts {
			byRegion[s.Region] = s
		}
		eu := byRegion["eu"]
		if eu.State != StateHealthy || eu.Desired != 1 || eu.Running != 1 || eu.Healthy != 1 || eu.Version != 2 {
			t.Errorf("eu: %s, want healthy 1/1 at version 2", jsonString(eu))
		}
		if eu.LastEvent != "deployment: Deployment completed successfully" || !eu.UpdatedAt.Equal(time.Unix(1_700_000_000, 0)) {
			t.Errorf("eu: last event %q at %v", eu.LastEvent, eu.UpdatedAt)
		}
		if us := byRegion["us"]; us.State != StateStopped || us.LastEvent != "not registered" {
			t.Errorf("us: %s, want stopped, not registered", jsonString(us))
		}
		ap := byRegion["ap"]
		if ap.State != StateUnknown {
			t.Errorf("ap: state %s, want %s", ap.State, StateUnknown)
		}
		wantContains(t, "ap last event", ap.LastEvent, "region ap")
	})

	t.Run("rollback", func(t *testing.T) {
		rs := within(t, "Rollback", func() []OpResult { return c.Rollback(context.Background(), targets, nil) })
		byRegion := map[string]OpResult{}
		for _, r := range rs {
			byRegion[r.Region] = r
		}
		if eu := byRegion["eu"]; eu.Err != "" || eu.Version != 0 || eu.EvalID != "eval-revert-eu" {
			t.Errorf("eu: %s, want reverted to version 0", jsonString(eu))
		}
		wantContains(t, "us error", byRegion["us"].Err, "rollback shop-api in region us", ErrNoStableVersion.Error())
		wantContains(t, "ap error", byRegion["ap"].Err, "rollback shop-api in region ap")
		reverts := f.requests(http.MethodPut, "/v1/job/shop-api/revert")
		if got := regionsOf(reverts); !slices.Equal(got, []string{"eu"}) {
			t.Fatalf("revert requests in %q, want [eu]", got)
		}
		var req nomad.JobRevertRequest
		if err := json.Unmarshal(reverts[0].Body, &req); err != nil {
			t.Fatalf("revert body: %v", err)
		}
		if req.JobVersion != 0 || req.EnforcePriorVersion == nil || *req.EnforcePriorVersion != 2 {
			t.Errorf("revert request %s, want version 0 with prior version 2 enforced", reverts[0].Body)
		}
	})

	t.Run("destroy", func(t *testing.T) {
		rs := within(t, "Destroy", func() []OpResult { return c.Destroy(context.Background(), targets, true) })
		byRegion := map[string]OpResult{}
		for _, r := range rs {
			byRegion[r.Region] = r
		}
		if eu := byRegion["eu"]; eu.Err != "" || eu.EvalID != "eval-rm-eu" {
			t.Errorf("eu: %s, want destroyed", jsonString(eu))
		}
		if us := byRegion["us"]; us.Err != "" {
			t.Errorf("us: %s, want a job that is not there to count as destroyed", jsonString(us))
		}
		wantContains(t, "ap error", byRegion["ap"].Err, "destroy shop-api in region ap")
		for _, d := range f.requests(http.MethodDelete, "/v1/job/shop-api") {
			wantContains(t, "deregister query", d.Query, "purge=true")
		}
	})
}

func TestWatchSurvivesStreamDrop(t *testing.T) {
	// The job is registered with nothing placed until the first poll that
	// follows the stream's drop; from then on it is deployed and healthy.
	var mu sync.Mutex
	placed := false
	f := newFakeNomad(t, fakeConfig{
		status: func(region, id string) (*nomad.Job, *nomad.Deployment, []*nomad.AllocationListStub) {
			if region != "eu" || id != "shop-api" {
				return nil, nil, nil
			}
			mu.Lock()
			defer mu.Unlock()
			if !placed {
				return job("service", 1, 1), nil, nil
			}
			return job("service", 1, 1),
				&nomad.Deployment{JobID: id, JobVersion: 1, Status: "successful", StatusDescription: "Deployment completed successfully"},
				[]*nomad.AllocationListStub{healthyAlloc(1)}
		},
		stream: func(w http.ResponseWriter, r *http.Request, n int) {
			if n > 1 {
				// The stream stays unavailable: only polling can see
				// the change.
				http.Error(w, "event stream unavailable", http.StatusInternalServerError)
				return
			}
			// A heartbeat, one event, then the connection drops.
			fmt.Fprint(w, "{}\n")
			fmt.Fprint(w, `{"Index":5,"Events":[{"Topic":"Job","Type":"JobRegistered","Key":"shop-api","Index":5,"Payload":{"Job":{"ID":"shop-api"}}}]}`+"\n")
			w.(http.Flusher).Flush()
		},
		onAllocList: func(n int) {
			mu.Lock()
			defer mu.Unlock()
			placed = true
		},
	})
	c := f.cluster(t)

	var smu sync.Mutex
	var got []Status
	changed := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- c.Watch(ctx, []Target{{Element: "api", Region: "eu", JobID: "shop-api"}}, func(s Status) {
			smu.Lock()
			got = append(got, s)
			smu.Unlock()
			select {
			case changed <- struct{}{}:
			default:
			}
		})
	}()

	deadline := time.After(returnBound)
	for healthy := false; !healthy; {
		select {
		case <-changed:
		case <-deadline:
			smu.Lock()
			defer smu.Unlock()
			t.Fatalf("no healthy status after the stream dropped; got %s", jsonString(got))
		case err := <-done:
			t.Fatalf("Watch returned early: %v", err)
		}
		smu.Lock()
		healthy = len(got) > 0 && got[len(got)-1].State == StateHealthy
		smu.Unlock()
	}
	smu.Lock()
	first, last := got[0], got[len(got)-1]
	n := len(got)
	smu.Unlock()
	if first.State != StatePending || first.Element != "api" || first.Region != "eu" {
		t.Errorf("first status %s, want api pending in eu", jsonString(first))
	}
	if last.Running != 1 || last.Healthy != 1 || last.LastEvent != "deployment: Deployment completed successfully" {
		t.Errorf("last status %s, want 1 running and healthy", jsonString(last))
	}
	if n != 2 {
		t.Errorf("fn called %d times, want 2 (once at start, once on the change)", n)
	}

	streams := f.requests(http.MethodGet, "/v1/event/stream")
	if len(streams) == 0 {
		t.Fatal("Watch never opened the event stream")
	}
	wantContains(t, "stream query", streams[0].Query, "region=eu", "topic=Job%3Ashop-api", "topic=Allocation%3Ashop-api", "topic=Deployment%3Ashop-api")
	if _, polls := f.counts(); polls == 0 {
		t.Error("Watch never polled /v1/allocations after the stream dropped")
	}
	// It keeps trying the stream again after polling.
	for again := time.After(returnBound); ; {
		if s, _ := f.counts(); s >= 2 {
			break
		}
		select {
		case <-again:
			t.Fatal("Watch did not try the event stream again")
		case <-time.After(20 * time.Millisecond):
		}
	}

	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Watch returned %v, want context.Canceled", err)
		}
	case <-time.After(returnBound):
		t.Fatal("Watch did not return after its context was cancelled")
	}
}

func TestPlanProblemsMissingSecrets(t *testing.T) {
	// A fake Vault where the element's KV v2 secret holds STRIPE_KEY only.
	var vmu sync.Mutex
	var vaultReqs []string
	vsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vmu.Lock()
		vaultReqs = append(vaultReqs, r.Method+" "+r.URL.Path)
		vmu.Unlock()
		if r.Method == http.MethodGet && r.URL.Path == "/v1/secret/data/backplane/shop/api" {
			writeJSON(w, map[string]any{"data": map[string]any{
				"data":     map[string]any{"STRIPE_KEY": "sk_test_value"},
				"metadata": map[string]any{"version": 3},
			}})
			return
		}
		http.Error(w, `{"errors":[]}`, http.StatusNotFound)
	}))
	t.Cleanup(vsrv.Close)
	f := newFakeNomad(t, fakeConfig{regions: []string{"eu"}})
	c, err := Connect(Config{NomadAddr: f.srv.URL, VaultAddr: vsrv.URL, VaultToken: "test", RequestTimeout: requestTimeout}, nil)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	p := plan(t, c, bundle(t, []string{"eu"}, "secrets: [STRIPE_KEY, MAIL_KEY]"), PlanOptions{})
	if len(p.Problems) != 1 {
		t.Fatalf("Problems = %q, want one, for MAIL_KEY", p.Problems)
	}
	// The index in the path is not checked: it counts in the bundle's
	// (sorted) secret list, not in the file's order.
	wantContains(t, "problem", p.Problems[0], "elements[api].secrets[", "MAIL_KEY is not set in Vault", "backplane secrets set api MAIL_KEY")
	if _, err := apply(t, c, p, ApplyOptions{}); !errors.Is(err, ErrBlocked) {
		t.Errorf("Apply error = %v, want it to wrap ErrBlocked", err)
	}
	if regs := f.registers(); len(regs) != 0 {
		t.Errorf("%d register requests reached Nomad, want none", len(regs))
	}
	vmu.Lock()
	defer vmu.Unlock()
	for _, r := range vaultReqs {
		if !strings.HasPrefix(r, "GET ") {
			t.Errorf("Vault got %s during a blocked apply, want reads only", r)
		}
	}
}

// A narrowed plan is only blocked by what its own elements need.
func TestNarrowedPlanNotBlockedByOthersVault(t *testing.T) {
	src := `version: 1
project: shop
defaults: { driver: raw_exec }
elements:
  - { id: api, kind: app.command, command: run, port: 8080, secrets: [KEY] }
  - { id: web, kind: app.command, command: run, port: 8081 }
`
	s, err := schema.Decode("b.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := templates.NewBuiltinRegistry()
	b, err := translator.Translate(s, reg, translator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := newFakeNomad(t, fakeConfig{regions: []string{"global"}}).cluster(t)
	p, err := c.Plan(context.Background(), b, PlanOptions{Elements: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Problems) != 0 {
		t.Fatalf("deploying web alone is blocked by api's secrets: %v", p.Problems)
	}
	p, err = c.Plan(context.Background(), b, PlanOptions{Elements: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Problems) != 1 || !strings.Contains(p.Problems[0], "api") {
		t.Fatalf("problems for api: %v", p.Problems)
	}
}
