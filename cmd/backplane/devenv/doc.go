// Package devenv runs the peers of a local Backplane on one machine, for
// `backplane dev`: Nomad, Consul, Vault (or OpenBao), Loki, Alertmanager
// and Prometheus, whichever are on PATH. Each listens on loopback on free
// ports, keeps its data in a folder of its own, and runs in a process group
// of its own, so that Stop ends it and everything it started.
//
// It owns the processes and their configuration files, and nothing of
// Backplane's own packages: the caller wires the URLs it reports into
// `serve`. It must not import web, store or jobs.
package devenv
