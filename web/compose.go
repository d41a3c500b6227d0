package web

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/gin-gonic/gin"
	"gopkg.in/yaml.v3"

	"github.com/backplane-dev/backplane/schema/compose"
	"github.com/backplane-dev/backplane/store"
)

// composeFile is one uploaded file of a compose project.
type composeFile struct {
	Name    string `json:"name"`
	Content string `json:"content"`
}

// maxComposeFiles caps the files of one import.
const maxComposeFiles = 16

// importCompose answers POST /import/compose: it creates a project from an
// uploaded docker-compose project (its compose files, in merge order, and
// optionally its .env), with the warnings of what was not carried over.
// Body: {"files": [{"name", "content"}], "env": "...", "profiles": [...],
// "project": "slug", "name": "Display name"}.
//
// The files are read from a folder of their own: a path in them that
// leaves it (an env_file, extends or include naming a file elsewhere) is
// refused, so an import never reads the server's files, and the server's
// environment never takes part in interpolation.
func (s *Server) importCompose(c *gin.Context) error {
	var req struct {
		Files    []composeFile `json:"files"`
		Env      string        `json:"env"`
		Profiles []string      `json:"profiles"`
		Project  string        `json:"project"`
		Name     string        `json:"name"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Files) == 0 || len(req.Files) > maxComposeFiles {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "files", Message: fmt.Sprintf("send 1 to %d compose files", maxComposeFiles)}
	}
	if req.Project != "" && (!slugRe.MatchString(req.Project) || len(req.Project) > 40) {
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "project",
			Message: fmt.Sprintf("project %q must be a lowercase DNS label of at most 40 characters (it prefixes every job ID)", req.Project)}
	}
	dir, err := os.MkdirTemp("", "backplane-compose-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var names []string
	for i, f := range req.Files {
		base := filepath.Base(f.Name)
		if f.Name == "" || base != f.Name || base == "." || base == ".." || base == ".env" || strings.HasPrefix(base, ".") {
			return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: fmt.Sprintf("files[%d].name", i),
				Message: fmt.Sprintf("%q must be a plain file name such as docker-compose.yml", f.Name)}
		}
		if err := localPaths(f.Name, []byte(f.Content)); err != nil {
			return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: fmt.Sprintf("files[%d]", i), Message: err.Error()}
		}
		if err := os.WriteFile(filepath.Join(dir, base), []byte(f.Content), 0o600); err != nil {
			return err
		}
		names = append(names, base)
	}
	if req.Project == "" && !composeNamed(req.Files) {
		// The name would otherwise come from the upload's temporary folder.
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Path: "project",
			Message: "the compose files set no name: give the project's slug"}
	}
	if req.Env != "" {
		if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(req.Env), 0o600); err != nil {
			return err
		}
	}
	sc, warns, err := compose.Import(c.Request.Context(), compose.Options{Files: names, Profiles: req.Profiles, Project: req.Project, WorkDir: dir})
	if err != nil {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_compose", Message: err.Error()}
	}
	if errs := s.reg.Validate(sc); len(errs) > 0 {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_schema", Message: "the imported schema does not fit the kinds",
			Extra: map[string]any{"problems": problems(errs)}}
	}
	y, err := sc.Canonical().EncodeYAML()
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	name := strings.TrimSpace(req.Name)
	if name == "" {
		name = sc.Project
	}
	if _, err := s.store.CreateProject(ctx, sc.Project, name); err != nil {
		return err
	}
	r, err := s.store.SaveRevision(ctx, sc.Project, store.NewRevision{YAML: string(y), Author: author(c), Message: "imported from " + strings.Join(names, ", "), Base: 0})
	if err != nil {
		// Leave no empty project behind an import that did not happen.
		if _, derr := s.store.DeleteProject(context.WithoutCancel(ctx), sc.Project, author(c)); derr != nil {
			s.log.Warn("remove a project whose import failed", "project", sc.Project, "error", derr)
		}
		return err
	}
	s.audit(c, sc.Project, "project.import", fmt.Sprintf("from %s: %d elements, %d warnings", strings.Join(names, ", "), len(sc.Elements), len(warns)))
	p, err := s.store.GetProject(ctx, sc.Project)
	if err != nil {
		return err
	}
	if warns == nil {
		warns = []compose.Warning{}
	}
	c.JSON(http.StatusCreated, gin.H{"project": p, "revision": r.Number, "warnings": warns})
	return nil
}

// composeNamed reports whether one of the compose files sets the project's
// name.
func composeNamed(files []composeFile) bool {
	for _, f := range files {
		var doc struct {
			Name string `yaml:"name"`
		}
		if yaml.Unmarshal([]byte(f.Content), &doc) == nil && strings.TrimSpace(doc.Name) != "" {
			return true
		}
	}
	return false
}

// localPaths refuses a compose file whose file references leave its folder:
// env_file, label_file, extends.file, include, and the file of secrets
// and configs.
func localPaths(name string, data []byte) error {
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	var bad string
	var walk func(v any, key string)
	check := func(p string) {
		if bad == "" && p != "" && !filepath.IsLocal(filepath.FromSlash(p)) {
			bad = p
		}
	}
	walk = func(v any, key string) {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				walk(x, k)
			}
		case []any:
			for _, x := range t {
				walk(x, key)
			}
		case string:
			switch key {
			case "env_file", "label_file", "file", "include", "path", "project_directory":
				check(t)
			}
		}
	}
	walk(doc, "")
	if bad != "" {
		return fmt.Errorf("%s: %q is outside the uploaded files; an import reads only the files sent with it", name, bad)
	}
	return nil
}
