package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/backplane-dev/backplane/observe/logs"
)

// The logs endpoints: a search (GET /projects/{p}/logs) and a live tail
// (GET /projects/{p}/logs/tail, Server-Sent Events), both read from Loki
// through observe/logs. The project comes from the path and only from it:
// the LogQL always carries project="{p}", so a viewer of one project never
// reads another's lines, whatever the parameters hold.

// tailBuffer is how many lines a tail holds for a slow client; beyond it
// the websocket from Loki waits, and Loki drops lines and says so.
const tailBuffer = 256

func (s *Server) errNoLoki() *apiError {
	msg := "log search is not configured: start serve with BACKPLANE_LOKI_URL (or --loki-url) set to Loki's base URL, e.g. http://127.0.0.1:3100"
	if s.lokiErr != nil && !errors.Is(s.lokiErr, logs.ErrNotConfigured) {
		msg = "log search is off: " + s.lokiErr.Error()
	}
	return &apiError{Status: http.StatusServiceUnavailable, Code: "no_loki", Message: msg}
}

// searchParams are the parameters a search may carry, once each.
var searchParams = []string{"element", "region", "alloc", "task", "stream", "q", "regex", "since", "from", "to", "limit", "direction", "cursor"}

// logQuery reads the search of a request; the project is the path's.
func logQuery(c *gin.Context) (logs.Query, error) {
	if _, ok := c.GetQuery("project"); ok {
		return logs.Query{}, &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "project",
			Message: "project: comes from the path (/projects/{p}/logs) and cannot be a parameter"}
	}
	for _, p := range searchParams {
		if len(c.QueryArray(p)) > 1 {
			return logs.Query{}, &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: p, Message: p + ": give it once"}
		}
	}
	q := logs.Query{
		Project: c.Param("p"),
		Element: c.Query("element"), Region: c.Query("region"), Alloc: c.Query("alloc"),
		Task: c.Query("task"), Stream: c.Query("stream"),
		Search: c.Query("q"), Regex: c.Query("regex"),
	}
	if err := q.Validate(); err != nil {
		return logs.Query{}, lokiError(err)
	}
	return q, nil
}

// lokiError turns an error of observe/logs into the API's: a field at
// fault is a 400 naming it, a query Loki refused a 400, Loki failing a 502.
func lokiError(err error) error {
	var fe *logs.FieldError
	var le *logs.Error
	switch {
	case errors.As(err, &fe):
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: fe.Field, Message: fe.Error()}
	case errors.As(err, &le) && le.BadQuery():
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: "Loki refused the search: " + le.Message}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return &apiError{Status: http.StatusBadGateway, Code: "loki_error", Message: "reading logs from Loki failed: " + err.Error()}
}

// searchLogs answers one page of a search: {"lines": [...], "next": "..."}.
func (s *Server) searchLogs(c *gin.Context) error {
	if s.loki == nil {
		return s.errNoLoki()
	}
	ctx := c.Request.Context()
	if _, err := s.store.GetProject(ctx, c.Param("p")); err != nil {
		return err
	}
	q, err := logQuery(c)
	if err != nil {
		return err
	}
	in := logs.RangeInput{Query: q, Cursor: c.Query("cursor")}
	if in.Window, err = logs.ParseWindow(c.Query("since"), c.Query("from"), c.Query("to"), time.Now()); err != nil && in.Cursor == "" {
		return lokiError(err)
	}
	if in.Limit, err = logs.ParseLimit(c.Query("limit")); err != nil {
		return lokiError(err)
	}
	if in.Direction, err = logs.ParseDirection(c.Query("direction")); err != nil {
		return lokiError(err)
	}
	res, err := s.loki.QueryRange(ctx, in)
	if err != nil {
		return lokiError(err)
	}
	c.JSON(http.StatusOK, res)
	return nil
}

// tailLogs relays Loki's live tail as Server-Sent Events: `line` events
// (data: a line), `notice` events (a reconnect, lines Loki dropped) and, if
// Loki fails for good, one `error` event before the stream ends. It stops
// when the client leaves or the server closes.
func (s *Server) tailLogs(c *gin.Context) error {
	if s.loki == nil {
		return s.errNoLoki()
	}
	if _, err := s.store.GetProject(c.Request.Context(), c.Param("p")); err != nil {
		return err
	}
	q, err := logQuery(c)
	if err != nil {
		return err
	}
	if c.Query("to") != "" {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "to", Message: "to: a tail has no end; search a time range with GET /projects/{p}/logs"}
	}
	in := logs.TailInput{Query: q}
	if c.Query("since") != "" || c.Query("from") != "" {
		w, err := logs.ParseWindow(c.Query("since"), c.Query("from"), "", time.Now())
		if err != nil {
			return lokiError(err)
		}
		in.Start = w.Start
	}
	if in.Limit, err = logs.ParseLimit(c.Query("limit")); err != nil {
		return lokiError(err)
	}

	ctx, cancel := context.WithCancel(c.Request.Context())
	defer cancel()
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	lines := make(chan logs.Line, tailBuffer)
	notices := make(chan string, 16)
	connected := make(chan struct{})
	errc := make(chan error, 1)
	in.Connected = func() { close(connected) }
	in.Notice = func(m string) {
		select {
		case notices <- m:
		default:
		}
	}
	go func() {
		errc <- s.loki.Tail(ctx, in, func(l logs.Line) error {
			select {
			case lines <- l:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	select {
	case <-connected:
	case err := <-errc:
		if err == nil {
			return nil // the client left first
		}
		return lokiError(err)
	}

	w := c.Writer
	sse(c)
	if _, err := fmt.Fprint(w, ": connected\n\n"); err != nil {
		return nil
	}
	w.Flush()
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		var ev []byte
		select {
		case <-ctx.Done():
			return nil
		case l := <-lines:
			ev = encodeEvent("line", l)
		case m := <-notices:
			ev = encodeEvent("notice", gin.H{"message": m})
		case err := <-errc:
			if err != nil {
				code, msg := "loki_error", err.Error()
				var ae *apiError
				if errors.As(lokiError(err), &ae) {
					code, msg = ae.Code, ae.Message
				}
				_, _ = w.Write(encodeEvent("error", gin.H{"code": code, "message": msg}))
				w.Flush()
			}
			return nil
		case <-ping.C:
			ev = []byte(": ping\n\n")
		}
		if _, err := w.Write(ev); err != nil {
			return nil
		}
		// Send whatever else is queued in the same write burst.
		for more := true; more; {
			select {
			case l := <-lines:
				if _, err := w.Write(encodeEvent("line", l)); err != nil {
					return nil
				}
			default:
				more = false
			}
		}
		w.Flush()
	}
}
