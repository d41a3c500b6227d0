package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/test/agent"
	"github.com/backplane-dev/backplane/translator"
)

// benchSchema is n app.command elements (sleepers with a port, so each is
// a service job), each connected to the next.
func benchSchema(project string, n int, health string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nproject: %s\ndefaults: { driver: raw_exec }\nelements:\n", project)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - { id: e%02d, kind: app.command, command: 'exec python3 -m http.server $PORT --bind 127.0.0.1', port: 8000, resources: { cpu: 20, memory: 32 }%s }\n", i, health)
	}
	b.WriteString("connections:\n")
	for i := 0; i+1 < n; i++ {
		fmt.Fprintf(&b, "  - { from: e%02d, to: e%02d }\n", i, i+1)
	}
	return b.String()
}

func purgeAll(b *testing.B, n *nomad.Client) {
	b.Helper()
	stubs, _, err := n.Jobs().List(nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, j := range stubs {
		if _, _, err := n.Jobs().Deregister(j.ID, true, nil); err != nil {
			b.Fatal(err)
		}
	}
	for {
		allocs, _, _ := n.Allocations().List(nil)
		busy := 0
		for _, a := range allocs {
			if a.ClientStatus == "running" || a.ClientStatus == "pending" {
				busy++
			}
		}
		if busy == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// BenchmarkRegister50 is the time from deploy start to every job of a
// 50-element schema registered: Backplane (plan, then parallel register)
// beside `nomad job run -detach` of the same rendered HCL files one after
// another, against the same agent, in the same run. Each iteration starts
// from an empty cluster. Compare the two with benchstat.
func BenchmarkRegister50(b *testing.B) {
	n := agent.StartNomad(b, agent.NomadOptions{})
	bundle := bundleFor(b, benchSchema("bench", 50, ""), translator.Options{})
	files, err := bundle.Files()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	var hcl []string
	for _, f := range files {
		if strings.HasSuffix(f.Path, ".nomad.hcl") {
			p := filepath.Join(dir, filepath.Base(f.Path))
			if err := os.WriteFile(p, f.Data, 0o644); err != nil {
				b.Fatal(err)
			}
			hcl = append(hcl, p)
		}
	}
	if len(hcl) != 50 {
		b.Fatalf("%d HCL files", len(hcl))
	}
	c := connect(b, jobs.Config{NomadAddr: n.Addr})
	nomadBin, _ := exec.LookPath("nomad")

	b.Run("tool=backplane", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			purgeAll(b, n.Client)
			b.StartTimer()
			ctx := context.Background()
			plan, err := c.Plan(ctx, bundle, jobs.PlanOptions{})
			if err != nil {
				b.Fatal(err)
			}
			res, err := c.Apply(ctx, plan, jobs.ApplyOptions{})
			if err != nil || !res.OK() {
				b.Fatalf("apply: %v", err)
			}
		}
	})
	b.Run("tool=backplane-unchanged", func(b *testing.B) {
		// A redeploy with nothing changed: plan only, nothing registered.
		for b.Loop() {
			ctx := context.Background()
			plan, err := c.Plan(ctx, bundle, jobs.PlanOptions{})
			if err != nil {
				b.Fatal(err)
			}
			res, err := c.Apply(ctx, plan, jobs.ApplyOptions{})
			if err != nil || !res.OK() {
				b.Fatalf("apply: %v", err)
			}
		}
	})
	b.Run("tool=nomad-job-run", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			purgeAll(b, n.Client)
			b.StartTimer()
			for _, f := range hcl {
				cmd := exec.Command(nomadBin, "job", "run", "-detach", f)
				cmd.Env = append(os.Environ(), "NOMAD_ADDR="+n.Addr)
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("nomad job run %s: %v\n%s", f, err, out)
				}
			}
		}
	})
}

// BenchmarkDeployHealthy10 is the time from deploy start to all ten
// elements healthy on a local dev agent, with the default health settings
// and with fast ones. It reports Backplane's own share (plan and register)
// and Nomad's (placement, start, checks, min_healthy_time) as metrics.
func BenchmarkDeployHealthy10(b *testing.B) {
	n := agent.StartNomad(b, agent.NomadOptions{})
	c := connect(b, jobs.Config{NomadAddr: n.Addr})
	for _, tc := range []struct{ name, health string }{
		{"health=default", ""},
		{"health=interval1s-min1s", ", health: { interval: 1s, timeout: 1s, min_healthy_time: 1s }"},
	} {
		bundle := bundleFor(b, benchSchema("fast", 10, tc.health), translator.Options{})
		targets := jobs.Targets(bundle)
		b.Run(tc.name, func(b *testing.B) {
			var own, total, started, healthy, synced time.Duration
			for b.Loop() {
				b.StopTimer()
				purgeAll(b, n.Client)
				b.StartTimer()
				start := time.Now()
				ctx := context.Background()
				plan, err := c.Plan(ctx, bundle, jobs.PlanOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if res, err := c.Apply(ctx, plan, jobs.ApplyOptions{}); err != nil || !res.OK() {
					b.Fatalf("apply: %v", err)
				}
				own += time.Since(start)
				waitStates(b, c, targets, 3*time.Minute, func(_ jobs.Target, s jobs.Status) bool { return s.State == jobs.StateHealthy })
				total += time.Since(start)
				b.StopTimer()
				st, h, sy := milestones(b, n.Client, targets)
				started += st.Sub(start)
				healthy += h.Sub(start)
				synced += sy.Sub(start)
				b.StartTimer()
			}
			// The breakdown: register (Backplane's plan and apply), the
			// last task started, the last instance its client marked
			// healthy, the servers recording that, and the watch seeing
			// every element healthy (watch-lag: what the watch adds).
			per := func(d time.Duration) float64 { return d.Seconds() / float64(b.N) }
			b.ReportMetric(per(own), "backplane-s/op")
			b.ReportMetric(per(total-own), "nomad-s/op")
			b.ReportMetric(per(started), "started-s/op")
			b.ReportMetric(per(healthy), "nomad-healthy-s/op")
			b.ReportMetric(per(total-healthy), "seen-after-healthy-s/op")
			b.ReportMetric(per(total-synced), "watch-lag-s/op")
		})
	}
}

// milestones reads, from Nomad's own records, when the last main task of
// the targets started, when the last instance was marked healthy by its
// client, and when the servers last recorded an allocation update.
func milestones(b *testing.B, n *nomad.Client, targets []jobs.Target) (started, healthy, synced time.Time) {
	b.Helper()
	for _, tg := range targets {
		stubs, _, err := n.Jobs().Allocations(tg.JobID, false, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range stubs {
			if a.ClientStatus != "running" {
				continue
			}
			if ts := a.TaskStates[tg.Element]; ts != nil && ts.StartedAt.After(started) {
				started = ts.StartedAt
			}
			if ds := a.DeploymentStatus; ds != nil && ds.Timestamp.After(healthy) {
				healthy = ds.Timestamp
			}
			if m := time.Unix(0, a.ModifyTime); m.After(synced) {
				synced = m
			}
		}
	}
	return started, healthy, synced
}
