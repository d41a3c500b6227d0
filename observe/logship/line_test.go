package logship

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSplitLine(t *testing.T) {
	const max = 64
	room := max - len(LineSplitMarker)
	long := strings.Repeat("a", 150)
	for _, tc := range []struct {
		name      string
		raw       string
		continues bool
		want      []string
	}{
		{"short", "hello", false, []string{"hello"}},
		{"empty", "", false, []string{""}},
		{"exactly max", strings.Repeat("b", max), false, []string{strings.Repeat("b", max)}},
		{"one over", strings.Repeat("b", max+1), false, []string{
			strings.Repeat("b", room) + LineSplitMarker, strings.Repeat("b", max+1-room)}},
		{"long", long, false, []string{
			long[:room] + LineSplitMarker, long[room:2*room] + LineSplitMarker, long[2*room:3*room] + LineSplitMarker, long[3*room:]}},
		{"continues", "tail", true, []string{"tail" + LineSplitMarker}},
		{"continues empty", "", true, nil},
		{"invalid bytes", "a\xffb\xc3", false, []string{"a\uFFFDb\uFFFD"}},
		{"run of invalid bytes is one replacement", "a\xff\xfe\xfdb", false, []string{"a\uFFFDb"}},
		{"cut keeps runes whole", strings.Repeat("é", 40), false, []string{
			strings.Repeat("é", room/2) + LineSplitMarker, strings.Repeat("é", 40-room/2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := splitLine(nil, []byte(tc.raw), max, tc.continues)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Fatalf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestRawCut(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    string
		n    int
		want int
	}{
		{"ascii", "abcdef", 3, 3},
		{"past the end", "abc", 10, 3},
		{"before a rune", "ab€cd", 2, 2},
		{"inside a 3-byte rune", "ab€cd", 3, 2},
		{"inside, last byte", "ab€cd", 4, 2},
		{"after the rune", "ab€cd", 5, 5},
		{"stray continuation bytes", "ab\x80\x80\x80\x80cd", 4, 4},
		{"truncated rune", "ab\xe2\x82", 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rawCut([]byte(tc.b), tc.n); got != tc.want {
				t.Fatalf("rawCut(%q, %d) = %d, want %d", tc.b, tc.n, got, tc.want)
			}
		})
	}
}

func TestParseLogName(t *testing.T) {
	for _, tc := range []struct {
		name  string
		key   streamKey
		index int
		ok    bool
	}{
		{"api.stdout.0", streamKey{"api", "stdout"}, 0, true},
		{"my.task.stderr.12", streamKey{"my.task", "stderr"}, 12, true},
		{"api.stdout.fifo", streamKey{}, 0, false},
		{"api.stdout.-1", streamKey{}, 0, false},
		{"api.stdout.+1", streamKey{}, 0, false},
		{"api.stdin.0", streamKey{}, 0, false},
		{".stdout.0", streamKey{}, 0, false},
		{"stdout.0", streamKey{}, 0, false},
		{"api.stdout.", streamKey{}, 0, false},
	} {
		key, index, ok := parseLogName(tc.name)
		if key != tc.key || index != tc.index || ok != tc.ok {
			t.Errorf("%s: got %v %d %v", tc.name, key, index, ok)
		}
	}
}

func TestRenderLabels(t *testing.T) {
	got := renderLabels(map[string]string{"project": "shop", "alloc": `a"b\c`}, streamKey{"api", "stderr"})
	want := `{alloc="a\"b\\c", project="shop", stream="stderr", task="api"}`
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

// FuzzSplitLine: every piece is valid UTF-8 and at most max bytes, all but
// the last (or all, for a continued line) end in the marker, and the
// pieces join back into the cleaned line.
func FuzzSplitLine(f *testing.F) {
	f.Add([]byte("hello"), 64, false)
	f.Add(bytes.Repeat([]byte("é"), 100), 64, false)
	f.Add([]byte("a\xff\xfe\xc3"), 70, true)
	f.Add(bytes.Repeat([]byte("\xf0\x9f\x98\x80"), 50), 65, false)
	f.Fuzz(func(t *testing.T, raw []byte, max int, continues bool) {
		if max < minMaxLineBytes || max > 1<<16 {
			t.Skip()
		}
		pieces := splitLine(nil, raw, max, continues)
		var joined strings.Builder
		for i, p := range pieces {
			if len(p) > max {
				t.Fatalf("piece %d: %d bytes > %d", i, len(p), max)
			}
			if !utf8.ValidString(p) {
				t.Fatalf("piece %d not UTF-8: %q", i, p)
			}
			if continues || i < len(pieces)-1 {
				var ok bool
				if p, ok = strings.CutSuffix(p, LineSplitMarker); !ok || p == "" {
					t.Fatalf("piece %d of %d (continues %v): %q, want text and the marker", i, len(pieces), continues, p)
				}
			}
			joined.WriteString(p)
		}
		if want := strings.ToValidUTF8(string(raw), "\uFFFD"); joined.String() != want {
			t.Fatalf("joined %q, want %q", joined.String(), want)
		}
		if !continues && len(pieces) == 0 {
			t.Fatal("a line gave no entry")
		}
	})
}

// FuzzTailConsume feeds bytes to a tail in chunks of fuzzed sizes, as
// reads from a growing file arrive, and checks the lines that come out:
// bounded, valid UTF-8, positions that only move forward and end on line
// ends, and, once the pieces are joined, the lines of the input.
func FuzzTailConsume(f *testing.F) {
	f.Add([]byte("one\ntwo\r\nthree"), []byte{3, 1, 7})
	f.Add(append(bytes.Repeat([]byte("é"), 200), '\n'), []byte{5, 90})
	f.Add([]byte("\xff\xfe\n\n\xe2\x82\xacx\n"), []byte{1})
	f.Fuzz(func(t *testing.T, data, chunks []byte) {
		const max = 80
		if bytes.Contains(data, []byte(LineSplitMarker)) {
			t.Skip("the input holds the marker itself")
		}
		tl := &tail{s: &stream{}, max: max, sizes: map[int]int64{}, started: true}
		var out []entry
		now := time.Unix(1, 0)
		rest := data
		for i := 0; len(rest) > 0; i++ {
			n := len(rest)
			if len(chunks) > 0 {
				n = min(n, int(chunks[i%len(chunks)])+1)
			}
			tl.pos.Offset += int64(n)
			out = tl.consume(rest[:n], now, out)
			rest = rest[n:]
		}
		out = tl.flushPartial(now, out)

		var lines []string
		var cur strings.Builder
		var last int64
		for i, e := range out {
			if len(e.line) > max || !utf8.ValidString(e.line) {
				t.Fatalf("entry %d: %d bytes, valid %v", i, len(e.line), utf8.ValidString(e.line))
			}
			if e.end.Offset < last || e.end.Offset > int64(len(data)) {
				t.Fatalf("entry %d ends at %d after %d (of %d)", i, e.end.Offset, last, len(data))
			}
			last = e.end.Offset
			if i > 0 && !out[i-1].ts.Before(e.ts) {
				t.Fatalf("entry %d: timestamp not after the previous one", i)
			}
			if p, ok := strings.CutSuffix(e.line, LineSplitMarker); ok {
				cur.WriteString(p)
				continue
			}
			cur.WriteString(e.line)
			lines = append(lines, cur.String())
			cur.Reset()
			if !e.more && e.end.Offset < int64(len(data)) && data[e.end.Offset-1] != '\n' {
				t.Fatalf("entry %d ends at %d, not after a newline", i, e.end.Offset)
			}
		}
		if len(data) > 0 && last != int64(len(data)) {
			t.Fatalf("last entry ends at %d, want %d", last, len(data))
		}
		want := strings.Split(string(data), "\n")
		if strings.HasSuffix(string(data), "\n") || len(data) == 0 {
			want = want[:len(want)-1]
		}
		if len(lines) != len(want) {
			t.Fatalf("%d lines, want %d\ngot %q\nwant %q", len(lines), len(want), lines, want)
		}
		for i := range want {
			w := strings.TrimSuffix(want[i], "\r")
			if norm(lines[i]) != norm(strings.ToValidUTF8(w, "\uFFFD")) && norm(lines[i]) != norm(strings.ToValidUTF8(want[i], "\uFFFD")) {
				t.Fatalf("line %d: %q, want %q", i, lines[i], w)
			}
		}
	})
}

// norm folds runs of U+FFFD into one: a run of invalid bytes cut by a
// split becomes two replacements, which is fine.
func norm(s string) string {
	for strings.Contains(s, "\uFFFD\uFFFD") {
		s = strings.ReplaceAll(s, "\uFFFD\uFFFD", "\uFFFD")
	}
	return s
}
