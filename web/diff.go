package web

import (
	"fmt"
	"strings"
)

// unifiedDiff is a unified diff (3 lines of context) of two texts by line,
// computed with Myers' O(ND) algorithm, so two large revisions that differ
// in a few lines cost little. When the texts differ in more than maxEdits
// lines, the diff says so rather than spending unbounded time.
func unifiedDiff(fromName, toName, a, b string) string {
	if a == b {
		return ""
	}
	x, y := splitLines(a), splitLines(b)
	ops, ok := myers(x, y, maxEdits)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", fromName, toName)
	if !ok {
		fmt.Fprintf(&out, "@@ more than %d lines differ; compare the revisions whole @@\n", maxEdits)
		return out.String()
	}
	writeHunks(&out, ops, x, y)
	return out.String()
}

const maxEdits = 2000

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// op is one line of an edit script: ' ' keeps x[i] (== y[j]), '-' deletes
// x[i], '+' inserts y[j].
type op struct {
	kind byte
	i, j int
}

// myers returns the shortest edit script from x to y, or false when it is
// longer than limit.
func myers(x, y []string, limit int) ([]op, bool) {
	n, m := len(x), len(y)
	max := n + m
	offset := max + 1
	v := make([]int, 2*max+2)
	// trace[d] keeps v[-d..d] as it was before step d: all the backtrack
	// reads, so memory grows with the square of the edits, not the files.
	var trace [][]int
	d := 0
	found := false
	for ; d <= max && d <= limit; d++ {
		snapshot := make([]int, 2*d+1)
		copy(snapshot, v[offset-d:offset+d+1])
		trace = append(trace, snapshot)
		for k := -d; k <= d; k += 2 {
			var i int
			if k == -d || (k != d && v[offset+k-1] < v[offset+k+1]) {
				i = v[offset+k+1]
			} else {
				i = v[offset+k-1] + 1
			}
			j := i - k
			for i < n && j < m && x[i] == y[j] {
				i++
				j++
			}
			v[offset+k] = i
			if i >= n && j >= m {
				found = true
				break
			}
		}
		if found {
			break
		}
	}
	if !found {
		return nil, false
	}
	// Walk the trace back from (n, m).
	var rev []op
	i, j := n, m
	for ; d > 0; d-- {
		window := trace[d]
		vv := func(k int) int { return window[k+d] }
		k := i - j
		var prevK int
		if k == -d || (k != d && vv(k-1) < vv(k+1)) {
			prevK = k + 1
		} else {
			prevK = k - 1
		}
		prevI := vv(prevK)
		prevJ := prevI - prevK
		for i > prevI && j > prevJ {
			i--
			j--
			rev = append(rev, op{' ', i, j})
		}
		if i == prevI {
			j--
			rev = append(rev, op{'+', i, j})
		} else {
			i--
			rev = append(rev, op{'-', i, j})
		}
	}
	for i > 0 && j > 0 {
		i--
		j--
		rev = append(rev, op{' ', i, j})
	}
	ops := make([]op, len(rev))
	for k := range rev {
		ops[k] = rev[len(rev)-1-k]
	}
	return ops, true
}

// writeHunks writes the edit script as unified diff hunks.
func writeHunks(out *strings.Builder, ops []op, x, y []string) {
	const ctx = 3
	for start := 0; start < len(ops); {
		// Find the next change.
		for start < len(ops) && ops[start].kind == ' ' {
			start++
		}
		if start >= len(ops) {
			return
		}
		lo := max(start-ctx, 0)
		end := start
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run >= len(ops) || run-end > 2*ctx {
				break
			}
			end = run
		}
		hi := min(end+ctx, len(ops))
		// Line numbers of the hunk in x and y.
		xs, ys := ops[lo].i, ops[lo].j
		xn, yn := 0, 0
		for _, o := range ops[lo:hi] {
			if o.kind != '+' {
				xn++
			}
			if o.kind != '-' {
				yn++
			}
		}
		fmt.Fprintf(out, "@@ -%d,%d +%d,%d @@\n", xs+1, xn, ys+1, yn)
		for _, o := range ops[lo:hi] {
			var line string
			switch o.kind {
			case '+':
				line = y[o.j]
			default:
				line = x[o.i]
			}
			out.WriteByte(o.kind)
			out.WriteString(line)
			if !strings.HasSuffix(line, "\n") {
				out.WriteString("\n\\ No newline at end of file\n")
			}
		}
		start = hi
	}
}
