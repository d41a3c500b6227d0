package logship

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafana/loki-client-go/pkg/logproto"
)

// Stats counts what a shipper did. LinesDropped and BytesDropped are what
// never reached Loki: batches Loki refused for good, and files Nomad
// removed before they were read (counted in FilesLost too; their lines
// cannot be counted, only their bytes).
type Stats struct {
	LinesSent    int64
	BytesSent    int64
	Batches      int64
	Retries      int64
	LinesDropped int64
	BytesDropped int64
	FilesLost    int64
}

// Shipper tails a group's log files and pushes them to Loki.
type Shipper struct {
	cfg    Config
	log    *slog.Logger
	pusher *pusher
	logDir string

	mu       sync.Mutex
	queue    []entry
	buffered int           // bytes of entries read and not yet acknowledged
	wake     chan struct{} // entries were queued
	space    chan struct{} // buffered went down

	// committed is the offset per stream that Loki has acknowledged. Only
	// the sending goroutine touches it after Run starts.
	committed map[streamKey]position

	linesSent, bytesSent, batches, retries atomic.Int64
	linesDropped, bytesDropped, filesLost  atomic.Int64
}

// New checks cfg and returns a shipper; Run starts it.
func New(cfg Config) (*Shipper, error) {
	if err := cfg.fill(); err != nil {
		return nil, fmt.Errorf("logship: %w", err)
	}
	return &Shipper{
		cfg:    cfg,
		log:    cfg.Logger.With("component", "logship"),
		logDir: filepath.Join(cfg.AllocDir, "logs"),
		pusher: &pusher{url: cfg.pushURL(), tenant: cfg.Tenant, encoding: cfg.Encoding,
			client: cfg.HTTPClient, timeout: cfg.PushTimeout},
		wake:  make(chan struct{}, 1),
		space: make(chan struct{}, 1),
	}, nil
}

// Stats returns the counters so far; safe to call while Run runs.
func (s *Shipper) Stats() Stats {
	return Stats{
		LinesSent: s.linesSent.Load(), BytesSent: s.bytesSent.Load(),
		Batches: s.batches.Load(), Retries: s.retries.Load(),
		LinesDropped: s.linesDropped.Load(), BytesDropped: s.bytesDropped.Load(),
		FilesLost: s.filesLost.Load(),
	}
}

// Run ships until ctx ends, then reads what is left, sends it within
// FlushTimeout and saves the offsets. It returns an error only when it
// cannot start (unreadable state) or could not save the offsets; Loki being
// down is not an error, and whatever was not sent is read again by the next
// Run from the saved offsets.
func (s *Shipper) Run(ctx context.Context) error {
	start, err := loadState(s.cfg.StateFile)
	if errors.Is(err, errCorruptState) {
		// A sidecar that never starts again ships nothing; one that starts
		// over repeats lines. Keep the bad file for a look, and start over.
		aside := s.cfg.StateFile + ".corrupt"
		_ = os.Rename(s.cfg.StateFile, aside)
		s.log.Warn("offsets unreadable; shipping every file from its start, so lines may repeat", "err", err, "moved_to", aside)
		start, err = map[streamKey]position{}, nil
	}
	if err != nil {
		return fmt.Errorf("logship: %w", err)
	}
	s.committed = make(map[streamKey]position, len(start))
	for k, p := range start {
		s.committed[k] = p
	}
	s.log.Info("shipping logs", "dir", s.logDir, "loki", s.pusher.url, "state", s.cfg.StateFile, "streams_resumed", len(start))

	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		s.readLoop(ctx, start)
	}()
	// Pushes run under hard, which ends FlushTimeout after ctx: a push in
	// flight when ctx ends gets its answer, rather than being cut off after
	// Loki stored it and then sent again by the flush.
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()
	stopTimer := context.AfterFunc(ctx, func() { time.AfterFunc(s.cfg.FlushTimeout, cancelHard) })
	defer stopTimer()
	err = s.sendLoop(ctx, hard, readerDone)
	st := s.Stats()
	s.log.Info("stopped", "lines_sent", st.LinesSent, "batches", st.Batches, "lines_dropped", st.LinesDropped,
		"bytes_dropped", st.BytesDropped, "files_lost", st.FilesLost, "lines_unsent", s.unsent())
	return err
}

func (s *Shipper) unsent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// readBudget is how much of one stream is read before the next stream gets
// its turn, and readBuf the size of one read: the buffer can go past
// BufferBytes by the lines of one read.
const (
	readBudget = 1 << 20
	readBuf    = 32 << 10
)

// readLoop polls the logs folder and reads every stream into the queue
// until ctx ends, then makes one last pass and emits unfinished lines.
func (s *Shipper) readLoop(ctx context.Context, start map[streamKey]position) {
	tails := map[streamKey]*tail{}
	defer func() {
		for _, t := range tails {
			t.close()
		}
	}()
	buf := make([]byte, readBuf)
	var out []entry
	missing := false
	for {
		stopping := ctx.Err() != nil
		files, err := scanLogs(s.logDir, s.cfg.Self)
		if err != nil {
			if !missing {
				s.log.Warn("cannot list the log folder; waiting for it", "dir", s.logDir, "err", err)
				missing = true
			}
		} else {
			missing = false
		}
		progress := false
		for _, key := range sortedKeys(files) {
			t := tails[key]
			if t == nil {
				t = s.newTail(key, start)
				tails[key] = t
			}
			t.observe(files[key])
			room := s.room()
			if room <= 0 {
				continue
			}
			var n int
			var gone lost
			was := t.pos.Index
			out, n, gone, err = t.read(files[key], room, readBudget, buf, s.cfg.Now(), out[:0])
			if t.pos.Index != was {
				s.log.Debug("following rotation", "task", key.Task, "stream", key.Stream, "from", was, "to", t.pos.Index)
			}
			if err != nil && err.Error() != t.lastErr {
				s.log.Warn("read failed; retrying", "task", key.Task, "stream", key.Stream, "err", err)
			}
			if err != nil {
				t.lastErr = err.Error()
			} else {
				t.lastErr = ""
			}
			if gone.files > 0 || gone.bytes > 0 {
				s.lost(key, gone)
			}
			s.enqueue(out)
			progress = progress || n > 0
		}
		if stopping {
			out = out[:0]
			for _, key := range sortedTailKeys(tails) {
				out = tails[key].flushPartial(s.cfg.Now(), out)
			}
			s.enqueue(out)
			return
		}
		full := s.room() <= 0
		if progress && !full {
			continue
		}
		// Idle: look again after PollInterval. Full: wait for the sender
		// to free room.
		var space <-chan struct{}
		if full {
			space = s.space
		}
		timer := time.NewTimer(s.cfg.PollInterval)
		select {
		case <-ctx.Done():
		case <-timer.C:
		case <-space:
		}
		timer.Stop()
	}
}

func (s *Shipper) newTail(key streamKey, start map[streamKey]position) *tail {
	t := &tail{
		s:     &stream{key: key, labels: renderLabels(s.cfg.Labels, key)},
		dir:   s.logDir,
		max:   s.cfg.MaxLineBytes,
		sizes: map[int]int64{},
	}
	if p, ok := start[key]; ok {
		t.pos, t.started = p, true
	}
	return t
}

// lost reports data that went away before it was read.
func (s *Shipper) lost(key streamKey, gone lost) {
	s.filesLost.Add(int64(gone.files))
	s.bytesDropped.Add(gone.bytes)
	s.log.Warn("dropped log data: Nomad removed files before they were read (Loki down or too slow for too long)",
		"task", key.Task, "stream", key.Stream, "files", gone.files, "bytes", gone.bytes,
		"files_lost_total", s.filesLost.Load(), "bytes_dropped_total", s.bytesDropped.Load())
}

// room is how much more the buffer takes.
func (s *Shipper) room() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.BufferBytes - s.buffered
}

func (s *Shipper) enqueue(es []entry) {
	if len(es) == 0 {
		return
	}
	n := 0
	for i := range es {
		n += es[i].size()
	}
	s.mu.Lock()
	s.queue = append(s.queue, es...)
	s.buffered += n
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// release gives back the buffer room of acknowledged or dropped entries.
func (s *Shipper) release(n int) {
	s.mu.Lock()
	s.buffered -= n
	s.mu.Unlock()
	select {
	case s.space <- struct{}{}:
	default:
	}
}

// batch is entries taken from the queue to be pushed together.
type batch struct {
	entries []entry
	bytes   int
	start   time.Time
}

// take moves entries from the queue into b until it holds BatchBytes; it
// never stops inside a split line.
func (s *Shipper) take(b *batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := 0
	for i < len(s.queue) && (b.bytes < s.cfg.BatchBytes || (len(b.entries) > 0 && b.entries[len(b.entries)-1].more)) {
		if len(b.entries) == 0 {
			b.start = time.Now()
		}
		b.entries = append(b.entries, s.queue[i])
		b.bytes += s.queue[i].size()
		i++
	}
	if i == 0 {
		return
	}
	n := copy(s.queue, s.queue[i:])
	clear(s.queue[n:])
	s.queue = s.queue[:n]
}

// ready says whether b should go now.
func (s *Shipper) ready(b *batch) bool {
	if len(b.entries) == 0 || b.entries[len(b.entries)-1].more {
		return false
	}
	return b.bytes >= s.cfg.BatchBytes || time.Since(b.start) >= s.cfg.BatchWait
}

// sendLoop pushes batches until ctx ends, then flushes until hard ends.
func (s *Shipper) sendLoop(ctx, hard context.Context, readerDone <-chan struct{}) error {
	var b batch
	out := &outage{}
	for ctx.Err() == nil {
		s.take(&b)
		if !s.ready(&b) {
			var wait <-chan time.Time
			var timer *time.Timer
			if len(b.entries) > 0 {
				timer = time.NewTimer(s.cfg.BatchWait - time.Since(b.start))
				wait = timer.C
			}
			select {
			case <-ctx.Done():
			case <-s.wake:
			case <-wait:
			}
			if timer != nil {
				timer.Stop()
			}
			continue
		}
		if !s.deliver(ctx, hard, &b, out) {
			break // ctx ended during retries; b is flushed below
		}
		b = batch{entries: b.entries[:0]}
	}
	return s.flush(hard, readerDone, &b, out)
}

// flush sends what is left once ctx has ended, until hard ends, and saves
// the offsets.
func (s *Shipper) flush(hard context.Context, readerDone <-chan struct{}, b *batch, out *outage) error {
	select {
	case <-readerDone:
	case <-hard.Done():
	}
	for hard.Err() == nil {
		s.take(b)
		if len(b.entries) == 0 {
			break
		}
		if !s.deliver(hard, hard, b, out) {
			break
		}
		*b = batch{entries: b.entries[:0]}
	}
	if n := s.unsent() + len(b.entries); n > 0 {
		s.log.Warn("stopped before Loki took every line; the next start resumes from the saved offsets", "lines_unsent", n)
	}
	<-readerDone // the reader stops on its own once ctx has ended
	if err := saveState(s.cfg.StateFile, s.committed); err != nil {
		return fmt.Errorf("logship: %w", err)
	}
	return nil
}

// outage tracks a run of failed pushes, so that a long outage is reported
// once in a while rather than on every retry.
type outage struct {
	since    time.Time
	reported time.Time
	failures int
}

const reportEvery = 30 * time.Second

// deliver pushes b, under pushCtx, until Loki takes it, refuses it for
// good, or ctx ends (false). Taken or refused, the offsets move past b and
// its room in the buffer is released.
func (s *Shipper) deliver(ctx, pushCtx context.Context, b *batch, out *outage) bool {
	req, ends := s.request(b)
	backoff := s.cfg.MinBackoff
	for {
		began := time.Now()
		err := s.pusher.push(pushCtx, req)
		if err == nil {
			s.log.Debug("pushed", "lines", len(b.entries), "bytes", b.bytes, "streams", len(req.Streams), "took", time.Since(began).String())
			if out.failures > 0 {
				s.log.Info("loki takes pushes again", "down_for", time.Since(out.since).Round(time.Millisecond).String(), "failed_pushes", out.failures)
				*out = outage{}
			}
			s.linesSent.Add(int64(len(b.entries)))
			s.bytesSent.Add(int64(b.bytes))
			s.batches.Add(1)
			s.commit(ends, b.bytes)
			return true
		}
		var pe *pushError
		if errors.As(err, &pe) && !pe.Retry {
			s.linesDropped.Add(int64(len(b.entries)))
			s.bytesDropped.Add(int64(b.bytes))
			s.log.Warn("dropped log data: loki refused a batch", "lines", len(b.entries), "bytes", b.bytes, "err", err,
				"lines_dropped_total", s.linesDropped.Load(), "bytes_dropped_total", s.bytesDropped.Load())
			s.commit(ends, b.bytes)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		s.retries.Add(1)
		now := time.Now()
		if out.failures == 0 {
			out.since = now
		}
		out.failures++
		if now.Sub(out.reported) >= reportEvery {
			s.log.Warn("loki push failed; retrying with backoff, reading stops when the buffer is full",
				"err", err, "failed_pushes", out.failures, "retry_in", backoff.String())
			out.reported = now
		}
		// Full jitter on the upper half keeps many sidecars from retrying
		// in step after an outage.
		sleep := backoff/2 + rand.N(backoff/2+1)
		timer := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			timer.Stop()
			return false
		case <-timer.C:
		}
		backoff = min(2*backoff, s.cfg.MaxBackoff)
	}
}

// commit moves the offsets past an acknowledged (or refused) batch and
// saves them.
func (s *Shipper) commit(ends map[streamKey]position, n int) {
	for k, p := range ends {
		if cur, ok := s.committed[k]; !ok || cur.before(p) {
			s.committed[k] = p
		}
	}
	if err := saveState(s.cfg.StateFile, s.committed); err != nil {
		s.log.Warn("cannot save offsets; a restart would repeat lines", "err", err)
	}
	s.release(n)
}

// request builds the push request of b, a stream per task and stream, and
// the end offset of each.
func (s *Shipper) request(b *batch) (*logproto.PushRequest, map[streamKey]position) {
	idx := map[*stream]int{}
	ends := map[streamKey]position{}
	req := &logproto.PushRequest{}
	for i := range b.entries {
		e := &b.entries[i]
		j, ok := idx[e.stream]
		if !ok {
			j = len(req.Streams)
			idx[e.stream] = j
			req.Streams = append(req.Streams, logproto.Stream{Labels: e.stream.labels})
		}
		req.Streams[j].Entries = append(req.Streams[j].Entries, logproto.Entry{Timestamp: e.ts, Line: e.line})
		ends[e.stream.key] = e.end
	}
	return req, ends
}

// renderLabels is the label set of a stream in Loki's {k="v", …} form,
// sorted by name.
func renderLabels(base map[string]string, key streamKey) string {
	all := make(map[string]string, len(base)+2)
	for k, v := range base {
		all[k] = v
	}
	all["task"] = key.Task
	all["stream"] = key.Stream
	names := make([]string, 0, len(all))
	for k := range all {
		names = append(names, k)
	}
	sort.Strings(names)
	var sb strings.Builder
	sb.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(k)
		sb.WriteByte('=')
		sb.WriteString(strconv.Quote(all[k]))
	}
	sb.WriteByte('}')
	return sb.String()
}

func sortedKeys(l listing) []streamKey {
	keys := make([]streamKey, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sortStreamKeys(keys)
	return keys
}

func sortedTailKeys(m map[streamKey]*tail) []streamKey {
	keys := make([]streamKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStreamKeys(keys)
	return keys
}

func sortStreamKeys(keys []streamKey) {
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Task != keys[j].Task {
			return keys[i].Task < keys[j].Task
		}
		return keys[i].Stream < keys[j].Stream
	})
}
