package artifacts_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/backplane-dev/backplane/store/artifacts"
)

// FuzzValidKey: a key ValidKey accepts stays inside the store's folder,
// names no hidden file, and has the shape the stores rely on.
func FuzzValidKey(f *testing.F) {
	for _, k := range []string{"shop/api/abc.tar.gz", "shop/api/cache.tar.gz", "../x", "a//b", "a/./b", "a\\b", "/a", "a/.b", ""} {
		f.Add(k)
	}
	root := filepath.FromSlash("/srv/artifacts")
	f.Fuzz(func(t *testing.T, key string) {
		if artifacts.ValidKey(key) != nil {
			return
		}
		p := filepath.Join(root, filepath.FromSlash(key))
		if !strings.HasPrefix(p, root+string(filepath.Separator)) {
			t.Fatalf("key %q escapes the folder: %s", key, p)
		}
		if filepath.ToSlash(p[len(root)+1:]) != key {
			t.Fatalf("key %q is not clean: joins to %s", key, p)
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == "" || seg[0] == '.' {
				t.Fatalf("key %q has segment %q", key, seg)
			}
		}
	})
}
