package templates

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/backplane-dev/backplane/schema"
)

// ErrDuplicateKind is returned when a kind name is registered twice.
var ErrDuplicateKind = errors.New("duplicate kind")

var kindName = regexp.MustCompile(`^[a-z][a-z0-9]*(\.[a-z][a-z0-9-]*)?$`)

// Registry holds the element kinds, by name. It is a value built at wiring
// time, never a global. It is not safe for concurrent Register calls; once
// built it is read-only and safe to share.
type Registry struct {
	kinds map[string]Kind
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{kinds: map[string]Kind{}} }

// Register adds a kind. An empty, malformed or already registered name is an
// error naming the kind.
func (r *Registry) Register(k Kind) error {
	if k == nil {
		return errors.New("register kind: nil kind")
	}
	name := k.Info().Name
	switch {
	case name == "":
		return errors.New("register kind: empty name")
	case !kindName.MatchString(name):
		return fmt.Errorf("register kind %q: name must be lowercase, like app.nodejs or worker", name)
	}
	if _, dup := r.kinds[name]; dup {
		return fmt.Errorf("register kind %q: %w", name, ErrDuplicateKind)
	}
	r.kinds[name] = k
	return nil
}

// Get returns the kind with that name.
func (r *Registry) Get(name string) (Kind, bool) {
	k, ok := r.kinds[name]
	return k, ok
}

// Names lists the kinds, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.kinds))
	for n := range r.kinds {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Infos lists every kind's info, sorted by category then name: the palette.
func (r *Registry) Infos() []Info {
	out := make([]Info, 0, len(r.kinds))
	for _, n := range r.Names() {
		out = append(out, r.kinds[n].Info())
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Category != out[j].Category {
			return out[i].Category < out[j].Category
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Validate runs the checks that depend on kinds over a whole schema: the
// kind exists, its required fields are set, it accepts every field that is
// set, and each connection is one its ends accept. Call it after
// schema.Validate; it tolerates the problems that reports.
func (r *Registry) Validate(s *schema.Schema) schema.Errors {
	var errs schema.Errors
	in := map[string][]schema.Connection{}
	out := map[string][]schema.Connection{}
	byID := make(map[string]*schema.Element, len(s.Elements))
	for i := range s.Elements {
		byID[s.Elements[i].ID] = &s.Elements[i]
	}
	for _, c := range s.Connections {
		in[c.To] = append(in[c.To], c)
		out[c.From] = append(out[c.From], c)
	}
	for i := range s.Elements {
		e := &s.Elements[i]
		p := schema.ElementPath(e.ID)
		if e.ID == "" {
			p = schema.Path("").Field("elements").Index(i)
		}
		if e.Kind == "" {
			continue
		}
		k, ok := r.kinds[e.Kind]
		if !ok {
			errs = append(errs, schema.Errorf(p.Field("kind"), "unknown kind %q%s", e.Kind, r.suggest(e.Kind)))
			continue
		}
		info := k.Info()
		errs = append(errs, checkFields(info, e, p)...)
		errs = append(errs, k.Validate(ValidateInput{Schema: s, Element: e, Path: p, Incoming: in[e.ID], Outgoing: out[e.ID]})...)
	}
	for i, c := range s.Connections {
		p := schema.Path("").Field("connections").Index(i)
		from, to := byID[c.From], byID[c.To]
		if from == nil || to == nil || c.From == c.To {
			continue // reported by schema.Validate
		}
		fk, fok := r.kinds[from.Kind]
		tk, tok := r.kinds[to.Kind]
		if !fok || !tok {
			continue // unknown kind, reported above
		}
		fi, ti := fk.Info(), tk.Info()
		// A refused edge names both ends with their kinds, then why.
		edge := fmt.Sprintf("%s (%s) cannot connect to %s (%s)", from.ID, from.Kind, to.ID, to.Kind)
		switch {
		case !fi.Connects:
			errs = append(errs, schema.Errorf(p.Field("from"), "%s: %s makes no outgoing connections", edge, fi.Label))
		case !ti.Service:
			errs = append(errs, schema.Errorf(p.Field("to"), "%s: %s has no service to connect to", edge, ti.Label))
		case ti.Defaults.Port == 0 && to.Port == 0:
			errs = append(errs, schema.Errorf(p.Field("to"), "%s: %s has no port; set elements[%s].port", edge, to.ID, to.ID))
		}
		if !fi.Routes {
			if c.Weight != 0 {
				errs = append(errs, schema.Errorf(p.Field("weight"), "only a load balancer's connections have a weight"))
			}
			if c.Route != nil {
				errs = append(errs, schema.Errorf(p.Field("route"), "only a load balancer's connections have a route"))
			}
		}
	}
	errs.Sort()
	return errs
}

func (r *Registry) suggest(name string) string {
	names := r.Names()
	for _, n := range names {
		if strings.HasSuffix(n, "."+name) || strings.HasPrefix(name, n+".") {
			return fmt.Sprintf(" (did you mean %q?)", n)
		}
	}
	if len(names) > 0 {
		return " (run `backplane kinds` for the list)"
	}
	return ""
}

// fieldSet reports whether the named optional element field is set.
func fieldSet(e *schema.Element, name string) bool {
	switch name {
	case "source":
		return e.Source != nil
	case "image":
		return e.Image != ""
	case "version":
		return e.Version != ""
	case "command":
		return e.Command != ""
	case "args":
		return len(e.Args) > 0
	case "schedule":
		return e.Schedule != ""
	case "driver":
		return e.Driver != ""
	case "port":
		return e.Port != 0
	case "env":
		return len(e.Env) > 0
	case "secrets":
		return len(e.Secrets) > 0
	case "resources":
		return e.Resources != nil
	case "scale":
		return e.Scale != nil
	case "health":
		return e.Health != nil
	case "placement":
		return e.Placement != nil
	case "alerts":
		return e.Alerts != nil
	case "volume":
		return e.Volume != nil
	case "upstream":
		return e.Upstream != nil
	case "params":
		return len(e.Params) > 0
	}
	return false
}

// AllFields is every optional element field name, in schema order.
var AllFields = []string{"source", "image", "version", "command", "args", "schedule", "driver", "port", "env",
	"secrets", "resources", "scale", "health", "placement", "alerts", "volume", "upstream", "params"}

func checkFields(info Info, e *schema.Element, p schema.Path) schema.Errors {
	var errs schema.Errors
	for _, name := range AllFields {
		set := fieldSet(e, name)
		f, ok := findField(info.Fields, name)
		switch {
		case set && !ok:
			errs = append(errs, schema.Errorf(p.Field(name), "kind %s does not take %s", info.Name, name))
		case !set && ok && f.Required:
			errs = append(errs, schema.Errorf(p.Field(name), "is required for kind %s", info.Name))
		}
	}
	if _, ok := findField(info.Fields, "version"); ok {
		errs = append(errs, checkVersion(info, e, p)...)
	}
	return errs
}

func findField(fields []Field, name string) (Field, bool) {
	for _, f := range fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
