package logship

import (
	"strings"
	"unicode/utf8"
)

// LineSplitMarker ends every piece of a split line except the last, so a
// reader sees that the line goes on in the next entry.
const LineSplitMarker = " [logship: line continues]"

// minMaxLineBytes leaves room for the marker and a few runes.
const minMaxLineBytes = 64

// splitLine turns one raw line (no newline) into entries of at most max
// bytes: invalid UTF-8 is replaced by U+FFFD, and a line that is too long
// is cut at rune boundaries into pieces that end in LineSplitMarker. With
// continues, the last piece gets the marker too (the line goes on in bytes
// not read yet). It appends to dst and returns it.
func splitLine(dst []string, raw []byte, max int, continues bool) []string {
	var s string
	if utf8.Valid(raw) {
		s = string(raw)
	} else {
		s = strings.ToValidUTF8(string(raw), "\uFFFD")
	}
	room := max - len(LineSplitMarker)
	for len(s) > max || (continues && len(s) > 0) {
		if len(s) <= room {
			return append(dst, s+LineSplitMarker)
		}
		cut := runeCut(s, room)
		dst = append(dst, s[:cut]+LineSplitMarker)
		s = s[cut:]
	}
	if continues { // nothing left of a continued line
		return dst
	}
	return append(dst, s)
}

// runeCut returns the largest i <= n that is a rune boundary of valid s.
func runeCut(s string, n int) int {
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	if i == 0 { // cannot happen for valid UTF-8 and n >= 4
		return n
	}
	return i
}

// rawCut returns where to cut raw bytes (maybe invalid UTF-8) at about n
// without splitting a valid multi-byte rune: n itself, or the start of the
// rune that would cross n. It never returns 0 for n > 0.
func rawCut(b []byte, n int) int {
	if n >= len(b) {
		return len(b)
	}
	if utf8.RuneStart(b[n]) {
		return n
	}
	for i := n - 1; i > 0 && i > n-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if r, size := utf8.DecodeRune(b[i:]); (r != utf8.RuneError || size > 1) && i+size > n {
				return i
			}
			return n
		}
	}
	return n
}
