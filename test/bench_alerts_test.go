package test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/observe/alerts"
	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/test/agent"
)

// BenchmarkBridgeThroughput measures how many alerts a second the bridge
// delivers into a real Alertmanager without losing any: each iteration
// raises one alert for each of 1,000 elements of a new project, and ends
// when Alertmanager lists all of them. Compare alerts/s across runs with
// benchstat.
func BenchmarkBridgeThroughput(b *testing.B) {
	am := agent.StartAlertmanager(b, "")
	const elements = 1000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	br := alerts.NewBridge(alerts.BridgeConfig{Client: am.Client})
	go br.Run(ctx)
	now := time.Now()
	var total time.Duration
	for i := 0; b.Loop(); i++ {
		project := fmt.Sprintf("tp%d", i)
		sc := &schema.Schema{Project: project}
		targets := make([]jobs.Target, elements)
		for e := range targets {
			id := fmt.Sprintf("e%d", e)
			sc.Elements = append(sc.Elements, schema.Element{ID: id})
			targets[e] = jobs.Target{Element: id, Region: "global", JobID: project + "-" + id}
		}
		br.SetProject(project, sc, targets)
		start := time.Now()
		for _, tg := range targets {
			br.Observe(project, jobs.Status{Element: tg.Element, Region: tg.Region, JobID: tg.JobID, State: jobs.StateDegraded,
				Desired: 1, Running: 1, Signals: &jobs.Signals{Service: true, Up: 1, Restarts: []time.Time{now, now, now}}})
		}
		for {
			as, err := am.Client.Alerts(ctx, alerts.Filter("project", project))
			if err != nil {
				b.Fatal(err)
			}
			if len(as) == elements {
				break
			}
			if time.Since(start) > time.Minute {
				b.Fatalf("%d of %d alerts arrived in a minute; stats %+v", len(as), elements, br.Stats())
			}
			time.Sleep(5 * time.Millisecond)
		}
		total += time.Since(start)
	}
	if st := br.Stats(); st.Dropped > 0 {
		b.Fatalf("the bridge dropped %d alerts", st.Dropped)
	}
	b.ReportMetric(float64(elements*b.N)/total.Seconds(), "alerts/s")
}
