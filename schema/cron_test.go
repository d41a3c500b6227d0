package schema

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/cronexpr"
)

// cronCase is one line of testdata/cron.txt.
type cronCase struct {
	expr string
	ok   bool
}

// readCronCases reads testdata/cron.txt: `ok|refused<TAB>expression` lines,
// with # comments and blank lines skipped.
func readCronCases(t *testing.T) []cronCase {
	t.Helper()
	f, err := os.Open("testdata/cron.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []cronCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		verdict, expr, found := strings.Cut(line, "\t")
		if !found || (verdict != "ok" && verdict != "refused") {
			t.Fatalf("testdata/cron.txt:%d: want ok|refused, a tab, then the expression; got %q", n, line)
		}
		cases = append(cases, cronCase{expr: expr, ok: verdict == "ok"})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestCheckSchedule holds CheckSchedule to the verdicts in testdata/cron.txt,
// which test/TestCronVerdictsMatchNomad checks against a real Nomad. Before
// Nomad's own parser was used, @every passed here and then failed in Nomad,
// and L, W and # were refused though Nomad takes them.
func TestCheckSchedule(t *testing.T) {
	cases := readCronCases(t)
	if len(cases) < 15 {
		t.Fatalf("testdata/cron.txt has %d cases; keep at least 15", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			err := CheckSchedule(tc.expr)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v; Nomad takes it", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("accepted; Nomad refuses it")
			}
		})
	}
}

// The refusals say why in words a user can act on, and Validate puts them
// at the element's schedule.
func TestCheckScheduleMessages(t *testing.T) {
	cases := []struct{ expr, want string }{
		{"@every 5m", `"@every 5m" is not a cron expression: Nomad does not take @every`},
		{"@midnight", "the descriptors Nomad takes are @yearly, @annually, @monthly, @weekly, @daily and @hourly"},
		{"TZ=UTC", "a time zone prefix is not supported"},
		{"0 25 * * *", `"0 25 * * *" is not a cron expression: syntax error in hour field: '25'`},
		{"* * * *", "missing field(s)"},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			s := validBase()
			el(t, s, "nightly").Schedule = tc.expr
			errs := Validate(s)
			if len(errs) != 1 || errs[0].Path != "elements[nightly].schedule" || !strings.Contains(errs[0].Msg, tc.want) {
				t.Fatalf("want one problem at elements[nightly].schedule containing %q, got:\n%v", tc.want, errs)
			}
		})
	}
}

// FuzzCheckSchedule: no schedule panics, and the verdict is always
// cronexpr's, whatever message CheckSchedule words.
//
//	go test ./schema -run '^$' -fuzz FuzzCheckSchedule -fuzztime 30s
func FuzzCheckSchedule(f *testing.F) {
	data, err := os.ReadFile("testdata/cron.txt")
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if _, expr, ok := strings.Cut(line, "\t"); ok {
			f.Add(expr)
		}
	}
	f.Fuzz(func(t *testing.T, spec string) {
		_, perr := cronexpr.Parse(spec)
		if err := CheckSchedule(spec); (err == nil) != (perr == nil) {
			t.Fatalf("CheckSchedule(%q) = %v, cronexpr.Parse = %v", spec, err, perr)
		}
	})
}
