package logs

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The labels the logship sidecar puts on every stream.
const (
	LabelProject = "project"
	LabelElement = "element"
	LabelRegion  = "region"
	LabelAlloc   = "alloc"
	LabelTask    = "task"
	LabelStream  = "stream"
)

// Limits on what a search may hold. Loki refuses label values over 2 KiB
// and very long queries; these keep a request well under both.
const (
	MaxLabelValueBytes = 1024
	MaxSearchBytes     = 4096
)

// allocIDLen is the length of a Nomad allocation ID (a UUID).
const allocIDLen = 36

// Query is what a search asks for. Project is required and always scopes
// the result; every other field is optional (empty: any).
type Query struct {
	Project string
	Element string
	Region  string
	// Alloc is a full allocation ID, or a prefix of one (the CLI prints
	// eight characters).
	Alloc  string
	Task   string
	Stream string // stdout or stderr
	// Search keeps the lines that contain it (case-sensitive).
	Search string
	// Regex keeps the lines it matches (RE2 syntax, as Go's regexp).
	Regex string
}

// FieldError is a problem with one field of a search, named by the API's
// parameter name (q, regex, element, since, limit, cursor, ...).
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// labelField is one optional label matcher: its label and API field name.
type labelField struct {
	label, field, value string
}

func (q Query) labels() []labelField {
	return []labelField{
		{LabelElement, "element", q.Element},
		{LabelRegion, "region", q.Region},
		{LabelTask, "task", q.Task},
		{LabelStream, "stream", q.Stream},
		{LabelAlloc, "alloc", q.Alloc},
	}
}

// Validate checks every field without building the query.
func (q Query) Validate() error {
	_, err := q.LogQL()
	return err
}

// LogQL returns the query's LogQL: the stream selector, whose first matcher
// is always project="<Project>", then the line filters. Every value is
// quoted (see quote), so no input can add, remove or change a matcher.
func (q Query) LogQL() (string, error) {
	if q.Project == "" {
		return "", fieldErr("project", "is required: every search is scoped to one project")
	}
	if err := checkValue("project", q.Project, MaxLabelValueBytes); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("{" + LabelProject + "=" + quote(q.Project))
	for _, l := range q.labels() {
		if l.value == "" {
			continue
		}
		if err := checkValue(l.field, l.value, MaxLabelValueBytes); err != nil {
			return "", err
		}
		op, value := "=", l.value
		switch l.label {
		case LabelStream:
			if value != "stdout" && value != "stderr" {
				return "", fieldErr(l.field, "%s is not a stream: want stdout or stderr", strconv.Quote(value))
			}
		case LabelAlloc:
			if len(value) < allocIDLen {
				// A prefix, as the CLI prints it: a regex matcher on the
				// escaped prefix. Loki anchors label regexes at both ends.
				op, value = "=~", regexp.QuoteMeta(value)+".*"
			}
		}
		b.WriteString(", " + l.label + op + quote(value))
	}
	b.WriteString("}")
	if q.Search != "" {
		if err := checkValue("q", q.Search, MaxSearchBytes); err != nil {
			return "", err
		}
		b.WriteString(" |= " + quote(q.Search))
	}
	if q.Regex != "" {
		if err := checkValue("regex", q.Regex, MaxSearchBytes); err != nil {
			return "", err
		}
		if _, err := regexp.Compile(q.Regex); err != nil {
			return "", fieldErr("regex", "not a valid RE2 regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		b.WriteString(" |~ " + quote(q.Regex))
	}
	return b.String(), nil
}

// checkValue refuses what Loki cannot take: invalid UTF-8 (its lexer stops
// at it) and values over the limit.
func checkValue(field, v string, limit int) error {
	if !utf8.ValidString(v) {
		return fieldErr(field, "is not valid UTF-8")
	}
	if len(v) > limit {
		return fieldErr(field, "is %d bytes long; the limit is %d", len(v), limit)
	}
	return nil
}

// quote makes a LogQL string literal of s. Loki's lexer reads a
// double-quoted literal with Go's unquoting rules, so strconv.Quote is the
// exact inverse: quotes and backslashes are escaped, and newlines and other
// control or non-printable characters become escapes. The literal is
// always one token, whatever s holds.
func quote(s string) string { return strconv.Quote(s) }
