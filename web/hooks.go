package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/backplane-dev/backplane/autodeploy"
	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/store"
	"github.com/backplane-dev/backplane/translator"
)

// AutodeployConfig wires deploys from git. Without a Sealer, webhooks are
// off (the secret cannot be kept).
type AutodeployConfig struct {
	Sealer *autodeploy.Sealer
	// Owner names this replica in the deploy queue's claims.
	Owner string
	// Settle, Lease and Slots tune the deploy queue (see
	// autodeploy.Worker); zero takes the defaults.
	Settle, Lease time.Duration
	Slots         int
}

var errNoAutodeploy = &apiError{Status: http.StatusServiceUnavailable, Code: "no_autodeploy",
	Message: "deploys from git are off: this server has no sealing key (set BACKPLANE_SECRET_KEY)"}

// deliveryKeep is how long a webhook delivery ID is remembered, so a
// replay within it is ignored.
const deliveryKeep = 7 * 24 * time.Hour

// gitTimeout bounds a git read made while answering a request.
const gitTimeout = 30 * time.Second

// hookSecret returns the project's webhook secret, making one the first
// time.
func (s *Server) hookSecret(ctx context.Context, slug string, rotate bool) ([]byte, error) {
	if !rotate {
		sealed, err := s.store.HookSecret(ctx, slug)
		if err == nil {
			return s.sealer.Open(slug, sealed)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	secret := []byte(hex.EncodeToString(raw))
	sealed, err := s.sealer.Seal(slug, secret)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetHookSecret(ctx, slug, sealed); err != nil {
		return nil, err
	}
	return secret, nil
}

// hookURL is where the project's webhooks go.
func (s *Server) hookURL(slug string) string {
	return s.publicURL + "/hooks/git/" + slug
}

// getHooks answers GET /projects/{p}/hooks (admin): the webhook URL and
// secret to paste into the git host.
func (s *Server) getHooks(c *gin.Context) error {
	if s.sealer == nil {
		return errNoAutodeploy
	}
	slug := c.Param("p")
	secret, err := s.hookSecret(c.Request.Context(), slug, false)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"url": s.hookURL(slug), "secret": string(secret)})
	return nil
}

// rotateHooks answers POST /projects/{p}/hooks/rotate (admin): a new
// secret; the old one stops working at once.
func (s *Server) rotateHooks(c *gin.Context) error {
	if s.sealer == nil {
		return errNoAutodeploy
	}
	slug := c.Param("p")
	secret, err := s.hookSecret(c.Request.Context(), slug, true)
	if err != nil {
		return err
	}
	s.audit(c, slug, "hooks.rotate", "webhook secret rotated")
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"url": s.hookURL(slug), "secret": string(secret)})
	return nil
}

// gitHook answers POST /hooks/git/{project}: a push webhook from GitHub,
// GitLab, Gitea/Forgejo or the generic form. The signature is checked
// before anything else; a bad or missing one is 401 and changes nothing.
// A push to a tracked branch queues a deploy of each element it concerns;
// anything else is 202 with the reason it was ignored.
func (s *Server) gitHook(c *gin.Context) (err error) {
	slug := c.Param("project")
	if s.sealer == nil {
		return errNoAutodeploy
	}
	ctx := c.Request.Context()
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, autodeploy.MaxHookBody+1))
	if err != nil {
		return errBadRequest("read the body: " + err.Error())
	}
	if len(body) > autodeploy.MaxHookBody {
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("a webhook body is at most %d bytes", autodeploy.MaxHookBody)}
	}
	// An unknown project and a bad signature look the same from outside.
	unauthorized := &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "the webhook signature does not match this project's secret"}
	sealed, err := s.store.HookSecret(ctx, slug)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return unauthorized
		}
		return err
	}
	secret, err := s.sealer.Open(slug, sealed)
	if err != nil {
		return err
	}
	if err := autodeploy.VerifyHook(c.Request.Header, body, secret); err != nil {
		s.log.Info("webhook refused", "project", slug, "reason", err.Error(), "address", c.ClientIP())
		return unauthorized
	}
	push, ignore, err := autodeploy.ParseHook(c.Request.Header, body)
	if err != nil {
		return errBadRequest(err.Error())
	}
	ignored := func(reason string) error {
		s.log.Info("webhook ignored", "project", slug, "reason", reason)
		c.JSON(http.StatusAccepted, gin.H{"queued": []string{}, "ignored": reason})
		return nil
	}
	if push == nil {
		return ignored(ignore)
	}
	if push.DeliveryID != "" {
		if err := s.store.RecordDelivery(ctx, slug, push.DeliveryID, deliveryKeep); errors.Is(err, store.ErrExists) {
			return ignored("delivery " + push.DeliveryID + " was seen before (a replay)")
		} else if err != nil {
			return err
		}
		// A delivery this request fails to handle (the store or git down)
		// is forgotten, so the sender's redelivery is not taken for a
		// replay.
		defer func() {
			if err == nil {
				return
			}
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if ferr := s.store.ForgetDelivery(fctx, slug, push.DeliveryID); ferr != nil {
				s.log.Warn("webhook: forget a failed delivery", "project", slug, "delivery", push.DeliveryID, "error", ferr)
			}
		}()
	}
	if push.Deleted || push.Branch == "" {
		return ignored("not a push to a branch")
	}
	r, err := s.store.GetRevision(ctx, slug, 0)
	if err != nil {
		return err
	}
	sc, err := schema.Decode("", []byte(r.YAML))
	if err != nil {
		return ignored("the head revision does not decode")
	}
	urls := map[string]bool{}
	for _, u := range push.RepoURLs {
		urls[autodeploy.NormalizeRepo(u)] = true
	}
	delete(urls, "") // a URL that is not a repository matches nothing
	var matched []*schema.Element
	for i := range sc.Elements {
		e := &sc.Elements[i]
		src := e.Source
		if src == nil || !src.Autodeploy || !urls[autodeploy.NormalizeRepo(src.Repo)] {
			continue
		}
		branch := src.Branch
		if branch == "" {
			branch = "main"
		}
		if branch == push.Branch {
			matched = append(matched, e)
		}
	}
	if len(matched) == 0 {
		return ignored(fmt.Sprintf("no auto-deploy element follows %s of that repository", push.Branch))
	}
	var queued []string
	for _, e := range matched {
		if len(e.Source.Paths) > 0 {
			// Only GitHub's payload says when a push was forced; elsewhere
			// a force-push can list less than it changed, so git decides.
			files := push.Files
			if files == nil || !push.FilesComplete || push.Provider == "gitlab" || push.Provider == "gitea" {
				gctx, cancel := context.WithTimeout(ctx, gitTimeout)
				changed, err := s.gitChanged(gctx, slug, e.Source, push.Branch, push.Before, push.After)
				cancel()
				if err != nil {
					// Unknown: deploy rather than miss a change.
					s.log.Warn("webhook: compare commits", "project", slug, "element", e.ID, "error", err)
					files = nil
				} else {
					files = changed
				}
			}
			if files != nil && !autodeploy.TouchesPaths(files, e.Source.Paths) {
				continue
			}
		}
		q := store.QueuedDeploy{Project: slug, Element: e.ID, SHA: push.After, Trigger: store.TriggerWebhook,
			Actor: push.Pusher, Author: push.Author, Message: push.Message}
		if err := s.store.Enqueue(ctx, q); err != nil {
			return err
		}
		queued = append(queued, e.ID)
	}
	if len(queued) == 0 {
		return ignored("the push changes nothing under the elements' paths")
	}
	s.auditAs(c, "webhook:"+push.Pusher, slug, "hook.push", fmt.Sprintf("%s %s on %s: queued %s", push.Provider, short(push.After), push.Branch, strings.Join(queued, ", ")))
	if s.worker != nil {
		s.worker.Wake()
	}
	c.JSON(http.StatusAccepted, gin.H{"queued": queued, "sha": push.After})
	return nil
}

// gitAuth reads the credentials an element's source names (source.auth)
// from the project's secrets in Vault; an element with none reaches its
// repository anonymously. The values stay in memory, for go-git only.
func (s *Server) gitAuth(ctx context.Context, slug string, src *schema.Source) (autodeploy.Auth, error) {
	a := src.Auth
	if a == nil {
		return autodeploy.Auth{}, nil
	}
	var names []string
	for _, n := range []string{a.TokenSecret, a.SSHKeySecret, a.KnownHostsSecret} {
		if n != "" {
			names = append(names, n)
		}
	}
	sr, ok := s.cluster.(projectSecretReader)
	if s.cluster == nil || !ok || !s.cluster.HasVault() {
		return autodeploy.Auth{}, fmt.Errorf("the credentials of %s are project secrets (%s), which live in Vault: set VAULT_ADDR and VAULT_TOKEN for serve", autodeploy.Redact(src.Repo), strings.Join(names, ", "))
	}
	vals, err := sr.ProjectSecretValues(ctx, slug, names)
	if err != nil {
		return autodeploy.Auth{}, fmt.Errorf("the credentials of %s: %w", autodeploy.Redact(src.Repo), err)
	}
	get := func(n string) []byte {
		if n == "" {
			return nil
		}
		return vals[n]
	}
	return autodeploy.Auth{Username: a.Username, Password: string(get(a.TokenSecret)), SSHKey: get(a.SSHKeySecret), KnownHosts: get(a.KnownHostsSecret)}, nil
}

// gitChanged lists the files changed between two commits of an element's
// branch, with the element's credentials.
func (s *Server) gitChanged(ctx context.Context, slug string, src *schema.Source, branch, from, to string) ([]string, error) {
	auth, err := s.gitAuth(ctx, slug, src)
	if err != nil {
		return nil, err
	}
	changed, _, err := autodeploy.Changed(ctx, src.Repo, branch, from, to, auth)
	return changed, err
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// pins are the commits a project's elements built from source run, by
// element, as the store records them.
func (s *Server) pins(ctx context.Context, slug string) map[string]string {
	cs, err := s.store.ElementCommits(ctx, slug)
	if err != nil {
		s.log.Warn("read element commits", "project", slug, "error", err)
		return nil
	}
	m := make(map[string]string, len(cs))
	for _, c := range cs {
		m[c.Element] = c.SHA
	}
	return m
}

// listCommits answers GET /projects/{p}/commits: the commit each element
// built from source runs, with its author and message, as deploys
// recorded them (the first deploy pins its branch's head).
func (s *Server) listCommits(c *gin.Context) error {
	cs, err := s.store.ElementCommits(c.Request.Context(), c.Param("p"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"commits": cs})
	return nil
}

// commits are the commits sc's elements built from source deploy at: a
// source.ref that is a full commit SHA (a CI pipeline pinning what it
// tested), else the commit pins records.
func commits(sc *schema.Schema, pins map[string]string) map[string]string {
	out := make(map[string]string, len(pins))
	for k, v := range pins {
		out[k] = v
	}
	for i := range sc.Elements {
		if src := sc.Elements[i].Source; src != nil && gitSHA(src.Ref) {
			out[sc.Elements[i].ID] = strings.ToLower(src.Ref)
		}
	}
	return out
}

// deployQueued deploys one element at one commit from the queue: the head
// revision, with every element built from source pinned to the commit it
// runs and this one to the new commit, recorded as a deployment with its
// trigger and commit.
func (s *Server) deployQueued(ctx context.Context, q store.QueuedDeploy) error {
	if s.cluster == nil {
		return errNoCluster
	}
	r, err := s.store.GetRevision(ctx, q.Project, 0)
	if err != nil {
		return err
	}
	sc, err := schema.Decode("", []byte(r.YAML))
	if err != nil {
		return err
	}
	shas := s.pins(ctx, q.Project)
	if shas == nil {
		shas = map[string]string{}
	}
	shas[q.Element] = q.SHA
	author := q.Trigger + ":" + q.Actor
	head := fmt.Sprintf("%s at %s (%s): ", q.Element, short(q.SHA), firstLine(q.Message))
	s.abandon(ctx, q.Project, head)
	d, err := s.store.CreateDeployment(ctx, store.Deployment{Project: q.Project, Revision: r.Number, Action: "deploy", Author: author,
		Status: "running", Trigger: q.Trigger, GitSHA: q.SHA, Summary: head + "deploying"})
	if err != nil {
		return err
	}
	s.hub.publishDeployment(q.Project, d)
	status, summary := "succeeded", ""
	// The element is built first when it has a build step; a failed
	// build leaves what runs as it is.
	b, bs, err := s.withBuilds(ctx, q.Project, sc, shas, []string{q.Element}, q.Trigger, q.Actor)
	failed := bs.failed
	var p *jobs.Plan
	if err == nil && len(failed) == 0 {
		p, err = s.cluster.Plan(ctx, b, jobs.PlanOptions{Elements: []string{q.Element}})
	}
	switch {
	case err != nil:
		status, summary = "failed", err.Error()
	case len(failed) > 0:
		status, summary = "failed", buildFailure(failed)
	case len(p.Problems) > 0:
		status, summary = "failed", "the plan has problems: "+strings.Join(p.Problems, "; ")
	default:
		res, aerr := s.cluster.Apply(ctx, p, jobs.ApplyOptions{})
		switch {
		case aerr != nil:
			status, summary = "failed", aerr.Error()
		case !res.OK():
			status, summary = "failed", applySummary(res)
		default:
			summary = applySummary(res)
		}
	}
	summary = head + buildSummary(bs.built) + summary
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if status == "succeeded" {
		if err := s.store.SetElementCommit(fctx, q.Project, store.ElementCommit{Element: q.Element, SHA: q.SHA, Author: q.Author, Message: q.Message}); err != nil {
			s.log.Warn("record an element's commit", "project", q.Project, "element", q.Element, "error", err)
		}
	}
	if err := s.store.FinishDeployment(fctx, d.ID, status, summary); err != nil {
		s.log.Error("record deployment result", "project", q.Project, "deployment", d.ID, "error", err)
	}
	d.Status, d.Summary = status, summary
	s.metrics.deploys.WithLabelValues("deploy", status).Inc()
	if err := s.store.AppendAudit(fctx, store.AuditEvent{Project: q.Project, Actor: author, Action: "deploy",
		Detail: fmt.Sprintf("revision %d: %s", r.Number, summary)}); err != nil {
		s.log.Warn("audit log write failed", "action", "deploy", "project", q.Project, "error", err)
	}
	s.hub.publishDeployment(q.Project, d)
	if b != nil {
		s.hub.watch(q.Project, b)
		s.follow(q.Project, sc, b)
	}
	if status != "succeeded" {
		return errors.New(summary)
	}
	return nil
}

// abandon ends the deployments of a queued deploy (those whose summary
// starts with head, the element and commit) that are still recorded as
// running: a worker that stopped mid-deploy left them so (its claim lapsed
// and this worker took the deploy over, since an element's deploys never
// overlap). Otherwise the history would show them running forever.
func (s *Server) abandon(ctx context.Context, slug, head string) {
	ds, err := s.store.ListDeployments(ctx, slug, 50)
	if err != nil {
		return
	}
	for _, d := range ds {
		if d.Status == "running" && strings.HasPrefix(d.Summary, head) {
			if err := s.store.FinishDeployment(ctx, d.ID, "failed", head+"abandoned: the server deploying it stopped before it ended; deployed again"); err != nil {
				s.log.Warn("end an abandoned deployment", "project", slug, "deployment", d.ID, "error", err)
				continue
			}
			if nd, err := s.store.GetDeployment(ctx, d.ID); err == nil {
				s.hub.publishDeployment(slug, nd)
			}
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 72 {
		s = s[:72] + "…"
	}
	return s
}

// translateWith translates with elements pinned to commits. Its jobs name
// the project's targets (status, rollback, metrics, alerts); a plan adds
// the built artifacts (withArtifacts), a deploy builds first (withBuilds).
func (s *Server) translateWith(sc *schema.Schema, shas map[string]string) (*translator.Bundle, error) {
	return s.translateArtifacts(sc, commits(sc, shas), nil)
}

// withArtifacts translates sc again with the built artifact of each element
// that has one at the commit it runs, so a plan compares the job specs a
// deploy would apply; b as it is when there is none.
func (s *Server) withArtifacts(ctx context.Context, slug string, sc *schema.Schema, b *translator.Bundle) (*translator.Bundle, error) {
	shas := commits(sc, s.pins(ctx, slug))
	arts, _ := s.builds.artifacts(ctx, slug, sc, shas, nil)
	if len(arts) == 0 {
		return b, nil
	}
	return s.translateArtifacts(sc, shas, arts)
}

func (s *Server) translateArtifacts(sc *schema.Schema, shas map[string]string, arts map[string]translator.Artifact) (*translator.Bundle, error) {
	opts := s.translateOptions()
	opts.GitSHAs = shas
	opts.Artifacts = arts
	return translator.Translate(sc, s.reg, opts)
}

// withBuilds builds, before a deploy, what the elements in scope (every
// element when empty) need: those built from source that have no artifact
// at their commit. It returns the bundle translated with every artifact
// there is, or, when a build failed, the failed builds and no bundle:
// nothing must be applied then, so what runs stays as it is.
func (s *Server) withBuilds(ctx context.Context, slug string, sc *schema.Schema, shas map[string]string, scope []string, trigger, actor string) (*translator.Bundle, builds, error) {
	shas = commits(sc, shas)
	arts, needs := s.builds.artifacts(ctx, slug, sc, shas, scope)
	var bs builds
	if len(needs) > 0 {
		if bs.built, bs.failed = s.builds.buildAll(ctx, slug, sc, needs, trigger, actor, arts); len(bs.failed) > 0 {
			return nil, bs, nil
		}
	}
	b, err := s.translateArtifacts(sc, shas, arts)
	return b, bs, err
}

// builds are what a deploy built before applying.
type builds struct{ built, failed []*store.Build }

// pollGit checks every auto-deploy element's branch once, and queues a
// deploy of each whose head moved from the commit it runs. Where webhooks
// cannot reach serve, this does their work.
func (s *Server) pollGit(ctx context.Context) {
	ps, err := s.store.ListProjects(ctx)
	if err != nil {
		s.log.Warn("git poll: list projects", "error", err)
		return
	}
	queued := false
	for _, p := range ps {
		r, err := s.store.GetRevision(ctx, p.Slug, 0)
		if err != nil {
			continue
		}
		sc, err := schema.Decode("", []byte(r.YAML))
		if err != nil {
			continue
		}
		var pins map[string]string
		for i := range sc.Elements {
			e := &sc.Elements[i]
			if e.Source == nil || !e.Source.Autodeploy || e.Source.Repo == "" {
				continue
			}
			if pins == nil {
				pins = s.pins(ctx, p.Slug)
			}
			branch := e.Source.Branch
			if branch == "" {
				branch = "main"
			}
			auth, err := s.gitAuth(ctx, p.Slug, e.Source)
			if err != nil {
				s.log.Warn("git poll", "project", p.Slug, "element", e.ID, "error", err)
				continue
			}
			gctx, cancel := context.WithTimeout(ctx, gitTimeout)
			head, err := autodeploy.Head(gctx, e.Source.Repo, branch, auth)
			cancel()
			if err != nil {
				s.log.Warn("git poll", "project", p.Slug, "element", e.ID, "error", err)
				continue
			}
			if head == pins[e.ID] {
				continue
			}
			if _, ok := pins[e.ID]; !ok {
				// Never deployed through Backplane: the first deploy pins it.
				continue
			}
			key := p.Slug + "/" + e.ID
			if s.pollSkip(key, head) {
				continue
			}
			if len(e.Source.Paths) > 0 {
				gctx, cancel := context.WithTimeout(ctx, gitTimeout)
				changed, _, err := autodeploy.Changed(gctx, e.Source.Repo, branch, pins[e.ID], head, auth)
				cancel()
				if err == nil && !autodeploy.TouchesPaths(changed, e.Source.Paths) {
					// Outside its paths: remember, so the next rounds do
					// not fetch again until the branch moves.
					s.pollNote(key, head)
					continue
				}
			}
			q := store.QueuedDeploy{Project: p.Slug, Element: e.ID, SHA: head, Trigger: store.TriggerPoll, Actor: "poll"}
			gctx, cancel = context.WithTimeout(ctx, gitTimeout)
			if c, err := autodeploy.CommitInfo(gctx, e.Source.Repo, branch, head, auth); err == nil {
				q.Author, q.Message = c.Author, c.Message
			}
			cancel()
			if err := s.store.Enqueue(ctx, q); err != nil {
				s.log.Warn("git poll: queue a deploy", "project", p.Slug, "element", e.ID, "error", err)
				continue
			}
			queued = true
		}
	}
	if queued && s.worker != nil {
		s.worker.Wake()
	}
}

// PollGit checks the auto-deploy branches every interval, jittered by up
// to a tenth either way so replicas spread out, until ctx ends.
func (s *Server) PollGit(ctx context.Context, every time.Duration) {
	if every <= 0 || s.worker == nil {
		return
	}
	for {
		jitter := time.Duration(int64(every) / 10)
		wait := every - jitter + time.Duration(mrand.Int64N(int64(2*jitter)+1))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		s.pollGit(ctx)
	}
}

// pinHeads pins the elements built from source (among only, when given)
// that run no recorded commit and name no ref to their branch's head, and
// returns those commits with the bundle re-translated. An element whose
// branch cannot be read deploys unpinned, as before, with a log line.
func (s *Server) pinHeads(ctx context.Context, slug string, r *store.Revision, b *translator.Bundle, only []string) ([]store.ElementCommit, *translator.Bundle, error) {
	sc, err := schema.Decode("", []byte(r.YAML))
	if err != nil {
		return nil, b, nil
	}
	pins := s.pins(ctx, slug)
	if pins == nil {
		pins = map[string]string{}
	}
	var fresh []store.ElementCommit
	for i := range sc.Elements {
		e := &sc.Elements[i]
		if e.Source == nil || e.Source.Repo == "" || e.Source.Ref != "" || pins[e.ID] != "" {
			continue
		}
		if len(only) > 0 && !slices.Contains(only, e.ID) {
			continue
		}
		branch := e.Source.Branch
		if branch == "" {
			branch = "main"
		}
		auth, err := s.gitAuth(ctx, slug, e.Source)
		if err != nil {
			s.log.Warn("deploy: cannot read the repository's credentials; deploying it unpinned", "project", slug, "element", e.ID, "error", err)
			continue
		}
		gctx, cancel := context.WithTimeout(ctx, gitTimeout)
		c, err := autodeploy.CommitInfo(gctx, e.Source.Repo, branch, "", auth)
		cancel()
		if err != nil {
			s.log.Warn("deploy: cannot read the branch's head; deploying it unpinned", "project", slug, "element", e.ID, "error", err)
			continue
		}
		pins[e.ID] = c.SHA
		fresh = append(fresh, store.ElementCommit{Element: e.ID, SHA: c.SHA, Author: c.Author, Message: c.Message})
	}
	if len(fresh) == 0 {
		return nil, b, nil
	}
	nb, err := s.translateWith(sc, pins)
	if err != nil {
		return nil, b, err
	}
	return fresh, nb, nil
}

// redeployCommit queues a deploy of one element at a commit it ran
// before ("Redeploy this commit"): the deploy body {"element", "sha"}.
func (s *Server) redeployCommit(c *gin.Context, slug string, req clusterRequest) error {
	if s.worker == nil {
		return errNoAutodeploy
	}
	if req.Element == "" {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "element", Message: "element is required with sha"}
	}
	if !gitSHA(req.SHA) {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "sha", Message: fmt.Sprintf("%q is not a full commit SHA", req.SHA)}
	}
	ctx := c.Request.Context()
	r, err := s.store.GetRevision(ctx, slug, 0)
	if err != nil {
		return err
	}
	sc, err := schema.Decode("", []byte(r.YAML))
	if err != nil {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_schema", Message: "the head revision does not decode; fix it first"}
	}
	e := sc.Element(req.Element)
	if e == nil || e.Source == nil || e.Source.Repo == "" {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "element", Message: fmt.Sprintf("%q is not an element built from source", req.Element)}
	}
	q := store.QueuedDeploy{Project: slug, Element: e.ID, SHA: strings.ToLower(req.SHA), Trigger: store.TriggerUser, Actor: author(c)}
	branch := e.Source.Branch
	if branch == "" {
		branch = "main"
	}
	if auth, err := s.gitAuth(ctx, slug, e.Source); err == nil {
		gctx, cancel := context.WithTimeout(ctx, gitTimeout)
		if ci, err := autodeploy.CommitInfo(gctx, e.Source.Repo, branch, q.SHA, auth); err == nil {
			q.Author, q.Message = ci.Author, ci.Message
		}
		cancel()
	}
	if err := s.store.Enqueue(ctx, q); err != nil {
		return err
	}
	s.audit(c, slug, "deploy.queue", fmt.Sprintf("%s at %s", e.ID, short(q.SHA)))
	s.worker.Wake()
	c.JSON(http.StatusAccepted, gin.H{"queued": []string{e.ID}, "sha": q.SHA})
	return nil
}

// gitSHA reports whether v is a full commit SHA (SHA-1 or SHA-256).
func gitSHA(v string) bool {
	if len(v) != 40 && len(v) != 64 {
		return false
	}
	_, err := hex.DecodeString(v)
	return err == nil
}

// pollSkip reports whether the poller already found head outside the
// element's paths.
func (s *Server) pollSkip(key, head string) bool {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	return s.pollSeen[key] == head
}

func (s *Server) pollNote(key, head string) {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	if s.pollSeen == nil {
		s.pollSeen = map[string]string{}
	}
	s.pollSeen[key] = head
}
