// Package artifactstest is the conformance suite that every
// artifacts.Store implementation passes. A backend's test calls Run with a
// function that returns a new, empty store:
//
//	func TestLocal(t *testing.T) {
//		artifactstest.Run(t, func(t *testing.T) artifacts.Store {
//			s, err := artifacts.NewLocal(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// Each subtest gets its own store.
package artifactstest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/store/artifacts"
)

// Run runs the suite. open must return a new, empty store.
func Run(t *testing.T, open func(t *testing.T) artifacts.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s artifacts.Store)
	}{
		{"PutOpenStat", testPutOpenStat},
		{"Empty", testEmpty},
		{"Replace", testReplace},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"List", testList},
		{"InvalidKeys", testInvalidKeys},
		{"Large", testLarge},
		{"ConcurrentPutsOneKey", testConcurrentPuts},
		{"ReadersDuringPuts", testReadersDuringPuts},
		{"FailingReaderLeavesNothing", testFailingReader},
		{"FailingReaderKeepsOld", testFailingReaderKeepsOld},
		{"CanceledContext", testCanceled},
		{"Describe", testDescribe},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// --- helpers ---

// Digest returns the hex SHA-256 of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Random returns n pseudo-random bytes from seed.
func Random(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func mustPut(t *testing.T, s artifacts.Store, key string, data []byte) artifacts.Info {
	t.Helper()
	info, err := s.Put(t.Context(), key, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	wantInfo(t, "Put("+key+")", info, key, data)
	return info
}

// mustRead opens key and returns its bytes and Info.
func mustRead(t *testing.T, s artifacts.Store, key string) ([]byte, artifacts.Info) {
	t.Helper()
	rc, info, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return b, info
}

func wantInfo(t *testing.T, what string, info artifacts.Info, key string, data []byte) {
	t.Helper()
	if info.Key != key || info.Size != int64(len(data)) || info.SHA256 != Digest(data) {
		t.Errorf("%s = {Key %q, Size %d, SHA256 %s}, want {%q, %d, %s}", what,
			info.Key, info.Size, info.SHA256, key, len(data), Digest(data))
	}
	if info.Modified.IsZero() || info.Modified.Location() != time.UTC {
		t.Errorf("%s: Modified = %v, want a UTC time", what, info.Modified)
	}
}

func keysOf(infos []artifacts.Info) []string {
	out := make([]string, 0, len(infos))
	for _, i := range infos {
		out = append(out, i.Key)
	}
	return out
}

func mustList(t *testing.T, s artifacts.Store, prefix string) []artifacts.Info {
	t.Helper()
	infos, err := s.List(t.Context(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	if infos == nil {
		t.Errorf("List(%q) = nil, want an empty, non-nil slice", prefix)
	}
	return infos
}

// failingReader returns n bytes and then an error.
type failingReader struct {
	r io.Reader
}

var errBroken = errors.New("connection broke")

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errBroken
	}
	return n, err
}

// --- cases ---

func testPutOpenStat(t *testing.T, s artifacts.Store) {
	data := []byte("a tarball, pretend\n")
	key := "shop/api/0123abcd.tar.gz"
	put := mustPut(t, s, key, data)
	got, info := mustRead(t, s, key)
	if !bytes.Equal(got, data) {
		t.Errorf("Open read %q, want %q", got, data)
	}
	wantInfo(t, "Open", info, key, data)
	st, err := s.Stat(t.Context(), key)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	wantInfo(t, "Stat", st, key, data)
	if st.SHA256 != put.SHA256 {
		t.Errorf("Stat digest %s, Put's %s", st.SHA256, put.SHA256)
	}
}

func testEmpty(t *testing.T, s artifacts.Store) {
	mustPut(t, s, "shop/api/cache.tar.gz", nil)
	got, info := mustRead(t, s, "shop/api/cache.tar.gz")
	if len(got) != 0 {
		t.Errorf("read %d bytes of an empty object", len(got))
	}
	wantInfo(t, "Open", info, "shop/api/cache.tar.gz", nil)
}

func testReplace(t *testing.T, s artifacts.Store) {
	key := "shop/api/cache.tar.gz"
	mustPut(t, s, key, []byte("first, and longer than the second"))
	mustPut(t, s, key, []byte("second"))
	got, info := mustRead(t, s, key)
	if string(got) != "second" {
		t.Errorf("after replace read %q, want %q", got, "second")
	}
	wantInfo(t, "Open after replace", info, key, []byte("second"))
	st, err := s.Stat(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	wantInfo(t, "Stat after replace", st, key, []byte("second"))
	if keys := keysOf(mustList(t, s, "")); len(keys) != 1 || keys[0] != key {
		t.Errorf("List after replace = %v, want [%s]", keys, key)
	}
}

func testMissing(t *testing.T, s artifacts.Store) {
	ctx := t.Context()
	mustPut(t, s, "shop/api/aaa.tar.gz", []byte("x"))
	for _, key := range []string{"shop/api/bbb.tar.gz", "shop/web/aaa.tar.gz", "other/api/aaa.tar.gz",
		"shop/api/aaa.tar.gz/deeper", "shop/api"} {
		if _, err := s.Stat(ctx, key); !errors.Is(err, artifacts.ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want ErrNotFound", key, err)
		}
		rc, _, err := s.Open(ctx, key)
		if !errors.Is(err, artifacts.ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", key, err)
		}
		if rc != nil {
			rc.Close()
			t.Errorf("Open(%q) returned a reader with its error", key)
		}
		if err != nil && !strings.Contains(err.Error(), key) {
			t.Errorf("Open(%q) error %q does not name the key", key, err)
		}
	}
}

func testDelete(t *testing.T, s artifacts.Store) {
	ctx := t.Context()
	mustPut(t, s, "shop/api/aaa.tar.gz", []byte("a"))
	mustPut(t, s, "shop/api/bbb.tar.gz", []byte("b"))
	if err := s.Delete(ctx, "shop/api/aaa.tar.gz"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Stat(ctx, "shop/api/aaa.tar.gz"); !errors.Is(err, artifacts.ErrNotFound) {
		t.Errorf("Stat after Delete = %v, want ErrNotFound", err)
	}
	if got, _ := mustRead(t, s, "shop/api/bbb.tar.gz"); string(got) != "b" {
		t.Errorf("Delete touched another key: %q", got)
	}
	for _, key := range []string{"shop/api/aaa.tar.gz", "never/was/here.tar.gz"} {
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) of a missing key = %v, want nil", key, err)
		}
	}
	if keys := keysOf(mustList(t, s, "")); len(keys) != 1 || keys[0] != "shop/api/bbb.tar.gz" {
		t.Errorf("List after Delete = %v", keys)
	}
	// Put again after a delete.
	mustPut(t, s, "shop/api/aaa.tar.gz", []byte("again"))
	if got, _ := mustRead(t, s, "shop/api/aaa.tar.gz"); string(got) != "again" {
		t.Errorf("read %q after delete and put", got)
	}
}

func testList(t *testing.T, s artifacts.Store) {
	objects := map[string]string{
		"shop/web/c1.tar.gz":    "web one",
		"shop/api/b2.tar.gz":    "api two",
		"shop/api/a1.tar.gz":    "api one",
		"shop/api/cache.tar.gz": "api cache",
		"shopping/api/a.tar.gz": "another project",
		"blog/api/a1.tar.gz":    "blog",
	}
	for k, v := range objects {
		mustPut(t, s, k, []byte(v))
	}
	if got := mustList(t, s, "nothing/"); len(got) != 0 {
		t.Errorf("List(nothing/) = %v, want none", keysOf(got))
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"blog/api/a1.tar.gz", "shop/api/a1.tar.gz", "shop/api/b2.tar.gz", "shop/api/cache.tar.gz",
			"shop/web/c1.tar.gz", "shopping/api/a.tar.gz"}},
		{"shop/", []string{"shop/api/a1.tar.gz", "shop/api/b2.tar.gz", "shop/api/cache.tar.gz", "shop/web/c1.tar.gz"}},
		{"shop", []string{"shop/api/a1.tar.gz", "shop/api/b2.tar.gz", "shop/api/cache.tar.gz",
			"shop/web/c1.tar.gz", "shopping/api/a.tar.gz"}},
		{"shop/api/", []string{"shop/api/a1.tar.gz", "shop/api/b2.tar.gz", "shop/api/cache.tar.gz"}},
		{"shop/api/a", []string{"shop/api/a1.tar.gz"}},
		{"shop/api/a1.tar.gz", []string{"shop/api/a1.tar.gz"}},
		{"shop/ap", []string{"shop/api/a1.tar.gz", "shop/api/b2.tar.gz", "shop/api/cache.tar.gz"}},
		{"shop/api/z", nil},
		{"shop/zz/", nil},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.prefix, "/", "|"), func(t *testing.T) {
			infos := mustList(t, s, tc.prefix)
			got := keysOf(infos)
			if fmt.Sprint(got) != fmt.Sprint(append([]string{}, tc.want...)) {
				t.Errorf("List(%q) = %v, want %v", tc.prefix, got, tc.want)
			}
			for _, info := range infos {
				wantInfo(t, "List item", info, info.Key, []byte(objects[info.Key]))
			}
		})
	}
}

// badKeys are refused by ValidKey and so by every method.
var badKeys = []string{
	"", "/shop/api/a.tar.gz", "shop/../etc/passwd", "..", "../a", "shop/./a", "shop//a.tar.gz",
	"shop/api/", "shop\\api\\a.tar.gz", "Shop/api/a.tar.gz", "shop/api/a b.tar.gz", "shop/api/.hidden",
	"shop/api/a.tar.gz\x00", "shop/api/ä.tar.gz", "shop/api/a.tar.gz?x=1", strings.Repeat("a", 600),
}

func testInvalidKeys(t *testing.T, s artifacts.Store) {
	ctx := t.Context()
	for _, key := range badKeys {
		if err := artifacts.ValidKey(key); err == nil {
			t.Errorf("ValidKey(%q) = nil, want an error", key)
		}
		if _, err := s.Put(ctx, key, strings.NewReader("x")); err == nil {
			t.Errorf("Put(%q) = nil, want an error", key)
		}
		if rc, _, err := s.Open(ctx, key); err == nil || errors.Is(err, artifacts.ErrNotFound) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Open(%q) = %v, want an invalid-key error", key, err)
		}
		if _, err := s.Stat(ctx, key); err == nil || errors.Is(err, artifacts.ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want an invalid-key error", key, err)
		}
		if err := s.Delete(ctx, key); err == nil {
			t.Errorf("Delete(%q) = nil, want an error", key)
		}
	}
	for _, prefix := range []string{"/shop", "../", "shop/../", "shop//", "a\\b", "Shop/"} {
		if _, err := s.List(ctx, prefix); err == nil {
			t.Errorf("List(%q) = nil error, want an error", prefix)
		}
	}
	for _, key := range []string{"shop/api/0123abcdef.tar.gz", "shop/api/cache.tar.gz", "a", "a-b_c.d/e"} {
		if err := artifacts.ValidKey(key); err != nil {
			t.Errorf("ValidKey(%q) = %v, want nil", key, err)
		}
	}
	if got := mustList(t, s, ""); len(got) != 0 {
		t.Errorf("invalid keys stored something: %v", keysOf(got))
	}
}

func testLarge(t *testing.T, s artifacts.Store) {
	data := Random(1, 6<<20+123)
	key := "shop/api/large.tar.gz"
	mustPut(t, s, key, data)
	got, info := mustRead(t, s, key)
	if !bytes.Equal(got, data) {
		t.Errorf("large object read back differs (%d bytes, want %d)", len(got), len(data))
	}
	wantInfo(t, "Open", info, key, data)
}

func testConcurrentPuts(t *testing.T, s artifacts.Store) {
	const n = 8
	key := "shop/api/race.tar.gz"
	bodies := make([][]byte, n)
	digests := map[string]int{}
	for i := range bodies {
		// Same size, different bytes: a mix of two would go unnoticed by
		// the size alone.
		bodies[i] = Random(uint64(100+i), 256<<10)
		digests[Digest(bodies[i])] = i
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Put(t.Context(), key, bytes.NewReader(bodies[i])); err != nil {
				t.Errorf("Put %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	got, info := mustRead(t, s, key)
	i, ok := digests[Digest(got)]
	if !ok {
		t.Fatalf("after concurrent puts the object is none of them whole (%d bytes)", len(got))
	}
	wantInfo(t, "Open", info, key, bodies[i])
	st, err := s.Stat(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	wantInfo(t, "Stat", st, key, bodies[i])
	if keys := keysOf(mustList(t, s, "")); len(keys) != 1 || keys[0] != key {
		t.Errorf("List after concurrent puts = %v, want [%s]", keys, key)
	}
}

// testReadersDuringPuts: while one key is replaced again and again, every
// Open and Stat sees one whole object, with that object's digest.
func testReadersDuringPuts(t *testing.T, s artifacts.Store) {
	const n = 6
	key := "shop/api/cache.tar.gz"
	bodies := make([][]byte, n)
	digests := map[string]bool{}
	for i := range bodies {
		bodies[i] = Random(uint64(200+i), 64<<10)
		digests[Digest(bodies[i])] = true
	}
	mustPut(t, s, key, bodies[0])
	ctx := t.Context()
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for round := range 3 {
			for i := range n {
				if _, err := s.Put(ctx, key, bytes.NewReader(bodies[(i+round)%n])); err != nil {
					t.Errorf("Put: %v", err)
					return
				}
			}
		}
	}()
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for reads := 0; ; reads++ {
				select {
				case <-done:
					if reads > 0 {
						return
					}
				default:
				}
				if r == 0 {
					st, err := s.Stat(ctx, key)
					if err != nil || !digests[st.SHA256] || st.Size != 64<<10 {
						t.Errorf("Stat during puts = %+v, %v", st, err)
						return
					}
					continue
				}
				rc, info, err := s.Open(ctx, key)
				if err != nil {
					t.Errorf("Open during puts: %v", err)
					return
				}
				b, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Errorf("read during puts: %v", err)
					return
				}
				if Digest(b) != info.SHA256 || !digests[info.SHA256] || info.Size != int64(len(b)) {
					t.Errorf("Open during puts read %d bytes with digest %s, Info %+v", len(b), Digest(b), info)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func testFailingReader(t *testing.T, s artifacts.Store) {
	key := "shop/api/broken.tar.gz"
	_, err := s.Put(t.Context(), key, &failingReader{bytes.NewReader(Random(2, 1<<20))})
	if !errors.Is(err, errBroken) {
		t.Errorf("Put with a failing reader = %v, want its error wrapped", err)
	}
	if err != nil && !strings.Contains(err.Error(), key) {
		t.Errorf("error %q does not name the key", err)
	}
	if _, err := s.Stat(t.Context(), key); !errors.Is(err, artifacts.ErrNotFound) {
		t.Errorf("Stat after a failed Put = %v, want ErrNotFound", err)
	}
	if got := mustList(t, s, ""); len(got) != 0 {
		t.Errorf("a failed Put left %v", keysOf(got))
	}
}

func testFailingReaderKeepsOld(t *testing.T, s artifacts.Store) {
	key := "shop/api/cache.tar.gz"
	old := []byte("the cache that worked")
	mustPut(t, s, key, old)
	if _, err := s.Put(t.Context(), key, &failingReader{bytes.NewReader(Random(3, 64<<10))}); err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	got, info := mustRead(t, s, key)
	if !bytes.Equal(got, old) {
		t.Errorf("a failed Put changed the object: %d bytes", len(got))
	}
	wantInfo(t, "Open", info, key, old)
	if keys := keysOf(mustList(t, s, "")); len(keys) != 1 {
		t.Errorf("List = %v, want only %s", keys, key)
	}
}

func testCanceled(t *testing.T, s artifacts.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Put(ctx, "shop/api/c.tar.gz", strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a canceled context = %v, want context.Canceled", err)
	}
	if got := mustList(t, s, ""); len(got) != 0 {
		t.Errorf("a canceled Put stored %v", keysOf(got))
	}
}

func testDescribe(t *testing.T, s artifacts.Store) {
	if d := s.Describe(); d == "" {
		t.Error("Describe is empty")
	}
}
