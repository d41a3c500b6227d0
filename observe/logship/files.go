package logship

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// logFile is one of Nomad's log files: <task>.<stream>.<index>.
type logFile struct {
	index int
	size  int64
}

// listing is what the logs folder holds, per stream, by index.
type listing map[streamKey][]logFile

// scanLogs lists dir. Files that are not Nomad log files (the .fifo pipes,
// anything else) and the files of task self are left out.
func scanLogs(dir, self string) (listing, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := listing{}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		key, index, ok := parseLogName(e.Name())
		if !ok || key.Task == self {
			continue
		}
		info, err := e.Info()
		if err != nil { // removed since ReadDir
			continue
		}
		out[key] = append(out[key], logFile{index: index, size: info.Size()})
	}
	for _, files := range out {
		sort.Slice(files, func(i, j int) bool { return files[i].index < files[j].index })
	}
	return out, nil
}

// parseLogName reads "<task>.stdout.<N>" and "<task>.stderr.<N>".
func parseLogName(name string) (streamKey, int, bool) {
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 || dot == len(name)-1 {
		return streamKey{}, 0, false
	}
	index, err := strconv.Atoi(name[dot+1:])
	if err != nil || index < 0 || name[dot+1] == '+' {
		return streamKey{}, 0, false
	}
	key, ok := parseStreamName(name[:dot])
	if !ok {
		return streamKey{}, 0, false
	}
	return key, index, true
}

func logPath(dir string, key streamKey, index int) string {
	return filepath.Join(dir, fmt.Sprintf("%s.%s.%d", key.Task, key.Stream, index))
}

// stream is one task's stdout or stderr: its labels, shared by every entry
// read from it.
type stream struct {
	key    streamKey
	labels string // {alloc="…", …, stream="stdout", task="api"}
}

// entry is one line ready to push. end is the position just after it, which
// becomes the stream's offset once Loki has acknowledged it.
type entry struct {
	stream *stream
	ts     time.Time
	line   string
	end    position
	more   bool // another piece of the same line follows
}

// entryOverhead is what an entry counts for besides its line in the
// buffer and batch sizes: about what it costs in memory, so that a flood of
// short lines is bounded like a few long ones.
const entryOverhead = 100

func (e *entry) size() int { return len(e.line) + entryOverhead }

// segment is a run of bytes of an unfinished line that came from one file
// and ends at end.
type segment struct {
	index int
	end   int64
	n     int
}

// tail follows one stream through its chain of files.
type tail struct {
	s       *stream
	dir     string
	max     int // MaxLineBytes
	f       *os.File
	pos     position // the next byte to read
	started bool     // pos has been set (from the state or the first file)
	partial []byte   // an unfinished line
	segs    []segment
	lastTS  time.Time
	sizes   map[int]int64 // sizes seen in listings, for what is lost
	lastErr string        // the last read error reported, so it is not repeated
}

// lost is data that went away before it was read.
type lost struct {
	files int
	bytes int64
}

// observe records the sizes of the stream's files in a listing, so that a
// file removed before it is read is counted with its size.
func (t *tail) observe(files []logFile) {
	for _, f := range files {
		if !t.started || f.index >= t.pos.Index {
			t.sizes[f.index] = f.size
		}
	}
}

// read reads the stream, following rotation as listed in files, and appends
// complete lines to out until their size (entry.size) reaches budget or
// maxRead bytes were read. It returns the bytes read and what was lost.
func (t *tail) read(files []logFile, budget, maxRead int, buf []byte, now time.Time, out []entry) ([]entry, int, lost, error) {
	var gone lost
	if !t.started {
		if len(files) == 0 {
			return out, 0, gone, nil
		}
		t.pos = position{Index: files[0].index}
		t.started = true
	}
	total, produced, from := 0, 0, len(out)
	for total < maxRead && produced < budget {
		if t.f == nil {
			ok, err := t.open(files, &gone)
			if err != nil || !ok {
				return out, total, gone, err
			}
		}
		n, err := t.f.Read(buf[:min(len(buf), maxRead-total)])
		if n > 0 {
			t.pos.Offset += int64(n)
			total += n
			out = t.consume(buf[:n], now, out)
			for i := from; i < len(out); i++ {
				produced += out[i].size()
			}
			from = len(out)
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return out, total, gone, fmt.Errorf("read %s: %w", logPath(t.dir, t.s.key, t.pos.Index), err)
		}
		// At the end of this file: Nomad writes only to the newest index,
		// and files was listed before this read, so a newer index in it
		// means this file is complete.
		next, ok := nextIndex(files, t.pos.Index)
		if !ok {
			return out, total, gone, nil
		}
		t.close()
		t.skipTo(next, &gone)
	}
	return out, total, gone, nil
}

// open opens the file at t.pos, moving on past files that were removed.
func (t *tail) open(files []logFile, gone *lost) (bool, error) {
	for {
		path := logPath(t.dir, t.s.key, t.pos.Index)
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			next, ok := nextIndex(files, t.pos.Index)
			if !ok {
				return false, nil
			}
			if size, known := t.sizes[t.pos.Index]; known && size > t.pos.Offset {
				gone.bytes += size - t.pos.Offset
			}
			gone.files++
			t.skipTo(next, gone)
			continue
		}
		if err != nil {
			return false, fmt.Errorf("open %s: %w", path, err)
		}
		info, err := f.Stat()
		if err != nil {
			f.Close()
			return false, fmt.Errorf("open %s: %w", path, err)
		}
		if info.Size() < t.pos.Offset {
			// Shorter than what was read: not the file the offset was for.
			t.pos.Offset = 0
		}
		if _, err := f.Seek(t.pos.Offset, io.SeekStart); err != nil {
			f.Close()
			return false, fmt.Errorf("open %s: %w", path, err)
		}
		t.f = f
		return true, nil
	}
}

// skipTo moves to the start of index next, counting the files in between
// (removed before they were read) as lost.
func (t *tail) skipTo(next int, gone *lost) {
	for i := t.pos.Index + 1; i < next; i++ {
		gone.files++
		gone.bytes += t.sizes[i]
	}
	for i := range t.sizes {
		if i < next {
			delete(t.sizes, i)
		}
	}
	t.pos = position{Index: next}
}

func nextIndex(files []logFile, after int) (int, bool) {
	for _, f := range files {
		if f.index > after {
			return f.index, true
		}
	}
	return 0, false
}

func (t *tail) close() {
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
}

// consume splits freshly read bytes (which end at t.pos) into lines.
func (t *tail) consume(data []byte, now time.Time, out []entry) []entry {
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		line := data[:i]
		if len(t.partial) > 0 {
			t.partial = append(t.partial, line...)
			line = t.partial
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		data = data[i+1:]
		end := position{Index: t.pos.Index, Offset: t.pos.Offset - int64(len(data))}
		out = t.emit(out, line, false, end, now)
		t.partial, t.segs = t.partial[:0], t.segs[:0]
	}
	if len(data) == 0 {
		return out
	}
	t.partial = append(t.partial, data...)
	if k := len(t.segs); k > 0 && t.segs[k-1].index == t.pos.Index {
		t.segs[k-1].end = t.pos.Offset
		t.segs[k-1].n += len(data)
	} else {
		t.segs = append(t.segs, segment{index: t.pos.Index, end: t.pos.Offset, n: len(data)})
	}
	// An unfinished line longer than a Loki line goes out in pieces now, so
	// memory stays bounded however long the line gets.
	for len(t.partial) > t.max {
		cut := rawCut(t.partial, t.max-len(LineSplitMarker))
		out = t.emit(out, t.partial[:cut], true, t.partialPos(cut), now)
		t.dropPartial(cut)
	}
	return out
}

// flushPartial emits an unfinished line as it is (used when stopping).
func (t *tail) flushPartial(now time.Time, out []entry) []entry {
	if len(t.partial) == 0 {
		return out
	}
	out = t.emit(out, t.partial, false, t.partialPos(len(t.partial)), now)
	t.partial, t.segs = t.partial[:0], t.segs[:0]
	return out
}

// partialPos is the position just after the first c bytes of the partial.
func (t *tail) partialPos(c int) position {
	acc := 0
	for _, s := range t.segs {
		if c <= acc+s.n {
			return position{Index: s.index, Offset: s.end - int64(acc+s.n-c)}
		}
		acc += s.n
	}
	return t.pos
}

// dropPartial removes the first c bytes of the partial.
func (t *tail) dropPartial(c int) {
	t.partial = append(t.partial[:0], t.partial[c:]...)
	for c > 0 && len(t.segs) > 0 {
		if t.segs[0].n <= c {
			c -= t.segs[0].n
			t.segs = t.segs[1:]
			continue
		}
		t.segs[0].n -= c
		c = 0
	}
}

// emit appends the entries of one line, several if it is split. All carry
// the line's end position; every piece but the last has more set, and a
// batch never ends on such a piece, so the end is committed only once the
// whole line is acknowledged.
func (t *tail) emit(out []entry, raw []byte, continues bool, end position, now time.Time) []entry {
	var buf [1]string
	pieces := splitLine(buf[:0], raw, t.max, continues)
	for i, p := range pieces {
		ts := now
		if !ts.After(t.lastTS) {
			ts = t.lastTS.Add(time.Nanosecond)
		}
		t.lastTS = ts
		out = append(out, entry{stream: t.s, ts: ts, line: p, end: end, more: i < len(pieces)-1})
	}
	return out
}
