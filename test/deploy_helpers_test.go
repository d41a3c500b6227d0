package test

import (
	"context"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/templates"
	"github.com/backplane-dev/backplane/translator"
)

func bundleFor(t testing.TB, src string, opts translator.Options) *translator.Bundle {
	t.Helper()
	s, err := schema.Decode("backplane.yaml", []byte(src))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	reg, err := templates.NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	b, err := translator.Translate(s, reg, opts)
	if err != nil {
		t.Fatalf("translate: %v", err)
	}
	return b
}

func connect(t testing.TB, cfg jobs.Config) *jobs.Cluster {
	t.Helper()
	c, err := jobs.Connect(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// deploy plans and applies, failing the test on any blocked plan.
func deploy(t testing.TB, c *jobs.Cluster, b *translator.Bundle, opts jobs.ApplyOptions) (*jobs.Plan, *jobs.Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	plan, err := c.Plan(ctx, b, jobs.PlanOptions{})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	res, err := c.Apply(ctx, plan, opts)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return plan, res
}

// waitStates follows targets until each is in one of the wanted states, or
// fails the test after timeout with the last statuses.
func waitStates(t testing.TB, c *jobs.Cluster, targets []jobs.Target, timeout time.Duration, ok func(jobs.Target, jobs.Status) bool) map[string]jobs.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	last := map[string]jobs.Status{}
	_ = c.Watch(ctx, targets, func(s jobs.Status) {
		last[s.Region+"/"+s.JobID] = s
		for _, tg := range targets {
			st, seen := last[tg.Region+"/"+tg.JobID]
			if !seen || !ok(tg, st) {
				return
			}
		}
		cancel()
	})
	for _, tg := range targets {
		if st := last[tg.Region+"/"+tg.JobID]; !ok(tg, st) {
			t.Fatalf("%s in %s did not settle in %s: %+v", tg.Element, tg.Region, timeout, st)
		}
	}
	return last
}

func healthyOrRunning(periodic map[string]bool) func(jobs.Target, jobs.Status) bool {
	return func(tg jobs.Target, s jobs.Status) bool {
		if periodic[tg.Element] {
			return s.State == jobs.StateRunning
		}
		return s.State == jobs.StateHealthy
	}
}

// allocLog waits until the stdout of the element's running allocation
// contains want, and returns it.
func allocLog(t testing.TB, n *nomad.Client, region, jobID, task, want string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		allocs, _, err := n.Jobs().Allocations(jobID, false, &nomad.QueryOptions{Region: region})
		if err == nil {
			for _, a := range allocs {
				if a.ClientStatus != "running" {
					continue
				}
				alloc, _, err := n.Allocations().Info(a.ID, &nomad.QueryOptions{Region: region})
				if err != nil {
					continue
				}
				r, err := n.AllocFS().Cat(alloc, "alloc/logs/"+task+".stdout.0", &nomad.QueryOptions{Region: region})
				if err != nil {
					continue
				}
				var b strings.Builder
				buf := make([]byte, 4096)
				for {
					k, err := r.Read(buf)
					b.Write(buf[:k])
					if err != nil {
						break
					}
				}
				r.Close()
				last = b.String()
				if strings.Contains(last, want) {
					return last
				}
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("log of %s/%s never contained %q; last:\n%s", jobID, task, want, last)
	return ""
}

// running counts the job's running allocations.
func running(t testing.TB, n *nomad.Client, region, jobID string) int {
	t.Helper()
	allocs, _, err := n.Jobs().Allocations(jobID, false, &nomad.QueryOptions{Region: region})
	if err != nil {
		return 0
	}
	k := 0
	for _, a := range allocs {
		if a.ClientStatus == "running" && a.DesiredStatus == "run" {
			k++
		}
	}
	return k
}
