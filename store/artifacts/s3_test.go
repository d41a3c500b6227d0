package artifacts_test

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/backplane-dev/backplane/store/artifacts"
	"github.com/backplane-dev/backplane/store/artifacts/artifactstest"
)

// The S3 store against gofakes3, an S3 server in this process that speaks
// the real protocol to the real client, on 127.0.0.1.

// Test credentials; the fake server does not check them, the tests check
// that they never show.
const (
	testAccessKey = "AKIATESTBACKPLANE0001"
	testSecretKey = "sEcReT/backplane+test+key+do+not+print"
)

// fakeS3 starts an S3 server with an empty bucket and returns its URL.
func fakeS3(t *testing.T, bucket string) string {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return srv.URL
}

func s3Env(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", testAccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
}

func openS3(t *testing.T, prefix string) artifacts.Store {
	t.Helper()
	endpoint := fakeS3(t, "builds")
	s, err := artifacts.Open("s3://builds/"+prefix+"?endpoint="+endpoint+"&region=us-east-1&path_style=true", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*artifacts.S3); !ok {
		t.Fatalf("Open = %T, want *S3", s)
	}
	return s
}

func TestS3(t *testing.T) {
	s3Env(t)
	artifactstest.Run(t, func(t *testing.T) artifacts.Store { return openS3(t, "backplane") })
}

func TestS3NoPrefix(t *testing.T) {
	s3Env(t)
	artifactstest.Run(t, func(t *testing.T) artifacts.Store { return openS3(t, "") })
}

// TestS3PrefixesAreSeparate: two stores on one bucket under different
// prefixes see only their own objects.
func TestS3PrefixesAreSeparate(t *testing.T) {
	s3Env(t)
	endpoint := fakeS3(t, "builds")
	open := func(prefix string) artifacts.Store {
		s, err := artifacts.Open("s3://builds/"+prefix+"?endpoint="+endpoint+"&path_style=true&region=us-east-1", "")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := open("one"), open("one-more")
	ctx := t.Context()
	if _, err := a.Put(ctx, "shop/api/x.tar.gz", strings.NewReader("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, "shop/api/y.tar.gz", strings.NewReader("b")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		s    artifacts.Store
		want string
	}{{a, "shop/api/x.tar.gz"}, {b, "shop/api/y.tar.gz"}} {
		got, err := tc.s.List(ctx, "")
		if err != nil || len(got) != 1 || got[0].Key != tc.want {
			t.Errorf("%s lists %+v %v, want only %s", tc.s.Describe(), got, err, tc.want)
		}
	}
}

// TestS3CredentialsNeverShow: credentials in the URL are refused without
// being quoted; Describe and errors never carry the environment's.
func TestS3CredentialsNeverShow(t *testing.T) {
	s3Env(t)
	for _, u := range []string{
		"s3://" + testAccessKey + ":" + strings.ReplaceAll(testSecretKey, "/", "%2F") + "@builds/p?endpoint=http://127.0.0.1:1",
		"s3://builds/p?endpoint=http://" + testAccessKey + ":secretpass@127.0.0.1:1",
		"s3://" + testAccessKey + ":sec%zzret@builds/p", // does not parse
	} {
		_, err := artifacts.Open(u, "")
		if err == nil {
			t.Errorf("Open accepted credentials in the URL")
			continue
		}
		for _, secret := range []string{testAccessKey, testSecretKey, "secretpass", "sec%zzret"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q quotes a credential", err)
			}
		}
		if !strings.Contains(err.Error(), "credentials") && !strings.Contains(err.Error(), "does not parse") {
			t.Errorf("error %q does not say what is wrong", err)
		}
	}
	s := openS3(t, "p")
	for _, text := range []string{s.Describe()} {
		if strings.Contains(text, testAccessKey) || strings.Contains(text, testSecretKey) {
			t.Errorf("Describe %q quotes a credential", text)
		}
	}
	if !strings.Contains(s.Describe(), "builds") || !strings.Contains(s.Describe(), "127.0.0.1") {
		t.Errorf("Describe %q does not say where", s.Describe())
	}
	// An error from the server (no such bucket) names the key, not the
	// credentials.
	endpoint := fakeS3(t, "other")
	missing, err := artifacts.Open("s3://nobucket/p?endpoint="+endpoint+"&path_style=true&region=us-east-1", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = missing.Put(t.Context(), "shop/api/a.tar.gz", bytes.NewReader([]byte("x")))
	if err == nil {
		t.Fatal("Put to a missing bucket succeeded")
	}
	if strings.Contains(err.Error(), testAccessKey) || strings.Contains(err.Error(), testSecretKey) {
		t.Errorf("error %q quotes a credential", err)
	}
	if !strings.Contains(err.Error(), "shop/api/a.tar.gz") {
		t.Errorf("error %q does not name the key", err)
	}
}

// TestS3Multipart: an object larger than a part is uploaded in parts and
// keeps its digest as metadata.
func TestS3Multipart(t *testing.T) {
	s3Env(t)
	// gofakes3 keeps the chunk signatures of a part sent as a signed
	// stream (what the client does over plain HTTP) in the part; over
	// TLS the client sends parts plainly, as it does to a real bucket.
	backend := s3mem.New()
	if err := backend.CreateBucket("builds"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	s, err := artifacts.NewS3(artifacts.S3Config{Bucket: "builds", Prefix: "mp", Endpoint: srv.URL,
		Region: "us-east-1", PathStyle: true, SpoolDir: t.TempDir(), Transport: srv.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	artifacts.SetPartSize(s, 5<<20)
	data := artifactstest.Random(7, 11<<20)
	key := "shop/api/big.tar.gz"
	put, err := s.Put(t.Context(), key, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Stat(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	want := artifactstest.Digest(data)
	if put.SHA256 != want || st.SHA256 != want || st.Size != int64(len(data)) {
		t.Errorf("Put %s, Stat %s (%d bytes), want %s (%d bytes)", put.SHA256, st.SHA256, st.Size, want, len(data))
	}
	rc, _, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got bytes.Buffer
	if _, err := got.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), data) {
		g := got.Bytes()
		i := 0
		for i < len(g) && i < len(data) && g[i] == data[i] {
			i++
		}
		t.Errorf("multipart object read back differs from byte %d (read %d bytes)", i, len(g))
	}
}
