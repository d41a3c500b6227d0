package web

import (
	"errors"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/backplane-dev/backplane/schema"
	"github.com/backplane-dev/backplane/translator"
)

type warningView struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	Element string `json:"element,omitempty"`
	Field   string `json:"field,omitempty"`
}

func warnings(ws []translator.Warning) []warningView {
	out := make([]warningView, 0, len(ws))
	for _, w := range ws {
		v := warningView{Path: w.Path, Message: w.Message, Element: w.Element}
		if el, field := splitPath(w.Path); el != "" {
			v.Element, v.Field = el, field
		}
		out = append(out, v)
	}
	return out
}

// validate checks a schema the editor holds. Decode errors are problems
// too, answered 200, so the editor can show them while the user types.
func (s *Server) validate(c *gin.Context) error {
	if _, err := s.store.GetProject(c.Request.Context(), c.Param("p")); err != nil {
		return err
	}
	sc, _, err := readSchema(c)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Code == "invalid_schema" {
			c.JSON(http.StatusOK, gin.H{"valid": false, "problems": ae.Extra["problems"], "warnings": []warningView{}})
			return nil
		}
		return err
	}
	b, err := s.translate(sc)
	if err != nil {
		c.JSON(http.StatusOK, gin.H{"valid": false, "problems": problems(schema.AsErrors(err)), "warnings": []warningView{}})
		return nil
	}
	c.JSON(http.StatusOK, gin.H{"valid": true, "problems": []Problem{}, "warnings": warnings(b.Warnings)})
	return nil
}

// render returns the files `backplane render` writes, for the schema in
// the body or the head revision, optionally narrowed to one element.
func (s *Server) render(c *gin.Context) error {
	ctx := c.Request.Context()
	slug := c.Param("p")
	var sc *schema.Schema
	if c.Request.ContentLength != 0 && c.Request.Body != nil {
		var err error
		if sc, _, err = readSchema(c); err != nil && !errors.Is(err, errEmptyBody) {
			return err
		}
	}
	if sc == nil {
		r, err := s.store.GetRevision(ctx, slug, 0)
		if err != nil {
			return err
		}
		if sc, err = schema.Decode("", []byte(r.YAML)); err != nil {
			return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_schema", Message: "the saved schema does not decode",
				Extra: map[string]any{"problems": problems(schema.AsErrors(err))}}
		}
	} else if _, err := s.store.GetProject(ctx, slug); err != nil {
		return err
	}
	b, err := s.translate(sc)
	if err != nil {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_schema", Message: "the schema has problems; fix them to render",
			Extra: map[string]any{"problems": problems(schema.AsErrors(err))}}
	}
	files, err := b.Files()
	if err != nil {
		return err
	}
	element := c.Query("element")
	if element != "" && sc.Element(element) == nil {
		return errNotFound("no element " + element + " in the schema")
	}
	out := map[string]string{}
	jobFile := sc.Project + "-" + element + ".nomad."
	for _, f := range files {
		p := path.Clean(strings.ReplaceAll(f.Path, "\\", "/"))
		if element != "" {
			base := path.Base(p)
			keep := strings.HasPrefix(base, jobFile) || base == sc.Project+"-"+element+".policy.hcl" ||
				p == "alertmanager.yml" || p == "prometheus-rules.yml"
			if !keep {
				continue
			}
		}
		out[p] = string(f.Data)
	}
	c.JSON(http.StatusOK, gin.H{"files": out, "warnings": warnings(b.Warnings)})
	return nil
}
