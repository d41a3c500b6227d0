// Package web is Backplane's HTTP side: the REST API (API.md), the
// Server-Sent Events status stream, and the editor (web/ui, React and React
// Flow, built by Vite and embedded). It runs on gin.
//
// Handlers return errors; one place turns them into
// {"error": {"code", "message", "path"}}. Every request body is capped at
// 4 MiB, every handler has a deadline, and a panic becomes a logged 500,
// never a crash. Saves are optimistic: PUT carries If-Match with the ETag of
// the revision it edits, and a stale one is refused with 409, so two people
// cannot lose each other's work.
//
// The server works without a cluster: the cluster endpoints then answer
// 503 no_cluster, and everything else works.
//
// Replicas: when the store carries notifications (store.Notifier, i.e.
// PostgreSQL), the hub announces each project event (revision, deployment,
// deletion) to the other replicas and delivers theirs to its own streams
// (relay.go), so an editor sees every save whichever replica it is
// connected to. Status events are each replica's own, from its own Nomad
// watch. On SQLite events stay in the process: one replica is the limit.
//
// Logs (logs.go): a search and a live tail (SSE relayed from Loki's tail
// websocket) per project, read from Loki through observe/logs. The project
// matcher comes from the path only; without Loki configured both answer
// 503 no_loki.
//
// A deleted project's audit trail, revisions and deployments stay readable
// under /audit and /deleted-projects (history.go) until serve purges them.
package web
