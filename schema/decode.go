package schema

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Size caps. A schema over these is rejected before it is looked at further.
const (
	MaxBytes    = 4 << 20
	MaxElements = 2000
	// maxNodes bounds the YAML nodes visited, aliases expanded, so an alias
	// bomb (a few lines that expand to billions of nodes) is refused.
	maxNodes = 1_000_000
)

// Decode reads a schema from YAML or JSON (JSON is read as YAML, which it is
// a subset of). It is strict: unknown fields, wrong types, duplicate keys and
// more than one document are errors, each carrying the path of the field.
// file names the input in the errors; it may be empty. Decode does not
// validate; call Validate on the result.
func Decode(file string, data []byte) (*Schema, error) {
	s, errs := decode(data)
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs.WithFile(file)
	}
	return s, nil
}

func decode(data []byte) (*Schema, Errors) {
	var s Schema
	if errs := decodeInto(data, &s); len(errs) > 0 {
		return nil, errs
	}
	if len(s.Elements) > MaxElements {
		return nil, Errors{{Path: "elements", Msg: fmt.Sprintf("%d elements, over the limit of %d", len(s.Elements), MaxElements), err: ErrTooLarge}}
	}
	return &s, nil
}

// DecodeInto strictly decodes YAML or JSON into out, a pointer to a struct
// whose fields carry yaml tags, with the same rules and caps as Decode. Other
// packages use it for their own files (user kinds).
func DecodeInto(file string, data []byte, out any) error {
	errs := decodeInto(data, out)
	errs.Sort()
	return errs.WithFile(file).Err()
}

func decodeInto(data []byte, out any) Errors {
	if len(data) > MaxBytes {
		return Errors{{Msg: fmt.Sprintf("%d bytes, over the limit of %d (4 MiB)", len(data), MaxBytes), err: ErrTooLarge}}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return Errors{{Msg: "file is empty"}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			// Nothing but comments.
			return Errors{{Msg: "file is empty"}}
		}
		return Errors{{Msg: yamlMessage(err)}}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return Errors{{Msg: "more than one YAML document; expected a single document", Line: extra.Line}}
	case !errors.Is(err, io.EOF):
		// A broken document after the first is still part of the file.
		return Errors{{Msg: yamlMessage(err)}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return Errors{{Msg: "file is empty"}}
		}
		root = root.Content[0]
	}
	if expandedSize(root, maxNodes) > maxNodes {
		return Errors{{Msg: fmt.Sprintf("expands to more than %d YAML nodes (aliases included); refusing it", maxNodes), err: ErrTooLarge}}
	}
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return Errors{{Msg: "internal: decode target must be a non-nil pointer"}}
	}
	d := &decoder{}
	d.value(root, v.Elem(), Path(""))
	if d.tooBig {
		return Errors{{Msg: fmt.Sprintf("expands to more than %d YAML nodes (aliases included); refusing it", maxNodes), err: ErrTooLarge}}
	}
	return d.errs
}

// yamlMessage strips the library prefix from a YAML syntax error.
func yamlMessage(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	return "invalid YAML: " + msg
}

type decoder struct {
	errs   Errors
	nodes  int
	tooBig bool
}

func (d *decoder) errorf(n *yaml.Node, path Path, format string, args ...any) {
	e := Errorf(path, format, args...)
	if n != nil {
		e.Line = n.Line
	}
	d.errs = append(d.errs, e)
}

var positionType = reflect.TypeOf(Position{})

// textTag reports the scalar types taken as strings where a string is wanted,
// as users expect from YAML: numbers, booleans and dates (version: 7,
// DEBUG: true, branch: 2024-05-01). So is a plain `<<`, which YAML tags as
// a merge key and which yaml.v3 writes unquoted when it encodes the string
// "<<". Other tags (!!binary, a custom !tag) are refused.
func textTag(tag string) bool {
	switch tag {
	case "!!int", "!!float", "!!bool", "!!timestamp", "!!merge":
		return true
	}
	return false
}

// value decodes n into v, which must be settable.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path Path) {
	if d.tooBig {
		return
	}
	d.nodes++
	if d.nodes > maxNodes {
		d.tooBig = true
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.errorf(n, path, "unknown alias")
			return
		}
		d.value(n.Alias, v, path)
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		// null leaves the zero value, as an omitted field would.
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.value(n, p.Elem(), path)
		v.Set(p)
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Map:
		d.mapping(n, v, path)
	case reflect.Slice:
		d.sequence(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, path, "must be a string, not %s", nodeKind(n))
			return
		}
		if n.Tag != "!!str" && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 && !textTag(n.Tag) {
			d.errorf(n, path, "must be a string, not %s", nodeKind(n))
			return
		}
		// The text as the user wrote it, never the value YAML reads it as:
		// `branch: 1.0` is "1.0", not "1", and `version: 7.10` not "7.1".
		v.SetString(n.Value)
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.errorf(n, path, "must be an integer, not %s", nodeKind(n))
			return
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err != nil || i > math.MaxInt32 || i < math.MinInt32 {
			d.errorf(n, path, "integer %s is out of range", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
			d.errorf(n, path, "must be a number, not %s", nodeKind(n))
			return
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.errorf(n, path, "must be a finite number")
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.errorf(n, path, "must be true or false, not %s", nodeKind(n))
			return
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			d.errorf(n, path, "must be true or false")
			return
		}
		v.SetBool(b)
	default:
		d.errorf(n, path, "cannot decode into %s", v.Type())
	}
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path Path) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "must be a mapping, not %s", nodeKind(n))
		return
	}
	fields := fieldsOf(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := resolve(n.Content[i]), n.Content[i+1]
		key := kn.Value
		if kn.Kind != yaml.ScalarNode {
			d.errorf(kn, path, "keys must be strings")
			continue
		}
		if key == "<<" {
			d.errorf(kn, path, "merge keys (<<) are not supported; write the fields out")
			continue
		}
		fpath := path.Field(key)
		if seen[key] {
			d.errorf(kn, fpath, "duplicate key %q", key)
			continue
		}
		seen[key] = true
		idx, ok := fields[key]
		if !ok {
			d.errorf(kn, fpath, "unknown field %q%s", key, suggest(key, fields))
			continue
		}
		d.value(vn, v.Field(idx), fpath)
	}
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path Path) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "must be a mapping, not %s", nodeKind(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := resolve(n.Content[i]), n.Content[i+1]
		if kn.Kind != yaml.ScalarNode || kn.Tag == "!!null" {
			d.errorf(kn, path, "keys must be strings")
			continue
		}
		key := kn.Value
		kpath := path.MapKey(key)
		if m.MapIndex(reflect.ValueOf(key)).IsValid() {
			d.errorf(kn, kpath, "duplicate key %q", key)
			continue
		}
		ev := reflect.New(v.Type().Elem()).Elem()
		d.value(vn, ev, kpath)
		m.SetMapIndex(reflect.ValueOf(key), ev)
	}
	v.Set(m)
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path Path) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "must be a list, not %s", nodeKind(n))
		return
	}
	if len(n.Content) > MaxElements*4 {
		d.errorf(n, path, "list of %d items is over the limit of %d", len(n.Content), MaxElements*4)
		d.errs[len(d.errs)-1].err = ErrTooLarge
		d.tooBig = len(n.Content) > maxNodes
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.value(item, s.Index(i), path.Add(itemLabel(item, i)))
	}
	v.Set(s)
}

// itemLabel names a list item in a path: by its id when it has a plain one
// (`elements[api]`), by its index otherwise (`connections[2]`).
func itemLabel(n *yaml.Node, i int) string {
	n = resolve(n)
	if n.Kind == yaml.MappingNode {
		for j := 0; j+1 < len(n.Content); j += 2 {
			k, val := resolve(n.Content[j]), resolve(n.Content[j+1])
			if k.Value == "id" && val.Kind == yaml.ScalarNode && val.Value != "" && plainKey.MatchString(val.Value) {
				return "[" + val.Value + "]"
			}
		}
	}
	return "[" + strconv.Itoa(i) + "]"
}

// Add appends a raw path segment such as "[api]".
func (p Path) Add(seg string) Path { return p + Path(seg) }

// expandedSize counts the nodes under root with every alias expanded, and
// stops counting once the total passes limit. Sizes of anchored nodes (the
// only ones an alias can refer to) are remembered, so the work is linear in
// the document however far its aliases expand, and the walk keeps its own
// stack, so a long chain of aliases cannot exhaust the goroutine's. An alias
// to a node that contains it expands forever and counts as over the limit.
func expandedSize(root *yaml.Node, limit int) int {
	const counting = -1
	known := map[*yaml.Node]int{}
	type frame struct {
		n    *yaml.Node
		next int // index of the next child to count
		size int
	}
	children := func(n *yaml.Node) []*yaml.Node {
		if n.Kind == yaml.AliasNode {
			if n.Alias == nil {
				return nil
			}
			return []*yaml.Node{n.Alias}
		}
		return n.Content
	}
	enter := func(n *yaml.Node) frame {
		if n.Anchor != "" {
			known[n] = counting
		}
		return frame{n: n, size: 1}
	}
	stack := []frame{enter(root)}
	for {
		f := &stack[len(stack)-1]
		if kids := children(f.n); f.next < len(kids) && f.size <= limit {
			k := kids[f.next]
			f.next++
			switch size, ok := known[k]; {
			case !ok:
				stack = append(stack, enter(k))
			case size == counting:
				f.size = limit + 1
			default:
				f.size += size
			}
			continue
		}
		size := min(f.size, limit+1)
		if f.n.Anchor != "" {
			known[f.n] = size
		}
		stack = stack[:len(stack)-1]
		if len(stack) == 0 {
			return size
		}
		stack[len(stack)-1].size += size
	}
}

func resolve(n *yaml.Node) *yaml.Node {
	for depth := 0; n.Kind == yaml.AliasNode && n.Alias != nil && depth < 100; depth++ {
		n = n.Alias
	}
	return n
}

func nodeKind(n *yaml.Node) string {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str":
			return fmt.Sprintf("the string %q", clip(n.Value))
		case "!!int", "!!float":
			return "the number " + clip(n.Value)
		case "!!bool":
			return n.Value
		case "!!null":
			return "null"
		}
		return fmt.Sprintf("%q", clip(n.Value))
	}
	return "an unknown node"
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

var (
	fieldCacheMu sync.Mutex
	fieldCache   = map[reflect.Type]map[string]int{}
)

// fieldsOf maps the yaml names of a struct's fields to their indexes. The
// schema types are fixed, so the cache is filled once per type; a sync.Map
// would do no better since the set never changes after the first decode.
func fieldsOf(t reflect.Type) map[string]int {
	fieldCacheMu.Lock()
	defer fieldCacheMu.Unlock()
	if m, ok := fieldCache[t]; ok {
		return m
	}
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		m[name] = i
	}
	fieldCache[t] = m
	return m
}

// suggest offers the nearest known field name for a typo.
func suggest(key string, fields map[string]int) string {
	best, bestD := "", 3
	for name := range fields {
		if dd := distance(key, name); dd < bestD || (dd == bestD && best != "" && name < best) {
			best, bestD = name, dd
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance, for suggestions on short names.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// IsTooLarge reports whether err is a size-cap refusal.
func IsTooLarge(err error) bool { return errors.Is(err, ErrTooLarge) }
