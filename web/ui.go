package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
)

// uiFiles is the built editor (web/ui, built by Vite and copied into
// web/uiembed/dist by `make ui`).
//
//go:embed all:uiembed
var uiFiles embed.FS

// ui serves the editor: files from the build, and index.html for any other
// path so the single-page app's routes work on reload. Without a build it
// says how to make one.
func (s *Server) ui() gin.HandlerFunc {
	dist, err := fs.Sub(uiFiles, "uiembed/dist")
	hasUI := err == nil
	if hasUI {
		if _, err := fs.Stat(dist, "index.html"); err != nil {
			hasUI = false
		}
	}
	files := http.FileServer(http.FS(dist))
	return func(c *gin.Context) {
		if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
			s.respondError(c, errNotFound("no such endpoint: "+c.Request.Method+" "+c.Request.URL.Path))
			return
		}
		if !hasUI {
			c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(`<!doctype html><title>Backplane</title>
<p>The editor has not been built into this binary. Run <code>make ui build</code> (or <code>make run</code>), then start <code>backplane serve</code> again. The API is at <a href="/api/v1/healthz">/api/v1</a>.</p>`))
			return
		}
		p := strings.TrimPrefix(path.Clean(c.Request.URL.Path), "/")
		if p == "" {
			p = "index.html"
		}
		if _, err := fs.Stat(dist, p); err != nil {
			c.Request.URL.Path = "/"
			p = "index.html"
		}
		if strings.HasPrefix(p, "assets/") {
			c.Header("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			c.Header("Cache-Control", "no-cache")
		}
		files.ServeHTTP(c.Writer, c.Request)
	}
}
