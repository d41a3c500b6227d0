// Package jobs is the cluster side of Backplane: it plans and applies a
// translated Bundle to one or several federated Nomad regions, watches the
// result, and rolls back or destroys elements; it writes Consul intentions
// and Vault policies, roles, credentials and secrets.
//
// Everything talks to real agents through nomad/api, consul/api and
// vault/api, with the region set per request, a context on every call, and a
// per-request timeout so that one region that hangs fails on its own.
//
// The element state (State, Status, Compute) is defined here once; the CLI
// prints it and the editor colours its lights by it.
//
// This package must not import web or store.
package jobs
