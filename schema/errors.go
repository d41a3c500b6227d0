package schema

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// ErrTooLarge is wrapped by decode errors for input over the size caps.
var ErrTooLarge = errors.New("schema too large")

// FieldError is one problem with one field. Path is the field's location in
// the schema, as `elements[api].scale.max`; Line is 0 when unknown.
type FieldError struct {
	File string `json:"file,omitempty"`
	Path string `json:"path"`
	Line int    `json:"line,omitempty"`
	Msg  string `json:"message"`
	err  error
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the sentinel the error wraps, if any.
func (e *FieldError) Unwrap() error { return e.err }

// Errors is every problem found in one schema. It is an error itself; its
// message has one problem per line.
type Errors []*FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is and errors.As look through every problem.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Err returns nil when there are no problems, and the list otherwise.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// WithFile sets the file name on every problem.
func (es Errors) WithFile(file string) Errors {
	for _, e := range es {
		e.File = file
	}
	return es
}

// Sort orders the problems by path, then message, so output is stable.
func (es Errors) Sort() {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Path != es[j].Path {
			return es[i].Path < es[j].Path
		}
		return es[i].Msg < es[j].Msg
	})
}

// Errorf makes a FieldError at path.
func Errorf(path Path, format string, args ...any) *FieldError {
	return &FieldError{Path: path.String(), Msg: fmt.Sprintf(format, args...)}
}

// AsErrors turns any error into a list of field problems: an Errors list is
// returned as is, a FieldError becomes a one-item list, and anything else
// becomes a problem without a path.
func AsErrors(err error) Errors {
	if err == nil {
		return nil
	}
	var es Errors
	if errors.As(err, &es) {
		return es
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return Errors{fe}
	}
	return Errors{{Msg: err.Error(), err: err}}
}

// Path is a location in the schema, as `elements[api].scale.max`. Build it
// with the methods from the zero Path; they return a new Path and never
// modify the receiver. It is a string, so building one costs a single
// concatenation: validation builds a path for every field it looks at.
type Path string

// Field appends a field name.
func (p Path) Field(name string) Path { return p + Path("."+name) }

// Index appends a list index.
func (p Path) Index(i int) Path { return p + Path("["+strconv.Itoa(i)+"]") }

// Key appends a list item named by its ID, as in `elements[api]`, or a map
// key that is not a plain identifier.
func (p Path) Key(k string) Path {
	if plainKey.MatchString(k) {
		return p + Path("["+k+"]")
	}
	return p + Path("["+strconv.Quote(k)+"]")
}

// MapKey appends a map key: `.name` for plain keys, `["odd key"]` otherwise.
func (p Path) MapKey(k string) Path {
	if plainKey.MatchString(k) {
		return p + Path("."+k)
	}
	return p + Path("["+strconv.Quote(k)+"]")
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

func (p Path) String() string { return strings.TrimPrefix(string(p), ".") }

// ElementPath is the path of the element with the given ID.
func ElementPath(id string) Path { return Path("").Field("elements").Key(id) }
