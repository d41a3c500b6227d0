package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ErrNotFound is wrapped by the errors of Open and Stat when there is no
// object at the key. Callers branch on it with errors.Is.
var ErrNotFound = errors.New("not found")

// Store keeps build artifacts by key ("<project>/<element>/<sha>.tar.gz",
// "<project>/<element>/cache.tar.gz"). Every method is safe for concurrent
// use, and every method checks its key with ValidKey first.
type Store interface {
	// Put stores r under key, computing its SHA-256 and size; readers
	// never see a partial object (write to a temp, then rename / upload
	// whole). Replaces any object at key. When r fails, or ctx ends,
	// before its end, nothing is stored and any object already at key
	// stays as it was.
	Put(ctx context.Context, key string, r io.Reader) (Info, error)
	// Open returns the object and its Info; ErrNotFound (wrapped) when
	// missing. The caller closes the reader.
	Open(ctx context.Context, key string) (io.ReadCloser, Info, error)
	// Stat returns the Info of the object at key; ErrNotFound (wrapped)
	// when missing.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns the objects whose keys start with prefix (a plain
	// string prefix; "" lists everything), sorted by key. An empty list
	// is empty, not nil.
	List(ctx context.Context, prefix string) ([]Info, error)
	// Describe says where it keeps things, for serve's startup line
	// (never a credential).
	Describe() string
}

// Info describes a stored object.
type Info struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
	// SHA256 is the hex SHA-256 of the object's bytes.
	SHA256   string    `json:"sha256"`
	Modified time.Time `json:"modified"`
}

// maxKeyLen bounds a key (S3 allows 1024 bytes; the bucket prefix needs
// some of them).
const maxKeyLen = 512

// ValidKey reports whether key is a key the stores accept: slash-separated
// segments of lowercase letters, digits, '.', '_' and '-', none empty and
// none starting with '.' (so neither "." nor ".." nor a hidden name), no
// leading slash, and at most 512 bytes. Both implementations call it
// before they touch storage.
func ValidKey(key string) error {
	switch {
	case key == "":
		return errors.New("empty key")
	case len(key) > maxKeyLen:
		return fmt.Errorf("key is longer than %d bytes", maxKeyLen)
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("key %q is absolute", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if err := validSegment(seg, false); err != nil {
			return fmt.Errorf("key %q: %w", key, err)
		}
	}
	return nil
}

// validPrefix checks a List prefix: "" or the start of a valid key. Its
// last segment may be partial (even empty, after a trailing slash).
func validPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if len(prefix) > maxKeyLen || strings.HasPrefix(prefix, "/") {
		return fmt.Errorf("prefix %q is not the start of a valid key", prefix)
	}
	segs := strings.Split(prefix, "/")
	for i, seg := range segs {
		if err := validSegment(seg, i == len(segs)-1); err != nil {
			return fmt.Errorf("prefix %q: %w", prefix, err)
		}
	}
	return nil
}

// validSegment checks one segment of a key; partial is the last segment
// of a List prefix, which may be empty or start with a dot (it then
// matches nothing).
func validSegment(seg string, partial bool) error {
	if !partial {
		if seg == "" {
			return errors.New("empty segment")
		}
		if seg[0] == '.' {
			return fmt.Errorf("segment %q starts with a dot", seg)
		}
	}
	for _, c := range seg {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("segment %q has %q (allowed: a-z, 0-9, '.', '_', '-')", seg, c)
		}
	}
	return nil
}

// Open returns the store that rawURL names:
//
//   - "" is Local under dataDir/artifacts;
//   - "file:///DIR" is Local at DIR;
//   - "s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&path_style=true"
//     is S3 (see NewS3 for the parameters). Credentials come from the
//     environment; a URL with user information is refused.
//
// Open does not touch the network; a folder it needs is created on first
// use. Its errors never quote the URL's user information.
func Open(rawURL, dataDir string) (Store, error) {
	if rawURL == "" {
		if dataDir == "" {
			return nil, errors.New("artifacts: no data folder and no artifacts URL")
		}
		return NewLocal(filepath.Join(dataDir, "artifacts"))
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the whole URL, credentials included.
		return nil, errors.New("artifacts: the artifacts URL does not parse (want file:///DIR or s3://bucket/prefix)")
	}
	if u.User != nil {
		return nil, fmt.Errorf("artifacts: the %s URL carries credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in the environment instead", u.Scheme)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("artifacts: file URL with host %q (want file:///DIR)", u.Host)
		}
		if u.Path == "" || u.RawQuery != "" {
			return nil, errors.New("artifacts: file URL wants an absolute folder and no query (file:///DIR)")
		}
		return NewLocal(filepath.FromSlash(u.Path))
	case "s3":
		return newS3FromURL(u, dataDir)
	default:
		return nil, fmt.Errorf("artifacts: unknown URL scheme %q (want file or s3)", u.Scheme)
	}
}

// ctxReader fails a copy once ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// opError prefixes err with the operation and its key.
func opError(op, key string, err error) error {
	return fmt.Errorf("artifacts: %s %s: %w", op, key, err)
}

// notFound is the error of an operation on a missing key.
func notFound(op, key string) error {
	return fmt.Errorf("artifacts: %s %s: object %w", op, key, ErrNotFound)
}

// statAll returns the Info of each listed key, sorted by key, leaving out
// those deleted since they were listed.
func statAll(ctx context.Context, keys []string, stat func(context.Context, string) (Info, error)) ([]Info, error) {
	sort.Strings(keys)
	out := make([]Info, 0, len(keys))
	for _, key := range keys {
		info, err := stat(ctx, key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}
