// Package schema is Backplane's schema language: the types of a project
// (elements, connections, regions, receivers), strict decoding from YAML and
// JSON, validation that names the field at fault, and the canonical form the
// store and the editor compare revisions by.
//
// Decoding is strict. Unknown fields, wrong types and duplicate keys are
// errors carrying the path of the field (`elements[api].scale.max`) and its
// line. Input over 4 MiB, over 2,000 elements, or whose YAML aliases expand
// past a million nodes is refused before anything else looks at it.
//
// Validation here covers what holds for every kind: names, references between
// elements, regions and receivers, numeric ranges and scale bounds. Checks that
// depend on an element's kind live with the kinds, in package templates.
//
// This package must not import any other Backplane package.
package schema
