// Package logship is the `backplane logship` sidecar: it tails the log files
// Nomad writes for the other tasks of its group and pushes every line to
// Loki, with the labels the translator gives it plus `task` and `stream`.
//
// It owns:
//
//   - Following Nomad's files: ${NOMAD_ALLOC_DIR}/logs/<task>.stdout.N and
//     <task>.stderr.N. Tasks are found from the files present (its own task is
//     skipped). Nomad's rotator appends to the highest index, opens the next
//     index when a file is full (a line may span two files) and removes the
//     oldest; the shipper reads each index to its end before it moves on and
//     keeps the file it reads open, so a file removed under it is still read.
//   - Lines: split on '\n' (a trailing '\r' is dropped), invalid UTF-8
//     replaced by U+FFFD, and lines longer than MaxLineBytes (default
//     DefaultMaxLineBytes, just under Loki's default max_line_size of 256KB)
//     split into pieces, each but the last ending in LineSplitMarker.
//   - Pushing: batches by size (BatchBytes) and time (BatchWait) to Loki's
//     push API, as snappy-compressed protobuf (or JSON), built from
//     loki-client-go's logproto types. Timestamps are the time a line was
//     read, strictly increasing per stream, so Loki never folds two equal
//     lines into one.
//   - Offsets: the position after the last line Loki acknowledged, per task
//     and stream, in a state file in the alloc dir (written to a temporary
//     file and renamed). A restarted sidecar resumes there: nothing is lost
//     and nothing repeats. Only a crash between Loki's answer and the rename
//     repeats that one batch.
//   - Loki down: a batch is retried with exponential backoff (5xx, 429,
//     network errors) until Loki takes it. The shipper holds at most
//     BufferBytes in memory and then stops reading; the files on disk are
//     the rest of the buffer. The app is never blocked or slowed, since the
//     shipper only reads files. What is lost — a file Nomad removed before
//     it was read, or a batch Loki refused for good (a 4xx other than 429) —
//     is counted in Stats and reported in a line on stderr.
//   - Stopping: when its context ends (SIGTERM in the command), it reads
//     what is left, sends it within FlushTimeout and saves the offsets.
//
// Why not loki-client-go's loki.Client: it takes entries through Handle and
// decides their fate on its own goroutine (retried, then dropped and counted
// in a Prometheus counter), so a caller never learns which lines Loki
// acknowledged, and offsets could not advance only after the
// acknowledgement. It also registers its counters in the global Prometheus
// registry at init. So this package has a small pusher of its own for the
// push API, and uses loki-client-go for the wire types (pkg/logproto), which
// is all of Loki's protocol that it needs.
//
// This package must not import web or store.
package logship
