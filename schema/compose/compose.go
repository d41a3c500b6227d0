package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"

	"github.com/backplane-dev/backplane/schema"
)

// maxFileBytes caps one compose file, like schema.MaxBytes caps a schema.
const maxFileBytes = schema.MaxBytes

// Options says which compose project to import.
type Options struct {
	// Files are the compose files, merged in order; the first is the main
	// one, and the `.env` beside it is read. Relative paths are taken from
	// WorkDir. Errors and warnings name them as given here.
	Files []string
	// Profiles are the profiles to enable; services in other profiles are
	// left out.
	Profiles []string
	// Project is the project name; empty takes the compose project's name
	// (its `name:`, or the folder of the first file).
	Project string
	// WorkDir is the folder relative Files are read from; empty is the
	// current directory.
	WorkDir string
	// Environ is KEY=VALUE pairs that take precedence over the `.env`
	// file in interpolation, as the shell's environment does for docker
	// compose. The CLI passes os.Environ(); nil reads `.env` alone.
	Environ []string
}

// Warning is something in the compose files that was not carried over as
// written: File is the compose file, Path the key (`services.web.cap_add`).
type Warning struct {
	File    string `json:"file"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

// String is the warning as the CLI prints it: FILE: PATH: message.
func (w Warning) String() string {
	var b strings.Builder
	if w.File != "" {
		b.WriteString(w.File + ": ")
	}
	if w.Path != "" {
		b.WriteString(w.Path + ": ")
	}
	b.WriteString(w.Message)
	return b.String()
}

// Import reads a compose project and returns the schema it maps to, with
// a warning for everything it could not carry over, sorted. The schema
// passes schema.Validate. An error names the file and, where it is about
// one, the service.
func Import(ctx context.Context, opts Options) (*schema.Schema, []Warning, error) {
	if len(opts.Files) == 0 {
		return nil, nil, errors.New("import compose: no compose file given")
	}
	workDir := opts.WorkDir
	if workDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, nil, fmt.Errorf("import compose: %w", err)
		}
		workDir = wd
	}
	files := make([]composeFile, len(opts.Files))
	paths := make([]string, len(opts.Files))
	for i, name := range opts.Files {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(workDir, p)
		}
		data, raw, scalars, err := readRaw(p)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		files[i] = composeFile{name: name, keys: raw, text: data, scalars: scalars}
		paths[i] = p
	}
	unset := &unsetVars{names: map[string]bool{}}
	project, err := load(ctx, paths, opts, unset)
	if err != nil {
		if file, svc := blame(files, err.Error()); svc != "" {
			return nil, nil, fmt.Errorf("%s: services.%s: %w", file, svc, err)
		}
		return nil, nil, fmt.Errorf("%s: %w", strings.Join(opts.Files, ", "), err)
	}
	dir, err := filepath.Abs(filepath.Dir(paths[0]))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", opts.Files[0], err)
	}
	c := &converter{project: project, files: files, dir: dir}
	s, err := c.convert(ctx, opts.Project)
	if err != nil {
		return nil, nil, err
	}
	for _, v := range schema.SortedKeys(unset.names) {
		c.warns = append(c.warns, Warning{File: c.fileMentioning(v), Path: "${" + v + "}",
			Message: "is not set (in the environment or .env): it was read as an empty string"})
	}
	sortWarnings(c.warns)
	return s, c.warns, nil
}

// load runs compose-go over the files. A panic in the loader on strange
// input becomes an error: Import must not panic.
func load(ctx context.Context, paths []string, opts Options, unset *unsetVars) (p *types.Project, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("the compose loader failed on this input: %v", r)
		}
	}()
	po, err := cli.NewProjectOptions(paths,
		cli.WithWorkingDirectory(filepath.Dir(paths[0])),
		cli.WithEnv(opts.Environ),
		cli.WithEnvFiles(),
		cli.WithDotEnv,
		cli.WithProfiles(opts.Profiles),
		cli.WithName(composeName(opts.Project)),
		cli.WithLoadOptions(func(o *loader.Options) {
			if o.Interpolate != nil {
				o.Interpolate.Substitute = unset.substitute
			}
		}),
	)
	if err != nil {
		return nil, err
	}
	return po.LoadProject(ctx)
}

// unsetVars records the variables interpolation found unset, which
// compose would otherwise log, to make them warnings.
type unsetVars struct {
	mu    sync.Mutex
	names map[string]bool
}

// plainVar matches $$, ${NAME} and $NAME: the forms without a default.
var plainVar = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// substitute is compose's own substitution, without its logging, noting
// each variable used without a default that is not set.
func (u *unsetVars) substitute(text string, mapping template.Mapping) (string, error) {
	for _, m := range plainVar.FindAllStringSubmatch(text, -1) {
		name := m[1] + m[2]
		if name == "" {
			continue
		}
		if _, ok := mapping(name); !ok {
			u.mu.Lock()
			u.names[name] = true
			u.mu.Unlock()
		}
	}
	return template.SubstituteWithOptions(text, mapping, template.WithoutLogging)
}

// fileMentioning names the first file that uses a variable.
func (c *converter) fileMentioning(name string) string {
	for _, f := range c.files {
		if bytes.Contains(f.text, []byte("${"+name+"}")) || bytes.Contains(f.text, []byte("$"+name)) {
			return f.name
		}
	}
	return c.files[0].name
}

// composeName is the name compose-go accepts for --project: it only checks
// that it is a compose project name, and Import makes a DNS label of it.
func composeName(project string) string {
	if project == "" {
		return ""
	}
	return strings.Trim(strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, project), "-_")
}

// composeFile is one input file and the keys it sets, so a warning can
// name the file that set the key.
type composeFile struct {
	name string
	text []byte
	// scalars holds each service's scalars (keys and values), to find
	// the service a loader error is about.
	scalars map[string][]string
	// keys holds "services.NAME" and "services.NAME.KEY" for each service
	// key, and each top-level key.
	keys map[string]bool
}

// readRaw reads a compose file's keys. A file that is not YAML is left to
// the compose loader to report.
func readRaw(path string) ([]byte, map[string]bool, map[string][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, nil, nil, err
	}
	if len(data) > maxFileBytes {
		return nil, nil, nil, fmt.Errorf("over the limit of %d bytes (4 MiB)", maxFileBytes)
	}
	keys := map[string]bool{}
	scalars := map[string][]string{}
	var doc yaml.Node
	if yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc) != nil || len(doc.Content) == 0 {
		return data, keys, scalars, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return data, keys, scalars, nil
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i].Value, root.Content[i+1]
		keys[k] = true
		if k != "services" || v.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			svc, body := v.Content[j].Value, v.Content[j+1]
			keys["services."+svc] = true
			scalars[svc] = collectScalars(body, nil, 0)
			if body.Kind != yaml.MappingNode {
				continue
			}
			for n := 0; n < len(body.Content); n += 2 {
				keys["services."+svc+"."+body.Content[n].Value] = true
			}
		}
	}
	return data, keys, scalars, nil
}

// collectScalars lists the scalars under a node, not following aliases.
func collectScalars(n *yaml.Node, out []string, depth int) []string {
	if depth > 20 || len(out) > 10_000 {
		return out
	}
	if n.Kind == yaml.ScalarNode {
		out = append(out, n.Value)
		if parts := strings.Split(n.Value, ":"); len(parts) > 1 {
			out = append(out, parts...) // 70000:80 is quoted as 70000
		}
		return out
	}
	for _, child := range n.Content {
		out = collectScalars(child, out, depth+1)
	}
	return out
}

// blame finds the service a loader error is about when the error does not
// name it: the one service holding the longest scalar the message quotes
// (Invalid containerPort: abc). It returns "" when the message names a
// service already or no single service matches.
func blame(files []composeFile, msg string) (file, service string) {
	best, tie := 0, false
	for _, f := range files {
		for _, svc := range schema.SortedKeys(f.scalars) {
			if strings.Contains(msg, "services."+svc) || strings.Contains(msg, strconv.Quote(svc)) {
				return "", ""
			}
			for _, v := range f.scalars[svc] {
				if len(v) < 2 || !strings.Contains(msg, v) {
					continue
				}
				switch {
				case len(v) > best:
					best, tie, file, service = len(v), false, f.name, svc
				case len(v) == best && svc != service:
					tie = true
				}
			}
		}
	}
	if tie {
		return "", ""
	}
	return file, service
}

// fileFor names the file a service key comes from: the last file that sets
// it, else the last that declares the service, else the first file.
func (c *converter) fileFor(service, key string) string {
	top, _, _ := strings.Cut(key, ".")
	top, _, _ = strings.Cut(top, "[")
	for i := len(c.files) - 1; i >= 0; i-- {
		if c.files[i].keys["services."+service+"."+top] {
			return c.files[i].name
		}
	}
	for i := len(c.files) - 1; i >= 0; i-- {
		if c.files[i].keys["services."+service] {
			return c.files[i].name
		}
	}
	return c.files[0].name
}

// topFile names the file a top-level key comes from.
func (c *converter) topFile(key string) string {
	for i := len(c.files) - 1; i >= 0; i-- {
		if c.files[i].keys[key] {
			return c.files[i].name
		}
	}
	return c.files[0].name
}

// warn records a warning on a service key (key may be empty).
func (c *converter) warn(service, key, format string, args ...any) {
	path := "services." + service
	if key != "" {
		path += "." + key
	}
	c.warns = append(c.warns, Warning{File: c.fileFor(service, key), Path: printable(path), Message: fmt.Sprintf(format, args...)})
}

// printable quotes a path that holds control characters, so a warning
// stays one readable line.
func printable(path string) string {
	for _, r := range path {
		if r < 0x20 || r == 0x7f {
			return strconv.Quote(path)
		}
	}
	return path
}

// errorf is an error about a service key, naming the file.
func (c *converter) errorf(service, key, format string, args ...any) error {
	path := "services." + service
	if key != "" {
		path += "." + key
	}
	return fmt.Errorf("%s: %s: %s", c.fileFor(service, key), printable(path), fmt.Sprintf(format, args...))
}

func sortWarnings(ws []Warning) {
	sort.SliceStable(ws, func(i, j int) bool {
		a, b := ws[i], ws[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Message < b.Message
	})
}
