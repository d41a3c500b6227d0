package web

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/backplane-dev/backplane/schema"
)

// TestDistServesTheBinary: the binary and its archive are offered without
// credentials, each with a checksum that matches, and the archive holds
// an executable "backplane".
func TestDistServesTheBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "backplane")
	content := bytes.Repeat([]byte("\x7fELF-not-really "), 1000)
	if err := os.WriteFile(bin, content, 0o755); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, nil)
	ts.srv.dist = newDist(bin)
	platform := runtime.GOOS + "-" + runtime.GOARCH
	get := func(path string) (int, []byte) {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("X-Test-Anonymous", "1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

	code, got := get("/dist/backplane-" + platform)
	if code != 200 || !bytes.Equal(got, content) {
		t.Fatalf("binary: %d, %d bytes", code, len(got))
	}
	code, s := get("/dist/backplane-" + platform + ".sha256")
	if code != 200 || strings.Fields(string(s))[0] != sum(content) {
		t.Errorf("binary checksum: %d %q", code, s)
	}
	code, tgz := get("/dist/backplane-" + platform + ".tar.gz")
	if code != 200 {
		t.Fatalf("archive: %d", code)
	}
	code, s = get("/dist/backplane-" + platform + ".tar.gz.sha256")
	if code != 200 || strings.Fields(string(s))[0] != sum(tgz) {
		t.Errorf("archive checksum: %d %q", code, s)
	}
	gz, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != "backplane" || hdr.Mode&0o111 == 0 {
		t.Fatalf("archive entry %+v %v", hdr, err)
	}
	inner, _ := io.ReadAll(tr)
	if !bytes.Equal(inner, content) {
		t.Error("the archive's binary differs")
	}
	if code, _ := get("/dist/backplane-plan9-mips"); code != 404 {
		t.Errorf("another platform: %d, want 404", code)
	}

	// A deploy from serve points the sidecar at this archive, checksum
	// included, when Loki is on and no other source is set.
	if runtime.GOOS != "linux" {
		return
	}
	ts.srv.lokiURL, ts.srv.publicURL = "http://loki.test:3100/loki/api/v1/push", "http://backplane.test"
	sc, err := schema.Decode("backplane.yaml", []byte(apiSchema))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ts.srv.translate(sc)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, j := range b.Jobs["global"] {
		for _, task := range j.TaskGroups[0].Tasks {
			if task.Name != "logship" {
				continue
			}
			a := task.Artifacts[0]
			found = *a.GetterSource == "http://backplane.test/dist/backplane-"+platform+".tar.gz" && a.GetterOptions["checksum"] == "sha256:"+sum(tgz)
		}
	}
	if !found {
		t.Error("the logship sidecar does not fetch this server's archive with its checksum")
	}
}
