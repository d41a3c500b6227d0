package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/backplane-dev/backplane/store"
)

// The Builds cases: builds, their artifacts and one-time upload tokens.
// Run runs them with the rest.

var buildsTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"BuildCreateFinishGet", testBuildCreateFinishGet},
	{"BuildStatusChecked", testBuildStatusChecked},
	{"BuildNotFound", testBuildNotFound},
	{"ListBuilds", testListBuilds},
	{"ReusableBuild", testReusableBuild},
	{"BuildsUnknownProject", testBuildsUnknownProject},
	{"BuildsGoWithProject", testBuildsGoWithProject},
	{"UploadTokenOnce", testUploadTokenOnce},
	{"UploadTokenExpired", testUploadTokenExpired},
	{"UploadTokenConcurrentUse", testUploadTokenConcurrent},
}

func mustCreateBuild(t *testing.T, s store.Store, slug, element, sha string) *store.Build {
	t.Helper()
	b, err := s.CreateBuild(t.Context(), store.Build{Project: slug, Element: element, SHA: sha, Region: "eu",
		JobID: slug + "-" + element + "-build-" + sha, Trigger: store.TriggerWebhook, Actor: "webhook:alice"})
	if err != nil {
		t.Fatalf("CreateBuild(%s, %s, %s): %v", slug, element, sha, err)
	}
	return b
}

func mustFinishBuild(t *testing.T, s store.Store, b *store.Build, status string) *store.Build {
	t.Helper()
	f := store.BuildResult{Status: status, LogTail: "npm ci\nnpm run build\n"}
	if status == store.BuildSucceeded {
		f.Digest, f.Size = sha256Hex(b.SHA), 1234
	} else {
		f.Error = "exit status 1"
	}
	got, err := s.FinishBuild(t.Context(), b.Project, b.ID, f)
	if err != nil {
		t.Fatalf("FinishBuild(%d, %s): %v", b.ID, status, err)
	}
	return got
}

func buildIDs(bs []store.Build) []int64 {
	out := make([]int64, 0, len(bs))
	for _, b := range bs {
		out = append(out, b.ID)
	}
	return out
}

// tokenHash is the SHA-256 of an upload token, as callers store it.
func tokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

func testBuildCreateFinishGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	from := time.Now()
	b, err := s.CreateBuild(ctx, store.Build{ID: 99, Project: "shop", Element: "api", SHA: "abc123", Region: "eu",
		JobID: "shop-api-build-abc123", Trigger: store.TriggerUser, Actor: "alice",
		FinishedAt: from, Digest: "ignored", Size: 7, Pruned: true})
	to := time.Now()
	if err != nil {
		t.Fatalf("CreateBuild: %v", err)
	}
	if b.ID <= 0 || b.ID == 99 {
		t.Errorf("ID = %d, want a new positive ID", b.ID)
	}
	want := store.Build{ID: b.ID, Project: "shop", Element: "api", SHA: "abc123", Region: "eu",
		JobID: "shop-api-build-abc123", Status: store.BuildRunning, Trigger: store.TriggerUser, Actor: "alice",
		StartedAt: b.StartedAt}
	if diff := cmp.Diff(&want, b); diff != "" {
		t.Errorf("CreateBuild (-want +got):\n%s", diff)
	}
	wantUTC(t, "StartedAt", b.StartedAt)
	between(t, "StartedAt", b.StartedAt, from, to)
	got, err := s.GetBuild(ctx, "shop", b.ID)
	if err != nil {
		t.Fatalf("GetBuild: %v", err)
	}
	if diff := cmp.Diff(b, got); diff != "" {
		t.Errorf("GetBuild differs from CreateBuild (-create +get):\n%s", diff)
	}

	from = time.Now()
	fin, err := s.FinishBuild(ctx, "shop", b.ID, store.BuildResult{Status: store.BuildSucceeded,
		Digest: sha256Hex("tarball"), Size: 4096, LogTail: "built\n"})
	to = time.Now()
	if err != nil {
		t.Fatalf("FinishBuild: %v", err)
	}
	want.Status, want.Digest, want.Size, want.LogTail, want.FinishedAt =
		store.BuildSucceeded, sha256Hex("tarball"), 4096, "built\n", fin.FinishedAt
	if diff := cmp.Diff(&want, fin); diff != "" {
		t.Errorf("FinishBuild (-want +got):\n%s", diff)
	}
	wantUTC(t, "FinishedAt", fin.FinishedAt)
	between(t, "FinishedAt", fin.FinishedAt, from, to)
	if got, err := s.GetBuild(ctx, "shop", b.ID); err != nil {
		t.Fatal(err)
	} else if diff := cmp.Diff(fin, got); diff != "" {
		t.Errorf("GetBuild differs from FinishBuild (-finish +get):\n%s", diff)
	}

	// A failed build keeps its log tail and error.
	b2 := mustCreateBuild(t, s, "shop", "web", "def456")
	failed, err := s.FinishBuild(ctx, "shop", b2.ID, store.BuildResult{Status: store.BuildFailed,
		LogTail: "npm ERR! missing script: build\n", Error: "exit status 1"})
	if err != nil {
		t.Fatal(err)
	}
	if failed.Status != store.BuildFailed || failed.Error != "exit status 1" || failed.LogTail == "" ||
		failed.Digest != "" || failed.FinishedAt.IsZero() {
		t.Errorf("failed build = %+v", failed)
	}
}

func testBuildStatusChecked(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	if _, err := s.CreateBuild(ctx, store.Build{Project: "shop", Element: "api", SHA: "a", Status: "exploded"}); err == nil {
		t.Error("CreateBuild with an unknown status succeeded")
	}
	b := mustCreateBuild(t, s, "shop", "api", "a")
	for _, status := range []string{"", store.BuildRunning, "exploded"} {
		_, err := s.FinishBuild(ctx, "shop", b.ID, store.BuildResult{Status: status})
		if err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("FinishBuild with status %q = %v, want an error", status, err)
		}
	}
	if got, err := s.GetBuild(ctx, "shop", b.ID); err != nil || got.Status != store.BuildRunning || !got.FinishedAt.IsZero() {
		t.Errorf("a refused FinishBuild changed the build: %+v %v", got, err)
	}
}

func testBuildNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	mustCreate(t, s, "blog")
	b := mustCreateBuild(t, s, "shop", "api", "a")
	// Another project's build is not found through this one.
	if _, err := s.GetBuild(ctx, "blog", b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetBuild of another project's build: %v", err)
	}
	if _, err := s.FinishBuild(ctx, "blog", b.ID, store.BuildResult{Status: store.BuildFailed}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FinishBuild of another project's build: %v", err)
	}
	if err := s.PruneBuild(ctx, "blog", b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PruneBuild of another project's build: %v", err)
	}
	for _, id := range []int64{0, b.ID + 1000} {
		_, err := s.GetBuild(ctx, "shop", id)
		wantErrIs(t, fmt.Sprintf("GetBuild(%d)", id), err, store.ErrNotFound)
		if !strings.Contains(err.Error(), "shop") || !strings.Contains(err.Error(), fmt.Sprint(id)) {
			t.Errorf("error %q does not name the project and the build", err)
		}
		_, err = s.FinishBuild(ctx, "shop", id, store.BuildResult{Status: store.BuildSucceeded})
		wantErrIs(t, fmt.Sprintf("FinishBuild(%d)", id), err, store.ErrNotFound)
		wantErrIs(t, fmt.Sprintf("PruneBuild(%d)", id), s.PruneBuild(ctx, "shop", id), store.ErrNotFound)
	}
	if got, err := s.GetBuild(ctx, "shop", b.ID); err != nil || got.Status != store.BuildRunning || got.Pruned {
		t.Errorf("calls through another project changed the build: %+v %v", got, err)
	}
}

func testListBuilds(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	mustCreate(t, s, "blog")
	mustCreate(t, s, "empty")
	var api, all []int64
	for i := range 5 {
		a := mustCreateBuild(t, s, "shop", "api", fmt.Sprintf("api%d", i))
		w := mustCreateBuild(t, s, "shop", "web", fmt.Sprintf("web%d", i))
		mustCreateBuild(t, s, "blog", "api", fmt.Sprintf("blog%d", i))
		api = append([]int64{a.ID}, api...)
		all = append([]int64{w.ID, a.ID}, all...)
	}
	tests := []struct {
		name    string
		element string
		limit   int
		want    []int64
	}{
		{"Project", "", 0, all},
		{"ProjectLimit", "", 3, all[:3]},
		{"Element", "api", 0, api},
		{"ElementLimit", "api", 2, api[:2]},
		{"OtherElement", "db", 0, []int64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListBuilds(ctx, "shop", tc.element, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, buildIDs(got)); diff != "" {
				t.Errorf("ListBuilds(shop, %q, %d) IDs (-want +got):\n%s", tc.element, tc.limit, diff)
			}
			for _, b := range got {
				if b.Project != "shop" || tc.element != "" && b.Element != tc.element {
					t.Errorf("listed %s/%s", b.Project, b.Element)
				}
			}
		})
	}
	// The list carries the whole build, as GetBuild does.
	fin := mustFinishBuild(t, s, &store.Build{Project: "shop", ID: api[0], SHA: "api4"}, store.BuildSucceeded)
	got, err := s.ListBuilds(ctx, "shop", "api", 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("ListBuilds: %v %v", got, err)
	}
	if diff := cmp.Diff(*fin, got[0]); diff != "" {
		t.Errorf("listed build differs from FinishBuild's (-finish +list):\n%s", diff)
	}
	empty, err := s.ListBuilds(ctx, "empty", "", 0)
	if err != nil || empty == nil || len(empty) != 0 {
		t.Errorf("ListBuilds of a project without builds = %#v, %v; want an empty, non-nil list", empty, err)
	}
}

func testReusableBuild(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	reusable := func(element, sha string) (int64, error) {
		b, err := s.ReusableBuild(ctx, "shop", element, sha)
		if err != nil {
			return 0, err
		}
		return b.ID, nil
	}
	wantNone := func(what, element, sha string) {
		t.Helper()
		id, err := reusable(element, sha)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: ReusableBuild(%s, %s) = %d, %v; want ErrNotFound", what, element, sha, id, err)
		}
	}
	wantID := func(what, element, sha string, want int64) {
		t.Helper()
		if id, err := reusable(element, sha); err != nil || id != want {
			t.Errorf("%s: ReusableBuild(%s, %s) = %d, %v; want %d", what, element, sha, id, err, want)
		}
	}

	wantNone("no builds", "api", "abc")
	running := mustCreateBuild(t, s, "shop", "api", "abc")
	wantNone("building", "api", "abc")
	mustFinishBuild(t, s, running, store.BuildFailed)
	wantNone("failed", "api", "abc")

	first := mustCreateBuild(t, s, "shop", "api", "abc")
	ok := mustFinishBuild(t, s, first, store.BuildSucceeded)
	wantID("succeeded", "api", "abc", first.ID)
	got, err := s.ReusableBuild(ctx, "shop", "api", "abc")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ok, got); diff != "" {
		t.Errorf("ReusableBuild differs from FinishBuild's result (-finish +reusable):\n%s", diff)
	}
	wantNone("another commit", "api", "def")
	wantNone("another element", "web", "abc")

	// A newer build that failed does not hide the older one that worked;
	// a newer one that worked wins.
	mustFinishBuild(t, s, mustCreateBuild(t, s, "shop", "api", "abc"), store.BuildFailed)
	wantID("newer failed", "api", "abc", first.ID)
	second := mustCreateBuild(t, s, "shop", "api", "abc")
	mustFinishBuild(t, s, second, store.BuildSucceeded)
	wantID("newer succeeded", "api", "abc", second.ID)

	// Pruned builds are never reused.
	if err := s.PruneBuild(ctx, "shop", second.ID); err != nil {
		t.Fatal(err)
	}
	if b, err := s.GetBuild(ctx, "shop", second.ID); err != nil || !b.Pruned {
		t.Errorf("pruned build = %+v, %v; want Pruned", b, err)
	}
	wantID("newest pruned", "api", "abc", first.ID)
	if err := s.PruneBuild(ctx, "shop", first.ID); err != nil {
		t.Fatal(err)
	}
	// Pruning twice is not an error.
	if err := s.PruneBuild(ctx, "shop", first.ID); err != nil {
		t.Errorf("prune again: %v", err)
	}
	wantNone("all pruned", "api", "abc")

	// Another project's build of the same element and commit is its own.
	mustCreate(t, s, "blog")
	mustFinishBuild(t, s, mustCreateBuild(t, s, "blog", "api", "abc"), store.BuildSucceeded)
	wantNone("another project's", "api", "abc")
}

func testBuildsUnknownProject(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.CreateBuild(ctx, store.Build{Project: "nope", Element: "api", SHA: "abc"})
	wantErrIs(t, "CreateBuild", err, store.ErrNotFound)
	_, err = s.ListBuilds(ctx, "nope", "", 0)
	wantErrIs(t, "ListBuilds", err, store.ErrNotFound)
	_, err = s.ListBuilds(ctx, "nope", "api", 0)
	wantErrIs(t, "ListBuilds of an element", err, store.ErrNotFound)
	_, err = s.ReusableBuild(ctx, "nope", "api", "abc")
	wantErrIs(t, "ReusableBuild", err, store.ErrNotFound)
	_, err = s.GetBuild(ctx, "nope", 1)
	wantErrIs(t, "GetBuild", err, store.ErrNotFound)
	err = s.CreateUploadToken(ctx, tokenHash("t"), "nope/api/abc.tar.gz", time.Now().Add(time.Hour))
	wantErrIs(t, "CreateUploadToken", err, store.ErrNotFound)
	if !strings.Contains(err.Error(), "nope/api/abc.tar.gz") {
		t.Errorf("error %q does not name the key", err)
	}
}

func testBuildsGoWithProject(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	b := mustCreateBuild(t, s, "shop", "api", "abc")
	mustFinishBuild(t, s, b, store.BuildSucceeded)
	key := "shop/api/abc.tar.gz"
	if err := s.CreateUploadToken(ctx, tokenHash("old"), key, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteProject(ctx, "shop", "alice"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "shop")
	if got, err := s.ListBuilds(ctx, "shop", "", 0); err != nil || len(got) != 0 {
		t.Errorf("a new project with the slug lists %v, %v; want no builds", buildIDs(got), err)
	}
	if _, err := s.GetBuild(ctx, "shop", b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the deleted project's build is found: %v", err)
	}
	if _, err := s.ReusableBuild(ctx, "shop", "api", "abc"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the deleted project's build is reusable: %v", err)
	}
	if err := s.UseUploadToken(ctx, tokenHash("old"), key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the deleted project's upload token works: %v", err)
	}
	// New builds get new IDs.
	if nb := mustCreateBuild(t, s, "shop", "api", "abc"); nb.ID <= b.ID {
		t.Errorf("new build ID %d, want > %d", nb.ID, b.ID)
	}
}

func testUploadTokenOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	key := "shop/api/abc.tar.gz"
	h := tokenHash("upload-token-1")
	if err := s.CreateUploadToken(ctx, h, key, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	err := s.CreateUploadToken(ctx, h, "shop/api/other.tar.gz", time.Now().Add(time.Hour))
	wantErrIs(t, "CreateUploadToken with a stored hash", err, store.ErrExists)

	// Wrong key or unknown token: not found, and the token is still good.
	err = s.UseUploadToken(ctx, h, "shop/api/other.tar.gz")
	wantErrIs(t, "UseUploadToken for another key", err, store.ErrNotFound)
	if strings.Contains(err.Error(), hex.EncodeToString(h)) || strings.Contains(err.Error(), "upload-token-1") {
		t.Errorf("error %q quotes the token or its hash", err)
	}
	err = s.UseUploadToken(ctx, tokenHash("never issued"), key)
	wantErrIs(t, "UseUploadToken of an unknown token", err, store.ErrNotFound)

	if err := s.UseUploadToken(ctx, h, key); err != nil {
		t.Fatalf("UseUploadToken: %v", err)
	}
	err = s.UseUploadToken(ctx, h, key)
	wantErrIs(t, "UseUploadToken a second time", err, store.ErrNotFound)

	// Tokens are separate: another one for the same key works once.
	h2 := tokenHash("upload-token-2")
	if err := s.CreateUploadToken(ctx, h2, key, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.UseUploadToken(ctx, h2, key); err != nil {
		t.Errorf("a second token for the key: %v", err)
	}
}

func testUploadTokenExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	key := "shop/api/abc.tar.gz"
	h := tokenHash("expired")
	if err := s.CreateUploadToken(ctx, h, key, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	wantErrIs(t, "UseUploadToken of an expired token", s.UseUploadToken(ctx, h, key), store.ErrNotFound)
	// Creating another token removes the expired one: its hash is free.
	if err := s.CreateUploadToken(ctx, tokenHash("fresh"), key, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUploadToken(ctx, h, key, time.Now().Add(time.Hour)); err != nil {
		t.Errorf("the expired token's hash is still taken: %v", err)
	}
	if err := s.UseUploadToken(ctx, h, key); err != nil {
		t.Errorf("the reissued token: %v", err)
	}
}

func testUploadTokenConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	key := "shop/api/abc.tar.gz"
	h := tokenHash("raced")
	if err := s.CreateUploadToken(ctx, h, key, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		won     int
		unknown []error
	)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := s.UseUploadToken(ctx, h, key)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrNotFound):
				unknown = append(unknown, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if won != 1 {
		t.Errorf("%d of %d concurrent uses of one token succeeded, want exactly 1", won, n)
	}
	for _, err := range unknown {
		t.Errorf("a losing use failed with %v, want ErrNotFound", err)
	}
}
