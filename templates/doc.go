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
//   - Versions resolve against the versions a kind lists, the same way for
//     built-in and user kinds (ResolveVersion): a listed version as written;
//     a major version ("7") to the newest listed version of that major (7.4
//     when the kind lists 7.4 and 7.2); any other valid image tag as written,
//     with a build warning naming the image that will be pulled. Validation
//     refuses only a version that cannot be an image tag. Under docker the
//     resolved version goes into the task's meta as backplane.version
//     (MetaVersion), so `render` shows it in the job and `plan` shows it
//     change. It is task meta because a kind builds the task and the
//     translator owns the job around it.
//
// This package must not import jobs, web or store.
package templates
