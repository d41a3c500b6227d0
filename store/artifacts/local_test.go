package artifacts_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/store/artifacts"
	"github.com/backplane-dev/backplane/store/artifacts/artifactstest"
)

func newLocal(t *testing.T) *artifacts.Local {
	t.Helper()
	s, err := artifacts.NewLocal(filepath.Join(t.TempDir(), "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLocal(t *testing.T) {
	artifactstest.Run(t, func(t *testing.T) artifacts.Store { return newLocal(t) })
}

// files returns the entries under dir with their permissions, by
// slash-separated relative path.
func files(t *testing.T, dir string) map[string]fs.FileMode {
	t.Helper()
	out := map[string]fs.FileMode{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = fi.Mode() & (fs.ModeDir | fs.ModePerm)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLocalLayoutAndModes(t *testing.T) {
	s := newLocal(t)
	ctx := t.Context()
	if _, err := s.Put(ctx, "shop/api/abc.tar.gz", strings.NewReader("tarball")); err != nil {
		t.Fatal(err)
	}
	// A failed Put leaves no temporary file behind.
	if _, err := s.Put(ctx, "shop/api/def.tar.gz", iotestErrReader{}); err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	want := map[string]fs.FileMode{
		".":                           fs.ModeDir | 0o700,
		"shop":                        fs.ModeDir | 0o700,
		"shop/api":                    fs.ModeDir | 0o700,
		"shop/api/abc.tar.gz":         0o600,
		"shop/api/.abc.tar.gz.sha256": 0o600,
	}
	got := files(t, s.Dir())
	for k, m := range want {
		if got[k] != m {
			t.Errorf("%s: mode %v, want %v", k, got[k], m)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected file %s", k)
		}
	}
	if err := s.Delete(ctx, "shop/api/abc.tar.gz"); err != nil {
		t.Fatal(err)
	}
	for k := range files(t, s.Dir()) {
		if strings.HasPrefix(k, "shop/api/") {
			t.Errorf("Delete left %s", k)
		}
	}
}

// iotestErrReader fails at once.
type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("broken") }

// TestLocalStaleSidecar: a sidecar that does not describe its object (a
// crash between the two renames of Put, or a hand-edited file) is not
// trusted; the digest is computed from the object.
func TestLocalStaleSidecar(t *testing.T) {
	s := newLocal(t)
	ctx := t.Context()
	key := "shop/api/abc.tar.gz"
	if _, err := s.Put(ctx, key, strings.NewReader("original")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(s.Dir(), "shop", "api", "abc.tar.gz")
	side := filepath.Join(s.Dir(), "shop", "api", ".abc.tar.gz.sha256")
	tests := []struct {
		name  string
		setup func(t *testing.T) []byte
	}{
		{"OtherSize", func(t *testing.T) []byte {
			b := []byte("replaced behind the store's back")
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			return b
		}},
		{"SameSizeOtherTime", func(t *testing.T) []byte {
			b := []byte("ORIGINAL") // as long as "original"
			if _, err := s.Put(ctx, key, strings.NewReader("original")); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, time.Now(), time.Now().Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			return b
		}},
		{"Garbage", func(t *testing.T) []byte {
			b := []byte("fresh")
			if _, err := s.Put(ctx, key, bytes.NewReader(b)); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(side, []byte("not a sidecar"), 0o600); err != nil {
				t.Fatal(err)
			}
			return b
		}},
		{"Missing", func(t *testing.T) []byte {
			b := []byte("no sidecar")
			if _, err := s.Put(ctx, key, bytes.NewReader(b)); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(side); err != nil {
				t.Fatal(err)
			}
			return b
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.setup(t)
			st, err := s.Stat(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if st.SHA256 != artifactstest.Digest(b) || st.Size != int64(len(b)) {
				t.Errorf("Stat = %+v, want the digest of %q", st, b)
			}
			rc, info, err := s.Open(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got := new(bytes.Buffer)
			if _, err := got.ReadFrom(rc); err != nil {
				t.Fatal(err)
			}
			if got.String() != string(b) || info.SHA256 != artifactstest.Digest(b) {
				t.Errorf("Open read %q with digest %s, want %q", got, info.SHA256, b)
			}
		})
	}
}

func TestOpenURL(t *testing.T) {
	data := t.TempDir()
	dir := t.TempDir()
	tests := []struct {
		name    string
		url     string
		dataDir string
		wantDir string // Local's folder; "" for an error
		wantErr string
	}{
		{"Default", "", data, filepath.Join(data, "artifacts"), ""},
		{"File", "file://" + filepath.ToSlash(dir), data, dir, ""},
		{"FileLocalhost", "file://localhost" + filepath.ToSlash(dir), "", dir, ""},
		{"NoDataDir", "", "", "", "no data folder"},
		{"FileHost", "file://server/share", data, "", "host"},
		{"FileRelative", "file:relative", data, "", "absolute"},
		{"Scheme", "gs://bucket/prefix", data, "", "unknown URL scheme"},
		{"S3NoBucket", "s3:///prefix", data, "", "no bucket"},
		{"S3UnknownParam", "s3://b/p?endpont=http://127.0.0.1:9000", data, "", `unknown parameter "endpont"`},
		{"S3BadPathStyle", "s3://b/p?path_style=maybe", data, "", "path_style"},
		{"S3BadEndpoint", "s3://b/p?endpoint=ftp://127.0.0.1", data, "", "endpoint"},
		{"S3BadPrefix", "s3://b/Up/../x", data, "", "prefix"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := artifacts.Open(tc.url, tc.dataDir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Open(%q) = %v, want an error with %q", tc.url, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tc.url, err)
			}
			l, ok := s.(*artifacts.Local)
			if !ok {
				t.Fatalf("Open(%q) = %T, want *Local", tc.url, s)
			}
			if l.Dir() != tc.wantDir {
				t.Errorf("folder %s, want %s", l.Dir(), tc.wantDir)
			}
			if !strings.Contains(s.Describe(), tc.wantDir) {
				t.Errorf("Describe %q does not name %s", s.Describe(), tc.wantDir)
			}
		})
	}
}
