package schema

import (
	"bytes"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Project-level defaults that Canonical fills in.
const (
	DefaultRegion     = "global" // Nomad's own default region
	DefaultDatacenter = "dc1"    // Nomad's own default datacenter
	DefaultDriver     = "docker"
	DefaultNamespace  = "default"
)

// Canonical returns a deep copy in canonical form: project-level defaults
// filled in (version, namespace, regions, defaults.region, defaults.driver),
// elements sorted by ID, connections by (from, to), secrets and region lists
// sorted, and empty lists and maps removed. Two schemas that mean the same
// thing have the same canonical form, so the store and the editor can compare
// revisions by it.
//
// Project defaults are deliberately not copied into each element: an element
// that does not set its driver or region keeps following the project's
// defaults when those change later. Use EffectiveDriver and Regions to read
// an element's resolved values.
func (s *Schema) Canonical() *Schema {
	c := s.clone()
	if c.Version == 0 {
		c.Version = Version
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if len(c.Regions) == 0 {
		region := c.Defaults.Region
		if region == "" {
			region = DefaultRegion
		}
		c.Regions = map[string]Region{region: {Datacenters: []string{DefaultDatacenter}}}
	}
	for name, r := range c.Regions {
		if len(r.Datacenters) == 0 {
			r.Datacenters = []string{DefaultDatacenter}
		}
		c.Regions[name] = r
	}
	if c.Defaults.Region == "" && len(c.Regions) == 1 {
		for name := range c.Regions {
			c.Defaults.Region = name
		}
	}
	if c.Defaults.Driver == "" {
		c.Defaults.Driver = DefaultDriver
	}
	if len(c.Receivers) == 0 {
		c.Receivers = nil
	}
	if len(c.Elements) == 0 {
		c.Elements = nil
	}
	sort.SliceStable(c.Elements, func(i, j int) bool { return c.Elements[i].ID < c.Elements[j].ID })
	for i := range c.Elements {
		e := &c.Elements[i]
		sort.Strings(e.Secrets)
		if len(e.Secrets) == 0 {
			e.Secrets = nil
		}
		if len(e.Env) == 0 {
			e.Env = nil
		}
		if len(e.Params) == 0 {
			e.Params = nil
		}
		if len(e.Args) == 0 {
			e.Args = nil
		}
		if e.Placement != nil {
			sort.Strings(e.Placement.Regions)
			if len(e.Placement.Regions) == 0 {
				e.Placement.Regions = nil
			}
			if len(e.Placement.Datacenters) == 0 {
				e.Placement.Datacenters = nil
			}
			if e.Placement.Regions == nil && e.Placement.Datacenters == nil {
				e.Placement = nil
			}
		}
		if e.Alerts.IsZero() {
			e.Alerts = nil
		} else if len(e.Alerts.Receivers) == 0 {
			e.Alerts.Receivers = nil
		}
	}
	sort.SliceStable(c.Connections, func(i, j int) bool {
		a, b := c.Connections[i], c.Connections[j]
		if a.From != b.From {
			return a.From < b.From
		}
		return a.To < b.To
	})
	if len(c.Connections) == 0 {
		c.Connections = nil
	}
	if len(c.Layout) == 0 {
		c.Layout = nil
	}
	return c
}

// clone deep-copies s. It is written out rather than done through an
// encoder because the translator clones every schema it translates.
func (s *Schema) clone() *Schema {
	c := *s
	c.Regions = cloneMap(s.Regions, func(r Region) Region {
		r.Datacenters = cloneSlice(r.Datacenters)
		return r
	})
	c.Receivers = cloneMap(s.Receivers, func(r Receiver) Receiver {
		r.Slack, r.Email, r.Webhook = clonePtr(r.Slack), clonePtr(r.Email), clonePtr(r.Webhook)
		return r
	})
	if s.Elements != nil {
		c.Elements = make([]Element, len(s.Elements))
		for i, e := range s.Elements {
			e.Source = clonePtr(e.Source)
			if e.Source != nil {
				e.Source.Paths = cloneSlice(e.Source.Paths)
			}
			e.Args = cloneSlice(e.Args)
			e.Env = cloneMap(e.Env, same[string])
			e.Secrets = cloneSlice(e.Secrets)
			e.Resources = clonePtr(e.Resources)
			e.Scale = clonePtr(e.Scale)
			e.Health = clonePtr(e.Health)
			if e.Placement != nil {
				p := *e.Placement
				p.Regions, p.Datacenters = cloneSlice(p.Regions), cloneSlice(p.Datacenters)
				e.Placement = &p
			}
			if e.Alerts != nil {
				a := *e.Alerts
				a.Receivers = cloneSlice(a.Receivers)
				e.Alerts = &a
			}
			e.Volume = clonePtr(e.Volume)
			e.Upstream = clonePtr(e.Upstream)
			e.Params = cloneMap(e.Params, same[string])
			c.Elements[i] = e
		}
	}
	if s.Connections != nil {
		c.Connections = make([]Connection, len(s.Connections))
		for i, conn := range s.Connections {
			conn.Route = clonePtr(conn.Route)
			c.Connections[i] = conn
		}
	}
	c.Layout = cloneMap(s.Layout, same[Position])
	return &c
}

func same[T any](v T) T { return v }

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func cloneSlice[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

func cloneMap[V any](m map[string]V, copyValue func(V) V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}

// EffectiveDriver is the element's driver, or the project's default.
func (s *Schema) EffectiveDriver(e *Element) string {
	if e.Driver != "" {
		return e.Driver
	}
	if s.Defaults.Driver != "" {
		return s.Defaults.Driver
	}
	return DefaultDriver
}

// ElementRegions lists the regions an element runs in, sorted: its placement,
// or the project's default region.
func (s *Schema) ElementRegions(e *Element) []string {
	if e.Placement != nil && len(e.Placement.Regions) > 0 {
		out := append([]string(nil), e.Placement.Regions...)
		sort.Strings(out)
		return out
	}
	if s.Defaults.Region != "" {
		return []string{s.Defaults.Region}
	}
	if len(s.Regions) == 1 {
		for name := range s.Regions {
			return []string{name}
		}
	}
	return []string{DefaultRegion}
}

// Datacenters lists the datacenters an element uses in a region: its own
// placement.datacenters, else the region's, else Nomad's default.
func (s *Schema) Datacenters(e *Element, region string) []string {
	if e.Placement != nil && len(e.Placement.Datacenters) > 0 {
		return append([]string(nil), e.Placement.Datacenters...)
	}
	if r, ok := s.Regions[region]; ok && len(r.Datacenters) > 0 {
		return append([]string(nil), r.Datacenters...)
	}
	return []string{DefaultDatacenter}
}

// EncodeYAML writes the schema as YAML with two-space indents, the form
// `backplane.yaml` files and the editor's YAML view use.
func (s *Schema) EncodeYAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(encodeNode(reflect.ValueOf(s))); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encodeNode builds the YAML for v the way yaml.v3's encoder lays it out:
// struct fields in order under their yaml names, empty omitempty fields left
// out, map keys sorted, strings quoted when they would read back as another
// type. The one difference is that a string spanning lines is written in
// double quotes. yaml.v3 writes it as a literal block, and its literal
// blocks do not always read back: "\na" returns as "a", and "\n a" or
// " a\n" as a syntax error. (yaml.Node.Encode goes through the same text,
// so it cannot be used to build the tree.)
func encodeNode(v reflect.Value) *yaml.Node {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
		}
		return encodeNode(v.Elem())
	case reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			fv := v.Field(i)
			if !f.IsExported() || name == "" || name == "-" || (opts == "omitempty" && isEmpty(fv)) {
				continue
			}
			n.Content = append(n.Content, encodeNode(reflect.ValueOf(name)), encodeNode(fv))
		}
		return n
	case reflect.Map:
		n := &yaml.Node{Kind: yaml.MappingNode}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		for _, k := range keys {
			kv := reflect.ValueOf(k).Convert(v.Type().Key())
			n.Content = append(n.Content, encodeNode(kv), encodeNode(v.MapIndex(kv)))
		}
		return n
	case reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for i := range v.Len() {
			n.Content = append(n.Content, encodeNode(v.Index(i)))
		}
		return n
	case reflect.String:
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v.String()}
		if strings.ContainsAny(n.Value, "\n\r\u0085\u2028\u2029") || yaml11Special(n.Value) {
			n.Style = yaml.DoubleQuotedStyle
		}
		return n
	case reflect.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Value: strconv.FormatBool(v.Bool())}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &yaml.Node{Kind: yaml.ScalarNode, Value: strconv.FormatInt(v.Int(), 10)}
	case reflect.Float32, reflect.Float64:
		f := strconv.FormatFloat(v.Float(), 'g', -1, v.Type().Bits())
		switch f {
		case "+Inf":
			f = ".inf"
		case "-Inf":
			f = "-.inf"
		case "NaN":
			f = ".nan"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Value: f}
	}
	// The schema types hold nothing else.
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
}

// isEmpty is yaml.v3's test for omitempty.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	}
	return v.IsZero()
}

var base60Float = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`)

// yaml11Special reports the strings YAML 1.1 reads as booleans or
// sexagesimal numbers. yaml.v3 reads them as strings, but quotes them when
// it writes them, for readers that follow YAML 1.1; so does EncodeYAML.
func yaml11Special(s string) bool {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off", "OFF":
		return true
	}
	return strings.Contains(s, ":") && base60Float.MatchString(s)
}
