package logs

import (
	"encoding/base64"
	"encoding/json"
	"hash/fnv"
	"math"
)

// cursor is where the next page of a search starts: the rest of the
// window, the direction, and the lines of the boundary timestamp already
// returned. The window end is exclusive, so a backward page ends just after
// the boundary (End = boundary + 1) and skips the lines it has seen there;
// a forward page starts at the boundary and does the same.
type cursor struct {
	Dir   Direction `json:"d"`
	Start int64     `json:"s"`
	End   int64     `json:"e"`
	// Query is a hash of the LogQL, so a cursor is not used for another
	// search by mistake.
	Query uint32   `json:"q"`
	Skip  []uint64 `json:"k,omitempty"`
}

// noBoundary is the boundary of a first page: no timestamp is skipped.
const noBoundary = math.MinInt64

func (c cursor) boundary() int64 {
	if len(c.Skip) == 0 {
		return noBoundary
	}
	if c.Dir == Forward {
		return c.Start
	}
	return c.End - 1
}

// next is the cursor after a page whose last line is lines[len-1].
func (c cursor) next(lines []Line, logql string, prevBoundary int64, prevSkip []uint64) cursor {
	b := lines[len(lines)-1].TS.UnixNano()
	n := cursor{Dir: c.Dir, Start: c.Start, End: c.End, Query: queryHash(logql)}
	if b == prevBoundary {
		n.Skip = append(n.Skip, prevSkip...)
	}
	for _, l := range lines {
		if l.TS.UnixNano() == b {
			n.Skip = append(n.Skip, l.key())
		}
	}
	if c.Dir == Forward {
		n.Start = b
	} else {
		n.End = b + 1
	}
	return n
}

func (c cursor) encode() string {
	data, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(data)
}

func decodeCursor(s, logql string) (cursor, error) {
	bad := fieldErr("cursor", "is not a cursor of this search's pages: drop it to start from the first page")
	data, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, bad
	}
	var c cursor
	if err := json.Unmarshal(data, &c); err != nil || (c.Dir != Backward && c.Dir != Forward) || len(c.Skip) > MaxLimit*4 {
		return cursor{}, bad
	}
	if c.Query != queryHash(logql) {
		return cursor{}, fieldErr("cursor", "belongs to another search (the filters changed): drop it to start from the first page")
	}
	return c, nil
}

func queryHash(logql string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(logql))
	return h.Sum32()
}
