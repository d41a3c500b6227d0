package artifacts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Local keeps objects as files under a folder: key "a/b/c.tar.gz" is the
// file DIR/a/b/c.tar.gz, and its SHA-256 is in the hidden sidecar
// DIR/a/b/.c.tar.gz.sha256 (keys never have a segment that starts with a
// dot, so no key names a sidecar or a temporary file).
//
// Put writes the object to a temporary file in the key's folder while it
// hashes it, syncs it, writes and renames the sidecar, then renames the
// object over the key. The sidecar records the object's size and
// modification time with its digest; a sidecar that does not match its
// object (a crash between the two renames) is not trusted, and the digest
// is computed from the object instead. Within the process a lock orders
// the two renames against readers, so Open and Stat never pair one Put's
// object with another's digest.
//
// A folder serves one process. Because keys map to paths, a key cannot
// also be the folder of another key ("a/b" and "a/b/c").
type Local struct {
	dir string
	// mu is held for writing while Put renames the sidecar and the object
	// into place and while Delete removes them, and for reading while
	// Open and Stat pick up an object and its sidecar.
	mu sync.RWMutex
}

var _ Store = (*Local)(nil)

// NewLocal returns a Local store at dir. The folder is created (0700) on
// the first Put.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("artifacts: empty folder")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("artifacts: folder %s: %w", dir, err)
	}
	return &Local{dir: abs}, nil
}

// Describe names the folder.
func (l *Local) Describe() string { return "local folder " + l.dir }

// Dir returns the folder.
func (l *Local) Dir() string { return l.dir }

// tmpPrefix starts the names of Put's temporary files.
const tmpPrefix = ".tmp-"

// path returns the file of key (already valid).
func (l *Local) path(key string) string { return filepath.Join(l.dir, filepath.FromSlash(key)) }

// sidecarPath returns the sidecar of the object file p.
func sidecarPath(p string) string {
	return filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".sha256")
}

// Put stores r under key; see Local.
func (l *Local) Put(ctx context.Context, key string, r io.Reader) (_ Info, err error) {
	if err := ValidKey(key); err != nil {
		return Info{}, fmt.Errorf("artifacts: put: %w", err)
	}
	defer func() {
		if err != nil {
			err = opError("put", key, err)
		}
	}()
	p := l.path(key)
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Info{}, err
	}
	tmp, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return Info{}, err
	}
	tmpName := tmp.Name()
	keep := false
	defer func() {
		if !keep {
			_ = tmp.Close()
			_ = os.Remove(tmpName)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), ctxReader{ctx, r})
	if err != nil {
		return Info{}, err
	}
	if err := tmp.Sync(); err != nil {
		return Info{}, err
	}
	if err := tmp.Close(); err != nil {
		return Info{}, err
	}
	fi, err := os.Stat(tmpName)
	if err != nil {
		return Info{}, err
	}
	info := Info{Key: key, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Modified: fi.ModTime().UTC()}
	side, err := writeTemp(dir, formatSidecar(info))
	if err != nil {
		return Info{}, err
	}
	defer func() {
		if !keep {
			_ = os.Remove(side)
		}
	}()
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	l.mu.Lock()
	err = os.Rename(side, sidecarPath(p))
	if err == nil {
		err = os.Rename(tmpName, p)
	}
	l.mu.Unlock()
	if err != nil {
		// The sidecar may be in place without its object; readers check
		// it against the object and ignore it.
		return Info{}, err
	}
	keep = true
	if err := syncDir(dir); err != nil {
		return Info{}, err
	}
	return info, nil
}

// writeTemp writes data to a new synced temporary file in dir and returns
// its name.
func writeTemp(dir string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// formatSidecar is the sidecar of an object: its digest, size and
// modification time (Unix nanoseconds), on one line.
func formatSidecar(info Info) []byte {
	return fmt.Appendf(nil, "%s %d %d\n", info.SHA256, info.Size, info.Modified.UnixNano())
}

// parseSidecar reads a sidecar; ok is false when it is malformed.
func parseSidecar(b []byte) (sum string, size, mtime int64, ok bool) {
	f := strings.Fields(string(b))
	if len(f) != 3 || len(f[0]) != sha256.Size*2 {
		return "", 0, 0, false
	}
	if _, err := hex.DecodeString(f[0]); err != nil {
		return "", 0, 0, false
	}
	size, err1 := strconv.ParseInt(f[1], 10, 64)
	mtime, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, 0, false
	}
	return f[0], size, mtime, true
}

// Open returns the object at key.
func (l *Local) Open(ctx context.Context, key string) (_ io.ReadCloser, _ Info, err error) {
	if err := ValidKey(key); err != nil {
		return nil, Info{}, fmt.Errorf("artifacts: open: %w", err)
	}
	f, info, err := l.open(ctx, key, "open")
	if err != nil {
		return nil, Info{}, err
	}
	return f, info, nil
}

// Stat returns the Info of the object at key.
func (l *Local) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, fmt.Errorf("artifacts: stat: %w", err)
	}
	f, info, err := l.open(ctx, key, "stat")
	if err != nil {
		return Info{}, err
	}
	_ = f.Close()
	return info, nil
}

// open opens the object at key (valid) with its Info. The file and the
// sidecar are read under the read lock, so they belong to the same Put;
// a sidecar that does not describe the file is ignored and the digest is
// computed from the file.
func (l *Local) open(ctx context.Context, key, op string) (*os.File, Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, Info{}, opError(op, key, err)
	}
	p := l.path(key)
	l.mu.RLock()
	f, err := os.Open(p)
	var side []byte
	if err == nil {
		side, _ = os.ReadFile(sidecarPath(p))
	}
	l.mu.RUnlock()
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, Info{}, notFound(op, key)
	}
	if err != nil {
		return nil, Info{}, opError(op, key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, Info{}, opError(op, key, err)
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, Info{}, notFound(op, key)
	}
	info := Info{Key: key, Size: fi.Size(), Modified: fi.ModTime().UTC()}
	if sum, size, mtime, ok := parseSidecar(side); ok && size == fi.Size() && mtime == fi.ModTime().UnixNano() {
		info.SHA256 = sum
		return f, info, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		_ = f.Close()
		return nil, Info{}, opError(op, key, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		_ = f.Close()
		return nil, Info{}, opError(op, key, err)
	}
	info.SHA256 = hex.EncodeToString(h.Sum(nil))
	return f, info, nil
}

// Delete removes the object at key and its sidecar.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return fmt.Errorf("artifacts: delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return opError("delete", key, err)
	}
	p := l.path(key)
	l.mu.Lock()
	err := os.Remove(p)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		if serr := os.Remove(sidecarPath(p)); serr != nil && !errors.Is(serr, fs.ErrNotExist) {
			err = serr
		} else {
			err = nil
		}
	}
	l.mu.Unlock()
	if errors.Is(err, syscall.ENOTDIR) {
		return nil
	}
	if err != nil {
		return opError("delete", key, err)
	}
	return nil
}

// List returns the objects under prefix, sorted by key. It walks the
// deepest folder the prefix names whole, and skips sidecars and
// temporary files (their names start with a dot).
func (l *Local) List(ctx context.Context, prefix string) (_ []Info, err error) {
	if err := validPrefix(prefix); err != nil {
		return nil, fmt.Errorf("artifacts: list: %w", err)
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("artifacts: list %q: %w", prefix, err)
		}
	}()
	base := ""
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		base = prefix[:i]
	}
	root := filepath.Join(l.dir, filepath.FromSlash(base))
	var keys []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				if p == root {
					return fs.SkipAll
				}
				return nil // removed while we walked
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == root {
			if !d.IsDir() {
				return fs.SkipAll
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() && !d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(l.dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			// Skip a folder that cannot hold a key with the prefix.
			if !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(key, prefix) && ValidKey(key) == nil {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return statAll(ctx, keys, l.Stat)
}
