package logs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
)

// Tail bounds and reconnect backoff.
const (
	// MaxDelayFor is Loki's bound on delay_for.
	MaxDelayFor = 5 * time.Second
	// DefaultTailLimit is how many lines from before now a tail starts
	// with, at most, when it starts in the past.
	DefaultTailLimit = 100

	tailRetryMin = 250 * time.Millisecond
	tailRetryMax = 5 * time.Second
	closeWait    = time.Second
)

// TailInput is a live tail.
type TailInput struct {
	Query Query
	// Start is where the tail begins; lines from Start to now come first
	// (at most Limit of them). Zero is now.
	Start time.Time
	// Limit caps the lines from before now; DefaultTailLimit when 0.
	Limit int
	// DelayFor lets Loki wait this long for late lines (0 to MaxDelayFor).
	DelayFor time.Duration
	// Connected, when set, is called once, when the first connection is
	// open: an error before it is the first connection's.
	Connected func()
	// Notice, when set, hears of reconnects and of lines Loki dropped
	// because the tail fell behind.
	Notice func(msg string)
}

// Tail follows the search live and calls fn with each line, in time order
// per message, until ctx ends (it then returns nil), fn returns an error
// (returned), or the first connection fails or Loki refuses the tail for
// good (a 4xx). A connection lost later is reopened from the newest line's
// time, with backoff, without repeating lines.
func (c *Client) Tail(ctx context.Context, in TailInput, fn func(Line) error) error {
	logql, err := in.Query.LogQL()
	if err != nil {
		return err
	}
	if in.DelayFor < 0 || in.DelayFor > MaxDelayFor {
		return fieldErr("delay_for", "%s: want 0 to %s", in.DelayFor, MaxDelayFor)
	}
	limit := in.Limit
	if limit == 0 {
		limit = DefaultTailLimit
	}
	if limit < 0 || limit > MaxLimit {
		return fieldErr("limit", "%d: want a whole number from 1 to %d", limit, MaxLimit)
	}
	start := in.Start
	if start.IsZero() {
		start = time.Now()
	}
	var seen Dedup
	connected := false
	delay := tailRetryMin
	for {
		conn, err := c.dialTail(ctx, logql, start, limit, in.DelayFor)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			if !connected {
				connected = true
				if in.Connected != nil {
					in.Connected()
				}
			}
			var delivered bool
			delivered, err = c.fillGap(ctx, in.Query, start, limit, &seen, fn)
			if err == nil {
				var more bool
				more, err = c.readTail(ctx, conn, &seen, in.Notice, fn)
				delivered = delivered || more
			} else {
				_ = conn.Close()
			}
			if ctx.Err() != nil {
				return nil
			}
			var fe *fnError
			if errors.As(err, &fe) {
				return fe.err
			}
			if delivered {
				delay = tailRetryMin
			}
		}
		var le *Error
		if !connected || (errors.As(err, &le) && le.Status >= 400 && le.Status < 500 && le.Status != http.StatusTooManyRequests) {
			return err
		}
		if t := seen.Resume(); !t.IsZero() {
			start = t
		}
		if in.Notice != nil {
			in.Notice(fmt.Sprintf("the tail from loki %s was lost (%v); reconnecting in %s", c.URL(), err, delay))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, tailRetryMax)
	}
}

// fillGap delivers the lines from start to now through query_range, once
// the tail is open. Loki's tail replays only what its store holds, not the
// ingesters' unflushed lines, so a line pushed just before the tail
// subscribed would be lost; the query reads both. The tail's own replay of
// the same lines is then dropped as already delivered.
func (c *Client) fillGap(ctx context.Context, q Query, start time.Time, limit int, seen *Dedup, fn func(Line) error) (bool, error) {
	res, err := c.QueryRange(ctx, RangeInput{Query: q, Window: Window{Start: start, End: time.Now().Add(time.Second)}, Limit: limit, Direction: Forward})
	if err != nil {
		return false, err
	}
	delivered := false
	for _, l := range res.Lines {
		if !seen.Fresh(l) {
			continue
		}
		if err := fn(l); err != nil {
			return delivered, &fnError{err: err}
		}
		delivered = true
	}
	seen.Resume()
	return delivered, nil
}

// fnError is an error of the caller's fn, which ends the tail.
type fnError struct{ err error }

func (e *fnError) Error() string { return e.err.Error() }

func (c *Client) dialTail(ctx context.Context, logql string, start time.Time, limit int, delayFor time.Duration) (*websocket.Conn, error) {
	q := url.Values{
		"query": {logql},
		"start": {strconv.FormatInt(start.UnixNano(), 10)},
		"limit": {strconv.Itoa(limit)},
	}
	if delayFor > 0 {
		q.Set("delay_for", strconv.Itoa(int(delayFor/time.Second)))
	}
	u := c.endpoint("/loki/api/v1/tail", q)
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	h := http.Header{}
	c.header(h)
	d := websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   64 << 10,
	}
	if t, ok := c.client.Transport.(*http.Transport); ok && t.TLSClientConfig != nil {
		d.TLSClientConfig = t.TLSClientConfig.Clone()
	}
	conn, resp, err := d.DialContext(ctx, u.String(), h)
	if err != nil {
		if resp != nil {
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusSwitchingProtocols {
				return nil, readError(resp)
			}
		}
		return nil, c.netError(err)
	}
	// Loki sends lines up to its max_line_size; a message holds many.
	conn.SetReadLimit(maxResponse)
	return conn, nil
}

// tailMessage is one message of Loki's tail.
type tailMessage struct {
	Streams []stream `json:"streams"`
	Dropped []struct {
		Labels    map[string]string `json:"labels"`
		Timestamp string            `json:"timestamp"`
	} `json:"dropped_entries"`
}

// readTail reads one connection until it ends. It closes conn.
func (c *Client) readTail(ctx context.Context, conn *websocket.Conn, seen *Dedup, notice func(string), fn func(Line) error) (delivered bool, err error) {
	// Closing the connection is what ends a blocked read when ctx ends.
	stop := context.AfterFunc(ctx, func() {
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(closeWait))
		_ = conn.Close()
	})
	defer func() {
		if stop() {
			_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(closeWait))
			_ = conn.Close()
		}
	}()
	for {
		_, r, err := conn.NextReader()
		if err != nil {
			if websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				err = io.EOF
			}
			return delivered, c.netError(err)
		}
		var msg tailMessage
		if err := json.NewDecoder(r).Decode(&msg); err != nil {
			return delivered, fmt.Errorf("loki %s: read tail message: %w", c.URL(), err)
		}
		if n := len(msg.Dropped); n > 0 && notice != nil {
			notice(fmt.Sprintf("loki dropped %d lines of the tail: it fell behind", n))
		}
		var lines []Line
		for _, s := range msg.Streams {
			for _, v := range s.Values {
				l, err := decodeEntry(s.Stream, v)
				if err != nil {
					return delivered, err
				}
				lines = append(lines, l)
			}
		}
		slices.SortStableFunc(lines, func(a, b Line) int { return a.TS.Compare(b.TS) })
		for _, l := range lines {
			if !seen.Fresh(l) {
				continue
			}
			if err := fn(l); err != nil {
				return delivered, &fnError{err: err}
			}
			delivered = true
		}
	}
}
