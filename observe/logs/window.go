package logs

import (
	"strconv"
	"strings"
	"time"
)

// Defaults and bounds of a search.
const (
	// DefaultSince is how far back a search looks when given no time.
	DefaultSince = time.Hour
	// DefaultLimit is how many lines a page holds unless asked.
	DefaultLimit = 100
	// MaxLimit is the most lines one query_range may return: Loki's
	// default max_entries_limit_per_query.
	MaxLimit = 5000
)

// Direction is the order of a page of lines.
type Direction string

const (
	// Backward is newest first (Loki's default): the last N lines.
	Backward Direction = "backward"
	// Forward is oldest first: the first N lines of the window.
	Forward Direction = "forward"
)

// ParseDirection reads the direction parameter; "" is Backward.
func ParseDirection(v string) (Direction, error) {
	switch Direction(v) {
	case "", Backward:
		return Backward, nil
	case Forward:
		return Forward, nil
	}
	return "", fieldErr("direction", "%s is not a direction: want backward (newest first) or forward", strconv.Quote(v))
}

// ParseLimit reads the limit parameter; "" is DefaultLimit.
func ParseLimit(v string) (int, error) {
	if v == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, fieldErr("limit", "%s: want a whole number from 1 to %d", strconv.Quote(v), MaxLimit)
	}
	return n, nil
}

// Window is a time range: Start inclusive, End exclusive (Loki's rule).
type Window struct {
	Start, End time.Time
}

// ParseWindow reads since, or from and to, into a window ending at now at
// the latest. since is a duration back from now (30s, 15m, 1h, 7d, 2w);
// from and to are times (see ParseTime). With none, the window is the last
// DefaultSince; to alone ends it earlier. since goes with neither from nor
// to.
func ParseWindow(since, from, to string, now time.Time) (Window, error) {
	if since != "" && (from != "" || to != "") {
		field := "from"
		if from == "" {
			field = "to"
		}
		return Window{}, fieldErr(field, "cannot be combined with since: give since (a duration back from now), or from and to")
	}
	w := Window{End: now}
	if to != "" {
		t, err := ParseTime("to", to)
		if err != nil {
			return Window{}, err
		}
		w.End = t
	}
	switch {
	case since != "":
		d, err := ParseDuration("since", since)
		if err != nil {
			return Window{}, err
		}
		w.Start = now.Add(-d)
	case from != "":
		t, err := ParseTime("from", from)
		if err != nil {
			return Window{}, err
		}
		w.Start = t
	default:
		w.Start = w.End.Add(-DefaultSince)
	}
	if !w.Start.Before(w.End) {
		return Window{}, fieldErr("from", "%s is not before to (%s)", w.Start.UTC().Format(time.RFC3339Nano), w.End.UTC().Format(time.RFC3339Nano))
	}
	return w, nil
}

// ParseDuration reads a positive duration: Go's (90s, 1h30m) or a whole
// number of days or weeks (7d, 2w). field names it in the error.
func ParseDuration(field, v string) (time.Duration, error) {
	bad := fieldErr(field, "%s is not a duration: want e.g. 30s, 15m, 1h, 7d", strconv.Quote(v))
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(v, suffix); ok {
			k, err := strconv.Atoi(n)
			if err != nil || k <= 0 || k > 100*365 {
				return 0, bad
			}
			return time.Duration(k) * unit, nil
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, bad
	}
	return d, nil
}

// ParseTime reads a time: RFC 3339 (2026-01-02T15:04:05Z, fractions and
// offsets allowed), a date (2026-01-02, midnight UTC), or Unix seconds.
// field names it in the error.
func ParseTime(field, v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n < 1<<40 {
		return time.Unix(n, 0), nil
	}
	return time.Time{}, fieldErr(field, "%s is not a time: want RFC 3339 (2026-01-02T15:04:05Z), a date (2026-01-02) or Unix seconds", strconv.Quote(v))
}
