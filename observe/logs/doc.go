// Package logs reads back what the logship sidecars (observe/logship) pushed
// to Loki: it builds the LogQL of a search and talks to Loki's query API.
//
// It owns:
//
//   - The LogQL builder (Query.LogQL). A search is always scoped to one
//     project: the matcher project="<p>" is added by the builder, first, and
//     nothing a caller passes can remove or widen it. Every other input is a
//     label matcher with an exact value (element, region, task, stream;
//     alloc is exact, or a prefix of an allocation ID as the CLI prints
//     it) or a line filter: a search string is `|= "..."`, a regular
//     expression `|~ "..."` after it compiled as RE2 (Go's regexp, which is
//     what Loki runs). Every value goes into the query as a Go-quoted
//     string, which is how Loki's lexer reads string literals back, so a
//     quote, a backtick, a brace, a pipe or a newline in a value stays in
//     the value. Problems are *FieldError values naming the field at fault
//     (regex: ..., since: ...), by the API's parameter names.
//   - The query client (Client): query_range with a limit, a direction and
//     a time window, and paging with an opaque cursor (RangeResult.Next)
//     that continues exactly after the last line returned, lines that share
//     the boundary timestamp included; and the live tail through Loki's
//     tail websocket (/loki/api/v1/tail), reopened after a dropped
//     connection without repeating lines, and closed when the caller's
//     context ends. Requests carry the tenant (X-Scope-OrgID) and basic
//     auth when configured; credentials are never part of an error, a log
//     line or a URL.
//   - The settings every command shares (Config, ConfigFromEnv):
//     BACKPLANE_LOKI_URL (Loki's base URL, the same one the sidecar pushes
//     to), BACKPLANE_LOKI_TENANT and BACKPLANE_LOKI_BASIC_AUTH_FILE (a file
//     holding user:password).
//
// Lines come back as Line: {ts, element, region, alloc, task, stream, line}.
//
// lokitest is a fake Loki for tests (query_range, tail, a LogQL reader);
// the real one runs in the test/ suites. Loki itself is never imported.
//
// This package must not import web or store.
package logs
