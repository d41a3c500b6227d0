package test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/test/agent"
)

// cronTable is the table schema's TestCheckSchedule uses: one case a line,
// `ok` or `refused`, a tab, then the expression.
const cronTable = "../schema/testdata/cron.txt"

type cronVerdict struct {
	expr string
	ok   bool
}

func readCronTable(t *testing.T) []cronVerdict {
	t.Helper()
	f, err := os.Open(cronTable)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []cronVerdict
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		verdict, expr, found := strings.Cut(line, "\t")
		if !found || (verdict != "ok" && verdict != "refused") {
			t.Fatalf("%s:%d: want ok|refused, a tab, then the expression; got %q", cronTable, n, line)
		}
		out = append(out, cronVerdict{expr: expr, ok: verdict == "ok"})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCronVerdictsMatchNomad asks a real Nomad to validate a periodic batch
// job for every schedule in schema's cron table, and checks that Nomad's
// verdict, the table's and schema.CheckSchedule's are the same. The job
// carries the schedule the way the cron kind renders it (periodic.crons).
func TestCronVerdictsMatchNomad(t *testing.T) {
	cases := readCronTable(t)
	n := agent.StartNomad(t, agent.NomadOptions{Name: "nomad-cron"})
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			if ours := schema.CheckSchedule(tc.expr) == nil; ours != tc.ok {
				t.Errorf("schema.CheckSchedule says ok=%v, the table says ok=%v", ours, tc.ok)
			}
			job := cronJob(tc.expr)
			resp, _, err := n.Client.Jobs().Validate(job, nil)
			var reason string
			switch {
			case err != nil:
				reason = err.Error()
			case resp.Error != "":
				reason = resp.Error
			case len(resp.ValidationErrors) > 0:
				reason = strings.Join(resp.ValidationErrors, "; ")
			}
			if nomadOK := reason == ""; nomadOK != tc.ok {
				t.Errorf("Nomad says ok=%v (%s), the table says ok=%v", nomadOK, reason, tc.ok)
			}
		})
	}
}

// cronJob is the smallest periodic batch job Nomad validates, with spec as
// its only schedule. Validation registers nothing, so one ID serves all.
func cronJob(spec string) *nomad.Job {
	job := nomad.NewBatchJob("cron-check", "cron-check", "global", 50)
	job.Datacenters = []string{"dc1"}
	job.Periodic = &nomad.PeriodicConfig{
		Enabled:         new(true),
		Specs:           []string{spec},
		SpecType:        new(nomad.PeriodicSpecCron),
		ProhibitOverlap: new(true),
	}
	task := nomad.NewTask("run", "raw_exec").SetConfig("command", "/bin/true")
	task.Resources = &nomad.Resources{CPU: new(20), MemoryMB: new(32)}
	job.AddTaskGroup(nomad.NewTaskGroup("run", 1).AddTask(task))
	return job
}
