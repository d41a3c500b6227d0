package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Env vars the build job's upload task reads its one-time tokens from
// (rendered from the job's Nomad variable, never in the job spec).
const (
	envUploadToken = "BACKPLANE_UPLOAD_TOKEN"
	envCacheToken  = "BACKPLANE_CACHE_TOKEN"
)

// buildFilesTimeout bounds one transfer of a build job's helper tasks.
const buildFilesTimeout = 30 * time.Minute

func (a *app) buildFilesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "build-files",
		Short:  "Move a build job's cache and result to and from serve (runs inside the build job)",
		Hidden: true,
		Args:   cobra.NoArgs,
	}
	var url, dir string
	restore := &cobra.Command{
		Use:   "restore",
		Short: "Unpack the element's build cache into --dir (a missing cache is an empty one)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), buildFilesTimeout)
			defer cancel()
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			if url == "" {
				return nil
			}
			n, err := restoreCache(ctx, url, dir)
			switch {
			case err != nil:
				// A cache is only a speed-up: build without it.
				fmt.Fprintf(a.stderr, "backplane: no build cache restored: %v\n", err)
			case n == 0:
				fmt.Fprintln(a.stdout, "backplane: no build cache yet")
			default:
				fmt.Fprintf(a.stdout, "backplane: build cache restored (%d bytes)\n", n)
			}
			return nil
		},
	}
	restore.Flags().StringVar(&url, "url", "", "where to download the cache from")
	restore.Flags().StringVar(&dir, "dir", "", "folder to unpack it into")

	var artifactURL, cacheURL string
	upload := &cobra.Command{
		Use:   "upload",
		Short: "Upload DIR/out/app.tar.gz when the build finished, and DIR/cache as the next build's cache",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), buildFilesTimeout)
			defer cancel()
			if _, err := os.Stat(filepath.Join(dir, "out", "ok")); err != nil {
				fmt.Fprintln(a.stdout, "backplane: the build did not finish; nothing to upload")
				return nil
			}
			f, err := os.Open(filepath.Join(dir, "out", "app.tar.gz"))
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			defer f.Close()
			if err := put(ctx, artifactURL, os.Getenv(envUploadToken), f); err != nil {
				return &exitError{code: 1, err: fmt.Errorf("upload the build: %w", err)}
			}
			fmt.Fprintln(a.stdout, "backplane: build uploaded")
			if cacheURL == "" {
				return nil
			}
			if err := uploadCache(ctx, cacheURL, os.Getenv(envCacheToken), filepath.Join(dir, "cache")); err != nil {
				fmt.Fprintf(a.stderr, "backplane: build cache not saved: %v\n", err)
			}
			return nil
		},
	}
	upload.Flags().StringVar(&dir, "dir", "", "the allocation's folder")
	upload.Flags().StringVar(&artifactURL, "artifact-url", "", "where to PUT the build")
	upload.Flags().StringVar(&cacheURL, "cache-url", "", "where to PUT the cache")
	cmd.AddCommand(restore, upload)
	return cmd
}

// restoreCache downloads a .tar.gz from url and unpacks it into dir; a
// 404 is an empty cache. It returns the bytes downloaded.
func restoreCache(ctx context.Context, url, dir string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return 0, nil
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET: %s", resp.Status)
	}
	cr := &countingReader{r: resp.Body}
	return cr.n, untarGz(cr, dir)
}

// uploadCache packs dir and PUTs it to url; an empty or missing dir is
// not uploaded.
func uploadCache(ctx context.Context, url, token, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		return nil
	}
	tmp, err := os.CreateTemp("", "backplane-cache-*.tar.gz")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := tarGz(dir, tmp); err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return put(ctx, url, token, tmp)
}

// put uploads f to url with the bearer token.
func put(ctx context.Context, url, token string, f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, f)
	if err != nil {
		return err
	}
	req.ContentLength = st.Size()
	req.Header.Set("Content-Type", "application/gzip")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("PUT: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// tarGz writes dir's regular files, folders and symlinks as a .tar.gz,
// with paths relative to dir.
func tarGz(dir string, w io.Writer) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		} else if !info.Mode().IsRegular() && !info.IsDir() {
			return nil // sockets, devices: not part of a cache
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// untarGz unpacks a .tar.gz into dir, refusing entries that would land
// outside it.
func untarGz(r io.Reader, dir string) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.FromSlash(strings.TrimSuffix(h.Name, "/"))
		if name == "" || name == "." || !filepath.IsLocal(name) {
			return fmt.Errorf("cache entry %q is outside the cache folder", h.Name)
		}
		mode := fs.FileMode(h.Mode).Perm() | 0o200 // the owner can always replace it
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, mode|0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				return err
			}
			f, err := root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				return err
			}
			_ = root.Remove(name)
			if err := root.Symlink(h.Linkname, name); err != nil {
				return err
			}
		}
	}
}
