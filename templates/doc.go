// Package templates holds element kinds as plugins: the Kind interface, the
// Registry they are registered into at wiring time, the built-in kinds and
// user kinds loaded from a folder of declarative files.
//
// A kind describes itself (palette label, category, icon, accepted fields,
// defaults and exports), validates its elements, and builds each element's
// main task. Most built-ins are declarative Specs, the same format user kinds
// are written in, so a team's own kinds behave exactly like the built-ins.
// lb.nginx and static need code and implement Kind directly.
//
// Decisions worth knowing:
//   - Commands (app.command, worker, cron, build and start) are rendered into
//     start.sh by a template and run with /bin/sh, rather than passed as
//     `sh -c` args: Nomad interpolates ${...} in args at run time with no way
//     to escape it, and the command must reach the task exactly as written.
//   - Datastores get credentials generated into Vault when the translator is
//     told Vault is available; otherwise they run without a password and the
//     build says so in a warning.
//
// This package must not import jobs, web or store.
package templates
