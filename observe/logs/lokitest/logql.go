package lokitest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/scanner"
	"unicode/utf8"
)

// Matcher is one label matcher of a stream selector.
type Matcher struct {
	Name, Op, Value string // Op is =, !=, =~ or !~
}

// Filter is one line filter.
type Filter struct {
	Op, Value string // Op is |=, !=, |~ or !~
}

// Parsed is a log query: a stream selector and line filters.
type Parsed struct {
	Matchers []Matcher
	Filters  []Filter
	res      []*regexp.Regexp // per matcher (regex ops), then per filter
}

// ParseQuery reads a log query the way Loki's lexer does: Go's
// text/scanner tokens, string literals unquoted by Go's rules (after a
// UTF-8 check), two-rune operators joined with the rune after them. It
// takes only `{matchers} filters...`, the shape observe/logs builds;
// anything else is an error.
func ParseQuery(q string) (*Parsed, error) {
	var s scanner.Scanner
	s.Init(strings.NewReader(q))
	s.Mode = scanner.ScanIdents | scanner.ScanStrings | scanner.ScanRawStrings
	var scanErr error
	s.Error = func(_ *scanner.Scanner, msg string) {
		if scanErr == nil {
			scanErr = fmt.Errorf("scan: %s", msg)
		}
	}
	next := func() (tok rune, text string) {
		tok = s.Scan()
		text = s.TokenText()
		switch tok {
		case '=', '!', '|':
			if p := s.Peek(); p == '~' || (p == '=' && tok != '=') {
				s.Next()
				text += string(p)
			}
		}
		return tok, text
	}
	str := func() (string, error) {
		tok, text := next()
		if tok != scanner.String && tok != scanner.RawString {
			return "", fmt.Errorf("want a string at %s, got %q", s.Position, text)
		}
		if !utf8.ValidString(text) {
			return "", fmt.Errorf("invalid UTF-8 rune")
		}
		return strconv.Unquote(text)
	}
	p := &Parsed{}
	if tok, text := next(); tok != '{' {
		return nil, fmt.Errorf("want {, got %q", text)
	}
	for {
		tok, name := next()
		if tok != scanner.Ident {
			return nil, fmt.Errorf("want a label name at %s, got %q", s.Position, name)
		}
		_, op := next()
		switch op {
		case "=", "!=", "=~", "!~":
		default:
			return nil, fmt.Errorf("want a matcher operator after %s, got %q", name, op)
		}
		v, err := str()
		if err != nil {
			return nil, err
		}
		p.Matchers = append(p.Matchers, Matcher{Name: name, Op: op, Value: v})
		tok, text := next()
		if tok == '}' {
			break
		}
		if tok != ',' {
			return nil, fmt.Errorf("want , or } at %s, got %q", s.Position, text)
		}
	}
	for {
		tok, op := next()
		if tok == scanner.EOF {
			break
		}
		switch op {
		case "|=", "!=", "|~", "!~":
		default:
			return nil, fmt.Errorf("want a line filter at %s, got %q", s.Position, op)
		}
		v, err := str()
		if err != nil {
			return nil, err
		}
		p.Filters = append(p.Filters, Filter{Op: op, Value: v})
	}
	if scanErr != nil {
		return nil, scanErr
	}
	for _, m := range p.Matchers {
		re, err := compile(m.Op, m.Value, true)
		if err != nil {
			return nil, fmt.Errorf("matcher %s: %w", m.Name, err)
		}
		p.res = append(p.res, re)
	}
	for _, f := range p.Filters {
		re, err := compile(f.Op, f.Value, false)
		if err != nil {
			return nil, fmt.Errorf("filter: %w", err)
		}
		p.res = append(p.res, re)
	}
	return p, nil
}

// compile compiles the regex of a regex operator (anchored for label
// matchers, as Loki does); nil for the others.
func compile(op, v string, anchored bool) (*regexp.Regexp, error) {
	if !strings.HasSuffix(op, "~") {
		return nil, nil
	}
	if anchored {
		v = "^(?:" + v + ")$"
	}
	return regexp.Compile(v)
}

// Match reports whether a line of a stream with these labels is selected.
func (p *Parsed) Match(labels map[string]string, line string) bool {
	for i, m := range p.Matchers {
		v := labels[m.Name]
		var ok bool
		switch m.Op {
		case "=":
			ok = v == m.Value
		case "!=":
			ok = v != m.Value
		case "=~":
			ok = p.res[i].MatchString(v)
		case "!~":
			ok = !p.res[i].MatchString(v)
		}
		if !ok {
			return false
		}
	}
	for i, f := range p.Filters {
		re := p.res[len(p.Matchers)+i]
		var ok bool
		switch f.Op {
		case "|=":
			ok = strings.Contains(line, f.Value)
		case "!=":
			ok = !strings.Contains(line, f.Value)
		case "|~":
			ok = re.MatchString(line)
		case "!~":
			ok = !re.MatchString(line)
		}
		if !ok {
			return false
		}
	}
	return true
}
