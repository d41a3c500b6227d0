package web

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/backplane-dev/backplane/translator"
)

// The logship sidecar runs `backplane logship`. Under exec and raw_exec a
// client needs the binary: serve offers its own at
//
//	GET /dist/backplane-<os>-<arch>            the binary
//	GET /dist/backplane-<os>-<arch>.tar.gz     the binary as "backplane", mode 0755
//	GET /dist/<either>.sha256                  its SHA-256, hex
//
// for its own platform only, without credentials (Nomad's artifact fetcher
// has none; the binary holds no secret). When serve deploys and no other
// source is set, the sidecar's artifact is the .tar.gz at
// BACKPLANE_PUBLIC_URL with its checksum, so Nomad checks what it runs
// (a plain file would arrive without its executable bit; the archive keeps
// it).

// dist serves the running binary. Files are built once, on first use.
type dist struct {
	path     string // the binary; os.Executable() when empty
	platform string // <os>-<arch>

	once    sync.Once
	err     error
	dir     string
	sums    map[string]string // file name → hex SHA-256
	modTime time.Time
}

func newDist(path string) *dist {
	return &dist{path: path, platform: runtime.GOOS + "-" + runtime.GOARCH}
}

func (d *dist) binName() string { return "backplane-" + d.platform }
func (d *dist) tarName() string { return d.binName() + ".tar.gz" }

// prepare copies the binary and packs it, hashing both.
func (d *dist) prepare() error {
	d.once.Do(func() {
		d.err = d.build()
	})
	return d.err
}

func (d *dist) build() error {
	src := d.path
	if src == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("dist: find the running binary: %w", err)
		}
		src = exe
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("dist: %w", err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return fmt.Errorf("dist: %w", err)
	}
	dir, err := os.MkdirTemp("", "backplane-dist")
	if err != nil {
		return fmt.Errorf("dist: %w", err)
	}
	d.dir, d.sums, d.modTime = dir, map[string]string{}, st.ModTime()

	// The binary, copied so a replaced file on disk cannot change what
	// the checksum promised.
	bin, err := os.Create(filepath.Join(dir, d.binName()))
	if err != nil {
		return fmt.Errorf("dist: %w", err)
	}
	hb := sha256.New()
	if _, err := io.Copy(io.MultiWriter(bin, hb), in); err != nil {
		bin.Close()
		return fmt.Errorf("dist: copy the binary: %w", err)
	}
	if err := bin.Close(); err != nil {
		return fmt.Errorf("dist: %w", err)
	}
	d.sums[d.binName()] = hex.EncodeToString(hb.Sum(nil))

	// The archive, from the copy.
	if err := d.pack(filepath.Join(dir, d.binName()), filepath.Join(dir, d.tarName())); err != nil {
		return err
	}
	return nil
}

func (d *dist) pack(binPath, tarPath string) error {
	bin, err := os.Open(binPath)
	if err != nil {
		return fmt.Errorf("dist: %w", err)
	}
	defer bin.Close()
	st, err := bin.Stat()
	if err != nil {
		return fmt.Errorf("dist: %w", err)
	}
	out, err := os.Create(tarPath)
	if err != nil {
		return fmt.Errorf("dist: %w", err)
	}
	h := sha256.New()
	gz, _ := gzip.NewWriterLevel(io.MultiWriter(out, h), gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	hdr := &tar.Header{Name: "backplane", Mode: 0o755, Size: st.Size(), ModTime: d.modTime, Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		out.Close()
		return fmt.Errorf("dist: pack: %w", err)
	}
	if _, err := io.Copy(tw, bin); err != nil {
		out.Close()
		return fmt.Errorf("dist: pack: %w", err)
	}
	if err := tw.Close(); err != nil {
		out.Close()
		return fmt.Errorf("dist: pack: %w", err)
	}
	if err := gz.Close(); err != nil {
		out.Close()
		return fmt.Errorf("dist: pack: %w", err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("dist: %w", err)
	}
	d.sums[d.tarName()] = hex.EncodeToString(h.Sum(nil))
	return nil
}

// close removes the prepared files, first waiting for a preparation in
// progress (and forbidding one later).
func (d *dist) close() {
	d.once.Do(func() { d.err = errors.New("dist: the server is closing") })
	if d.dir != "" {
		_ = os.RemoveAll(d.dir)
	}
}

// serve answers GET /dist/:file.
func (s *Server) serveDist(c *gin.Context) {
	name := c.Param("file")
	base := strings.TrimSuffix(name, ".sha256")
	d := s.dist
	if base != d.binName() && base != d.tarName() {
		s.respondError(c, errNotFound(fmt.Sprintf("this server offers only its own platform: %s and %s (and .sha256 of each)", d.binName(), d.tarName())))
		return
	}
	if err := d.prepare(); err != nil {
		s.respondError(c, err)
		return
	}
	if strings.HasSuffix(name, ".sha256") {
		c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(d.sums[base]+"  "+base+"\n"))
		return
	}
	c.Header("Content-Type", "application/octet-stream")
	http.ServeFile(c.Writer, c.Request, filepath.Join(d.dir, base))
}

// logshipOptions are the sidecar settings of a deploy from serve: the
// operator's, or else, under exec and raw_exec, this server's own binary
// from /dist with its checksum. Only Linux clients run Nomad's exec
// drivers, so the default needs serve to run on linux too.
func (s *Server) logshipOptions() translator.LogshipOptions {
	if s.lokiURL == "" {
		return s.logship
	}
	return s.helperOptions()
}

// helperOptions say how a task runs this server's binary on a client (the
// logship sidecar, a build's cache and upload tasks): the operator's
// settings, or else, under exec and raw_exec, the binary from /dist.
func (s *Server) helperOptions() translator.LogshipOptions {
	o := s.logship
	if o.Command != "" || o.ArtifactURL != "" || s.publicURL == "" || runtime.GOOS != "linux" {
		return o
	}
	if err := s.dist.prepare(); err != nil {
		s.log.Warn("cannot offer this binary to clients; they fall back to the release download", "error", err)
		return o
	}
	o.ArtifactURL = s.publicURL + "/dist/" + s.dist.tarName()
	o.ArtifactChecksum = "sha256:" + s.dist.sums[s.dist.tarName()]
	return o
}
