package logs

import (
	"cmp"
	"hash/fnv"
	"slices"
	"time"
)

// Line is one log line with the labels that say where it came from.
type Line struct {
	TS      time.Time `json:"ts"`
	Element string    `json:"element"`
	Region  string    `json:"region"`
	Alloc   string    `json:"alloc"`
	Task    string    `json:"task"`
	Stream  string    `json:"stream"`
	Line    string    `json:"line"`
}

// lineFromLabels makes a Line of a Loki stream's labels and one entry.
func lineFromLabels(labels map[string]string, ts time.Time, text string) Line {
	return Line{
		TS: ts, Line: text,
		Element: labels[LabelElement], Region: labels[LabelRegion], Alloc: labels[LabelAlloc],
		Task: labels[LabelTask], Stream: labels[LabelStream],
	}
}

// key identifies a line among those of the same timestamp: Loki keeps one
// entry per stream, timestamp and text.
func (l Line) key() uint64 {
	h := fnv.New64a()
	for _, s := range []string{l.Element, l.Region, l.Alloc, l.Task, l.Stream, l.Line} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// sortLines orders lines by time in the direction, ties by key, so that a
// page is the same whichever order Loki's streams came in.
func sortLines(lines []Line, d Direction) {
	slices.SortStableFunc(lines, func(a, b Line) int {
		c := a.TS.Compare(b.TS)
		if d == Backward {
			c = -c
		}
		if c != 0 {
			return c
		}
		return cmp.Compare(a.key(), b.key())
	})
}

// Dedup drops the lines already delivered when a stream is reopened from
// the time of its newest line: everything older than that time, and the
// lines of exactly that time that were seen. Until the first Resume every
// line is fresh, in whatever order it comes (a tail's lines from several
// streams may be a little out of order).
type Dedup struct {
	newest   time.Time
	atNewest map[uint64]struct{}
	cut      time.Time
	atCut    map[uint64]struct{}
}

// Fresh reports whether l was not delivered before the last Resume, and
// records it.
func (d *Dedup) Fresh(l Line) bool {
	k := l.key()
	if !d.cut.IsZero() {
		switch c := l.TS.Compare(d.cut); {
		case c < 0:
			return false
		case c == 0:
			if _, ok := d.atCut[k]; ok {
				return false
			}
		}
	}
	d.note(l.TS, k)
	return true
}

func (d *Dedup) note(ts time.Time, k uint64) {
	switch c := ts.Compare(d.newest); {
	case c > 0:
		d.newest = ts
		d.atNewest = map[uint64]struct{}{k: {}}
	case c == 0:
		if d.atNewest == nil {
			d.atNewest = map[uint64]struct{}{}
		}
		d.atNewest[k] = struct{}{}
	}
}

// Resume is the time a reopened stream starts at: that of the newest line
// delivered (zero when there was none). From now on Fresh drops the lines
// delivered up to it.
func (d *Dedup) Resume() time.Time {
	d.cut = d.newest
	d.atCut = make(map[uint64]struct{}, len(d.atNewest))
	for k := range d.atNewest {
		d.atCut[k] = struct{}{}
	}
	return d.newest
}
