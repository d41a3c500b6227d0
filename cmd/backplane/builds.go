package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/store"
)

// Builds happen only in serve: a deploy through it builds each element
// with a build step once per commit, in a Nomad batch job, and its
// instances start from the artifact. These commands read those builds
// through the server's API.

// buildsDrain is how long a deploy keeps printing a build's log after the
// server answered.
const buildsDrain = 2 * time.Second

// buildsPoll is how often a deploy looks for the builds it started.
const buildsPoll = time.Second

// buildsTimeout is how much longer a deploy may take on a server that
// builds: serve bounds a build by 30 minutes by default.
const buildsTimeout = 30 * time.Minute

// plannedBuild is an element a deploy would build first; SHA is empty when
// the deploy pins the element to its branch's head.
type plannedBuild struct {
	Element string `json:"element"`
	SHA     string `json:"sha"`
}

func (a *app) buildsCmd() *cobra.Command {
	var f clusterFlags
	var limit int
	var logID string
	cmd := &cobra.Command{
		Use:   "builds [ELEMENT]",
		Short: "List recent builds of the project's elements, or print one build's log (through serve)",
		Long: `Builds lists the project's recent builds, newest first (ELEMENT keeps one
element's), as

  ID ELEMENT COMMIT STATUS STARTED DURATION SIZE ERROR

--log ID prints a build's log from its start, and follows it while the
build runs; it exits 1 if the build failed.

Builds happen only in serve: a deploy through a Backplane server builds each
element built from source with a build step once per commit, and its
instances start from the artifact. The server comes from --server,
BACKPLANE_SERVER or backplane login. A deploy straight to Nomad builds in
each instance instead, and leaves no builds to list.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			element := ""
			if len(args) == 1 {
				element = args[0]
			}
			return a.runBuilds(&f, element, limit, logID)
		},
	}
	f.cmd = cmd
	fl := cmd.Flags()
	fl.StringVar(&f.server, "server", "", "go through this Backplane server (env "+envServer+"; default: the one backplane login stored)")
	fl.StringVarP(&f.file, "file", "f", "backplane.yaml", "schema file, which names the project (YAML or JSON; - for stdin)")
	fl.BoolVar(&f.jsonOut, "json", false, `print one JSON document: {"builds": [...]} (with --log, one JSON line per log line, then the build)`)
	fl.IntVar(&limit, "limit", 20, "how many builds to list (at most the server's maximum)")
	fl.StringVar(&logID, "log", "", "print this build's log, following it while it runs")
	return cmd
}

// runBuilds lists builds, or prints one build's log.
func (a *app) runBuilds(f *clusterFlags, element string, limit int, logID string) error {
	src, err := a.remoteSource(f)
	if err != nil {
		return err
	}
	r, err := a.remoteFor(f, "builds")
	if err != nil {
		return err
	}
	if r == nil {
		return &exitError{code: exitInvalid, err: errors.New("builds: builds happen only in serve: go through a Backplane server (backplane login, or set " + envServer + "); a deploy straight to Nomad builds in each instance")}
	}
	if element != "" && !src.hasElement(element) {
		return &exitError{code: exitUsage, err: fmt.Errorf("builds: no element %q in %s", element, src.name)}
	}
	ctx, cancel := signalContext()
	defer cancel()
	if logID != "" {
		id, err := strconv.ParseInt(logID, 10, 64)
		if err != nil || id <= 0 {
			return &exitError{code: exitUsage, err: fmt.Errorf("builds: --log: %q is not a build ID", logID)}
		}
		return a.printBuildLog(ctx, r, src, id, f.jsonOut)
	}
	if limit <= 0 {
		return &exitError{code: exitUsage, err: errors.New("builds: --limit: want a positive number")}
	}
	list, enabled, err := r.builds(ctx, src.schema.Project, element, limit)
	if err != nil {
		return r.fail(src.name, err)
	}
	if f.jsonOut {
		return writeJSON(a.stdout, map[string]any{"builds": list, "enabled": enabled})
	}
	if !enabled {
		fmt.Fprintf(a.stderr, "builds: builds are off on %s (serve needs an artifact store, its key and BACKPLANE_PUBLIC_URL): elements build in each instance\n", r.server)
	}
	if len(list) == 0 {
		what := src.schema.Project
		if element != "" {
			what = element + " in " + what
		}
		fmt.Fprintf(a.stdout, "no builds of %s yet\n", what)
		return nil
	}
	a.printBuilds(list, time.Now())
	return nil
}

// printBuilds prints builds as a table.
func (a *app) printBuilds(list []store.Build, now time.Time) {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tELEMENT\tCOMMIT\tSTATUS\tSTARTED\tDURATION\tSIZE\tERROR")
	for _, b := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.ID, b.Element, dash(shortSHA(b.SHA)), b.Status,
			ago(now.Sub(b.StartedAt))+" ago", buildDuration(b, now), buildSize(b), oneLine(b.Error))
	}
	_ = tw.Flush()
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// buildDuration is how long a build took, or has run so far.
func buildDuration(b store.Build, now time.Time) string {
	end := b.FinishedAt
	if b.Status == store.BuildRunning || end.IsZero() {
		end = now
	}
	d := end.Sub(b.StartedAt)
	if d < 0 {
		d = 0
	}
	s := shortDuration(d)
	if b.Status == store.BuildRunning {
		s += "…"
	}
	return s
}

// buildSize is the artifact's size, "-" when there is none (and "pruned"
// when it has been deleted).
func buildSize(b store.Build) string {
	switch {
	case b.Size <= 0:
		return "-"
	case b.Pruned:
		return humanBytes(uint64(b.Size)) + " (pruned)"
	}
	return humanBytes(uint64(b.Size))
}

// builds lists a project's recent builds (one element's when element is
// set), newest first, and whether the server builds at all.
func (r *remote) builds(ctx context.Context, project, element string, limit int) ([]store.Build, bool, error) {
	q := url.Values{}
	if element != "" {
		q.Set("element", element)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := projectPath(project, "builds")
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var resp struct {
		Builds  []store.Build `json:"builds"`
		Enabled bool          `json:"enabled"`
	}
	if err := r.do(ctx, request{method: http.MethodGet, path: path}, &resp); err != nil {
		return nil, false, err
	}
	return resp.Builds, resp.Enabled, nil
}

// buildLog reads a build's log stream: fn gets each line, from the start,
// live while the build runs. It returns the build as it ended, or nil when
// the stream broke before its end.
func (r *remote) buildLog(ctx context.Context, project string, id int64, fn func(line string)) (*store.Build, error) {
	resp, err := r.send(ctx, request{method: http.MethodGet, path: projectPath(project, "builds", strconv.FormatInt(id, 10), "log"), accept: "text/event-stream"})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, parseServerError(resp, data)
	}
	var end *store.Build
	errEnd := errors.New("end")
	err = readEvents(resp.Body, func(event, data string) error {
		switch event {
		case "line":
			var l struct {
				Line string `json:"line"`
			}
			if json.Unmarshal([]byte(data), &l) == nil {
				fn(l.Line)
			}
		case "end":
			var b store.Build
			if json.Unmarshal([]byte(data), &b) == nil {
				end = &b
			}
			return errEnd
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnd) {
		if ctx.Err() != nil {
			return nil, &netError{err: ctx.Err()}
		}
		return nil, err
	}
	if end == nil {
		return nil, &netError{err: errors.New("the build's log stream ended before the build did")}
	}
	return end, nil
}

// printBuildLog prints one build's log, following it while the build
// runs, then how it ended; a failed build exits 1.
func (a *app) printBuildLog(ctx context.Context, r *remote, src *source, id int64, jsonOut bool) error {
	enc := json.NewEncoder(a.stdout)
	end, err := r.buildLog(ctx, src.schema.Project, id, func(line string) {
		if jsonOut {
			_ = enc.Encode(map[string]string{"line": line})
			return
		}
		fmt.Fprintln(a.stdout, line)
	})
	if err != nil {
		var se *serverError
		if errors.As(err, &se) && se.Status == http.StatusNotFound && !strings.HasPrefix(se.Message, "no project") {
			return &exitError{code: exitInvalid, err: fmt.Errorf("builds: no build %d in %s", id, src.schema.Project)}
		}
		return r.fail(src.name, err)
	}
	if jsonOut {
		_ = enc.Encode(map[string]any{"build": end})
	} else {
		fmt.Fprintf(a.stderr, "build %d of %s at %s %s", end.ID, end.Element, dash(shortSHA(end.SHA)), end.Status)
		if !end.FinishedAt.IsZero() {
			fmt.Fprintf(a.stderr, " in %s", shortDuration(end.FinishedAt.Sub(end.StartedAt)))
		}
		if end.Size > 0 {
			fmt.Fprintf(a.stderr, " (%s)", humanBytes(uint64(end.Size)))
		}
		if end.Error != "" {
			fmt.Fprintf(a.stderr, ": %s", end.Error)
		}
		fmt.Fprintln(a.stderr)
	}
	if end.Status == store.BuildFailed {
		return &exitError{code: exitInvalid}
	}
	return nil
}

// printPlannedBuilds says which elements a deploy would build first:
// "api: build at abc1234", or "api: build at the head of main" when the
// deploy pins the element to its branch's head.
func (a *app) printPlannedBuilds(sc *schema.Schema, builds []plannedBuild) {
	for _, b := range builds {
		if b.SHA != "" {
			fmt.Fprintf(a.stdout, "%s: build at %s\n", b.Element, shortSHA(b.SHA))
			continue
		}
		branch := "main"
		if e := sc.Element(b.Element); e != nil && e.Source != nil && e.Source.Branch != "" {
			branch = e.Source.Branch
		}
		fmt.Fprintf(a.stdout, "%s: build at the head of %s\n", b.Element, branch)
	}
}

// buildFollower prints the logs of the builds a deploy starts while its
// request is in flight (the server builds before it applies): it looks
// for new builds of the deploy's elements every second and follows each
// one's log, printing "api build | <line>".
type buildFollower struct {
	r        *remote
	project  string
	elements map[string]bool // empty: every element
	out      io.Writer
	mu       sync.Mutex // one line at a time on out
	// after is the newest build ID before the deploy: build IDs only
	// grow, so newer ones started after it (and server and client clocks
	// need not agree).
	after    int64
	wg       sync.WaitGroup
	followed map[int64]bool
}

// startBuildFollower begins following the builds of a deploy about to be
// sent; stop ends it. It returns nil (and follows nothing) when the server
// does not list builds.
func startBuildFollower(ctx context.Context, r *remote, project string, elements []string, out io.Writer) *buildFollower {
	list, enabled, err := r.builds(ctx, project, "", 1)
	if err != nil || !enabled {
		return nil
	}
	f := &buildFollower{r: r, project: project, elements: map[string]bool{}, out: out, followed: map[int64]bool{}}
	for _, e := range elements {
		f.elements[e] = true
	}
	if len(list) > 0 {
		f.after = list[0].ID
	}
	return f
}

// run looks for new builds every second until ctx ends, following each
// one's log with lctx (which outlives ctx by the drain).
func (f *buildFollower) run(ctx, lctx context.Context) {
	t := time.NewTicker(buildsPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f.poll(ctx, lctx)
	}
}

// poll follows each build of the deploy's elements that started after
// the deploy began and is not followed yet. One that already ended (a
// quick build, between two looks) is followed too: its log replays.
func (f *buildFollower) poll(ctx, lctx context.Context) {
	list, _, err := f.r.builds(ctx, f.project, "", 20)
	if err != nil {
		return
	}
	for _, b := range list {
		if b.ID <= f.after || f.followed[b.ID] || (len(f.elements) > 0 && !f.elements[b.Element]) {
			continue
		}
		f.followed[b.ID] = true
		f.wg.Go(func() {
			_, _ = f.r.buildLog(lctx, f.project, b.ID, func(line string) {
				f.mu.Lock()
				defer f.mu.Unlock()
				fmt.Fprintf(f.out, "%s build | %s\n", b.Element, line)
			})
		})
	}
}

// follow runs the follower while send (the deploy request) runs, then
// lets each log drain for up to buildsDrain, and returns send's error.
func (f *buildFollower) follow(ctx context.Context, send func() error) error {
	if f == nil {
		return send()
	}
	pctx, stopPolling := context.WithCancel(ctx)
	lctx, stopLogs := context.WithCancel(ctx)
	defer stopLogs()
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		f.run(pctx, lctx)
	}()
	err := send()
	stopPolling()
	<-polled
	if err == nil {
		// A build that ended since the last look (a failed one's lines
		// are in the answer already).
		f.poll(lctx, lctx)
	}
	drained := make(chan struct{})
	go func() {
		f.wg.Wait()
		close(drained)
	}()
	select {
	case <-drained:
	case <-time.After(buildsDrain):
		stopLogs()
		<-drained
	}
	return err
}
