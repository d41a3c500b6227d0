package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/store"
)

// apiError is an error with the HTTP status and code the client sees.
// Handlers return errors; one place (respond) turns them into
// {"error": {"code", "message", "path"}}.
type apiError struct {
	Status  int
	Code    string
	Message string
	Path    string
	// Extra fields merged into the response body (problems, head).
	Extra map[string]any
	// cause is a sentinel callers branch on (errEmptyBody).
	cause error
}

func (e *apiError) Error() string { return e.Message }

func (e *apiError) Unwrap() error { return e.cause }

// errEmptyBody is wrapped when a request has no body; endpoints whose body
// is optional treat it as "none given".
var errEmptyBody = errors.New("request body is empty")

func errBadRequest(msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: msg}
}

func errNotFound(msg string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: msg}
}

var errNoCluster = &apiError{Status: http.StatusServiceUnavailable, Code: "no_cluster", Message: "no cluster connected: set NOMAD_ADDR"}

// handler is a gin handler that returns an error instead of writing it.
type handler func(c *gin.Context) error

// wrap turns a handler into a gin.HandlerFunc that writes its error.
func (s *Server) wrap(h handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			s.respondError(c, err)
		}
	}
}

func (s *Server) respondError(c *gin.Context, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, store.ErrNotFound):
		ae = errNotFound(err.Error())
	case errors.Is(err, store.ErrExists):
		ae = &apiError{Status: http.StatusConflict, Code: "conflict", Message: err.Error()}
	case errors.Is(err, store.ErrConflict):
		ae = &apiError{Status: http.StatusConflict, Code: "conflict", Message: err.Error()}
	case isTooLarge(err):
		ae = &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "request body is over the 4 MiB limit"}
	case errors.Is(err, c.Request.Context().Err()) && c.Request.Context().Err() != nil:
		ae = &apiError{Status: http.StatusGatewayTimeout, Code: "timeout", Message: "the request took too long: " + err.Error()}
	default:
		s.log.Error("request failed", "method", c.Request.Method, "path", c.FullPath(), "error", err)
		ae = &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error: " + err.Error()}
	}
	body := gin.H{"error": gin.H{"code": ae.Code, "message": ae.Message, "path": ae.Path}}
	for k, v := range ae.Extra {
		body[k] = v
	}
	c.AbortWithStatusJSON(ae.Status, body)
}

func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe) || schema.IsTooLarge(err)
}

// Problem is one schema problem as the API reports it, with the element
// and field split out of the path so the editor can mark the input.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
	Element string `json:"element,omitempty"`
	Field   string `json:"field,omitempty"`
}

func problems(errs schema.Errors) []Problem {
	out := make([]Problem, 0, len(errs))
	for _, e := range errs {
		p := Problem{Path: e.Path, Message: e.Msg, Line: e.Line}
		p.Element, p.Field = splitPath(e.Path)
		out = append(out, p)
	}
	return out
}

// splitPath splits `elements[api].scale.max` into ("api", "scale.max").
func splitPath(path string) (element, field string) {
	rest, ok := strings.CutPrefix(path, "elements[")
	if !ok {
		return "", ""
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return "", ""
	}
	id := rest[:end]
	if id == "" || strings.HasPrefix(id, `"`) || (id[0] >= '0' && id[0] <= '9') {
		return "", "" // by index or quoted: not an element ID
	}
	return id, strings.TrimPrefix(rest[end+1:], ".")
}
