package templates

import (
	"fmt"
	"strings"
)

// TemplateLiteral escapes s for the data of a Nomad template block, so that
// the template engine outputs it exactly. Only "{{" opens an action, so each
// one becomes an action that prints "{{". A trailing "{" becomes an action
// too, so that escaped pieces can be joined with each other and with actions
// (URLTemplate does) without a "{" at the end of one and a "{" at the start of
// the next opening an action. HCL interpolation (${ and %{) is the HCL
// writer's to escape, and the JSON job needs no more than JSON quoting.
func TemplateLiteral(s string) string {
	if !strings.Contains(s, "{{") && !strings.HasSuffix(s, "{") {
		return s
	}
	s = strings.ReplaceAll(s, "{{", `{{ "{{" }}`)
	if strings.HasSuffix(s, "{") {
		s = s[:len(s)-1] + `{{ "{" }}`
	}
	return s
}

// EnvQuote quotes a value for an env file that a template with env = true
// renders. Nomad reads those files with go-envparse: inside double quotes a
// backslash escapes \, ", n, r, t, b, f and \uXXXX, every other byte stands for
// itself, and control characters must be escaped. The result is safe on one
// line whatever the value holds.
func EnvQuote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// EnvLine is one `KEY="value"` line of a rendered env file, escaped for both
// the template engine and the env file parser.
func EnvLine(key, value string) string {
	return key + "=" + TemplateLiteral(EnvQuote(value)) + "\n"
}
