package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/observe/alerts"
	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/store"
	"github.com/backplane-dev/backplane/store/artifacts"
	"github.com/backplane-dev/backplane/translator"
)

// BuildsConfig turns on building each element built from source once per
// commit (see translator.BuildJob): its instances then start from the
// artifact and run source.start only.
type BuildsConfig struct {
	// Artifacts keeps built artifacts and build caches; nil turns builds
	// off, and such elements build in each instance as before.
	Artifacts artifacts.Store
	// Keep is how many artifacts per element are kept, besides every one
	// a job version still refers to (default 5).
	Keep int
	// Timeout bounds one build (default 30m).
	Timeout time.Duration
	// MaxUpload bounds an uploaded artifact or cache (default 2 GiB).
	MaxUpload int64
}

// Build defaults.
const (
	DefaultBuildKeep    = 5
	DefaultBuildTimeout = 30 * time.Minute
	DefaultMaxUpload    = 2 << 30
	// buildLogTail is how many of a build's last log lines are kept with
	// it and shown when it fails.
	buildLogTail = 40
	// signArtifact is the purpose of artifact download signatures.
	signArtifact = "artifact"
)

// buildCluster is what builds need of the cluster; *jobs.Cluster has it.
type buildCluster interface {
	StartBuild(ctx context.Context, job *nomad.Job, tokens map[string]string) error
	WaitBuild(ctx context.Context, region, namespace, jobID string, onAlloc func(allocID string)) (jobs.BuildRun, error)
	BuildLog(ctx context.Context, region, namespace, allocID string, follow bool, fn func(line string)) error
	EndBuild(ctx context.Context, region, namespace, jobID string) error
	JobArtifacts(ctx context.Context, region, namespace, jobID string) ([]string, error)
}

// builder runs builds for the server; nil when builds are off.
type builder struct {
	s         *Server
	cluster   buildCluster
	store     artifacts.Store
	keep      int
	timeout   time.Duration
	maxUpload int64
	// running dedupes concurrent builds of one element at one commit.
	mu      sync.Mutex
	running map[string]*buildWait
}

type buildWait struct {
	done chan struct{}
	b    *store.Build
	err  error
}

// newBuilder turns builds on when everything they need is there, and
// says why not otherwise.
func (s *Server) newBuilder(cfg BuildsConfig) *builder {
	if cfg.Artifacts == nil {
		return nil
	}
	bc, ok := s.cluster.(buildCluster)
	switch {
	case s.cluster == nil || !ok:
		s.log.Info("builds are off: no cluster is configured")
		return nil
	case s.sealer == nil:
		s.log.Info("builds are off: they need the server's key (BACKPLANE_SECRET_KEY, or serve alone on SQLite) to sign artifact links")
		return nil
	case s.publicURL == "":
		s.log.Info("builds are off: set BACKPLANE_PUBLIC_URL to where Nomad clients reach serve, for build uploads and artifact downloads")
		return nil
	}
	b := &builder{s: s, cluster: bc, store: cfg.Artifacts, keep: cfg.Keep, timeout: cfg.Timeout, maxUpload: cfg.MaxUpload, running: map[string]*buildWait{}}
	if b.keep <= 0 {
		b.keep = DefaultBuildKeep
	}
	if b.timeout <= 0 {
		b.timeout = DefaultBuildTimeout
	}
	if b.maxUpload <= 0 {
		b.maxUpload = DefaultMaxUpload
	}
	s.log.Info("builds are on: each element built from source is built once per commit", "artifacts", cfg.Artifacts.Describe())
	return b
}

func artifactKey(project, element, sha string) string {
	return project + "/" + element + "/" + sha + ".tar.gz"
}

func cacheKey(project, element string) string { return project + "/" + element + "/cache.tar.gz" }

// downloadURL is a stable, signed link to an artifact for Nomad clients.
func (b *builder) downloadURL(key string) string {
	return b.s.publicURL + "/artifacts/" + key + "?token=" + b.s.sealer.Sign(signArtifact, key)
}

// buildNeed is an element in a deploy that has no artifact at its commit.
type buildNeed struct {
	Element string `json:"element"`
	SHA     string `json:"sha"`
}

// artifacts returns the artifacts of every element of sc that has one
// at the commit it is pinned to, and, among scope (every element when
// empty), the buildable elements that have none and must be built first.
func (b *builder) artifacts(ctx context.Context, slug string, sc *schema.Schema, shas map[string]string, scope []string) (map[string]translator.Artifact, []buildNeed) {
	if b == nil {
		return nil, nil
	}
	arts := map[string]translator.Artifact{}
	var needs []buildNeed
	for i := range sc.Elements {
		e := &sc.Elements[i]
		sha := shas[e.ID]
		if sha == "" || !translator.Buildable(sc, b.s.reg, e.ID) {
			continue
		}
		if got, err := b.s.store.ReusableBuild(ctx, slug, e.ID, sha); err == nil {
			key := artifactKey(slug, e.ID, sha)
			if info, err := b.store.Stat(ctx, key); err == nil && info.SHA256 == got.Digest {
				arts[e.ID] = translator.Artifact{URL: b.downloadURL(key), SHA256: got.Digest}
				continue
			}
		}
		if len(scope) == 0 || slices.Contains(scope, e.ID) {
			needs = append(needs, buildNeed{Element: e.ID, SHA: sha})
		}
	}
	return arts, needs
}

// planned says which elements in scope a deploy would build first: those
// built from source with no artifact at the commit they run, or that run
// no known commit yet (the deploy pins them to their branch's head; SHA is
// then empty).
func (b *builder) planned(ctx context.Context, slug string, sc *schema.Schema, shas map[string]string, scope []string) []buildNeed {
	if b == nil {
		return []buildNeed{}
	}
	_, needs := b.artifacts(ctx, slug, sc, shas, scope)
	for i := range sc.Elements {
		e := &sc.Elements[i]
		if shas[e.ID] == "" && (len(scope) == 0 || slices.Contains(scope, e.ID)) && translator.Buildable(sc, b.s.reg, e.ID) {
			needs = append(needs, buildNeed{Element: e.ID})
		}
	}
	slices.SortFunc(needs, func(x, y buildNeed) int { return strings.Compare(x.Element, y.Element) })
	return append([]buildNeed{}, needs...)
}

// buildAll builds each need, side by side, and adds the artifacts to
// arts. It returns the builds that succeeded and those that failed.
func (b *builder) buildAll(ctx context.Context, slug string, sc *schema.Schema, needs []buildNeed, trigger, actor string, arts map[string]translator.Artifact) (built, failed []*store.Build) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range needs {
		wg.Go(func() {
			got, err := b.build(ctx, slug, sc, n, trigger, actor)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				failed = append(failed, &store.Build{Project: slug, Element: n.Element, SHA: n.SHA, Status: store.BuildFailed, Error: err.Error()})
			case got.Status != store.BuildSucceeded:
				failed = append(failed, got)
			default:
				built = append(built, got)
				arts[n.Element] = translator.Artifact{URL: b.downloadURL(artifactKey(slug, n.Element, n.SHA)), SHA256: got.Digest}
			}
		})
	}
	wg.Wait()
	byElement := func(x, y *store.Build) int { return strings.Compare(x.Element, y.Element) }
	slices.SortFunc(built, byElement)
	slices.SortFunc(failed, byElement)
	return built, failed
}

// buildSummary says what a deploy built, for its record: "built api at
// abc1234 in 12.3s (4.1 MB); ".
func buildSummary(built []*store.Build) string {
	var b strings.Builder
	for _, x := range built {
		fmt.Fprintf(&b, "built %s at %s in %s (%s); ", x.Element, short(x.SHA),
			x.FinishedAt.Sub(x.StartedAt).Round(100*time.Millisecond), humanBytes(x.Size))
	}
	return b.String()
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// build builds one element at one commit, or waits for the build of it
// already running on this replica.
func (b *builder) build(ctx context.Context, slug string, sc *schema.Schema, n buildNeed, trigger, actor string) (*store.Build, error) {
	key := slug + "/" + n.Element + "@" + n.SHA
	b.mu.Lock()
	if w, ok := b.running[key]; ok {
		b.mu.Unlock()
		select {
		case <-w.done:
			return w.b, w.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	w := &buildWait{done: make(chan struct{})}
	b.running[key] = w
	b.mu.Unlock()
	w.b, w.err = b.run(ctx, slug, sc, n, trigger, actor)
	b.mu.Lock()
	delete(b.running, key)
	b.mu.Unlock()
	close(w.done)
	return w.b, w.err
}

// run runs the build job and records it from start to end.
func (b *builder) run(ctx context.Context, slug string, sc *schema.Schema, n buildNeed, trigger, actor string) (*store.Build, error) {
	e := sc.Element(n.Element)
	regions := sc.ElementRegions(e)
	if len(regions) == 0 {
		return nil, fmt.Errorf("build %s: the element has no region", n.Element)
	}
	region := regions[0]
	akey, ckey := artifactKey(slug, n.Element, n.SHA), cacheKey(slug, n.Element)
	upload, cacheUpload := uploadToken(), uploadToken()
	expires := time.Now().Add(b.timeout + 10*time.Minute)
	for tok, key := range map[string]string{upload: akey, cacheUpload: ckey} {
		h := sha256.Sum256([]byte(tok))
		if err := b.s.store.CreateUploadToken(ctx, h[:], key, expires); err != nil {
			return nil, fmt.Errorf("build %s: %w", n.Element, err)
		}
	}
	job, err := translator.BuildJob(sc, b.s.reg, n.Element, translator.BuildOptions{
		SHA: n.SHA, Region: region,
		CacheURL: b.downloadURL(ckey), UploadURL: b.s.publicURL + "/artifacts/" + akey, CacheUploadURL: b.s.publicURL + "/artifacts/" + ckey,
		Helper: b.s.helperOptions(),
	})
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", n.Element, err)
	}
	namespace := sc.Namespace
	rec, err := b.s.store.CreateBuild(ctx, store.Build{Project: slug, Element: n.Element, SHA: n.SHA, Region: region,
		JobID: *job.ID, Status: store.BuildRunning, Trigger: trigger, Actor: actor})
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", n.Element, err)
	}
	b.s.hub.publishBuild(slug, rec)
	// The build goes on if the request that asked for it ends: its
	// outcome is recorded either way.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.timeout)
	defer cancel()
	started := time.Now()
	res := store.BuildResult{Status: store.BuildFailed}
	run, err := jobs.BuildRun{}, b.cluster.StartBuild(bctx, job, map[string]string{
		translator.BuildVarUploadToken: upload, translator.BuildVarCacheToken: cacheUpload,
	})
	if err == nil {
		run, err = b.cluster.WaitBuild(bctx, region, namespace, *job.ID, nil)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		res.Error = fmt.Sprintf("the build did not end within %s", b.timeout)
	case err != nil:
		res.Error = err.Error()
	case !run.OK:
		res.Error = run.Reason
	default:
		info, serr := b.store.Stat(bctx, akey)
		if serr != nil {
			res.Error = "the build finished but its artifact is missing: " + serr.Error()
		} else {
			res.Status, res.Digest, res.Size = store.BuildSucceeded, info.SHA256, info.Size
		}
	}
	if run.AllocID != "" {
		res.LogTail = b.logTail(bctx, region, namespace, run.AllocID)
	}
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), RequestTimeout)
	defer fcancel()
	if err := b.cluster.EndBuild(fctx, region, namespace, *job.ID); err != nil {
		b.s.log.Warn("build: clean up", "project", slug, "element", n.Element, "error", err)
	}
	done, err := b.s.store.FinishBuild(fctx, slug, rec.ID, res)
	if err != nil {
		return nil, fmt.Errorf("build %s: record the outcome: %w", n.Element, err)
	}
	b.s.hub.publishBuild(slug, done)
	b.s.buildAlert(done)
	b.s.log.Info("build ended", "project", slug, "element", n.Element, "sha", n.SHA, "status", done.Status,
		"duration", time.Since(started).Round(time.Millisecond), "size", done.Size, "error", done.Error)
	if done.Status == store.BuildSucceeded {
		go b.prune(context.WithoutCancel(ctx), slug, n.Element, region, namespace, sc.Project+"-"+n.Element)
	}
	return done, nil
}

// buildAlert raises BuildFailed to the element's receivers when a build
// failed, and resolves it when a later build of the element succeeds.
func (s *Server) buildAlert(b *store.Build) {
	if s.alerts == nil {
		return
	}
	k := alerts.Key{Project: b.Project, Element: b.Element, Region: b.Region}
	if b.Status == store.BuildSucceeded {
		s.alerts.bridge.Event(k, alerts.BuildFailed, "warning", "", "", false)
		return
	}
	tail := b.LogTail
	if lines := strings.Split(tail, "\n"); len(lines) > 10 {
		tail = strings.Join(lines[len(lines)-10:], "\n")
	}
	s.alerts.bridge.Event(k, alerts.BuildFailed, "warning",
		fmt.Sprintf("The build of %s at %s failed in %s", b.Element, short(b.SHA), b.Project),
		fmt.Sprintf("Build %d of %s/%s at commit %s failed: %s. What runs was left as it was.\n%s", b.ID, b.Project, b.Element, b.SHA, b.Error, tail), true)
}

// logTail reads the last lines of a build's log.
func (b *builder) logTail(ctx context.Context, region, namespace, allocID string) string {
	var lines []string
	err := b.cluster.BuildLog(ctx, region, namespace, allocID, false, func(l string) {
		lines = append(lines, l)
		if len(lines) > buildLogTail {
			lines = lines[1:]
		}
	})
	if err != nil {
		lines = append(lines, "(the log could not be read: "+err.Error()+")")
	}
	return strings.Join(lines, "\n")
}

// prune deletes an element's artifacts beyond the newest Keep builds,
// sparing every one a version of the element's job refers to (a running
// or rollback-able version).
func (b *builder) prune(ctx context.Context, slug, element, region, namespace, jobID string) {
	ctx, cancel := context.WithTimeout(ctx, ClusterTimeout)
	defer cancel()
	builds, err := b.s.store.ListBuilds(ctx, slug, element, store.MaxLimit)
	if err != nil {
		b.s.log.Warn("build retention: list builds", "project", slug, "element", element, "error", err)
		return
	}
	inUse := map[string]bool{}
	digests, err := b.cluster.JobArtifacts(ctx, region, namespace, jobID)
	if err != nil {
		b.s.log.Warn("build retention: read the job's versions; keeping everything", "project", slug, "element", element, "error", err)
		return
	}
	for _, d := range digests {
		inUse[d] = true
	}
	kept := 0
	for _, bd := range builds {
		if bd.Status != store.BuildSucceeded || bd.Pruned {
			continue
		}
		if kept < b.keep || inUse[bd.Digest] {
			kept++
			continue
		}
		key := artifactKey(slug, element, bd.SHA)
		// A newer build of the same commit replaced the file: keep it.
		if info, err := b.store.Stat(ctx, key); err == nil && info.SHA256 != bd.Digest {
			_ = b.s.store.PruneBuild(ctx, slug, bd.ID)
			continue
		}
		if err := b.store.Delete(ctx, key); err != nil {
			b.s.log.Warn("build retention: delete an artifact", "key", key, "error", err)
			continue
		}
		if err := b.s.store.PruneBuild(ctx, slug, bd.ID); err != nil {
			b.s.log.Warn("build retention: record a pruned build", "project", slug, "build", bd.ID, "error", err)
		}
	}
}

// forget deletes a deleted project's artifacts and build caches (its
// builds went with it from the store). A project made later with the slug
// starts with none.
func (b *builder) forget(ctx context.Context, slug string) {
	if b == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, ClusterTimeout)
	defer cancel()
	infos, err := b.store.List(ctx, slug+"/")
	if err != nil {
		b.s.log.Warn("delete a deleted project's artifacts", "project", slug, "error", err)
		return
	}
	for _, in := range infos {
		if err := b.store.Delete(ctx, in.Key); err != nil {
			b.s.log.Warn("delete a deleted project's artifact", "key", in.Key, "error", err)
		}
	}
}

// uploadToken is a random one-time upload token.
func uploadToken() string {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(k)
}

// buildFailure says why a deploy stopped before it applied anything.
func buildFailure(failed []*store.Build) string {
	var parts []string
	for _, f := range failed {
		msg := fmt.Sprintf("build of %s at %s failed: %s", f.Element, short(f.SHA), f.Error)
		if f.ID != 0 {
			msg = fmt.Sprintf("build %d of %s at %s failed: %s", f.ID, f.Element, short(f.SHA), f.Error)
		}
		if f.LogTail != "" {
			lines := strings.Split(f.LogTail, "\n")
			if len(lines) > 10 {
				lines = lines[len(lines)-10:]
			}
			msg += "\n    " + strings.Join(lines, "\n    ")
		}
		parts = append(parts, msg)
	}
	return strings.Join(parts, "\n")
}

// artifactFile answers GET /artifacts/{project}/{element}/{file}: Nomad
// clients download an artifact (or a build its cache) with the link's
// signature.
func (s *Server) artifactFile(c *gin.Context) {
	key := c.Param("project") + "/" + c.Param("element") + "/" + c.Param("file")
	if s.builds == nil || artifacts.ValidKey(key) != nil || !s.sealer.Verify(signArtifact, key, c.Query("token")) {
		c.String(http.StatusNotFound, "not found\n")
		return
	}
	rc, info, err := s.builds.store.Open(c.Request.Context(), key)
	if err != nil {
		if errors.Is(err, artifacts.ErrNotFound) {
			c.String(http.StatusNotFound, "not found\n")
			return
		}
		s.log.Warn("artifact download", "key", key, "error", err)
		c.String(http.StatusInternalServerError, "the artifact cannot be read\n")
		return
	}
	defer rc.Close()
	c.Header("Content-Type", "application/gzip")
	c.Header("Content-Length", strconv.FormatInt(info.Size, 10))
	c.Header("X-Checksum-Sha256", info.SHA256)
	c.Status(http.StatusOK)
	_, _ = io.Copy(c.Writer, rc)
}

// uploadArtifact answers PUT /artifacts/{project}/{element}/{file}: a
// build job uploads its result or its new cache with a one-time token
// good for that key only.
func (s *Server) uploadArtifact(c *gin.Context) {
	key := c.Param("project") + "/" + c.Param("element") + "/" + c.Param("file")
	tok, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if s.builds == nil || artifacts.ValidKey(key) != nil || !ok || tok == "" {
		c.String(http.StatusUnauthorized, "a valid upload token is required\n")
		return
	}
	h := sha256.Sum256([]byte(tok))
	if err := s.store.UseUploadToken(c.Request.Context(), h[:], key); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			c.String(http.StatusUnauthorized, "the upload token is unknown, spent, expired or for another file\n")
			return
		}
		s.log.Warn("artifact upload: spend the token", "key", key, "error", err)
		c.String(http.StatusInternalServerError, "the upload cannot be checked now\n")
		return
	}
	if c.Request.ContentLength > s.builds.maxUpload {
		c.String(http.StatusRequestEntityTooLarge, "an upload is at most %d bytes\n", s.builds.maxUpload)
		return
	}
	body := http.MaxBytesReader(c.Writer, c.Request.Body, s.builds.maxUpload)
	info, err := s.builds.store.Put(c.Request.Context(), key, body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			c.String(http.StatusRequestEntityTooLarge, "an upload is at most %d bytes\n", s.builds.maxUpload)
			return
		}
		s.log.Warn("artifact upload", "key", key, "error", err)
		c.String(http.StatusInternalServerError, "the upload was not stored\n")
		return
	}
	c.JSON(http.StatusCreated, gin.H{"key": key, "sha256": info.SHA256, "size": info.Size})
}

// listBuilds answers GET /projects/{p}/builds[?element=]: recent builds,
// newest first.
func (s *Server) listBuilds(c *gin.Context) error {
	limit, _ := strconv.Atoi(c.Query("limit"))
	bs, err := s.store.ListBuilds(c.Request.Context(), c.Param("p"), c.Query("element"), limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"builds": bs, "enabled": s.builds != nil})
	return nil
}

// getBuild answers GET /projects/{p}/builds/{id}.
func (s *Server) getBuild(c *gin.Context) error {
	b, err := s.buildParam(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, b)
	return nil
}

func (s *Server) buildParam(c *gin.Context) (*store.Build, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "id", Message: fmt.Sprintf("%q is not a build ID", c.Param("id"))}
	}
	return s.store.GetBuild(c.Request.Context(), c.Param("p"), id)
}

// buildLog answers GET /projects/{p}/builds/{id}/log as a server-sent
// event stream: `line` events with the build's log from its start, live
// while it runs, then one `end` event with the build as it ended. A build
// whose allocation Nomad has collected shows the lines kept with it.
func (s *Server) buildLog(c *gin.Context) error {
	b, err := s.buildParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	sse(c)
	send := func(kind string, v any) bool {
		if _, err := c.Writer.Write(encodeEvent(kind, v)); err != nil {
			return false
		}
		c.Writer.Flush()
		return true
	}
	bc, _ := s.cluster.(buildCluster)
	streamed := false
	if bc != nil {
		// Wait until Nomad has placed it, then follow its log.
		run := make(chan string, 1)
		wctx, cancel := context.WithCancel(ctx)
		go func() {
			_, _ = bc.WaitBuild(wctx, b.Region, s.buildNamespace(ctx, b), b.JobID, func(id string) {
				select {
				case run <- id:
				default:
				}
				cancel()
			})
		}()
		var allocID string
		select {
		case allocID = <-run:
		case <-wctx.Done():
		}
		cancel()
		if allocID != "" {
			streamed = s.followBuildLog(ctx, bc, b, allocID, func(l string) { send("line", gin.H{"line": l}) })
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	// Wait for the outcome to be recorded (the log ends a moment before).
	deadline := time.Now().Add(time.Minute)
	for {
		cur, err := s.store.GetBuild(ctx, b.Project, b.ID)
		if err == nil {
			b = cur
		}
		if b.Status != store.BuildRunning || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	if !streamed && b.LogTail != "" {
		for l := range strings.SplitSeq(b.LogTail, "\n") {
			send("line", gin.H{"line": l})
		}
	}
	send("end", b)
	return nil
}

// followBuildLog sends a build's log from its start, live while it runs.
// Nomad's follow of a task's log does not end when the task does, so the
// follow stops once the allocation has ended, and a last read without
// follow sends the lines it had not sent yet. It reports whether the log
// could be read.
func (s *Server) followBuildLog(ctx context.Context, bc buildCluster, b *store.Build, allocID string, send func(line string)) bool {
	namespace := s.buildNamespace(ctx, b)
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		_, _ = bc.WaitBuild(fctx, b.Region, namespace, b.JobID, nil)
		stop()
	}()
	// Each read starts from the log's start: it sends only the lines
	// past those sent.
	sent := 0
	read := func(ctx context.Context, follow bool) error {
		n := 0
		return bc.BuildLog(ctx, b.Region, namespace, allocID, follow, func(l string) {
			if n++; n > sent {
				sent++
				send(l)
			}
		})
	}
	// The follow fails while the build task has not started (the cache
	// is being restored): it is tried again until the build ends.
	for fctx.Err() == nil {
		_ = read(fctx, true)
		select {
		case <-fctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	<-ended
	if ctx.Err() != nil {
		return false
	}
	return read(ctx, false) == nil
}

// buildNamespace is the Nomad namespace of a build's project.
func (s *Server) buildNamespace(ctx context.Context, b *store.Build) string {
	r, err := s.store.GetRevision(ctx, b.Project, 0)
	if err != nil {
		return ""
	}
	sc, err := schema.Decode("", []byte(r.YAML))
	if err != nil {
		return ""
	}
	return sc.Namespace
}
