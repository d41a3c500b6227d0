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
package web
