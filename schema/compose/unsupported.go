package compose

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/backplane-dev/backplane/schema"
)

// mapped are the service keys the import reads; the rest are warned about.
var mapped = map[string]bool{
	"name": true, "profiles": true, "extends": true, "image": true, "build": true,
	"command": true, "entrypoint": true, "environment": true, "env_file": true,
	"ports": true, "expose": true, "depends_on": true, "links": true,
	"healthcheck": true, "volumes": true, "cpus": true, "mem_limit": true, "scale": true,
}

// reasons say why a common key has no place in the schema.
var reasons = map[string]string{
	"restart":        "Nomad restarts failed tasks by its own restart policy",
	"container_name": "the job is named <project>-<element>",
	"hostname":       "other elements reach it through connections",
	"networks":       "connections decide who reaches whom",
	"labels":         "Backplane sets the job's meta itself",
	"logging":        "logs go to Loki with the element's labels",
	"secrets":        "compose secrets are files; Backplane secrets are env vars: list them in the element's secrets and set them with `backplane secrets set`",
	"configs":        "put the files in the image or an artifact",
	"user":           "the image's user runs the task",
	"working_dir":    "the image's working directory is used",
	"stdin_open":     "tasks have no terminal",
	"tty":            "tasks have no terminal",
	"develop":        "it is for local development",
	"extra_hosts":    "other elements reach it through connections",
}

// unsupported warns about every key of the service the import did not read.
func (c *converter) unsupported(sv *service) {
	svc := sv.cfg
	seen := map[string]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if f.Anonymous && tag == "" {
				walk(v.Field(i))
				continue
			}
			if tag == "" || tag == "-" || tag == "#extensions" || mapped[tag] || empty(v.Field(i)) {
				continue
			}
			seen[tag] = true
		}
	}
	walk(reflect.ValueOf(svc))
	// Compose joins every service to the default network; that is no
	// choice of the user's.
	if len(svc.Networks) == 1 {
		if _, ok := svc.Networks["default"]; ok && svc.Networks["default"] == nil {
			delete(seen, "networks")
		}
	}
	if svc.Restart != "" && svc.Restart != "no" {
		delete(seen, "restart")
	}
	if d := svc.Deploy; d != nil {
		delete(seen, "deploy")
		c.deployKeys(sv)
	}
	for _, k := range schema.SortedKeys(seen) {
		reason := reasons[k]
		if reason == "" {
			reason = "Backplane has no equivalent"
		}
		c.warn(sv.name, k, "not carried over: %s", reason)
	}
	for _, k := range schema.SortedKeys(svc.Extensions) {
		c.warn(sv.name, k, "not carried over: an extension field")
	}
}

// deployKeys warns about deploy's keys other than replicas and resources.
func (c *converter) deployKeys(sv *service) {
	d := sv.cfg.Deploy
	if d.Mode != "" && d.Mode != "replicated" {
		c.warn(sv.name, "deploy.mode", "not carried over: %s; the element runs scale.count instances", d.Mode)
	}
	for key, set := range map[string]bool{
		"deploy.labels": len(d.Labels) > 0, "deploy.update_config": d.UpdateConfig != nil,
		"deploy.rollback_config": d.RollbackConfig != nil, "deploy.restart_policy": d.RestartPolicy != nil,
		"deploy.endpoint_mode": d.EndpointMode != "",
		"deploy.placement":     len(d.Placement.Constraints) > 0 || len(d.Placement.Preferences) > 0 || d.Placement.MaxReplicas > 0,
	} {
		if set {
			c.warn(sv.name, key, "not carried over: Backplane has no equivalent (placement is by region and datacenter)")
		}
	}
}

// empty is yaml's omitempty test.
func empty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map, reflect.String:
		return v.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	}
	return v.IsZero()
}

// topLevel warns about the project's keys other than services and volumes.
func (c *converter) topLevel() {
	p := c.project
	for _, n := range schema.SortedKeys(p.DisabledServices) {
		c.warns = append(c.warns, Warning{File: c.fileFor(n, ""), Path: "services." + n,
			Message: fmt.Sprintf("left out: its profiles (%s) are not enabled; pass --profile to import it", strings.Join(p.DisabledServices[n].Profiles, ", "))})
	}
	for _, n := range schema.SortedKeys(p.Networks) {
		if n == "default" {
			continue
		}
		c.warns = append(c.warns, Warning{File: c.topFile("networks"), Path: "networks." + n, Message: "not carried over: connections decide who reaches whom"})
	}
	for _, n := range schema.SortedKeys(p.Volumes) {
		v := p.Volumes[n]
		if v.Driver != "" && v.Driver != "local" || len(v.DriverOpts) > 0 || bool(v.External) {
			c.warns = append(c.warns, Warning{File: c.topFile("volumes"), Path: "volumes." + n, Message: "its driver and options are not carried over: the element uses the Nomad host volume of that name, which each client must declare"})
		}
	}
	for _, n := range schema.SortedKeys(p.Secrets) {
		c.warns = append(c.warns, Warning{File: c.topFile("secrets"), Path: "secrets." + n, Message: "not carried over: " + reasons["secrets"]})
	}
	for _, n := range schema.SortedKeys(p.Configs) {
		c.warns = append(c.warns, Warning{File: c.topFile("configs"), Path: "configs." + n, Message: "not carried over: " + reasons["configs"]})
	}
	for _, n := range schema.SortedKeys(p.Models) {
		c.warns = append(c.warns, Warning{File: c.topFile("models"), Path: "models." + n, Message: "not carried over: Backplane has no equivalent"})
	}
	for _, n := range schema.SortedKeys(p.Extensions) {
		c.warns = append(c.warns, Warning{File: c.topFile(n), Path: n, Message: "not carried over: an extension field"})
	}
}

// Layout columns and rows, in canvas pixels.
const (
	layoutX0   = 40
	layoutDX   = 300
	layoutY0   = 60
	layoutDY   = 140
	layoutRows = 6
	layoutLeft = 0
	layoutMid  = 1
	layoutData = 2
)

// layout places load balancers left, apps and workers in the middle (those
// with a port first) and datastores right, each column in ID order and at
// most layoutRows high.
func layout(s *schema.Schema) map[string]schema.Position {
	cols := map[int][]*schema.Element{}
	for i := range s.Elements {
		e := &s.Elements[i]
		col := layoutMid
		switch {
		case e.Kind == kindNginx:
			col = layoutLeft
		case isDatastore(e.Kind):
			col = layoutData
		}
		cols[col] = append(cols[col], e)
	}
	mid := cols[layoutMid]
	sort.SliceStable(mid, func(i, j int) bool {
		if (mid[i].Port == 0) != (mid[j].Port == 0) {
			return mid[i].Port != 0
		}
		return mid[i].ID < mid[j].ID
	})
	out := map[string]schema.Position{}
	x := float64(layoutX0)
	for col := layoutLeft; col <= layoutData; col++ {
		// A long column wraps into several, layoutRows high.
		for start := 0; start < len(cols[col]); start += layoutRows {
			for row, e := range cols[col][start:min(start+layoutRows, len(cols[col]))] {
				out[e.ID] = schema.Position{X: x, Y: float64(layoutY0 + row*layoutDY)}
			}
			x += layoutDX
		}
	}
	return out
}
