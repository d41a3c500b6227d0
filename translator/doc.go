// Package translator turns a schema and the kind registry into a Bundle: one
// Nomad job per element per region, Consul intentions, Vault policies, Loki
// labels, an Alertmanager route subtree with its receivers, Prometheus rules,
// and warnings that name the element and field they are about. It also
// renders the Bundle as files (job JSON and HCL2, policy HCL, YAML).
//
// The translator is pure and deterministic: no network, no clock, no
// environment; map keys are sorted before anything is emitted, so the same
// schema gives byte-identical output. Options carry everything the caller
// knows (Loki URL, whether Vault holds credentials, the revision).
//
// Decisions, following what Nomad operators do by hand:
//   - The job ID and its service name are <project>-<element>; the group and
//     main task are named after the element.
//   - Connections are a template block (env = true, change_mode = restart)
//     over nomadService, or Consul's catalog when the edge crosses regions,
//     as service "<job>@<dc>" with dc the target region's
//     consul_datacenter (default: the region's name). An IPv6 address is
//     written in brackets, so host:port stays a valid URL authority.
//   - Which services register in Consul: only the targets of edges that
//     cross regions (plus every service under the mesh), in every region
//     they run in. Nomad's own catalog does not span regions, and a group's
//     services share one provider, so such a target is in Consul alone and
//     every edge to it asks Consul (the local datacenter when same-region).
//     Everything else stays on Nomad's service discovery, so a project
//     without cross-region edges needs no Consul at all.
//     With mesh on, each edge is a Connect upstream on 127.0.0.1 (bind ports
//     from 21000) plus an intention, and a "*" deny intention closes the rest.
//     The env var points at the first instance of the target; the template
//     re-renders when instances change.
//   - The element's own env is rendered by a template too, not the env block:
//     Nomad interpolates ${...} in env values at run time with no escape, and
//     values must reach the task exactly as written.
//   - Secrets are read by a Vault template (workload identity; the vault
//     block names the role <project>-<element>), each value JSON-quoted so any
//     byte survives the env file.
//   - Services are checked by Nomad (provider "nomad") unless the mesh is on;
//     the update block takes health from checks, or task states for elements
//     without a service, with auto_revert and min_healthy_time 3s by default; checks run every 3s.
//   - Autoscaling is a Nomad Autoscaler target-value policy on
//     avg_cpu-allocated from the nomad-apm source.
//   - Batch (cron) jobs get no logship sidecar and no resource rules
//     (MemoryNearLimit, CPUNearLimit). Restart loops are raised by the
//     alert bridge from Nomad's events, not by a metric rule.
//
// This package must not import jobs, web or store.
package translator
