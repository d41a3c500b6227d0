package jobs

import (
	"context"
	"fmt"
	"slices"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// AllocStats is one instance's resource use at a moment.
type AllocStats struct {
	// CPUMHz is the CPU it used, in MHz (Nomad's ticks).
	CPUMHz float64 `json:"cpu_mhz"`
	// MemoryBytes is its resident memory (RSS where the driver measures
	// it, else the cgroup's usage).
	MemoryBytes uint64    `json:"memory_bytes"`
	At          time.Time `json:"at"`
}

// AllocStats reads one running instance's resource use: one call to
// /v1/client/allocation/<id>/stats, through the servers, so it works with
// any client the API reaches.
func (c *Cluster) AllocStats(ctx context.Context, t Target, allocID string) (AllocStats, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	q := (&nomad.QueryOptions{Region: t.Region, Namespace: t.Namespace}).WithContext(ctx)
	u, err := c.Nomad.Allocations().Stats(&nomad.Allocation{ID: allocID}, q)
	if err != nil {
		return AllocStats{}, fmt.Errorf("region %s: stats of instance %s: %w", t.Region, allocID, err)
	}
	return statsOf(u), nil
}

func statsOf(u *nomad.AllocResourceUsage) AllocStats {
	var s AllocStats
	if u == nil {
		return s
	}
	if u.Timestamp > 0 {
		s.At = time.Unix(0, u.Timestamp).UTC()
	} else {
		s.At = time.Now().UTC()
	}
	if r := u.ResourceUsage; r != nil {
		if r.CpuStats != nil {
			s.CPUMHz = r.CpuStats.TotalTicks
		}
		if m := r.MemoryStats; m != nil {
			s.MemoryBytes = m.RSS
			if !slices.Contains(m.Measured, "RSS") || (m.RSS == 0 && m.Usage > 0) {
				s.MemoryBytes = m.Usage
			}
		}
	}
	return s
}
