package autodeploy

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpensOnlyForItsProject(t *testing.T) {
	s, err := NewSealer(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal("shop", []byte("hook-secret"))
	if err != nil || bytes.Contains(sealed, []byte("hook-secret")) {
		t.Fatalf("sealed %q %v", sealed, err)
	}
	if got, err := s.Open("shop", sealed); err != nil || string(got) != "hook-secret" {
		t.Fatalf("open %q %v", got, err)
	}
	if _, err := s.Open("blog", sealed); !errors.Is(err, ErrUnseal) {
		t.Errorf("opened for another project: %v", err)
	}
	other, _ := NewSealer(bytes.Repeat([]byte{8}, KeySize))
	if _, err := other.Open("shop", sealed); !errors.Is(err, ErrUnseal) {
		t.Errorf("opened with another key: %v", err)
	}
	if _, err := NewSealer([]byte("short")); err == nil {
		t.Error("a short key was taken")
	}
}

func TestLoadKeyMakesAndKeepsOne(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadKey("", dir)
	if err != nil || len(k1) != KeySize {
		t.Fatalf("%v %d", err, len(k1))
	}
	fi, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v %v", fi, err)
	}
	k2, err := LoadKey("", dir)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Errorf("the key changed across loads: %v", err)
	}
	if _, err := LoadKey("not base64", dir); err == nil {
		t.Error("a bad BACKPLANE_SECRET_KEY was taken")
	}
}

func TestSign(t *testing.T) {
	key := make([]byte, KeySize)
	s1, _ := NewSealer(key)
	s2, _ := NewSealer(key)
	key[0] = 1
	other, _ := NewSealer(key)
	a := s1.Sign("artifact", "shop/api/x.tar.gz")
	if a != s2.Sign("artifact", "shop/api/x.tar.gz") || !s2.Verify("artifact", "shop/api/x.tar.gz", a) {
		t.Errorf("the same key signs differently")
	}
	for _, bad := range []bool{
		s1.Verify("artifact", "shop/api/y.tar.gz", a),
		s1.Verify("upload", "shop/api/x.tar.gz", a),
		other.Verify("artifact", "shop/api/x.tar.gz", a),
		s1.Verify("artifact", "shop/api/x.tar.gz", ""),
	} {
		if bad {
			t.Errorf("a signature verified for another message, purpose or key")
		}
	}
}
