package templates

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/backplane-dev/backplane/schema"
)

// LoadDir reads user kinds from every *.yaml, *.yml and *.json file in dir
// (not its subfolders) and registers them into r, after the built-ins. Each
// file declares one kind in the Spec format (see the README); problems come
// back as `FILE: PATH: message`, every one of them, and nothing is registered
// when there are any. A user kind may not take a built-in's name.
func LoadDir(r *Registry, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("load kinds from %s: %w", dir, err)
	}
	var files []string
	for _, ent := range entries {
		ext := strings.ToLower(filepath.Ext(ent.Name()))
		if ent.Type().IsRegular() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
			files = append(files, filepath.Join(dir, ent.Name()))
		}
	}
	sort.Strings(files)
	var all schema.Errors
	var specs []Spec
	names := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("load kind %s: %w", f, err)
		}
		spec, errs := ParseSpec(f, data)
		if len(errs) == 0 {
			if _, builtin := r.Get(spec.Name); builtin {
				errs = append(errs, &schema.FieldError{File: f, Path: "name", Msg: fmt.Sprintf("%q is already a built-in kind; pick another name", spec.Name)})
			} else if other, dup := names[spec.Name]; dup {
				errs = append(errs, &schema.FieldError{File: f, Path: "name", Msg: fmt.Sprintf("%q is also declared in %s", spec.Name, other)})
			}
		}
		if len(errs) > 0 {
			all = append(all, errs...)
			continue
		}
		names[spec.Name] = f
		specs = append(specs, *spec)
	}
	if len(all) > 0 {
		return all
	}
	for _, s := range specs {
		if err := r.Register(FromSpec(s)); err != nil {
			return err
		}
	}
	return nil
}

var (
	exportEnv = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)?(\{ID\})?[A-Za-z0-9_]*$`)
	iconName  = regexp.MustCompile(`^[a-z0-9-]*$`)
	knownRuns = []string{RunSource, RunCommand, RunImage}
)

// ParseSpec reads and checks one user kind file.
func ParseSpec(file string, data []byte) (*Spec, schema.Errors) {
	var s Spec
	if err := schema.DecodeInto(file, data, &s); err != nil {
		return nil, schema.AsErrors(err)
	}
	s.user = true
	var errs schema.Errors
	add := func(p schema.Path, format string, args ...any) {
		e := schema.Errorf(p, format, args...)
		e.File = file
		errs = append(errs, e)
	}
	root := schema.Path("")
	switch {
	case s.Name == "":
		add(root.Field("name"), "is required")
	case !kindName.MatchString(s.Name):
		add(root.Field("name"), "%q must be lowercase, like queue.nats or job", s.Name)
	}
	if s.Label == "" {
		add(root.Field("label"), "is required")
	}
	if s.Category == "" {
		add(root.Field("category"), "is required")
	}
	if !iconName.MatchString(s.Icon) {
		add(root.Field("icon"), "%q must be lowercase letters, digits and '-'", s.Icon)
	}
	if !contains(knownRuns, s.Run) {
		add(root.Field("run"), "%q must be one of %s", s.Run, strings.Join(knownRuns, ", "))
	}
	if s.Run == RunImage && s.Image == "" {
		add(root.Field("image"), "is required when run is image")
	}
	if strings.Contains(s.Image, "{version}") && len(s.Versions) == 0 {
		add(root.Field("versions"), "is required when image uses {version}")
	}
	if s.Port < 0 || s.Port > 65535 {
		add(root.Field("port"), "%d is out of range 1-65535", s.Port)
	}
	known := map[string]bool{}
	for _, f := range AllFields {
		known[f] = true
	}
	for i, f := range s.Fields {
		if !known[f] {
			add(root.Field("fields").Index(i), "%q is not an element field (one of %s)", f, strings.Join(AllFields, ", "))
		}
	}
	for i, f := range s.Required {
		if !contains(s.Fields, f) {
			add(root.Field("required").Index(i), "%q is required but not listed in fields", f)
		}
	}
	if s.Run == RunSource && !contains(s.Required, "source") {
		add(root.Field("required"), "must list source when run is source")
	}
	if s.Run == RunCommand && !contains(s.Required, "command") {
		add(root.Field("required"), "must list command when run is command")
	}
	if s.Periodic && !contains(s.Required, "schedule") {
		add(root.Field("required"), "must list schedule when periodic is true")
	}
	if len(s.Params) > 0 && !contains(s.Fields, "params") {
		add(root.Field("fields"), "must list params when the kind declares params")
	}
	for _, name := range schema.SortedKeys(s.Params) {
		p := s.Params[name]
		if !schema.ValidEnvName(p.Env) {
			add(root.Field("params").MapKey(name).Field("env"), "%q is not a valid environment variable name", p.Env)
		}
	}
	for _, name := range schema.SortedKeys(s.Env) {
		if !schema.ValidEnvName(name) {
			add(root.Field("env").MapKey(name), "%q is not a valid environment variable name", name)
		}
	}
	for i, ex := range s.Exports {
		p := root.Field("exports").Index(i)
		if ex.Env == "" || !exportEnv.MatchString(ex.Env) {
			add(p.Field("env"), "%q must be an environment variable name, optionally with {ID}", ex.Env)
		}
		if !strings.Contains(ex.URL, "{host}") {
			add(p.Field("url"), "must contain {host}")
		}
	}
	if len(s.Exports) > 0 && (s.Port == 0 || s.NoService) {
		add(root.Field("exports"), "a kind without a port and a service exports nothing")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &s, nil
}
