package test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/observe/alerts"
	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/test/agent"
	"github.com/backplane-dev/backplane/test/sinks"
	"github.com/backplane-dev/backplane/translator"
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

// BenchmarkAlertLatency is the time from a task failing on a real Nomad
// to the alert reaching its webhook through a real Alertmanager, less the
// route's group_wait (1s): the status watch, the bridge, the post and
// Alertmanager's dispatch. Each iteration deploys an element whose command
// exits at once, with restarts: 1, so its first exit raises RestartLoop;
// the failure's time is the task's Terminated event as Nomad records it.
// It reports p50 and p99 over the iterations (run with -benchtime 20x).
func BenchmarkAlertLatency(b *testing.B) {
	const groupWait = time.Second
	am := agent.StartAlertmanager(b, "")
	n := agent.StartNomad(b, agent.NomadOptions{})
	hook := sinks.NewHTTP(b)
	c := connect(b, jobs.Config{NomadAddr: n.Addr})
	m := alerts.NewManager(am.ConfigPath, am.SecretsDir, am.Client)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	br := alerts.NewBridge(alerts.BridgeConfig{Client: am.Client})
	go br.Run(ctx)
	var lat, toAM, toWatch []time.Duration
	for i := 0; b.Loop(); i++ {
		project := fmt.Sprintf("lat%d", i)
		y := fmt.Sprintf(`version: 1
project: %s
defaults: { driver: raw_exec }
receivers: { hook: { webhook: { url: %q } } }
elements:
  - id: crash
    kind: app.command
    command: exit 1
    resources: { cpu: 20, memory: 32 }
    alerts: { receivers: [hook], restarts: 1 }
`, project, hook.URL)
		bundle := bundleFor(b, y, translator.Options{Alerting: translator.AlertingOptions{GroupWait: groupWait.String(), GroupInterval: "1s"}})
		sc, err := schema.Decode("backplane.yaml", []byte(y))
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Apply(ctx, project, []byte(bundle.Alertmanager), nil); err != nil {
			b.Fatal(err)
		}
		targets := jobs.Targets(bundle)
		br.SetProject(project, sc, targets)
		wctx, stop := context.WithCancel(ctx)
		seen := make(chan time.Time, 1)
		go func() {
			_ = c.Watch(wctx, targets, func(st jobs.Status) {
				if st.Signals != nil && len(st.Signals.Restarts) > 0 {
					select {
					case seen <- time.Now():
					default:
					}
				}
				br.Observe(project, st)
			})
		}()
		plan, err := c.Plan(ctx, bundle, jobs.PlanOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if res, err := c.Apply(ctx, plan, jobs.ApplyOptions{}); err != nil || !res.OK() {
			b.Fatalf("apply: %v", err)
		}
		labels := map[string]string{"project": project, "element": "crash", "alertname": "RestartLoop"}
		inAM := make(chan time.Time, 1)
		go func() {
			// When Alertmanager first lists the alert: the bridge's share.
			for wctx.Err() == nil {
				if as, err := am.Client.Alerts(wctx, alerts.Filter("project", project)); err == nil && len(as) > 0 {
					inAM <- time.Now()
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		var got time.Time
		hook.Wait(b, 2*time.Minute, func(m sinks.Message) bool {
			w, err := m.Webhook()
			if err == nil && w.Firing(labels) {
				got = m.Received
				return true
			}
			return false
		})
		failed := firstExit(b, n, project+"-crash")
		lat = append(lat, got.Sub(failed)-groupWait)
		toAM = append(toAM, (<-inAM).Sub(failed))
		toWatch = append(toWatch, (<-seen).Sub(failed))
		stop()
		br.RemoveProject(project)
		if _, _, err := n.Client.Jobs().Deregister(project+"-crash", true, nil); err != nil {
			b.Fatal(err)
		}
		if err := m.Remove(ctx, project); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(lat)
	slices.Sort(toAM)
	slices.Sort(toWatch)
	b.ReportMetric(float64(toWatch[len(toWatch)/2].Milliseconds()), "to-watch-p50-ms")
	b.ReportMetric(float64(toAM[len(toAM)/2].Milliseconds()), "to-alertmanager-p50-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Milliseconds()), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Milliseconds()), "max-ms")
}

// firstExit is when the job's task first terminated, by Nomad's clock.
func firstExit(b *testing.B, n *agent.Nomad, jobID string) time.Time {
	allocs, _, err := n.Client.Jobs().Allocations(jobID, true, nil)
	if err != nil {
		b.Fatal(err)
	}
	var first time.Time
	for _, a := range allocs {
		for _, ts := range a.TaskStates {
			for _, ev := range ts.Events {
				if ev.Type == nomadapi.TaskTerminated {
					if at := time.Unix(0, ev.Time); first.IsZero() || at.Before(first) {
						first = at
					}
				}
			}
		}
	}
	if first.IsZero() {
		b.Fatalf("%s has no Terminated event", jobID)
	}
	return first
}
