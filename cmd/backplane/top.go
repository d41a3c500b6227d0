package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/observe/metrics"
	"github.com/backplane-dev/backplane/translator"
)

// topOptions are the flags of `backplane top`.
type topOptions struct {
	region, element string
	interval        time.Duration
	once            bool
}

// minTopInterval is the shortest refresh: Nomad's clients collect stats
// once a second by default, so refreshing faster shows the same figures.
const minTopInterval = time.Second

func (a *app) topCmd() *cobra.Command {
	var f clusterFlags
	var o topOptions
	cmd := &cobra.Command{
		Use:   "top",
		Short: "Show each instance's CPU, memory and restarts, live",
		Long: `Top prints a table of the project's instances, one row per allocation that
runs or is being placed:

  ELEMENT REGION ALLOC STATE CPU MEM/LIMIT RESTARTS UPTIME

CPU is what the instance uses and its share of the reservation
("35 MHz (12%)"; it may pass 100% where Nomad lets a task use idle CPU);
MEM is its resident memory against its limit ("61.2 MiB / 64 MiB (96%)").
Both include sidecars, as the reservation does. Rows are sorted by element,
region and allocation. A pending instance shows "-" for its figures, and so
does one whose stats could not be read; the table then ends with a note
naming the error.

On a terminal the table refreshes in place every --interval (default 2s),
fits the window and follows its resizes, until Ctrl-C. When stdout is not
a terminal a new table is printed every interval instead. --once prints
one table and exits; --json prints one document {"instances": [...], "at"}
and exits.

The project is the schema file's (-f). With a Backplane server configured
(BACKPLANE_SERVER or backplane login) the figures come from its API, with
your role there (a viewer's right); otherwise straight from Nomad
(NOMAD_ADDR, NOMAD_TOKEN), one stats read per running instance per refresh.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runTop(&f, &o)
		},
	}
	f.cmd = cmd
	fl := cmd.Flags()
	fl.StringVar(&f.server, "server", "", "go through this Backplane server (env "+envServer+"; default: the one backplane login stored; --server= reads Nomad directly)")
	fl.StringVarP(&f.file, "file", "f", "backplane.yaml", "schema file, which names the project and its elements (YAML or JSON; - for stdin)")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON document {\"instances\", \"at\"} and exit (implies --once)")
	fl.StringVar(&o.region, "region", "", "only this region")
	fl.StringVar(&o.element, "element", "", "only this element")
	fl.DurationVar(&o.interval, "interval", 2*time.Second, "time between refreshes (at least 1s)")
	fl.BoolVar(&o.once, "once", false, "print one table and exit")
	return cmd
}

// topSource is where snapshots come from: Nomad, or a server's API.
type topSource interface {
	// snapshot reads every instance now. notes are problems that are not
	// about one instance (a region that cannot be asked), one line each.
	snapshot(ctx context.Context) (snap metrics.Snapshot, notes []string, err error)
	// fatal reports whether an error ends a live top (it retries others).
	fatal(err error) bool
	// fail turns an error into the command's.
	fail(err error) error
}

func (a *app) runTop(f *clusterFlags, o *topOptions) error {
	if o.interval < minTopInterval {
		return &exitError{code: exitUsage, err: fmt.Errorf("top: --interval: want at least %s, got %s", minTopInterval, o.interval)}
	}
	src, project, err := a.topSource(f, o)
	if err != nil {
		return err
	}
	ctx, cancel := signalContext()
	defer cancel()
	snap, notes, err := src.snapshot(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return src.fail(err)
	}
	if f.jsonOut {
		for _, n := range notes {
			fmt.Fprintf(a.stderr, "top: note: %s\n", n)
		}
		return writeJSON(a.stdout, snap)
	}
	if o.once {
		for _, l := range topTable(snap, notes, nil).lines() {
			fmt.Fprintln(a.stdout, l)
		}
		return nil
	}
	return a.liveTop(ctx, src, project, o.interval, snap, notes)
}

// liveTop redraws the table every interval, and on a terminal also when
// the window is resized, until ctx ends (Ctrl-C), which is a success. A
// refresh that fails is shown and retried, unless the source says the
// failure is for good.
func (a *app) liveTop(ctx context.Context, src topSource, project string, interval time.Duration, snap metrics.Snapshot, notes []string) error {
	screen := newTopScreen(a.stdout)
	resized := make(chan os.Signal, 1)
	if screen.tty {
		signal.Notify(resized, syscall.SIGWINCH)
		defer signal.Stop(resized)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var widths []int
	var failed error
	draw := func() {
		t := topTable(snap, notes, widths)
		widths = t.widths
		head := fmt.Sprintf("backplane top: %s, every %s, at %s (Ctrl-C quits)", project, interval, snap.At.Local().Format("15:04:05"))
		t.head = []string{head}
		if failed != nil {
			t.head = append(t.head, "refresh failed: "+oneLine(failed.Error())+"; retrying")
		}
		screen.draw(t)
	}
	draw()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-resized:
			screen.resized()
			draw()
		case <-tick.C:
			s, n, err := src.snapshot(ctx)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				if src.fatal(err) {
					return src.fail(err)
				}
				failed = err
				if !screen.tty {
					fmt.Fprintf(a.stderr, "top: refresh failed: %s; retrying\n", oneLine(err.Error()))
					continue
				}
			} else {
				snap, notes, failed = s, n, nil
			}
			draw()
		}
	}
}

// topSource picks the server's API when one is configured, else Nomad. It
// checks --element and --region against the schema first, so a typo is a
// usage error and not an empty table.
func (a *app) topSource(f *clusterFlags, o *topOptions) (topSource, string, error) {
	r, err := a.remoteFor(f, "top")
	if err != nil {
		return nil, "", err
	}
	if r != nil {
		src, err := a.remoteSource(f)
		if err != nil {
			return nil, "", err
		}
		if o.element != "" && !src.hasElement(o.element) {
			return nil, "", &exitError{code: exitUsage, err: fmt.Errorf("top: --element: no element %q in %s", o.element, src.name)}
		}
		// The regions are checked when the schema translates here; the
		// server may know kinds this machine does not.
		if reg, err := a.registry(); err == nil {
			if b, err := translator.Translate(src.schema, reg, translator.Options{}); err == nil {
				if _, err := topTargets(src.name, b, o); err != nil {
					return nil, "", err
				}
			}
		}
		return &remoteTop{r: r, file: src.name, project: src.schema.Project, element: o.element, region: o.region}, src.schema.Project, nil
	}
	reg, err := a.registry()
	if err != nil {
		return nil, "", err
	}
	s, err := a.load(f.file)
	if err != nil {
		return nil, "", err
	}
	name := f.file
	if name == "-" {
		name = "<stdin>"
	}
	// Only the jobs' IDs, regions and namespaces matter here: the
	// reservations are read from the jobs Nomad runs.
	b, err := a.translate(f.file, s, reg, translator.Options{})
	if err != nil {
		return nil, "", err
	}
	targets, err := topTargets(name, b, o)
	if err != nil {
		return nil, "", err
	}
	cluster, err := jobs.Connect(jobs.FromEnv(), nil)
	if err != nil {
		return nil, "", &exitError{code: exitUsage, err: err}
	}
	return newClusterTop(s.Project, targets, cluster.StatusAll, cluster.AllocStats), s.Project, nil
}

// topTargets are the bundle's jobs that --element and --region keep; a
// filter that keeps none is a usage error.
func topTargets(file string, b *translator.Bundle, o *topOptions) ([]jobs.Target, error) {
	all := jobs.Targets(b)
	if o.element != "" {
		all = jobs.Targets(b, o.element)
		if len(all) == 0 {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("top: --element: no element %q in %s", o.element, file)}
		}
	}
	if o.region == "" {
		return all, nil
	}
	var kept []jobs.Target
	var regions []string
	for _, t := range all {
		if t.Region == o.region {
			kept = append(kept, t)
		}
		if !slices.Contains(regions, t.Region) {
			regions = append(regions, t.Region)
		}
	}
	if len(kept) == 0 {
		sort.Strings(regions)
		what := "no element of " + file
		if o.element != "" {
			what = o.element
		}
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("top: --region: %s runs in region %q (regions: %s)", what, o.region, strings.Join(regions, ", "))}
	}
	return kept, nil
}

// clusterTop reads Nomad directly: the jobs' statuses (which list their
// instances and reservation), then one stats read per running instance,
// in parallel and bounded, through the same sampler serve uses.
type clusterTop struct {
	project string
	targets []jobs.Target
	status  func(ctx context.Context, targets []jobs.Target) []jobs.Status
	sampler *metrics.Sampler
}

func newClusterTop(project string, targets []jobs.Target, status func(context.Context, []jobs.Target) []jobs.Status, stats metrics.StatsReader) *clusterTop {
	s := metrics.NewSampler(metrics.SamplerConfig{Stats: stats})
	s.Track(project, targets) // so stats reads carry each job's namespace
	return &clusterTop{project: project, targets: targets, status: status, sampler: s}
}

func (c *clusterTop) snapshot(ctx context.Context) (metrics.Snapshot, []string, error) {
	statuses := c.status(ctx, c.targets)
	var notes, absent []string
	for _, st := range statuses {
		switch {
		case st.State == jobs.StateUnknown:
			notes = append(notes, fmt.Sprintf("%s in %s: %s", st.Element, st.Region, oneLine(st.LastEvent)))
		case st.Signals == nil:
			absent = append(absent, st.Element+" in "+st.Region)
		}
	}
	if len(absent) > 0 {
		notes = append(notes, "not deployed: "+strings.Join(absent, ", "))
	}
	if err := ctx.Err(); err != nil {
		return metrics.Snapshot{}, nil, err
	}
	snap := c.sampler.Now(ctx, c.project, statuses)
	return normalizeSnapshot(snap), notes, nil
}

func (c *clusterTop) fatal(error) bool { return false }

func (c *clusterTop) fail(err error) error {
	return &exitError{code: exitInvalid, err: fmt.Errorf("top: %w", err)}
}

// remoteTop reads GET /projects/{p}/metrics/now on a Backplane server.
type remoteTop struct {
	r                        *remote
	file                     string // the schema file, as messages name it
	project, element, region string
}

func (s *remoteTop) snapshot(ctx context.Context) (metrics.Snapshot, []string, error) {
	v := url.Values{}
	if s.element != "" {
		v.Set("element", s.element)
	}
	if s.region != "" {
		v.Set("region", s.region)
	}
	path := projectPath(s.project, "metrics", "now")
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var snap metrics.Snapshot
	if err := s.r.do(ctx, request{method: http.MethodGet, path: path}, &snap); err != nil {
		return metrics.Snapshot{}, nil, err
	}
	return normalizeSnapshot(snap), nil, nil
}

func (s *remoteTop) fatal(err error) bool { return fatal(err) }

func (s *remoteTop) fail(err error) error { return s.r.fail(s.file, err) }

// normalizeSnapshot sorts the instances by element, region and alloc, and
// makes an empty list [] rather than null in the JSON.
func normalizeSnapshot(s metrics.Snapshot) metrics.Snapshot {
	if s.Instances == nil {
		s.Instances = []metrics.Instance{}
	}
	sort.SliceStable(s.Instances, func(i, j int) bool {
		a, b := s.Instances[i], s.Instances[j]
		if a.Element != b.Element {
			return a.Element < b.Element
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		return a.Alloc < b.Alloc
	})
	if s.At.IsZero() {
		s.At = time.Now().UTC()
	}
	return s
}

// topColumns are the table's headers.
var topColumns = []string{"ELEMENT", "REGION", "ALLOC", "STATE", "CPU", "MEM/LIMIT", "RESTARTS", "UPTIME"}

// frame is one drawing of the table: heading lines, the header row and a
// row per instance, and the notes below.
type frame struct {
	head   []string
	header string
	rows   []string
	notes  []string
	widths []int
}

func (f frame) lines() []string {
	out := append([]string{}, f.head...)
	out = append(out, f.header)
	out = append(out, f.rows...)
	return append(out, f.notes...)
}

// fit returns the frame's lines in at most height lines (0: no limit),
// dropping rows (and saying how many) before the heading and notes.
func (f frame) fit(height int) []string {
	all := f.lines()
	if height <= 0 || len(all) <= height {
		return all
	}
	room := height - len(f.head) - 1 - len(f.notes) - 1 // the last 1: the "more" line
	if room < 0 {
		return all[:height]
	}
	out := append([]string{}, f.head...)
	out = append(out, f.header)
	out = append(out, f.rows[:room]...)
	out = append(out, fmt.Sprintf("… %d more (narrow with --element or --region)", len(f.rows)-room))
	return append(out, f.notes...)
}

// topTable lays out a snapshot. Columns are as wide as their widest cell
// and never narrower than in prev, so a live table does not jump about.
func topTable(snap metrics.Snapshot, notes []string, prev []int) frame {
	now := snap.At
	if now.IsZero() {
		now = time.Now()
	}
	cells := [][]string{topColumns}
	errs := map[string]int{}
	var firstErr []string
	failed := 0
	for _, in := range snap.Instances {
		cells = append(cells, topRow(in, now))
		if in.Error != "" {
			failed++
			e := oneLine(in.Error)
			if errs[e] == 0 {
				firstErr = append(firstErr, e)
			}
			errs[e]++
		}
	}
	widths := make([]int, len(topColumns))
	copy(widths, prev)
	for _, row := range cells {
		for i, c := range row {
			widths[i] = max(widths[i], len(c))
		}
	}
	var f frame
	f.widths = widths
	for i, row := range cells {
		var b strings.Builder
		for j, c := range row {
			if j == len(row)-1 {
				b.WriteString(c)
				break
			}
			b.WriteString(pad(c, widths[j]))
			b.WriteString("  ")
		}
		if i == 0 {
			f.header = b.String()
		} else {
			f.rows = append(f.rows, b.String())
		}
	}
	if len(snap.Instances) == 0 {
		f.rows = append(f.rows, "(no instance runs or is being placed)")
	}
	if failed > 0 {
		note := fmt.Sprintf("note: no figures for %s: %s", plural(failed, "instance"), firstErr[0])
		if len(firstErr) > 1 {
			note += fmt.Sprintf(" (and %s)", plural(len(firstErr)-1, "other error"))
		}
		f.notes = append(f.notes, note)
	}
	for _, n := range notes {
		f.notes = append(f.notes, "note: "+n)
	}
	return f
}

// topRow is one instance's cells.
func topRow(in metrics.Instance, now time.Time) []string {
	alloc := in.Alloc
	if len(alloc) > 8 {
		alloc = alloc[:8]
	}
	cpu, mem, uptime := "-", "-", "-"
	if !in.At.IsZero() && in.Error == "" {
		cpu = humanMHz(in.CPUMHz)
		if in.CPUReservedMHz > 0 {
			cpu += " (" + humanPercent(in.CPUPercent) + ")"
		}
		mem = humanBytes(in.MemoryBytes)
		if in.MemoryLimitBytes > 0 {
			mem += " / " + humanBytes(in.MemoryLimitBytes) + " (" + humanPercent(in.MemoryPercent) + ")"
		}
	}
	if in.State == "running" && !in.StartedAt.IsZero() {
		uptime = humanUptime(now.Sub(in.StartedAt))
	}
	return []string{dash(in.Element), dash(in.Region), dash(alloc), dash(in.State), cpu, mem, strconv.Itoa(in.Restarts), uptime}
}

// oneDecimal prints v with one decimal, or none when that decimal is 0.
func oneDecimal(v float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0")
}

// humanBytes prints a size in binary units: 512 B, 61.2 MiB, 64 MiB.
func humanBytes(b uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	if b < 1024 {
		return strconv.FormatUint(b, 10) + " B"
	}
	v := float64(b)
	i := 0
	for i < len(units)-1 && (v >= 1024 || oneDecimal(v) == "1024") {
		v /= 1024
		i++
	}
	return oneDecimal(v) + " " + units[i]
}

// humanMHz prints CPU use: one decimal below 10 MHz, whole MHz above.
func humanMHz(v float64) string {
	if v < 9.95 {
		return oneDecimal(v) + " MHz"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + " MHz"
}

// humanPercent prints a percentage: one decimal below 10%, whole above.
func humanPercent(p float64) string {
	if p < 9.95 {
		return oneDecimal(p) + "%"
	}
	return strconv.FormatFloat(p, 'f', 0, 64) + "%"
}

// humanUptime prints a duration in its two largest units: 45s, 12m5s,
// 3h4m, 2d5h.
func humanUptime(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%dh", s/86400, s%86400/3600)
}

// topScreen draws frames. On a terminal each frame replaces the last in
// place (from the top left, each line cleared to its end, the rest of the
// screen below cleared), cut to the window's width and height so nothing
// wraps or scrolls; after a resize the screen is cleared first, since the
// terminal may have reflowed the old frame. Elsewhere frames are printed
// one after another, without escape codes.
type topScreen struct {
	w     io.Writer
	tty   bool
	size  func() (width, height int)
	clear bool // clear the screen before the next frame
	drawn bool
}

func newTopScreen(w io.Writer) *topScreen {
	s := &topScreen{w: w, size: func() (int, int) { return 0, 0 }, clear: true}
	if f, ok := w.(*os.File); ok && isTerminal(w) {
		s.tty = true
		s.size = func() (int, int) {
			width, height, err := term.GetSize(int(f.Fd()))
			if err != nil {
				return 0, 0
			}
			return width, height
		}
	}
	return s
}

// resized makes the next frame start on a cleared screen.
func (s *topScreen) resized() { s.clear = true }

func (s *topScreen) draw(f frame) {
	var b strings.Builder
	if !s.tty {
		if s.drawn {
			b.WriteString("\n")
		}
		for _, l := range f.lines() {
			b.WriteString(l)
			b.WriteString("\n")
		}
		s.drawn = true
		_, _ = io.WriteString(s.w, b.String())
		return
	}
	width, height := s.size()
	// One line fewer than the window: the cursor rests on the last one,
	// and a frame as tall as the window would scroll it.
	lines := f.fit(height - 1)
	if s.clear {
		b.WriteString("\033[H\033[2J")
		s.clear = false
	} else {
		b.WriteString("\033[H")
	}
	for _, l := range lines {
		// One column short of the width: a full line leaves the cursor
		// waiting to wrap, where clearing to the end would eat its last
		// character.
		b.WriteString(cut(l, width-1))
		b.WriteString("\033[K\n")
	}
	b.WriteString("\033[J")
	s.drawn = true
	_, _ = io.WriteString(s.w, b.String())
}

// cut shortens s to n characters (runes); n <= 0 leaves it whole.
func cut(s string, n int) string {
	if n <= 0 {
		return s
	}
	k := 0
	for i := range s {
		if k == n {
			return s[:i]
		}
		k++
	}
	return s
}
