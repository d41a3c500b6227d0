package templates

import (
	"bytes"
	"strings"
	"testing"
	"text/template"

	"github.com/hashicorp/go-envparse"
)

// hostile are values that break naive escaping: template delimiters, HCL
// interpolation, quotes, backslashes, line breaks, control characters and
// non-ASCII text.
var hostile = []string{
	"",
	"plain",
	"{{",
	"}}",
	"{{{",
	"}}}",
	"{{{{",
	"{",
	"}",
	"a{",
	"{a",
	"{ {",
	"}{",
	"{{ .Data }}",
	"{{- /* comment */ -}}",
	`{{ "{{" }}`,
	`{{end}}`,
	`{{ template "x" }}`,
	`{{ env "HOME" }}`,
	"${NOMAD_TASK_DIR}",
	"$${escaped}",
	"%{ if true }yes%{ endif }",
	"${{x}}",
	`"double"`,
	`'single'`,
	`"`,
	`\`,
	`\\`,
	`\"`,
	`\n`,
	`\u0041`,
	`back\slash and "quote"`,
	"line1\nline2",
	"\r\n",
	"crlf\r\nend\n",
	"\ttab",
	"\b\f\v",
	"\x00nul",
	"\x1b[31mred\x1b[0m",
	"\x7fdel",
	"unicode é ✓ 日本 😀",
	"\u2028\u2029\u0085\u00a0",
	"\xff\xfe invalid utf-8 \xc3",
	"#comment",
	"a # not a comment",
	" leading space",
	"trailing space ",
	"  ",
	"a=b=c",
	"=",
	"export X=1",
	"$HOME `id` $(id)",
	"/slash/",
	strings.Repeat("{{x}}", 50),
}

// execTemplate runs text the way Nomad's template engine (consul-template on
// text/template, default delimiters) does, with funcs standing in for
// consul-template's.
func execTemplate(t testing.TB, text string, funcs template.FuncMap) string {
	t.Helper()
	tmpl, err := template.New("t").Funcs(funcs).Parse(text)
	if err != nil {
		t.Fatalf("parse template %q: %v", text, err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, nil); err != nil {
		t.Fatalf("execute template %q: %v", text, err)
	}
	return b.String()
}

// parseEnv reads a rendered env file the way Nomad does for env = true.
func parseEnv(t testing.TB, rendered string) map[string]string {
	t.Helper()
	env, err := envparse.Parse(strings.NewReader(rendered))
	if err != nil {
		t.Fatalf("envparse %q: %v", rendered, err)
	}
	return env
}

func TestTemplateLiteral(t *testing.T) {
	for _, s := range hostile {
		got := execTemplate(t, TemplateLiteral(s), nil)
		if got != s {
			t.Errorf("TemplateLiteral(%q) renders %q, want the input", s, got)
		}
	}
}

func TestTemplateLiteralUnchangedWithoutBraces(t *testing.T) {
	for _, s := range []string{"", "npm start", "${X} %{y} }} }", `"\`} {
		if got := TemplateLiteral(s); got != s {
			t.Errorf("TemplateLiteral(%q) = %q, want it unchanged", s, got)
		}
	}
}

// Escaped pieces are concatenated with each other and with actions
// (URLTemplate, the credentials template), so the escaping must survive
// concatenation: a piece ending in "{" must not open an action with what
// follows.
func TestTemplateLiteralConcatenates(t *testing.T) {
	pieces := []string{"", "a", "{", "a{", "{a", "{{", "}}", "}", "{{{", "x}}{"}
	for _, a := range pieces {
		for _, b := range pieces {
			text := TemplateLiteral(a) + TemplateLiteral(b)
			if got := execTemplate(t, text, nil); got != a+b {
				t.Errorf("TemplateLiteral(%q)+TemplateLiteral(%q) renders %q, want %q", a, b, got, a+b)
			}
		}
		text := TemplateLiteral(a) + `{{ "X" }}` + TemplateLiteral(a)
		if got := execTemplate(t, text, nil); got != a+"X"+a {
			t.Errorf("TemplateLiteral(%q) around an action renders %q, want %q", a, got, a+"X"+a)
		}
	}
}

func TestEnvQuoteIsOneLine(t *testing.T) {
	for _, s := range hostile {
		q := EnvQuote(s)
		if strings.ContainsAny(q, "\n\r") {
			t.Errorf("EnvQuote(%q) = %q spans lines", s, q)
		}
		if !strings.HasPrefix(q, `"`) || !strings.HasSuffix(q, `"`) || len(q) < 2 {
			t.Errorf("EnvQuote(%q) = %q is not double-quoted", s, q)
		}
		for i := 0; i < len(q); i++ {
			if q[i] < 0x20 {
				t.Errorf("EnvQuote(%q) = %q holds control byte %#x", s, q, q[i])
			}
		}
	}
}

func TestEnvQuote(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", `""`},
		{"abc", `"abc"`},
		{`a"b`, `"a\"b"`},
		{`a\b`, `"a\\b"`},
		{"a\nb\rc\td", `"a\nb\rc\td"`},
		{"\b\f", `"\b\f"`},
		{"\x00\x1b\x1f", `"\u0000\u001b\u001f"`},
		{"#x y=z '", `"#x y=z '"`},
		{"é", `"é"`},
	}
	for _, c := range cases {
		if got := EnvQuote(c.in); got != c.want {
			t.Errorf("EnvQuote(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestEnvLineRoundTrip(t *testing.T) {
	for _, s := range hostile {
		checkEnvLine(t, "KEY", s)
	}
}

// Several lines in one file, as the translator writes an element's env.
func TestEnvLineFile(t *testing.T) {
	var b strings.Builder
	want := map[string]string{}
	for i, s := range hostile {
		key := "K" + strings.Repeat("_", i%3) + string(rune('A'+i%26)) + strings.Repeat("X", i/26)
		want[key] = s
		b.WriteString(EnvLine(key, s))
	}
	got := parseEnv(t, execTemplate(t, b.String(), nil))
	if len(got) != len(want) {
		t.Fatalf("parsed %d vars, want %d: %q", len(got), len(want), got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func checkEnvLine(t testing.TB, key, value string) {
	t.Helper()
	line := EnvLine(key, value)
	if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
		t.Fatalf("EnvLine(%q, %q) = %q is not one line", key, value, line)
	}
	rendered := execTemplate(t, line, nil)
	env := parseEnv(t, rendered)
	if len(env) != 1 {
		t.Fatalf("EnvLine(%q, %q) renders %q, which parses to %d vars: %q", key, value, rendered, len(env), env)
	}
	got, ok := env[key]
	if !ok {
		t.Fatalf("EnvLine(%q, %q) renders %q, which parses without %s: %q", key, value, rendered, key, env)
	}
	if got != value {
		t.Fatalf("EnvLine(%q, %q) round-trips to %q (rendered %q)", key, value, got, rendered)
	}
}

// maxFuzzValue keeps the rendered line under bufio.Scanner's 64 KiB token
// limit, which go-envparse inherits: each byte quotes to at most 6.
const maxFuzzValue = 8 << 10

func FuzzEnvLine(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		if len(value) > maxFuzzValue {
			t.Skip("longer than go-envparse reads on one line")
		}
		checkEnvLine(t, "KEY", value)
	})
}

func FuzzTemplateLiteral(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, "{"+s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		text := TemplateLiteral(a) + TemplateLiteral(b) + `{{ "|" }}` + TemplateLiteral(a)
		if got, want := execTemplate(t, text, nil), a+b+"|"+a; got != want {
			t.Fatalf("%q renders %q, want %q", text, got, want)
		}
	})
}
