package translator

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/hashicorp/nomad/api"
	"github.com/zclconf/go-cty/cty"
)

// JobHCL renders a job as an HCL2 jobspec. It walks the api types by their
// `hcl` struct tags, the same tags Nomad's own jobspec parser decodes with,
// so the file parses back into the same job. Strings go through hclwrite,
// which escapes ${ and %{ so nothing is interpolated by the parser.
func JobHCL(job *api.Job) ([]byte, error) {
	f := hclwrite.NewEmptyFile()
	id := ""
	if job.ID != nil {
		id = *job.ID
	}
	block := f.Body().AppendNewBlock("job", []string{id})
	w := &hclWriter{}
	w.body(block.Body(), reflect.ValueOf(job).Elem(), map[string]bool{"id": true, "name": true})
	if w.err != nil {
		return nil, w.err
	}
	return f.Bytes(), nil
}

type hclWriter struct{ err error }

var durationType = reflect.TypeOf(time.Duration(0))

// body writes a struct's tagged fields into b: attributes first, then
// blocks, each in field order. skip names attributes to leave out.
func (w *hclWriter) body(b *hclwrite.Body, v reflect.Value, skip map[string]bool) {
	t := v.Type()
	type field struct {
		name string
		v    reflect.Value
		kind string
	}
	var attrs, blocks []field
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("hcl")
		if tag == "" {
			continue
		}
		name, kind, _ := strings.Cut(tag, ",")
		if kind == "label" || skip[name] || name == "" {
			continue
		}
		fv := v.Field(i)
		if isEmpty(fv) {
			continue
		}
		switch kind {
		case "block":
			blocks = append(blocks, field{name, fv, kind})
		default:
			attrs = append(attrs, field{name, fv, kind})
		}
	}
	for _, a := range attrs {
		val, ok := w.ctyValue(a.v)
		if ok {
			b.SetAttributeValue(a.name, val)
		}
	}
	for _, bl := range blocks {
		w.block(b, bl.name, bl.v)
	}
}

func (w *hclWriter) block(b *hclwrite.Body, name string, v reflect.Value) {
	// NetworkResource keeps static ports in ReservedPorts, but the jobspec
	// writes every port as a `port` block.
	if nr, ok := v.Interface().([]*api.NetworkResource); ok {
		for _, n := range nr {
			nb := b.AppendNewBlock(name, nil).Body()
			cp := *n
			cp.ReservedPorts, cp.DynamicPorts = nil, nil
			w.body(nb, reflect.ValueOf(&cp).Elem(), nil)
			for _, p := range append(append([]api.Port{}, n.ReservedPorts...), n.DynamicPorts...) {
				pb := nb.AppendNewBlock("port", []string{p.Label}).Body()
				w.body(pb, reflect.ValueOf(&p).Elem(), nil)
			}
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		w.block(b, name, v.Elem())
	case reflect.Struct:
		nb := b.AppendNewBlock(name, labels(v))
		w.body(nb.Body(), v, nil)
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			w.block(b, name, v.Index(i))
		}
	case reflect.Map:
		if v.Type().Elem().Kind() == reflect.Pointer || v.Type().Elem().Kind() == reflect.Struct {
			// Labelled blocks keyed by name (group volumes).
			for _, k := range sortedMapKeys(v) {
				w.block(b, name, v.MapIndex(k))
			}
			return
		}
		if name == "env" || name == "meta" {
			// Keys like backplane.project are not HCL identifiers, so these
			// are written as map attributes, which Nomad's jobspec accepts.
			if val, ok := w.ctyValue(v); ok {
				b.SetAttributeValue(name, val)
			}
			return
		}
		nb := b.AppendNewBlock(name, nil).Body()
		w.mapBody(nb, v)
	default:
		w.err = fmt.Errorf("hcl: cannot write %s as block %q", v.Type(), name)
	}
}

// mapBody writes a map[string]T as attributes; nested maps whose values are
// lists of maps (a scaling policy's check blocks) become nested blocks.
func (w *hclWriter) mapBody(b *hclwrite.Body, v reflect.Value) {
	for _, k := range sortedMapKeys(v) {
		name := k.String()
		item := v.MapIndex(k)
		for item.Kind() == reflect.Interface && !item.IsNil() {
			item = item.Elem()
		}
		if blocks, ok := asBlockList(item); ok {
			for _, m := range blocks {
				w.labelledMapBlock(b, name, m)
			}
			continue
		}
		val, ok := w.ctyValue(item)
		if ok {
			b.SetAttributeValue(name, val)
		}
	}
}

// labelledMapBlock writes {"label": [{...}]} as `name "label" { ... }` and a
// plain map as `name { ... }`, the two shapes HCL blocks take in job JSON.
func (w *hclWriter) labelledMapBlock(b *hclwrite.Body, name string, m map[string]any) {
	if len(m) == 1 {
		for label, inner := range m {
			if list, ok := inner.([]any); ok && len(list) > 0 {
				if _, isMap := list[0].(map[string]any); isMap {
					for _, x := range list {
						nb := b.AppendNewBlock(name, []string{label}).Body()
						w.mapBody(nb, reflect.ValueOf(x.(map[string]any)))
					}
					return
				}
			}
		}
	}
	nb := b.AppendNewBlock(name, nil).Body()
	w.mapBody(nb, reflect.ValueOf(m))
}

// asBlockList reports whether v is a list of maps, which the job JSON uses
// for nested blocks inside free-form maps.
func asBlockList(v reflect.Value) ([]map[string]any, bool) {
	list, ok := v.Interface().([]any)
	if !ok || len(list) == 0 {
		if ms, ok := v.Interface().([]map[string]any); ok && len(ms) > 0 {
			return ms, true
		}
		return nil, false
	}
	out := make([]map[string]any, 0, len(list))
	for _, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, false
		}
		out = append(out, m)
	}
	return out, true
}

func labels(v reflect.Value) []string {
	t := v.Type()
	var out []string
	for i := 0; i < t.NumField(); i++ {
		_, kind, _ := strings.Cut(t.Field(i).Tag.Get("hcl"), ",")
		if kind != "label" {
			continue
		}
		f := v.Field(i)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				continue
			}
			f = f.Elem()
		}
		out = append(out, f.String())
	}
	return out
}

func (w *hclWriter) ctyValue(v reflect.Value) (cty.Value, bool) {
	if v.Kind() == reflect.Interface {
		if v.IsNil() {
			return cty.NilVal, false
		}
		v = v.Elem()
	}
	if v.Type() == durationType {
		return cty.StringVal(time.Duration(v.Int()).String()), true
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return cty.NilVal, false
		}
		return w.ctyValue(v.Elem())
	case reflect.String:
		return cty.StringVal(v.String()), true
	case reflect.Bool:
		return cty.BoolVal(v.Bool()), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return cty.NumberIntVal(v.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return cty.NumberUIntVal(v.Uint()), true
	case reflect.Float32, reflect.Float64:
		return cty.NumberFloatVal(v.Float()), true
	case reflect.Slice:
		if v.Len() == 0 {
			return cty.ListValEmpty(cty.String), true
		}
		vals := make([]cty.Value, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			x, ok := w.ctyValue(v.Index(i))
			if !ok {
				continue
			}
			vals = append(vals, x)
		}
		return cty.TupleVal(vals), true
	case reflect.Map:
		m := map[string]cty.Value{}
		for _, k := range sortedMapKeys(v) {
			x, ok := w.ctyValue(v.MapIndex(k))
			if ok {
				m[k.String()] = x
			}
		}
		return cty.ObjectVal(m), true
	}
	w.err = fmt.Errorf("hcl: cannot write a %s value", v.Type())
	return cty.NilVal, false
}

func sortedMapKeys(v reflect.Value) []reflect.Value {
	keys := v.MapKeys()
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	return keys
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	case reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Struct:
		return v.IsZero()
	}
	return false
}
