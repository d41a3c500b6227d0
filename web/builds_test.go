package web

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/jobs"
	"github.com/backplane-dev/backplane/store"
	"github.com/backplane-dev/backplane/store/artifacts"
)

// versionsOnly is a build cluster that only answers which artifacts the
// job's versions refer to.
type versionsOnly struct{ digests []string }

func (v versionsOnly) StartBuild(context.Context, *nomad.Job, map[string]string) error { return nil }
func (v versionsOnly) WaitBuild(context.Context, string, string, string, func(string)) (jobs.BuildRun, error) {
	return jobs.BuildRun{}, nil
}
func (v versionsOnly) BuildLog(context.Context, string, string, string, bool, func(string)) error {
	return nil
}
func (v versionsOnly) EndBuild(context.Context, string, string, string) error { return nil }
func (v versionsOnly) JobArtifacts(context.Context, string, string, string) ([]string, error) {
	return v.digests, nil
}

// Retention keeps the newest Keep artifacts of an element and every one a
// job version refers to, and deletes the rest, marking their builds.
func TestBuildRetention(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "backplane.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateProject(ctx, "shop", ""); err != nil {
		t.Fatal(err)
	}
	local, err := artifacts.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Config{Store: st})
	defer srv.Close()
	var digests []string
	for i := range 6 {
		sha := strings.Repeat(fmt.Sprint(i), 40)
		info, err := local.Put(ctx, artifactKey("shop", "api", sha), strings.NewReader("build "+sha))
		if err != nil {
			t.Fatal(err)
		}
		b, err := st.CreateBuild(ctx, store.Build{Project: "shop", Element: "api", SHA: sha, Status: store.BuildRunning})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.FinishBuild(ctx, "shop", b.ID, store.BuildResult{Status: store.BuildSucceeded, Digest: info.SHA256, Size: info.Size}); err != nil {
			t.Fatal(err)
		}
		digests = append(digests, info.SHA256)
	}
	// The job's versions still run build 0 (the oldest): a rollback target.
	b := &builder{s: srv, cluster: versionsOnly{digests: []string{digests[0]}}, store: local, keep: 2}
	b.prune(ctx, "shop", "api", "global", "", "shop-api")
	left, err := local.List(ctx, "shop/api/")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, in := range left {
		keys = append(keys, in.Key)
	}
	want := []string{artifactKey("shop", "api", strings.Repeat("0", 40)), artifactKey("shop", "api", strings.Repeat("4", 40)), artifactKey("shop", "api", strings.Repeat("5", 40))}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Errorf("kept %v, want %v", keys, want)
	}
	for _, sha := range []string{"1", "2", "3"} {
		if _, err := st.ReusableBuild(ctx, "shop", "api", strings.Repeat(sha, 40)); err == nil {
			t.Errorf("the pruned build at %s is still reusable", sha)
		}
	}
	if _, err := st.ReusableBuild(ctx, "shop", "api", strings.Repeat("0", 40)); err != nil {
		t.Errorf("the build a job version refers to was pruned: %v", err)
	}
}

// buildingCluster is the fake cluster with the build side.
type buildingCluster struct {
	*fakeCluster
	versionsOnly
}

// An upload token is good once, for its own path; a download needs the
// link's signature.
func TestArtifactUploadAndDownload(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "backplane.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateProject(ctx, "shop", ""); err != nil {
		t.Fatal(err)
	}
	local, err := artifacts.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Config{Store: st, Cluster: buildingCluster{fakeCluster: newFakeCluster()}, PublicURL: "http://bp.test",
		Autodeploy: AutodeployConfig{Sealer: testSealer(t)}, Builds: BuildsConfig{Artifacts: local}})
	defer srv.Close()
	if srv.builds == nil {
		t.Fatal("builds are off")
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	key := artifactKey("shop", "api", strings.Repeat("a", 40))
	tok := uploadToken()
	h := sha256.Sum256([]byte(tok))
	if err := st.CreateUploadToken(ctx, h[:], key, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	put := func(path, token string) int {
		req, _ := http.NewRequest("PUT", ts.URL+"/artifacts/"+path, strings.NewReader("the build"))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := put(artifactKey("shop", "api", strings.Repeat("b", 40)), tok); code != http.StatusUnauthorized {
		t.Errorf("the token for another path: %d", code)
	}
	if code := put(key, "not-the-token"); code != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d", code)
	}
	if code := put(key, tok); code != http.StatusCreated {
		t.Fatalf("upload: %d", code)
	}
	if code := put(key, tok); code != http.StatusUnauthorized {
		t.Errorf("the token used twice: %d", code)
	}
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	link := strings.Replace(srv.builds.downloadURL(key), "http://bp.test", ts.URL, 1)
	if code, body := get(link); code != 200 || body != "the build" {
		t.Errorf("download: %d %q", code, body)
	}
	if code, _ := get(ts.URL + "/artifacts/" + key); code != http.StatusNotFound {
		t.Errorf("download without the signature: %d", code)
	}
	if code, _ := get(ts.URL + "/artifacts/" + key + "?token=" + srv.sealer.Sign(signArtifact, "shop/api/other.tar.gz")); code != http.StatusNotFound {
		t.Errorf("download with another path's signature: %d", code)
	}
}
