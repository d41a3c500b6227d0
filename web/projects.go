package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/store"
	"github.com/backplane-dev/backplane/translator"
)

var slugRe = regexp.MustCompile(`^[a-z]([a-z0-9-]*[a-z0-9])?$`)

// decodeJSON reads a JSON body strictly into v.
func decodeJSON(c *gin.Context, v any) error {
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if isTooLarge(err) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: "request body is empty", cause: errEmptyBody}
		}
		return errBadRequest("request body is not valid JSON: " + err.Error())
	}
	return nil
}

// listProjects lists the projects the caller has a role in (all of them
// for a server admin), so the list reveals no more than GET /projects/{p}.
func (s *Server) listProjects(c *gin.Context) error {
	ps, err := s.store.ListProjects(c.Request.Context())
	if err != nil {
		return err
	}
	k := callerOf(c)
	if k.user.ServerAdmin && (k.token == nil || k.token.Project == "") { // every project, as listed
		c.JSON(http.StatusOK, gin.H{"projects": ps})
		return nil
	}
	ms, err := s.callerProjects(c, k)
	if err != nil {
		return err
	}
	reach := make(map[string]bool, len(ms))
	for _, m := range ms {
		reach[m.Project] = true
	}
	visible := make([]store.Project, 0, len(ms))
	for _, p := range ps {
		if reach[p.Slug] {
			visible = append(visible, p)
		}
	}
	c.JSON(http.StatusOK, gin.H{"projects": visible})
	return nil
}

func (s *Server) createProject(c *gin.Context) error {
	var req struct {
		Slug string `json:"slug"`
		Name string `json:"name"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if !slugRe.MatchString(req.Slug) || len(req.Slug) > 40 {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "slug",
			Message: fmt.Sprintf("slug %q must be a lowercase DNS label of at most 40 characters (it prefixes every job ID)", req.Slug)}
	}
	if strings.TrimSpace(req.Name) == "" {
		req.Name = req.Slug
	}
	ctx := c.Request.Context()
	p, err := s.store.CreateProject(ctx, req.Slug, strings.TrimSpace(req.Name))
	if err != nil {
		return err
	}
	empty := &schema.Schema{Version: schema.Version, Project: req.Slug}
	y, err := empty.Canonical().EncodeYAML()
	if err != nil {
		return err
	}
	if _, err := s.store.SaveRevision(ctx, req.Slug, store.NewRevision{YAML: string(y), Author: author(c), Message: "create project", Base: 0}); err != nil {
		return err
	}
	s.audit(c, req.Slug, "project.create", p.Name)
	p, err = s.store.GetProject(ctx, req.Slug)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, p)
	return nil
}

func (s *Server) getProject(c *gin.Context) error {
	p, err := s.store.GetProject(c.Request.Context(), c.Param("p"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, p)
	return nil
}

func (s *Server) renameProject(c *gin.Context) error {
	var req struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	name := strings.TrimSpace(req.Name)
	if name == "" || len(name) > 200 {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "name", Message: "name must be 1 to 200 characters"}
	}
	p, err := s.store.RenameProject(c.Request.Context(), c.Param("p"), name)
	if err != nil {
		return err
	}
	s.audit(c, p.Slug, "project.rename", name)
	c.JSON(http.StatusOK, p)
	return nil
}

func (s *Server) deleteProject(c *gin.Context) error {
	slug := c.Param("p")
	// The store records the deletion in the project's audit trail and
	// keeps its history (GET /deleted-projects).
	if _, err := s.store.DeleteProject(c.Request.Context(), slug, author(c)); err != nil {
		return err
	}
	s.hub.projectDeleted(slug)
	s.forgetAlerts(context.WithoutCancel(c.Request.Context()), slug)
	s.builds.forget(context.WithoutCancel(c.Request.Context()), slug)
	c.Status(http.StatusNoContent)
	return nil
}

// etag is a revision's entity tag: its number and the start of its digest.
func etag(r *store.Revision) string {
	d := r.Digest
	if len(d) > 8 {
		d = d[:8]
	}
	return fmt.Sprintf("%q", fmt.Sprintf("%d-%s", r.Number, d))
}

// parseIfMatch reads If-Match: "*" forces; "<n>-<digest>" bases the save
// on revision n.
func parseIfMatch(v string) (base int64, force bool, err error) {
	v = strings.TrimSpace(v)
	if v == "*" {
		return 0, true, nil
	}
	v = strings.TrimPrefix(v, "W/")
	v = strings.Trim(v, `"`)
	num, _, _ := strings.Cut(v, "-")
	n, perr := strconv.ParseInt(num, 10, 64)
	if perr != nil || n < 0 {
		return 0, false, &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: fmt.Sprintf("If-Match %q is not an ETag this server gave", v)}
	}
	return n, false, nil
}

// schemaView is a revision as the API returns it.
type schemaView struct {
	Revision int64          `json:"revision"`
	ETag     string         `json:"etag"`
	YAML     string         `json:"yaml"`
	Schema   *schema.Schema `json:"schema"`
	Problems []Problem      `json:"problems"`
}

// view decodes a stored revision and checks it. The problems of a
// revision depend only on its text, so they are cached by digest: reading
// the schema, the most frequent request, does not translate it every time.
func (s *Server) view(r *store.Revision) (*schemaView, error) {
	sc, err := schema.Decode("", []byte(r.YAML))
	v := &schemaView{Revision: r.Number, ETag: etag(r), YAML: r.YAML, Problems: []Problem{}}
	if err != nil {
		v.Problems = problems(schema.AsErrors(err))
		return v, nil
	}
	v.Schema = sc
	if cached, ok := s.checked.get(r.Digest); ok {
		v.Problems = cached
		return v, nil
	}
	v.Problems = s.check(sc)
	s.checked.put(r.Digest, v.Problems)
	return v, nil
}

// problemCache remembers the problems of recently read revisions.
type problemCache struct {
	mu    sync.Mutex
	max   int
	items map[string][]Problem
	order []string
}

func newProblemCache(max int) *problemCache {
	return &problemCache{max: max, items: map[string][]Problem{}}
}

func (c *problemCache) get(key string) ([]Problem, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.items[key]
	return p, ok
}

func (c *problemCache) put(key string, p []Problem) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; ok {
		return
	}
	if len(c.order) >= c.max {
		delete(c.items, c.order[0])
		c.order = c.order[1:]
	}
	c.items[key] = p
	c.order = append(c.order, key)
}

// check is every problem with a schema: structure, kinds, translation.
func (s *Server) check(sc *schema.Schema) []Problem {
	if _, err := s.translate(sc); err != nil {
		return problems(schema.AsErrors(err))
	}
	return []Problem{}
}

// translate turns a schema into a bundle with the server's options.
func (s *Server) translate(sc *schema.Schema) (*translator.Bundle, error) {
	return translator.Translate(sc, s.reg, s.translateOptions())
}

// translateOptions are the translator's options for this server.
func (s *Server) translateOptions() translator.Options {
	opts := translator.Options{LokiURL: s.lokiURL, LokiTenant: s.lokiTenant, Logship: s.logshipOptions(), Alerting: s.alertOpts}
	if s.cluster != nil {
		opts.Credentials = s.cluster.HasVault()
	}
	return opts
}

func (s *Server) getSchema(c *gin.Context) error {
	r, err := s.store.GetRevision(c.Request.Context(), c.Param("p"), 0)
	if err != nil {
		return err
	}
	c.Header("ETag", etag(r))
	if accepts(c, "application/yaml", "text/yaml") {
		c.Data(http.StatusOK, "application/yaml; charset=utf-8", []byte(r.YAML))
		return nil
	}
	v, err := s.view(r)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}

func accepts(c *gin.Context, types ...string) bool {
	a := c.GetHeader("Accept")
	for _, t := range types {
		if strings.Contains(a, t) {
			return true
		}
	}
	return false
}

// readSchema decodes a schema body, YAML or JSON by Content-Type.
func readSchema(c *gin.Context) (*schema.Schema, []byte, error) {
	data, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return nil, nil, err
	}
	ct, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	switch ct {
	case "", "application/json", "application/yaml", "text/yaml", "application/x-yaml", "text/plain":
	default:
		return nil, nil, &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: fmt.Sprintf("a schema is YAML or JSON, not %s", ct)}
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, data, &apiError{Status: http.StatusBadRequest, Code: "bad_request",
			Message: "request body is empty: send the schema as YAML or JSON", cause: errEmptyBody}
	}
	sc, err := schema.Decode("", data)
	if err != nil {
		if schema.IsTooLarge(err) {
			return nil, data, &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: err.Error()}
		}
		return nil, data, &apiError{Status: http.StatusBadRequest, Code: "invalid_schema", Message: "the schema does not decode",
			Extra: map[string]any{"problems": problems(schema.AsErrors(err))}}
	}
	return sc, data, nil
}

func (s *Server) putSchema(c *gin.Context) error {
	slug := c.Param("p")
	ctx := c.Request.Context()
	im := c.GetHeader("If-Match")
	if im == "" {
		return &apiError{Status: http.StatusPreconditionRequired, Code: "precondition_required",
			Message: "send If-Match with the ETag of the revision you edited (or * to overwrite)"}
	}
	base, force, err := parseIfMatch(im)
	if err != nil {
		return err
	}
	if _, err := s.store.GetProject(ctx, slug); err != nil {
		return err
	}
	sc, _, err := readSchema(c)
	if err != nil {
		return err
	}
	if sc.Project == "" {
		sc.Project = slug
	}
	if sc.Project != slug {
		return &apiError{Status: http.StatusBadRequest, Code: "invalid_schema", Path: "project",
			Message: fmt.Sprintf("project %q does not match this project (%s)", sc.Project, slug)}
	}
	y, err := sc.Canonical().EncodeYAML()
	if err != nil {
		return err
	}
	msg := strings.TrimSpace(c.GetHeader("X-Backplane-Message"))
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	r, err := s.store.SaveRevision(ctx, slug, store.NewRevision{YAML: string(y), Author: author(c), Message: msg, Base: base, Force: force})
	if errors.Is(err, store.ErrConflict) {
		head, herr := s.store.GetRevision(ctx, slug, 0)
		extra := map[string]any{}
		if herr == nil {
			extra["head"] = gin.H{"revision": head.Number, "etag": etag(head), "yaml": head.YAML, "author": head.Author, "created_at": head.CreatedAt}
		}
		return &apiError{Status: http.StatusConflict, Code: "conflict", Extra: extra,
			Message: fmt.Sprintf("revision %d is no longer the latest; someone saved since. Reload or merge, then save again", base)}
	}
	if err != nil {
		return err
	}
	s.audit(c, slug, "schema.save", fmt.Sprintf("revision %d", r.Number))
	s.hub.revisionSaved(slug, r)
	v, err := s.view(r)
	if err != nil {
		return err
	}
	c.Header("ETag", v.ETag)
	c.JSON(http.StatusOK, v)
	return nil
}

func (s *Server) listRevisions(c *gin.Context) error {
	limit, _ := strconv.Atoi(c.Query("limit"))
	before, _ := strconv.ParseInt(c.Query("before"), 10, 64)
	slug := c.Param("p")
	if _, err := s.store.GetProject(c.Request.Context(), slug); err != nil {
		return err
	}
	revs, err := s.store.ListRevisions(c.Request.Context(), slug, limit, before)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"revisions": revisionItems(revs)})
	return nil
}

// revisionItem is a revision in a list: no YAML, no project.
type revisionItem struct {
	Number    int64  `json:"number"`
	Author    string `json:"author"`
	Message   string `json:"message"`
	CreatedAt any    `json:"created_at"`
	Digest    string `json:"digest"`
}

func revisionItems(revs []store.Revision) []revisionItem {
	out := make([]revisionItem, 0, len(revs))
	for _, r := range revs {
		out = append(out, revisionItem{r.Number, r.Author, r.Message, r.CreatedAt, r.Digest})
	}
	return out
}

func revisionNumber(c *gin.Context, name string) (int64, error) {
	n, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || n < 1 {
		return 0, errBadRequest(fmt.Sprintf("revision %q is not a positive number", c.Param(name)))
	}
	return n, nil
}

func (s *Server) getRevision(c *gin.Context) error {
	n, err := revisionNumber(c, "n")
	if err != nil {
		return err
	}
	r, err := s.store.GetRevision(c.Request.Context(), c.Param("p"), n)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, r)
	return nil
}

func (s *Server) diffRevision(c *gin.Context) error {
	n, err := revisionNumber(c, "n")
	if err != nil {
		return err
	}
	against := n - 1
	if a := c.Query("against"); a != "" {
		if against, err = strconv.ParseInt(a, 10, 64); err != nil || against < 0 {
			return errBadRequest(fmt.Sprintf("against %q is not a revision number", a))
		}
	}
	ctx := c.Request.Context()
	to, err := s.store.GetRevision(ctx, c.Param("p"), n)
	if err != nil {
		return err
	}
	fromYAML := ""
	if against > 0 {
		from, err := s.store.GetRevision(ctx, c.Param("p"), against)
		if err != nil {
			return err
		}
		fromYAML = from.YAML
	}
	c.JSON(http.StatusOK, gin.H{"from": against, "to": n,
		"diff": unifiedDiff(fmt.Sprintf("revision %d", against), fmt.Sprintf("revision %d", n), fromYAML, to.YAML)})
	return nil
}
