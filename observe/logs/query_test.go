package logs_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/observe/logs"
	"github.com/backplane-dev/backplane/observe/logs/lokitest"
)

func TestLogQL(t *testing.T) {
	cases := []struct {
		name string
		q    logs.Query
		want string
	}{
		{"project only", logs.Query{Project: "shop"}, `{project="shop"}`},
		{"every label", logs.Query{Project: "shop", Element: "api", Region: "eu", Task: "api", Stream: "stderr", Alloc: "0b7e5e3c-2f0a-4c1b-9d3e-1a2b3c4d5e6f"},
			`{project="shop", element="api", region="eu", task="api", stream="stderr", alloc="0b7e5e3c-2f0a-4c1b-9d3e-1a2b3c4d5e6f"}`},
		{"short alloc is an escaped prefix", logs.Query{Project: "shop", Alloc: "0b7e5e3c"}, `{project="shop", alloc=~"0b7e5e3c.*"}`},
		{"alloc prefix with regex characters", logs.Query{Project: "shop", Alloc: "a.b*"}, `{project="shop", alloc=~"a\\.b\\*.*"}`},
		{"search is a line filter", logs.Query{Project: "shop", Element: "api", Search: "timeout"}, `{project="shop", element="api"} |= "timeout"`},
		{"regex is escaped once", logs.Query{Project: "shop", Regex: `user=\d+`}, `{project="shop"} |~ "user=\\d+"`},
		{"search and regex", logs.Query{Project: "shop", Search: "GET", Regex: `5\d\d`}, `{project="shop"} |= "GET" |~ "5\\d\\d"`},
		{"quotes in a search", logs.Query{Project: "shop", Search: `say "hi"`}, `{project="shop"} |= "say \"hi\""`},
		{"backticks and braces", logs.Query{Project: "shop", Search: "`}|{"}, "{project=\"shop\"} |= \"`}|{\""},
		{"newline and tab", logs.Query{Project: "shop", Search: "a\nb\tc"}, `{project="shop"} |= "a\nb\tc"`},
		{"element trying to close the selector", logs.Query{Project: "shop", Element: `api"} or {project=~".*`},
			`{project="shop", element="api\"} or {project=~\".*"}`},
		{"unicode stays readable", logs.Query{Project: "shop", Search: "café ✓"}, `{project="shop"} |= "café ✓"`},
		{"a line separator is escaped", logs.Query{Project: "shop", Search: "a\u2028b"}, `{project="shop"} |= "a\u2028b"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.q.LogQL()
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			p, err := lokitest.ParseQuery(got)
			if err != nil {
				t.Fatalf("Loki's reading of %s: %v", got, err)
			}
			if p.Matchers[0] != (lokitest.Matcher{Name: "project", Op: "=", Value: "shop"}) {
				t.Errorf("first matcher %+v", p.Matchers[0])
			}
		})
	}
}

func TestLogQLErrorsNameTheField(t *testing.T) {
	cases := []struct {
		name  string
		q     logs.Query
		field string
		msg   string
	}{
		{"no project", logs.Query{Element: "api"}, "project", "is required"},
		{"bad regex", logs.Query{Project: "shop", Regex: "user=(\\d+"}, "regex", "not a valid RE2 regular expression: missing closing )"},
		{"perl lookahead is not RE2", logs.Query{Project: "shop", Regex: "a(?=b)"}, "regex", "not a valid RE2"},
		{"bad stream", logs.Query{Project: "shop", Stream: "stdin"}, "stream", `"stdin" is not a stream: want stdout or stderr`},
		{"invalid UTF-8 search", logs.Query{Project: "shop", Search: "a\xffb"}, "q", "not valid UTF-8"},
		{"invalid UTF-8 element", logs.Query{Project: "shop", Element: "\xc3"}, "element", "not valid UTF-8"},
		{"search too long", logs.Query{Project: "shop", Search: strings.Repeat("x", logs.MaxSearchBytes+1)}, "q", "the limit is 4096"},
		{"region too long", logs.Query{Project: "shop", Region: strings.Repeat("r", logs.MaxLabelValueBytes+1)}, "region", "the limit is 1024"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.q.LogQL()
			var fe *logs.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FieldError", err)
			}
			if fe.Field != c.field || !strings.Contains(fe.Error(), c.msg) {
				t.Errorf("got %q (field %s), want field %s and %q", fe.Error(), fe.Field, c.field, c.msg)
			}
		})
	}
}

func TestParseWindow(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name              string
		since, from, to   string
		start, end        time.Time
		errField, errText string
	}{
		{name: "default is the last hour", start: now.Add(-time.Hour), end: now},
		{name: "since", since: "15m", start: now.Add(-15 * time.Minute), end: now},
		{name: "since in days", since: "7d", start: now.Add(-7 * 24 * time.Hour), end: now},
		{name: "since in weeks", since: "2w", start: now.Add(-14 * 24 * time.Hour), end: now},
		{name: "from and to", from: "2026-03-04T10:00:00Z", to: "2026-03-04T11:30:00+00:00",
			start: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC), end: time.Date(2026, 3, 4, 11, 30, 0, 0, time.UTC)},
		{name: "from alone ends now", from: "1772618400", start: time.Unix(1772618400, 0), end: now},
		{name: "a date", from: "2026-03-01", start: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), end: now},
		{name: "to alone: the hour before it", to: "2026-03-04T11:00:00Z", start: now.Add(-2 * time.Hour), end: now.Add(-time.Hour)},
		{name: "since with from", since: "1h", from: "2026-03-04T10:00:00Z", errField: "from", errText: "cannot be combined with since"},
		{name: "bad since", since: "soon", errField: "since", errText: `"soon" is not a duration`},
		{name: "negative since", since: "-1h", errField: "since", errText: "not a duration"},
		{name: "bad from", from: "yesterday", errField: "from", errText: "not a time"},
		{name: "from after to", from: "2026-03-04T11:00:00Z", to: "2026-03-04T10:00:00Z", errField: "from", errText: "is not before to"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, err := logs.ParseWindow(c.since, c.from, c.to, now)
			if c.errField != "" {
				var fe *logs.FieldError
				if !errors.As(err, &fe) || fe.Field != c.errField || !strings.Contains(fe.Msg, c.errText) {
					t.Fatalf("got %v, want %s: ...%s...", err, c.errField, c.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !w.Start.Equal(c.start) || !w.End.Equal(c.end) {
				t.Errorf("got %s .. %s, want %s .. %s", w.Start, w.End, c.start, c.end)
			}
		})
	}
}

func TestParseLimitAndDirection(t *testing.T) {
	if n, err := logs.ParseLimit(""); err != nil || n != logs.DefaultLimit {
		t.Errorf("default limit: %d %v", n, err)
	}
	for _, bad := range []string{"0", "-1", "5001", "ten"} {
		if _, err := logs.ParseLimit(bad); err == nil || !strings.HasPrefix(err.Error(), "limit: ") {
			t.Errorf("limit %q: %v", bad, err)
		}
	}
	if d, err := logs.ParseDirection(""); err != nil || d != logs.Backward {
		t.Errorf("default direction: %s %v", d, err)
	}
	if _, err := logs.ParseDirection("sideways"); err == nil || !strings.HasPrefix(err.Error(), "direction: ") {
		t.Errorf("direction: %v", err)
	}
}

// FuzzLogQLKeepsProject: whatever the inputs, the query Loki reads back has
// exactly one matcher on project, the first, equal to the project given;
// every other input is an exact (or, for alloc, escaped-prefix) matcher of
// its own label or a line filter holding exactly the input. No input adds,
// drops or widens a matcher.
func FuzzLogQLKeepsProject(f *testing.F) {
	f.Add("shop", "api", "eu", "0b7e5e3c", "api", "stdout", "timeout", `user=\d+`)
	f.Add("shop", `api"} or {project=~".*`, "", "", "", "", "", "")
	f.Add("shop", "", "", "", "", "", "`} |= `x", "")
	f.Add(`sh"op`, "\n", "}", "|", `\`, "stderr", "\"\n{project=\"other\"}", ".*")
	f.Add("shop", "", "", `.*"}`, "", "", "", `(?i)ERROR|warn`)
	f.Add("shop", "", "", "", "", "", strings.Repeat("}|\"`", 1000), "")
	f.Add("x", "#", "/*", "*/", "//", "", "\x00\x7f\u2028", `\x{7f}`)
	f.Fuzz(func(t *testing.T, project, element, region, alloc, task, stream, search, regex string) {
		q := logs.Query{Project: project, Element: element, Region: region, Alloc: alloc, Task: task, Stream: stream, Search: search, Regex: regex}
		logql, err := q.LogQL()
		if err != nil {
			var fe *logs.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a *FieldError: %v", err)
			}
			return
		}
		p, err := lokitest.ParseQuery(logql)
		if err != nil {
			t.Fatalf("Loki would not read %q: %v", logql, err)
		}
		if len(p.Matchers) == 0 || p.Matchers[0] != (lokitest.Matcher{Name: "project", Op: "=", Value: project}) {
			t.Fatalf("first matcher of %q is %+v, want project=%q", logql, p.Matchers, project)
		}
		want := map[string]string{"element": element, "region": region, "task": task, "stream": stream, "alloc": alloc}
		for _, m := range p.Matchers[1:] {
			v, ok := want[m.Name]
			if !ok {
				t.Fatalf("%q has a matcher on %s", logql, m.Name)
			}
			delete(want, m.Name)
			if m.Name == "alloc" && m.Op == "=~" {
				// A prefix: the escaped value, then anything.
				if m.Value != regexp.QuoteMeta(alloc)+".*" || len(alloc) >= 36 {
					t.Fatalf("alloc matcher %+v of %q, want the escaped prefix %q", m, logql, alloc)
				}
				continue
			}
			if m.Op != "=" || m.Value != v {
				t.Fatalf("matcher %+v of %q, want %s=%q", m, logql, m.Name, v)
			}
		}
		for name, v := range want {
			if v != "" {
				t.Fatalf("%s=%q is missing from %q", name, v, logql)
			}
		}
		var filters []lokitest.Filter
		if search != "" {
			filters = append(filters, lokitest.Filter{Op: "|=", Value: search})
		}
		if regex != "" {
			filters = append(filters, lokitest.Filter{Op: "|~", Value: regex})
		}
		if len(p.Filters) != len(filters) {
			t.Fatalf("filters of %q: %+v, want %+v", logql, p.Filters, filters)
		}
		for i := range filters {
			if p.Filters[i] != filters[i] {
				t.Fatalf("filter %d of %q: %+v, want %+v", i, logql, p.Filters[i], filters[i])
			}
		}
		// Another project's line never matches.
		other := map[string]string{"project": project + "x", "element": element, "region": region, "task": task, "stream": stream, "alloc": alloc}
		if p.Match(other, search) {
			t.Fatalf("%q matches a line of project %q", logql, project+"x")
		}
	})
}
