// Package schema is Backplane's schema language: the types of a project
// (elements, connections, regions, receivers), strict decoding from YAML and
// JSON, validation that names the field at fault, and the canonical form the
// store and the editor compare revisions by.
//
// Decoding is strict. Unknown fields, wrong types and duplicate keys are
// errors carrying the path of the field (`elements[api].scale.max`) and its
// line. Input over 4 MiB, over 2,000 elements, or whose YAML aliases expand
// past a million nodes is refused before anything else looks at it. Where a
// string is wanted, a plain scalar that YAML reads as a number, a boolean or
// a date is taken as the text the user wrote (`branch: 1.0` is "1.0",
// `branch: 2024-05-01` is "2024-05-01"), and a JSON number the same way.
//
// Validation here covers what holds for every kind: names, references between
// elements, regions and receivers, numeric ranges and scale bounds, cron
// schedules (parsed by github.com/hashicorp/cronexpr, as Nomad parses them),
// and the size of env values (MaxEnvValue, MaxEnvLine). Checks that depend on
// an element's kind live with the kinds, in package templates.
//
// This package must not import any other Backplane package.
package schema
