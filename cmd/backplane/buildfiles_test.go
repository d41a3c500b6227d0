package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCacheRoundTrip(t *testing.T) {
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "pip", "wheels"), 0o755))
	must(os.WriteFile(filepath.Join(src, "pip", "wheels", "a.whl"), []byte("wheel"), 0o644))
	must(os.MkdirAll(filepath.Join(src, "go-mod", "ro"), 0o755))
	must(os.WriteFile(filepath.Join(src, "go-mod", "ro", "x.go"), []byte("package x"), 0o444))
	must(os.Symlink("../pip/wheels/a.whl", filepath.Join(src, "go-mod", "link")))
	var buf bytes.Buffer
	must(tarGz(src, &buf))
	dst := t.TempDir()
	must(untarGz(bytes.NewReader(buf.Bytes()), dst))
	if b, err := os.ReadFile(filepath.Join(dst, "pip", "wheels", "a.whl")); err != nil || string(b) != "wheel" {
		t.Errorf("a.whl: %q %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "go-mod", "link")); err != nil || string(b) != "wheel" {
		t.Errorf("link: %q %v", b, err)
	}
	// A second restore over the first (read-only files included) works.
	must(untarGz(bytes.NewReader(buf.Bytes()), dst))
}

func TestCacheRefusesEntriesOutside(t *testing.T) {
	for _, name := range []string{"../escape", "/etc/passwd", "a/../../b"} {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte("x"))
		tw.Close()
		gz.Close()
		if err := untarGz(&buf, t.TempDir()); err == nil || !strings.Contains(err.Error(), "outside") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A symlink pointing out, then a file written through it.
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	outside := t.TempDir()
	_ = tw.WriteHeader(&tar.Header{Name: "l", Linkname: outside, Typeflag: tar.TypeSymlink})
	_ = tw.WriteHeader(&tar.Header{Name: "l/pwned", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("x"))
	tw.Close()
	gz.Close()
	_ = untarGz(&buf, t.TempDir())
	if _, err := os.Stat(filepath.Join(outside, "pwned")); err == nil {
		t.Errorf("a file was written outside the cache folder through a symlink")
	}
}

// FuzzUntarGz: a build cache is unpacked from whatever the server (or
// whoever answers at its URL) sends; no input may panic or write outside
// the folder.
func FuzzUntarGz(f *testing.F) {
	var buf bytes.Buffer
	src := f.TempDir()
	_ = os.WriteFile(filepath.Join(src, "a"), []byte("x"), 0o644)
	_ = tarGz(src, &buf)
	f.Add(buf.Bytes())
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "cache")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		_ = untarGz(bytes.NewReader(data), dir)
		entries, _ := os.ReadDir(parent)
		if len(entries) != 1 {
			t.Fatalf("something was written beside the cache folder: %v", entries)
		}
	})
}
