package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/store"
	"github.com/backplane-dev/backplane/translator"
)

// revisionBundle loads a revision (0: the head) and translates it.
func (s *Server) revisionBundle(ctx context.Context, slug string, n int64) (*store.Revision, *translator.Bundle, error) {
	r, err := s.store.GetRevision(ctx, slug, n)
	if err != nil {
		return nil, nil, err
	}
	sc, err := schema.Decode("", []byte(r.YAML))
	if err == nil {
		// Elements built from source stay on the commit they run.
		var b *translator.Bundle
		if b, err = s.translateWith(sc, s.pins(ctx, slug)); err == nil {
			return r, b, nil
		}
	}
	return nil, nil, &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_schema",
		Message: fmt.Sprintf("revision %d has problems; fix them before deploying", r.Number),
		Extra:   map[string]any{"problems": problems(schema.AsErrors(err))}}
}

type clusterRequest struct {
	Revision int64    `json:"revision"`
	Elements []string `json:"elements"`
	Element  string   `json:"element"`
	Version  *uint64  `json:"version"`
	Prune    bool     `json:"prune"`
	Purge    bool     `json:"purge"`
	// SHA with Element redeploys that element at that commit, through
	// the same queue as webhook deploys.
	SHA string `json:"sha"`
	// YAML is a schema to plan (without saving it) or to deploy (saved as
	// a new revision first unless it equals the head): the CLI working
	// through the server sends its file this way.
	YAML string `json:"yaml"`
}

// readClusterRequest reads an optional JSON body.
func readClusterRequest(c *gin.Context) (clusterRequest, error) {
	var req clusterRequest
	if c.Request.ContentLength == 0 {
		return req, nil
	}
	if err := decodeJSON(c, &req); err != nil {
		if errors.Is(err, errEmptyBody) {
			return req, nil
		}
		return req, err
	}
	return req, nil
}

func (s *Server) plan(c *gin.Context) error {
	if s.cluster == nil {
		return errNoCluster
	}
	req, err := readClusterRequest(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	var rev int64
	var b *translator.Bundle
	var sc *schema.Schema
	if req.YAML != "" {
		if sc, b, err = s.bodyBundle(c.Param("p"), req.YAML); err != nil {
			return err
		}
	} else {
		var r *store.Revision
		if r, b, err = s.revisionBundle(ctx, c.Param("p"), req.Revision); err != nil {
			return err
		}
		rev = r.Number
		if sc, err = schema.Decode("", []byte(r.YAML)); err == nil {
			if b, err = s.withArtifacts(ctx, c.Param("p"), sc, b); err != nil {
				return err
			}
		}
	}
	p, err := s.cluster.Plan(ctx, b, jobs.PlanOptions{Elements: req.Elements})
	if err != nil {
		return errBadRequest(err.Error())
	}
	builds := []buildNeed{}
	if sc != nil {
		builds = s.builds.planned(ctx, c.Param("p"), sc, commits(sc, s.pins(ctx, c.Param("p"))), req.Elements)
	}
	c.JSON(http.StatusOK, gin.H{"revision": rev, "items": p.Items, "problems": nonNil(p.Problems), "warnings": nonNil(p.Warnings),
		"bundle_warnings": b.Warnings, "builds": builds})
	return nil
}

// bodyBundle decodes and translates a schema sent in a request body.
func (s *Server) bodyBundle(slug, y string) (*schema.Schema, *translator.Bundle, error) {
	sc, err := schema.Decode("backplane.yaml", []byte(y))
	if err == nil {
		if sc.Project != slug {
			return nil, nil, &apiError{Status: http.StatusBadRequest, Code: "invalid_schema", Path: "project",
				Message: fmt.Sprintf("project %q does not match this project (%s)", sc.Project, slug)}
		}
		var b *translator.Bundle
		if b, err = s.translate(sc); err == nil {
			return sc, b, nil
		}
	}
	return nil, nil, &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_schema", Message: "the schema has problems",
		Extra: map[string]any{"problems": problems(schema.AsErrors(err))}}
}

// saveBody saves a schema sent with a deploy as a new revision, unless it
// is the head already, and returns the revision to deploy. Saving needs
// editor, which the deploy route's deployer role includes.
func (s *Server) saveBody(c *gin.Context, slug, y string) (int64, error) {
	sc, _, err := s.bodyBundle(slug, y)
	if err != nil {
		return 0, err
	}
	ctx := c.Request.Context()
	canon, err := sc.Canonical().EncodeYAML()
	if err != nil {
		return 0, err
	}
	head, err := s.store.GetRevision(ctx, slug, 0)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}
	if head != nil && head.YAML == string(canon) {
		return head.Number, nil
	}
	var base int64
	if head != nil {
		base = head.Number
	}
	r, err := s.store.SaveRevision(ctx, slug, store.NewRevision{YAML: string(canon), Author: author(c), Message: "deployed from a file", Base: base})
	if errors.Is(err, store.ErrConflict) {
		return 0, &apiError{Status: http.StatusConflict, Code: "conflict", Message: "someone saved the schema at the same moment; deploy again"}
	}
	if err != nil {
		return 0, err
	}
	s.audit(c, slug, "schema.save", fmt.Sprintf("revision %d (deployed from a file)", r.Number))
	s.hub.revisionSaved(slug, r)
	return r.Number, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Server) deploy(c *gin.Context) error {
	if s.cluster == nil {
		return errNoCluster
	}
	req, err := readClusterRequest(c)
	if err != nil {
		return err
	}
	// A deploy runs to its end even if the client leaves (its outcome is
	// recorded either way), within the time a build and an apply take.
	limit := ClusterTimeout
	if s.builds != nil {
		limit += s.builds.timeout
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), limit)
	defer cancel()
	slug := c.Param("p")
	if req.SHA != "" {
		return s.redeployCommit(c, slug, req)
	}
	if req.YAML != "" {
		if req.Revision, err = s.saveBody(c, slug, req.YAML); err != nil {
			return err
		}
	}
	r, b, err := s.revisionBundle(ctx, slug, req.Revision)
	if err != nil {
		return err
	}
	// Elements built from source that run no known commit yet are pinned
	// to their branch's head now, so what runs is always a known commit.
	newPins, b, err := s.pinHeads(ctx, slug, r, b, req.Elements)
	if err != nil {
		return err
	}
	p, err := s.cluster.Plan(ctx, b, jobs.PlanOptions{Elements: req.Elements})
	if err != nil {
		return errBadRequest(err.Error())
	}
	if len(p.Problems) > 0 {
		return &apiError{Status: http.StatusConflict, Code: "blocked", Message: "the plan has problems; nothing was applied",
			Extra: map[string]any{"problems": p.Problems}}
	}
	d, err := s.store.CreateDeployment(ctx, store.Deployment{Project: slug, Revision: r.Number, Action: "deploy", Author: author(c), Status: "running"})
	if err != nil {
		return err
	}
	s.hub.publishDeployment(slug, d)
	// Elements built from source with a build step are built first, once
	// per commit; a failed build applies nothing.
	var bs builds
	if s.builds != nil {
		b, bs, err = s.buildsFor(ctx, slug, r, newPins, req.Elements, author(c))
		if err == nil && len(bs.failed) == 0 {
			p, err = s.cluster.Plan(ctx, b, jobs.PlanOptions{Elements: req.Elements})
		}
	}
	failed := bs.failed
	res := &jobs.Result{}
	if err == nil && len(failed) == 0 {
		res, err = s.cluster.Apply(ctx, p, jobs.ApplyOptions{Prune: req.Prune})
	}
	status, summary := "succeeded", ""
	switch {
	case err != nil:
		status, summary = "failed", err.Error()
	case len(failed) > 0:
		status, summary = "failed", buildFailure(failed)
	case !res.OK():
		status, summary = "failed", applySummary(res)
	default:
		summary = buildSummary(bs.built) + applySummary(res)
	}
	// The outcome is recorded even if the client has gone.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var warnings []string
	if err == nil && len(failed) == 0 && res.OK() {
		for _, c := range newPins {
			if perr := s.store.SetElementCommit(fctx, slug, c); perr != nil {
				s.log.Warn("record an element's commit", "project", slug, "element", c.Element, "error", perr)
			}
		}
	}
	if err == nil && len(failed) == 0 {
		// The project's alert routes follow its jobs. A failure to load
		// them does not undo the deploy, which has happened: it is
		// reported with it, in the answer and the deployment's summary.
		if aerr := s.applyAlerts(fctx, slug, b); aerr != nil {
			warnings = append(warnings, "alert routes not loaded: "+aerr.Error())
			summary += "; alert routes not loaded: " + aerr.Error()
			s.log.Warn("deploy: alert routes not loaded", "project", slug, "error", aerr)
		}
		if s.rules != nil {
			if rerr := s.rules.Apply(fctx, slug, []byte(b.PrometheusRules)); rerr != nil {
				warnings = append(warnings, "metric rules not loaded: "+rerr.Error())
				summary += "; metric rules not loaded: " + rerr.Error()
				s.log.Warn("deploy: metric rules not loaded", "project", slug, "error", rerr)
			}
		}
	}
	if ferr := s.store.FinishDeployment(fctx, d.ID, status, summary); ferr != nil {
		s.log.Error("record deployment result", "project", slug, "deployment", d.ID, "error", ferr)
	}
	d.Status, d.Summary = status, summary
	s.metrics.deploys.WithLabelValues("deploy", status).Inc()
	s.audit(c, slug, "deploy", fmt.Sprintf("revision %d: %s", r.Number, summary))
	if err == nil && len(failed) == 0 {
		if sc, derr := schema.Decode("", []byte(r.YAML)); derr == nil {
			s.follow(slug, sc, b)
		}
	}
	s.hub.publishDeployment(slug, d)
	if len(failed) > 0 {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "build_failed", Message: summary,
			Extra: map[string]any{"builds": failed, "deployment": d}}
	}
	if b != nil {
		s.hub.watch(slug, b) // follow the new jobs' status
	}
	if err != nil {
		return err
	}
	c.JSON(http.StatusAccepted, gin.H{"deployment": d, "items": res.Items, "warnings": nonNil(warnings)})
	return nil
}

// buildsFor builds what a user's deploy of revision r needs, with the
// elements built from source at the commits they run (newPins for those
// pinned by this deploy), and returns the bundle with every artifact.
func (s *Server) buildsFor(ctx context.Context, slug string, r *store.Revision, newPins []store.ElementCommit, scope []string, actor string) (*translator.Bundle, builds, error) {
	sc, err := schema.Decode("", []byte(r.YAML))
	if err != nil {
		return nil, builds{}, err
	}
	shas := s.pins(ctx, slug)
	if shas == nil {
		shas = map[string]string{}
	}
	for _, c := range newPins {
		shas[c.Element] = c.SHA
	}
	return s.withBuilds(ctx, slug, sc, shas, scope, store.TriggerUser, actor)
}

func applySummary(res *jobs.Result) string {
	counts := map[jobs.Outcome]int{}
	var failed []string
	for _, it := range res.Items {
		counts[it.Outcome]++
		if it.Err != "" {
			failed = append(failed, it.Err)
		}
	}
	s := fmt.Sprintf("%d registered, %d unchanged, %d removed, %d failed, %d conflicts",
		counts[jobs.OutcomeRegistered], counts[jobs.OutcomeUnchanged], counts[jobs.OutcomeRemoved], counts[jobs.OutcomeFailed], counts[jobs.OutcomeConflict])
	if len(failed) > 0 {
		s += ": " + strings.Join(failed, "; ")
	}
	return s
}

func (s *Server) rollback(c *gin.Context) error {
	if s.cluster == nil {
		return errNoCluster
	}
	req, err := readClusterRequest(c)
	if err != nil {
		return err
	}
	if req.Element == "" {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "element", Message: "element is required"}
	}
	ctx := c.Request.Context()
	slug := c.Param("p")
	r, b, err := s.revisionBundle(ctx, slug, 0)
	if err != nil {
		return err
	}
	targets := jobs.Targets(b, req.Element)
	if len(targets) == 0 {
		return errNotFound("no element " + req.Element + " in the schema")
	}
	results := s.cluster.Rollback(ctx, targets, req.Version)
	s.recordOp(c, slug, r.Number, "rollback", results)
	c.JSON(http.StatusOK, gin.H{"results": results})
	return nil
}

func (s *Server) destroy(c *gin.Context) error {
	if s.cluster == nil {
		return errNoCluster
	}
	req, err := readClusterRequest(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	slug := c.Param("p")
	r, b, err := s.revisionBundle(ctx, slug, 0)
	if err != nil {
		return err
	}
	targets := jobs.Targets(b, req.Elements...)
	results := s.cluster.Destroy(ctx, targets, req.Purge)
	s.recordOp(c, slug, r.Number, "destroy", results)
	c.JSON(http.StatusOK, gin.H{"results": results})
	return nil
}

// recordOp stores a rollback or destroy as a finished deployment.
func (s *Server) recordOp(c *gin.Context, slug string, rev int64, action string, results []jobs.OpResult) {
	status := "succeeded"
	var errs []string
	for _, r := range results {
		if r.Err != "" {
			status = "failed"
			errs = append(errs, r.Err)
		}
	}
	summary := fmt.Sprintf("%d jobs", len(results))
	if len(errs) > 0 {
		summary += ": " + strings.Join(errs, "; ")
	}
	ctx := context.WithoutCancel(c.Request.Context())
	d, err := s.store.CreateDeployment(ctx, store.Deployment{Project: slug, Revision: rev, Action: action, Author: author(c), Status: status, Summary: summary})
	if err == nil {
		if err := s.store.FinishDeployment(ctx, d.ID, status, summary); err == nil {
			d.Status = status
		}
		s.hub.publishDeployment(slug, d)
	}
	s.metrics.deploys.WithLabelValues(action, status).Inc()
	s.audit(c, slug, action, summary)
}

func (s *Server) status(c *gin.Context) error {
	if s.cluster == nil {
		return errNoCluster
	}
	ctx := c.Request.Context()
	_, b, err := s.revisionBundle(ctx, c.Param("p"), 0)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"statuses": s.cluster.StatusAll(ctx, jobs.Targets(b))})
	return nil
}

func (s *Server) listDeployments(c *gin.Context) error {
	ds, err := s.store.ListDeployments(c.Request.Context(), c.Param("p"), 50)
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []store.Deployment{}
	}
	c.JSON(http.StatusOK, gin.H{"deployments": ds})
	return nil
}
