// Package metrics gives each element's CPU, memory and restarts: now (one
// stats read per running instance), over the last minutes from serve's
// own sampling of Nomad, or over days from Prometheus. It also keeps the
// project's Prometheus rule files (rules.go).
package metrics

import (
	"time"

	"github.com/backplane-dev/backplane/jobs"
)

// Metric names, as the API and the editor name them.
const (
	CPUMHz        = "cpu_mhz"
	CPUPercent    = "cpu_percent"
	MemoryBytes   = "memory_bytes"
	MemoryPercent = "memory_percent"
	Restarts      = "restarts"
)

// Units of the metrics.
var Units = map[string]string{
	CPUMHz: "MHz", CPUPercent: "%", MemoryBytes: "bytes", MemoryPercent: "%", Restarts: "count",
}

// Names lists the metrics in the order they are shown.
var Names = []string{CPUMHz, CPUPercent, MemoryBytes, MemoryPercent, Restarts}

// Instance is one instance of an element now: what `backplane top` prints
// a row of and the canvas shows on the node.
type Instance struct {
	Element string `json:"element"`
	Region  string `json:"region"`
	Alloc   string `json:"alloc"`
	// State is Nomad's client status (pending, running).
	State          string  `json:"state"`
	CPUMHz         float64 `json:"cpu_mhz"`
	CPUReservedMHz int     `json:"cpu_reserved_mhz"`
	// CPUPercent is of the reservation; it may pass 100 where Nomad lets
	// a task use idle CPU.
	CPUPercent       float64   `json:"cpu_percent"`
	MemoryBytes      uint64    `json:"memory_bytes"`
	MemoryLimitBytes uint64    `json:"memory_limit_bytes"`
	MemoryPercent    float64   `json:"memory_percent"`
	Restarts         int       `json:"restarts"`
	StartedAt        time.Time `json:"started_at,omitzero"`
	// At is when the figures were measured; zero when the instance runs
	// no task yet (pending) or its stats could not be read.
	At time.Time `json:"at,omitzero"`
	// Error says why the figures are missing, when they could not be read.
	Error string `json:"error,omitempty"`
}

// Snapshot is every instance of a project's elements now.
type Snapshot struct {
	Instances []Instance `json:"instances"`
	At        time.Time  `json:"at"`
}

// Point is one [unix seconds, value] pair.
type Point [2]float64

// Series is one metric of one instance over time.
type Series struct {
	Element string  `json:"element"`
	Region  string  `json:"region"`
	Alloc   string  `json:"alloc"`
	Metric  string  `json:"metric"`
	Unit    string  `json:"unit"`
	Points  []Point `json:"points"`
}

// Range is the answer of a range read.
type Range struct {
	// Source is "nomad" (serve's own sampling, the last MaxNomadRange)
	// or "prometheus".
	Source string   `json:"source"`
	Range  string   `json:"range"`
	Step   string   `json:"step"`
	Series []Series `json:"series"`
}

// InstanceOf fills an Instance from a status's instance and its stats.
func InstanceOf(st jobs.Status, in jobs.Instance, s *jobs.AllocStats) Instance {
	out := Instance{Element: st.Element, Region: st.Region, Alloc: in.ID, State: in.State, Restarts: in.Restarts, StartedAt: in.StartedAt}
	if sig := st.Signals; sig != nil {
		out.CPUReservedMHz, out.MemoryLimitBytes = sig.CPUReservedMHz, sig.MemoryLimitBytes
	}
	if s != nil {
		out.At = s.At
		out.CPUMHz, out.MemoryBytes = s.CPUMHz, s.MemoryBytes
		if out.CPUReservedMHz > 0 {
			out.CPUPercent = 100 * s.CPUMHz / float64(out.CPUReservedMHz)
		}
		if out.MemoryLimitBytes > 0 {
			out.MemoryPercent = 100 * float64(s.MemoryBytes) / float64(out.MemoryLimitBytes)
		}
	}
	return out
}
