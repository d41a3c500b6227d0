// Package storetest is the conformance suite that every store.Store
// implementation passes. A backend's test calls Run with a function that
// opens a new, empty store:
//
//	func TestSQLite(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := store.Open(t.Context(), t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Each subtest opens its own store, so the subtests do not depend on one
// another. Reopening a store (data kept, migrations not re-run) is
// backend-specific and tested beside each backend.
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/backplane-dev/backplane/store"
)

// Run runs the suite. open must return a new, empty, migrated store and
// arrange for it to be closed when the test ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CreateProject", testCreateProject},
		{"CreateProjectDuplicate", testCreateProjectDuplicate},
		{"CreateProjectEmptySlug", testCreateProjectEmptySlug},
		{"GetProjectNotFound", testGetProjectNotFound},
		{"ListProjects", testListProjects},
		{"RenameProject", testRenameProject},
		{"DeleteProject", testDeleteProject},
		{"DeleteProjectKeepsHistory", testDeleteProjectKeepsHistory},
		{"RecreatedProjectStartsFresh", testRecreatedProjectStartsFresh},
		{"DeletedNotFound", testDeletedNotFound},
		{"FinishDeploymentAfterDelete", testFinishDeploymentAfterDelete},
		{"PurgeDeleted", testPurgeDeleted},
		{"GetDeployment", testGetDeployment},
		{"SaveRevisionFirst", testSaveRevisionFirst},
		{"SaveRevisionSequence", testSaveRevisionSequence},
		{"SaveRevisionStaleBase", testSaveRevisionStaleBase},
		{"SaveRevisionBaseAhead", testSaveRevisionBaseAhead},
		{"SaveRevisionForce", testSaveRevisionForce},
		{"SaveRevisionUnknownProject", testSaveRevisionUnknownProject},
		{"SaveRevisionConcurrentSameBase", testSaveRevisionConcurrentSameBase},
		{"SaveRevisionConcurrentForce", testSaveRevisionConcurrentForce},
		{"Digest", testDigest},
		{"GetRevision", testGetRevision},
		{"GetRevisionNotFound", testGetRevisionNotFound},
		{"ListRevisions", testListRevisions},
		{"ListRevisionsDefaultLimit", testListRevisionsDefaultLimit},
		{"ListRevisionsEmptyAndUnknown", testListRevisionsEmptyAndUnknown},
		{"ProjectsAreSeparate", testProjectsAreSeparate},
		{"TimesAreUTC", testTimesAreUTC},
		{"CreateDeployment", testCreateDeployment},
		{"CreateDeploymentUnknownProject", testCreateDeploymentUnknownProject},
		{"FinishDeployment", testFinishDeployment},
		{"FinishDeploymentNotFound", testFinishDeploymentNotFound},
		{"ListDeployments", testListDeployments},
		{"AppendAudit", testAppendAudit},
		{"AppendAuditUnknownProject", testAppendAuditUnknownProject},
		{"ListAudit", testListAudit},
		{"ErrorsNameTheirSubject", testErrorsNameTheirSubject},
		{"CanceledContext", testCanceledContext},
		{"Notifier", testNotifier},
	}
	tests = append(tests, authTests...)
	tests = append(tests, autodeployTests...)
	tests = append(tests, buildsTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// --- helpers ---

func mustCreate(t *testing.T, s store.Store, slug string) *store.Project {
	t.Helper()
	p, err := s.CreateProject(t.Context(), slug, strings.ToUpper(slug))
	if err != nil {
		t.Fatalf("CreateProject(%q): %v", slug, err)
	}
	return p
}

func mustSave(t *testing.T, s store.Store, slug string, r store.NewRevision) *store.Revision {
	t.Helper()
	rev, err := s.SaveRevision(t.Context(), slug, r)
	if err != nil {
		t.Fatalf("SaveRevision(%q, base %d): %v", slug, r.Base, err)
	}
	return rev
}

func mustGetProject(t *testing.T, s store.Store, slug string) *store.Project {
	t.Helper()
	p, err := s.GetProject(t.Context(), slug)
	if err != nil {
		t.Fatalf("GetProject(%q): %v", slug, err)
	}
	return p
}

// saveN saves n revisions in a row and returns them, oldest first.
func saveN(t *testing.T, s store.Store, slug string, n int) []*store.Revision {
	t.Helper()
	base := mustGetProject(t, s, slug).Head
	var revs []*store.Revision
	for i := range n {
		rev := mustSave(t, s, slug, store.NewRevision{
			YAML:    fmt.Sprintf("version: 1\nproject: %s\n# edit %d\n", slug, base+int64(i)+1),
			Author:  "alice",
			Message: fmt.Sprintf("edit %d", base+int64(i)+1),
			Base:    base + int64(i),
		})
		revs = append(revs, rev)
	}
	return revs
}

func wantErrIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want errors.Is(err, %v)", what, err, target)
	}
}

func wantUTC(t *testing.T, what string, ts time.Time) {
	t.Helper()
	if ts.IsZero() {
		t.Errorf("%s is zero", what)
	}
	if ts.Location() != time.UTC {
		t.Errorf("%s = %v is in %v, want UTC", what, ts, ts.Location())
	}
}

// between checks that ts lies in [from, to], allowing for the store's
// truncation to the microsecond.
func between(t *testing.T, what string, ts, from, to time.Time) {
	t.Helper()
	if ts.Before(from.Truncate(time.Microsecond)) || ts.After(to) {
		t.Errorf("%s = %v, want between %v and %v", what, ts, from, to)
	}
}

func revisionNumbers(revs []store.Revision) []int64 {
	out := make([]int64, 0, len(revs))
	for _, r := range revs {
		out = append(out, r.Number)
	}
	return out
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// --- projects ---

func testCreateProject(t *testing.T, s store.Store) {
	from := time.Now()
	p, err := s.CreateProject(t.Context(), "shop", "Shop")
	to := time.Now()
	if err != nil {
		t.Fatalf("CreateProject: %v", err)
	}
	if p.Slug != "shop" || p.Name != "Shop" || p.Head != 0 {
		t.Errorf("CreateProject = %+v, want slug shop, name Shop, head 0", p)
	}
	between(t, "CreatedAt", p.CreatedAt, from, to)
	if !p.UpdatedAt.Equal(p.CreatedAt) {
		t.Errorf("UpdatedAt %v != CreatedAt %v", p.UpdatedAt, p.CreatedAt)
	}
	got := mustGetProject(t, s, "shop")
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("GetProject differs from CreateProject's result (-create +get):\n%s", diff)
	}

	t.Run("NameDefaultsToSlug", func(t *testing.T) {
		p, err := s.CreateProject(t.Context(), "blog", "")
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "blog" {
			t.Errorf("Name = %q, want the slug", p.Name)
		}
	})
}

func testCreateProjectDuplicate(t *testing.T, s store.Store) {
	orig := mustCreate(t, s, "shop")
	_, err := s.CreateProject(t.Context(), "shop", "Other")
	wantErrIs(t, "second CreateProject", err, store.ErrExists)
	if got := mustGetProject(t, s, "shop"); got.Name != orig.Name {
		t.Errorf("name changed to %q by a failed create", got.Name)
	}
}

func testCreateProjectEmptySlug(t *testing.T, s store.Store) {
	if _, err := s.CreateProject(t.Context(), "", "x"); err == nil {
		t.Fatal("CreateProject with an empty slug succeeded")
	}
}

func testGetProjectNotFound(t *testing.T, s store.Store) {
	_, err := s.GetProject(t.Context(), "nope")
	wantErrIs(t, "GetProject", err, store.ErrNotFound)
}

func testListProjects(t *testing.T, s store.Store) {
	ps, err := s.ListProjects(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 0 {
		t.Fatalf("empty store lists %d projects", len(ps))
	}
	for _, slug := range []string{"shop", "api", "blog"} {
		mustCreate(t, s, slug)
	}
	saveN(t, s, "blog", 2)
	ps, err = s.ListProjects(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var slugs []string
	for _, p := range ps {
		slugs = append(slugs, p.Slug)
		if p.Slug == "blog" && p.Head != 2 {
			t.Errorf("blog head = %d, want 2", p.Head)
		}
		wantUTC(t, p.Slug+" CreatedAt", p.CreatedAt)
	}
	if diff := cmp.Diff([]string{"api", "blog", "shop"}, slugs); diff != "" {
		t.Errorf("ListProjects slugs (-want +got):\n%s", diff)
	}
}

func testRenameProject(t *testing.T, s store.Store) {
	orig := mustCreate(t, s, "shop")
	time.Sleep(2 * time.Millisecond)
	p, err := s.RenameProject(t.Context(), "shop", "The Shop")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "The Shop" || p.Slug != "shop" {
		t.Errorf("RenameProject = %+v", p)
	}
	if !p.CreatedAt.Equal(orig.CreatedAt) {
		t.Errorf("CreatedAt changed from %v to %v", orig.CreatedAt, p.CreatedAt)
	}
	if !p.UpdatedAt.After(orig.UpdatedAt) {
		t.Errorf("UpdatedAt %v not after %v", p.UpdatedAt, orig.UpdatedAt)
	}
	if diff := cmp.Diff(p, mustGetProject(t, s, "shop")); diff != "" {
		t.Errorf("GetProject differs from RenameProject's result (-rename +get):\n%s", diff)
	}
	_, err = s.RenameProject(t.Context(), "nope", "x")
	wantErrIs(t, "RenameProject of a missing project", err, store.ErrNotFound)
}

func testDeleteProject(t *testing.T, s store.Store) {
	p := mustCreate(t, s, "shop")
	saveN(t, s, "shop", 2)
	from := time.Now()
	dp, err := s.DeleteProject(t.Context(), "shop", "carol")
	to := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if dp.ID <= 0 {
		t.Errorf("deleted project ID = %d, want a positive ID from the store", dp.ID)
	}
	want := &store.DeletedProject{
		ID: dp.ID, Slug: "shop", Name: p.Name, CreatedAt: p.CreatedAt, UpdatedAt: dp.UpdatedAt,
		Head: 2, DeletedAt: dp.DeletedAt, DeletedBy: "carol",
	}
	if diff := cmp.Diff(want, dp); diff != "" {
		t.Errorf("DeleteProject (-want +got):\n%s", diff)
	}
	between(t, "DeletedAt", dp.DeletedAt, from, to)
	wantUTC(t, "DeletedAt", dp.DeletedAt)
	got, err := s.GetDeletedProject(t.Context(), dp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(dp, got); diff != "" {
		t.Errorf("GetDeletedProject differs from DeleteProject's result (-delete +get):\n%s", diff)
	}
	wantUTC(t, "GetDeletedProject CreatedAt", got.CreatedAt)
	wantUTC(t, "GetDeletedProject DeletedAt", got.DeletedAt)

	_, err = s.GetProject(t.Context(), "shop")
	wantErrIs(t, "GetProject after delete", err, store.ErrNotFound)
	_, err = s.DeleteProject(t.Context(), "shop", "carol")
	wantErrIs(t, "second DeleteProject", err, store.ErrNotFound)
	_, err = s.DeleteProject(t.Context(), "nope", "carol")
	wantErrIs(t, "DeleteProject of a missing project", err, store.ErrNotFound)
	if ps, err := s.ListProjects(t.Context()); err != nil || len(ps) != 0 {
		t.Errorf("ListProjects after delete = %+v, %v; want none", ps, err)
	}
}

// testDeleteProjectKeepsHistory: the live methods no longer see a deleted
// project, and its revisions, deployments and audit trail stay readable
// under its DeletedProject ID, unchanged.
func testDeleteProjectKeepsHistory(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	mustCreate(t, s, "blog")
	saved := saveN(t, s, "shop", 3)
	saveN(t, s, "blog", 1)
	var shopDep *store.Deployment
	for _, slug := range []string{"shop", "blog"} {
		d, err := s.CreateDeployment(ctx, store.Deployment{Project: slug, Revision: 1, Action: "deploy", Author: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		if slug == "shop" {
			shopDep = d
		}
		if err := s.AppendAudit(ctx, store.AuditEvent{Project: slug, Actor: "alice", Action: "schema.save", Detail: slug}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendAudit(ctx, store.AuditEvent{Actor: "alice", Action: "user.login"}); err != nil {
		t.Fatal(err)
	}
	before, err := s.ListAudit(ctx, "shop", 0)
	if err != nil {
		t.Fatal(err)
	}

	dp, err := s.DeleteProject(ctx, "shop", "carol")
	if err != nil {
		t.Fatal(err)
	}

	// Live: gone.
	for n := int64(0); n <= 3; n++ {
		_, err := s.GetRevision(ctx, "shop", n)
		wantErrIs(t, fmt.Sprintf("GetRevision(shop, %d) after delete", n), err, store.ErrNotFound)
	}
	_, err = s.ListRevisions(ctx, "shop", 0, 0)
	wantErrIs(t, "ListRevisions(shop) after delete", err, store.ErrNotFound)
	_, err = s.ListDeployments(ctx, "shop", 0)
	wantErrIs(t, "ListDeployments(shop) after delete", err, store.ErrNotFound)
	_, err = s.GetDeployment(ctx, shopDep.ID)
	wantErrIs(t, "GetDeployment of the deleted project's deployment", err, store.ErrNotFound)
	deps, err := s.ListDeployments(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 1 || deps[0].Project != "blog" {
		t.Errorf("live deployments after deleting shop = %+v, want blog's only", deps)
	}
	err = s.AppendAudit(ctx, store.AuditEvent{Project: "shop", Actor: "alice", Action: "deploy"})
	wantErrIs(t, "AppendAudit to a deleted project", err, store.ErrNotFound)
	_, err = s.CreateDeployment(ctx, store.Deployment{Project: "shop", Revision: 1, Action: "deploy"})
	wantErrIs(t, "CreateDeployment of a deleted project", err, store.ErrNotFound)

	// Kept: revisions, as they were.
	revs, err := s.ListDeletedRevisions(ctx, dp.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var wantRevs []store.Revision
	for i := len(saved) - 1; i >= 0; i-- {
		r := *saved[i]
		r.YAML = ""
		wantRevs = append(wantRevs, r)
	}
	if diff := cmp.Diff(wantRevs, revs); diff != "" {
		t.Errorf("ListDeletedRevisions (-want +got):\n%s", diff)
	}
	if revs, err := s.ListDeletedRevisions(ctx, dp.ID, 1, 3); err != nil || len(revs) != 1 || revs[0].Number != 2 {
		t.Errorf("ListDeletedRevisions(limit 1, before 3) = %v, %v; want [2]", revisionNumbers(revs), err)
	}
	head, err := s.GetDeletedRevision(ctx, dp.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(saved[2], head); diff != "" {
		t.Errorf("GetDeletedRevision(head) (-want +got):\n%s", diff)
	}
	r2, err := s.GetDeletedRevision(ctx, dp.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(saved[1], r2); diff != "" {
		t.Errorf("GetDeletedRevision(2) (-want +got):\n%s", diff)
	}
	// Deployments, with their IDs.
	gotDeps, err := s.ListDeletedDeployments(ctx, dp.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Deployment{*shopDep}, gotDeps); diff != "" {
		t.Errorf("ListDeletedDeployments (-want +got):\n%s", diff)
	}
	// The audit trail: what was there, with its IDs, then the deletion.
	after, err := s.ListAudit(ctx, "shop", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+1 {
		t.Fatalf("ListAudit(shop) after delete has %d events, want %d", len(after), len(before)+1)
	}
	del := after[0]
	if del.Project != "shop" || del.Action != store.AuditProjectDelete || del.Actor != "carol" || del.DeletedProject != dp.ID {
		t.Errorf("newest shop event = %+v, want %s by carol in deleted project %d", del, store.AuditProjectDelete, dp.ID)
	}
	wantUTC(t, "deletion event CreatedAt", del.CreatedAt)
	for i := range before {
		want := before[i]
		want.DeletedProject = dp.ID
		if diff := cmp.Diff(want, after[i+1]); diff != "" {
			t.Errorf("shop event %d after delete (-want +got):\n%s", i, diff)
		}
	}
	all, err := s.ListAudit(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range all {
		left = append(left, e.Project+"/"+e.Action)
	}
	if diff := cmp.Diff([]string{"shop/project.delete", "/user.login", "blog/schema.save", "shop/schema.save"}, left); diff != "" {
		t.Errorf("all audit events after deleting shop (-want +got):\n%s", diff)
	}
	// The other project keeps everything.
	if rev, err := s.GetRevision(ctx, "blog", 0); err != nil || rev.Number != 1 {
		t.Errorf("blog head after deleting shop = %+v, %v", rev, err)
	}
	if events, err := s.ListAudit(ctx, "blog", 0); err != nil || len(events) != 1 || events[0].DeletedProject != 0 {
		t.Errorf("blog audit after deleting shop = %+v, %v", events, err)
	}
}

// testRecreatedProjectStartsFresh: a project created with a deleted
// project's slug inherits nothing; each deleted project keeps its own
// history apart, and the audit trail of the slug tells them apart.
func testRecreatedProjectStartsFresh(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	saveN(t, s, "shop", 3)
	if _, err := s.CreateDeployment(ctx, store.Deployment{Project: "shop", Revision: 3, Action: "deploy"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, store.AuditEvent{Project: "shop", Actor: "alice", Action: "project.create"}); err != nil {
		t.Fatal(err)
	}
	first, err := s.DeleteProject(ctx, "shop", "carol")
	if err != nil {
		t.Fatal(err)
	}

	p := mustCreate(t, s, "shop")
	if p.Head != 0 {
		t.Errorf("recreated project head = %d", p.Head)
	}
	revs, err := s.ListRevisions(ctx, "shop", 0, 0)
	if err != nil || len(revs) != 0 {
		t.Errorf("recreated project revisions = %v, %v; want none", revisionNumbers(revs), err)
	}
	if deps, err := s.ListDeployments(ctx, "shop", 0); err != nil || len(deps) != 0 {
		t.Errorf("recreated project deployments = %+v, %v; want none", deps, err)
	}
	if rev := mustSave(t, s, "shop", store.NewRevision{YAML: "second life", Base: 0}); rev.Number != 1 {
		t.Errorf("first revision of recreated project is %d, want 1", rev.Number)
	}
	if err := s.AppendAudit(ctx, store.AuditEvent{Project: "shop", Actor: "bob", Action: "project.create"}); err != nil {
		t.Fatal(err)
	}
	events, err := s.ListAudit(ctx, "shop", 0)
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Action  string
		Deleted int64
	}
	var got []entry
	for _, e := range events {
		got = append(got, entry{e.Action, e.DeletedProject})
	}
	want := []entry{{"project.create", 0}, {store.AuditProjectDelete, first.ID}, {"project.create", first.ID}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListAudit(shop) across two lives (-want +got):\n%s", diff)
	}

	second, err := s.DeleteProject(ctx, "shop", "dave")
	if err != nil {
		t.Fatal(err)
	}
	if second.ID <= first.ID {
		t.Errorf("second deletion ID %d not above first %d", second.ID, first.ID)
	}
	list, err := s.ListDeletedProjects(ctx, "shop", 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.DeletedProject{*second, *first}, list); diff != "" {
		t.Errorf("ListDeletedProjects(shop) (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		dp   *store.DeletedProject
		revs []int64
		deps int
		head string
	}{
		{first, []int64{3, 2, 1}, 1, "edit 3"},
		{second, []int64{1}, 0, ""},
	} {
		revs, err := s.ListDeletedRevisions(ctx, tc.dp.ID, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.revs, revisionNumbers(revs)); diff != "" {
			t.Errorf("deleted project %d revisions (-want +got):\n%s", tc.dp.ID, diff)
		}
		if deps, err := s.ListDeletedDeployments(ctx, tc.dp.ID, 0); err != nil || len(deps) != tc.deps {
			t.Errorf("deleted project %d deployments = %+v, %v; want %d", tc.dp.ID, deps, err, tc.deps)
		}
		if head, err := s.GetDeletedRevision(ctx, tc.dp.ID, 0); err != nil || head.Message != tc.head {
			t.Errorf("deleted project %d head = %+v, %v; want message %q", tc.dp.ID, head, err, tc.head)
		}
	}
	// A slug that only deleted projects had still has its audit trail.
	events, err = s.ListAudit(ctx, "shop", 0)
	if err != nil {
		t.Fatalf("ListAudit of a slug with deleted projects only: %v", err)
	}
	if len(events) != 4 || events[0].DeletedProject != second.ID || events[3].DeletedProject != first.ID {
		t.Errorf("ListAudit(shop) = %+v, want 4 events, two of each deleted project", events)
	}
	if all, err := s.ListDeletedProjects(ctx, "", 1); err != nil || len(all) != 1 || all[0].ID != second.ID {
		t.Errorf("ListDeletedProjects(all, limit 1) = %+v, %v; want the second", all, err)
	}
	if none, err := s.ListDeletedProjects(ctx, "blog", 0); err != nil || none == nil || len(none) != 0 {
		t.Errorf("ListDeletedProjects(blog) = %#v, %v; want an empty, non-nil slice", none, err)
	}
}

func testDeletedNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "empty")
	dp, err := s.DeleteProject(ctx, "empty", "carol")
	if err != nil {
		t.Fatal(err)
	}
	const missing = 424242
	_, err = s.GetDeletedProject(ctx, missing)
	wantErrIs(t, "GetDeletedProject of a missing ID", err, store.ErrNotFound)
	_, err = s.GetDeletedRevision(ctx, missing, 0)
	wantErrIs(t, "GetDeletedRevision of a missing ID", err, store.ErrNotFound)
	_, err = s.ListDeletedRevisions(ctx, missing, 0, 0)
	wantErrIs(t, "ListDeletedRevisions of a missing ID", err, store.ErrNotFound)
	_, err = s.ListDeletedDeployments(ctx, missing, 0)
	wantErrIs(t, "ListDeletedDeployments of a missing ID", err, store.ErrNotFound)
	// A project deleted before its first save has no head.
	_, err = s.GetDeletedRevision(ctx, dp.ID, 0)
	wantErrIs(t, "GetDeletedRevision(head) of a never-saved project", err, store.ErrNotFound)
	_, err = s.GetDeletedRevision(ctx, dp.ID, 1)
	wantErrIs(t, "GetDeletedRevision(1) of a never-saved project", err, store.ErrNotFound)
	if revs, err := s.ListDeletedRevisions(ctx, dp.ID, 0, 0); err != nil || revs == nil || len(revs) != 0 {
		t.Errorf("ListDeletedRevisions of a never-saved project = %#v, %v; want an empty, non-nil slice", revs, err)
	}
	if deps, err := s.ListDeletedDeployments(ctx, dp.ID, 0); err != nil || deps == nil || len(deps) != 0 {
		t.Errorf("ListDeletedDeployments of a never-deployed project = %#v, %v; want an empty, non-nil slice", deps, err)
	}
	_, err = s.ListAudit(ctx, "never", 0)
	wantErrIs(t, "ListAudit of a slug no project had", err, store.ErrNotFound)
}

// testFinishDeploymentAfterDelete: a deploy that ends after its project
// was deleted still records its outcome, in the deleted project's copy.
func testFinishDeploymentAfterDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	d, err := s.CreateDeployment(ctx, store.Deployment{Project: "shop", Revision: 1, Action: "deploy", Author: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	dp, err := s.DeleteProject(ctx, "shop", "carol")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FinishDeployment(ctx, d.ID, "succeeded", "2 jobs healthy"); err != nil {
		t.Fatalf("FinishDeployment after the project was deleted: %v", err)
	}
	deps, err := s.ListDeletedDeployments(ctx, dp.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 1 || deps[0].ID != d.ID || deps[0].Status != "succeeded" || deps[0].Summary != "2 jobs healthy" {
		t.Errorf("deleted project's deployments = %+v, want %d succeeded", deps, d.ID)
	}
	wantUTC(t, "deleted deployment UpdatedAt", deps[0].UpdatedAt)
}

// testPurgeDeleted: projects deleted before the cutoff go for good, with a
// purge event of no project each; later ones stay; IDs are not reused.
func testPurgeDeleted(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, slug := range []string{"old", "new"} {
		mustCreate(t, s, slug)
		saveN(t, s, slug, 2)
		if _, err := s.CreateDeployment(ctx, store.Deployment{Project: slug, Revision: 2, Action: "deploy"}); err != nil {
			t.Fatal(err)
		}
	}
	oldDP, err := s.DeleteProject(ctx, "old", "carol")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	cutoff := time.Now()
	time.Sleep(5 * time.Millisecond)
	newDP, err := s.DeleteProject(ctx, "new", "carol")
	if err != nil {
		t.Fatal(err)
	}

	// Replicas purge at the same time: the project is purged once.
	var wg sync.WaitGroup
	counts := make([]int, 3)
	errs := make([]error, 3)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i], errs[i] = s.PurgeDeleted(ctx, cutoff)
		}()
	}
	wg.Wait()
	total := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("PurgeDeleted %d: %v", i, err)
		}
		total += counts[i]
	}
	if total != 1 {
		t.Errorf("concurrent PurgeDeleted purged %d in all (%v), want 1", total, counts)
	}

	_, err = s.GetDeletedProject(ctx, oldDP.ID)
	wantErrIs(t, "GetDeletedProject of a purged project", err, store.ErrNotFound)
	_, err = s.ListDeletedRevisions(ctx, oldDP.ID, 0, 0)
	wantErrIs(t, "ListDeletedRevisions of a purged project", err, store.ErrNotFound)
	_, err = s.ListDeletedDeployments(ctx, oldDP.ID, 0)
	wantErrIs(t, "ListDeletedDeployments of a purged project", err, store.ErrNotFound)
	_, err = s.ListAudit(ctx, "old", 0)
	wantErrIs(t, "ListAudit of a purged slug", err, store.ErrNotFound)
	if got, err := s.GetDeletedProject(ctx, newDP.ID); err != nil || got.ID != newDP.ID {
		t.Errorf("project deleted after the cutoff = %+v, %v; want it kept", got, err)
	}
	if revs, err := s.ListDeletedRevisions(ctx, newDP.ID, 0, 0); err != nil || len(revs) != 2 {
		t.Errorf("revisions of the project deleted after the cutoff = %v, %v", revisionNumbers(revs), err)
	}

	all, err := s.ListAudit(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	purges := 0
	for _, e := range all {
		if e.Action != store.AuditProjectPurge {
			continue
		}
		purges++
		if e.Project != "" || !strings.Contains(e.Detail, "old") || !strings.Contains(e.Detail, fmt.Sprint(oldDP.ID)) {
			t.Errorf("purge event = %+v, want one of no project naming old and %d", e, oldDP.ID)
		}
	}
	if purges != 1 {
		t.Errorf("%d purge events, want 1", purges)
	}
	if n, err := s.PurgeDeleted(ctx, cutoff); err != nil || n != 0 {
		t.Errorf("second PurgeDeleted = %d, %v; want 0", n, err)
	}
	// A later deletion never gets a purged project's ID.
	mustCreate(t, s, "later")
	later, err := s.DeleteProject(ctx, "later", "carol")
	if err != nil {
		t.Fatal(err)
	}
	if later.ID <= newDP.ID {
		t.Errorf("deletion after a purge got ID %d, want above %d", later.ID, newDP.ID)
	}
	if n, err := s.PurgeDeleted(ctx, time.Now().Add(time.Hour)); err != nil || n != 2 {
		t.Errorf("PurgeDeleted of everything = %d, %v; want 2", n, err)
	}
}

// --- revisions ---

func testSaveRevisionFirst(t *testing.T, s store.Store) {
	orig := mustCreate(t, s, "shop")
	yaml := "version: 1\nproject: shop\nelements: []\n"
	from := time.Now()
	rev := mustSave(t, s, "shop", store.NewRevision{YAML: yaml, Author: "alice", Message: "first", Base: 0})
	to := time.Now()
	want := &store.Revision{
		Project: "shop", Number: 1, YAML: yaml, Author: "alice", Message: "first",
		CreatedAt: rev.CreatedAt, Digest: sha256Hex(yaml),
	}
	if diff := cmp.Diff(want, rev); diff != "" {
		t.Errorf("SaveRevision (-want +got):\n%s", diff)
	}
	between(t, "CreatedAt", rev.CreatedAt, from, to)
	p := mustGetProject(t, s, "shop")
	if p.Head != 1 {
		t.Errorf("head = %d, want 1", p.Head)
	}
	if !p.UpdatedAt.Equal(rev.CreatedAt) {
		t.Errorf("project UpdatedAt = %v, want the revision's time %v", p.UpdatedAt, rev.CreatedAt)
	}
	if !p.CreatedAt.Equal(orig.CreatedAt) {
		t.Errorf("project CreatedAt changed")
	}
	got, err := s.GetRevision(t.Context(), "shop", 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rev, got); diff != "" {
		t.Errorf("GetRevision differs from SaveRevision's result (-save +get):\n%s", diff)
	}
}

func testSaveRevisionSequence(t *testing.T, s store.Store) {
	mustCreate(t, s, "shop")
	revs := saveN(t, s, "shop", 5)
	for i, r := range revs {
		if r.Number != int64(i+1) {
			t.Errorf("save %d got number %d", i+1, r.Number)
		}
	}
	if h := mustGetProject(t, s, "shop").Head; h != 5 {
		t.Errorf("head = %d, want 5", h)
	}
}

// checkUnchanged asserts that a failed save wrote nothing.
func checkUnchanged(t *testing.T, s store.Store, before *store.Project, beforeRevs []store.Revision) {
	t.Helper()
	after := mustGetProject(t, s, before.Slug)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("project changed by a failed save (-before +after):\n%s", diff)
	}
	revs, err := s.ListRevisions(t.Context(), before.Slug, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(beforeRevs, revs); diff != "" {
		t.Errorf("revisions changed by a failed save (-before +after):\n%s", diff)
	}
	if _, err := s.GetRevision(t.Context(), before.Slug, before.Head+1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revision %d exists after a failed save (err %v)", before.Head+1, err)
	}
}

func testSaveRevisionStaleBase(t *testing.T, s store.Store) {
	mustCreate(t, s, "shop")
	saveN(t, s, "shop", 3)
	before := mustGetProject(t, s, "shop")
	beforeRevs, err := s.ListRevisions(t.Context(), "shop", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, base := range []int64{0, 1, 2} {
		_, err := s.SaveRevision(t.Context(), "shop", store.NewRevision{YAML: "stale", Author: "bob", Base: base})
		wantErrIs(t, fmt.Sprintf("save with base %d at head 3", base), err, store.ErrConflict)
	}
	checkUnchanged(t, s, before, beforeRevs)
}

func testSaveRevisionBaseAhead(t *testing.T, s store.Store) {
	mustCreate(t, s, "shop")
	saveN(t, s, "shop", 1)
	before := mustGetProject(t, s, "shop")
	beforeRevs, err := s.ListRevisions(t.Context(), "shop", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, base := range []int64{2, 7, -1} {
		_, err := s.SaveRevision(t.Context(), "shop", store.NewRevision{YAML: "x", Base: base})
		wantErrIs(t, fmt.Sprintf("save with base %d at head 1", base), err, store.ErrConflict)
	}
	checkUnchanged(t, s, before, beforeRevs)
}

func testSaveRevisionForce(t *testing.T, s store.Store) {
	mustCreate(t, s, "shop")
	saveN(t, s, "shop", 3)
	rev := mustSave(t, s, "shop", store.NewRevision{YAML: "forced", Author: "bob", Base: 1, Force: true})
	if rev.Number != 4 {
		t.Errorf("forced save got number %d, want 4", rev.Number)
	}
	if h := mustGetProject(t, s, "shop").Head; h != 4 {
		t.Errorf("head = %d, want 4", h)
	}
	// Force ignores Base entirely, even a base ahead of the head.
	if rev := mustSave(t, s, "shop", store.NewRevision{YAML: "again", Base: 99, Force: true}); rev.Number != 5 {
		t.Errorf("forced save got number %d, want 5", rev.Number)
	}
}

func testSaveRevisionUnknownProject(t *testing.T, s store.Store) {
	for _, force := range []bool{false, true} {
		_, err := s.SaveRevision(t.Context(), "nope", store.NewRevision{YAML: "x", Force: force})
		wantErrIs(t, fmt.Sprintf("save to a missing project (force %v)", force), err, store.ErrNotFound)
	}
}

// testSaveRevisionConcurrentSameBase races 8 saves from the same base:
// exactly one wins, the others get ErrConflict.
func testSaveRevisionConcurrentSameBase(t *testing.T, s store.Store) {
	const workers = 8
	mustCreate(t, s, "shop")
	saveN(t, s, "shop", 1)

	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]*store.Revision, workers)
	errs := make([]error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = s.SaveRevision(t.Context(), "shop", store.NewRevision{
				YAML: fmt.Sprintf("writer %d", i), Author: fmt.Sprintf("w%d", i), Base: 1,
			})
		}()
	}
	close(start)
	wg.Wait()

	winners := 0
	var won *store.Revision
	for i := range workers {
		switch {
		case errs[i] == nil:
			winners++
			won = results[i]
		case errors.Is(errs[i], store.ErrConflict):
		default:
			t.Errorf("writer %d: unexpected error %v", i, errs[i])
		}
	}
	if winners != 1 {
		t.Fatalf("%d saves from the same base succeeded, want exactly 1", winners)
	}
	if won.Number != 2 {
		t.Errorf("winner got number %d, want 2", won.Number)
	}
	p := mustGetProject(t, s, "shop")
	if p.Head != 2 {
		t.Errorf("head = %d, want 2", p.Head)
	}
	revs, err := s.ListRevisions(t.Context(), "shop", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{2, 1}, revisionNumbers(revs)); diff != "" {
		t.Errorf("revision numbers (-want +got):\n%s", diff)
	}
	head, err := s.GetRevision(t.Context(), "shop", 0)
	if err != nil {
		t.Fatal(err)
	}
	if head.YAML != won.YAML || head.Author != won.Author {
		t.Errorf("head revision is %q by %q, want the winner's %q by %q", head.YAML, head.Author, won.YAML, won.Author)
	}
}

// testSaveRevisionConcurrentForce races 8 forced saves: all succeed, with
// distinct, contiguous numbers.
func testSaveRevisionConcurrentForce(t *testing.T, s store.Store) {
	const workers = 8
	mustCreate(t, s, "shop")

	var wg sync.WaitGroup
	start := make(chan struct{})
	numbers := make([]int64, workers)
	errs := make([]error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			rev, err := s.SaveRevision(t.Context(), "shop", store.NewRevision{
				YAML: fmt.Sprintf("writer %d", i), Force: true,
			})
			errs[i] = err
			if err == nil {
				numbers[i] = rev.Number
			}
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("forced writer %d: %v", i, err)
		}
	}
	sort.Slice(numbers, func(i, j int) bool { return numbers[i] < numbers[j] })
	if diff := cmp.Diff([]int64{1, 2, 3, 4, 5, 6, 7, 8}, numbers); diff != "" {
		t.Errorf("forced save numbers (-want +got):\n%s", diff)
	}
	if h := mustGetProject(t, s, "shop").Head; h != workers {
		t.Errorf("head = %d, want %d", h, workers)
	}
}

func testDigest(t *testing.T, s store.Store) {
	mustCreate(t, s, "shop")
	cases := []struct {
		name string
		yaml string
	}{
		{"Empty", ""},
		{"Plain", "version: 1\nproject: shop\n"},
		{"Unicode", "version: 1\nproject: shop\n# café ☕ 日本\n"},
		{"Large", strings.Repeat("# a long comment line for a large schema\n", 5000)},
	}
	base := int64(0)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rev := mustSave(t, s, "shop", store.NewRevision{YAML: tc.yaml, Base: base})
			base = rev.Number
			if want := sha256Hex(tc.yaml); rev.Digest != want || store.Digest(tc.yaml) != want {
				t.Errorf("Digest = %s, store.Digest = %s, want %s", rev.Digest, store.Digest(tc.yaml), want)
			}
			got, err := s.GetRevision(t.Context(), "shop", rev.Number)
			if err != nil {
				t.Fatal(err)
			}
			if got.YAML != tc.yaml {
				t.Errorf("YAML did not round-trip: got %d bytes, want %d", len(got.YAML), len(tc.yaml))
			}
			if got.Digest != rev.Digest {
				t.Errorf("stored digest %s, want %s", got.Digest, rev.Digest)
			}
		})
	}
}

func testGetRevision(t *testing.T, s store.Store) {
	mustCreate(t, s, "shop")
	revs := saveN(t, s, "shop", 3)
	for _, tc := range []struct {
		name string
		n    int64
		want *store.Revision
	}{
		{"Head", 0, revs[2]},
		{"First", 1, revs[0]},
		{"Middle", 2, revs[1]},
		{"Last", 3, revs[2]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.GetRevision(t.Context(), "shop", tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("GetRevision(shop, %d) (-want +got):\n%s", tc.n, diff)
			}
		})
	}
	// After a forced save the head moves and n == 0 follows it.
	forced := mustSave(t, s, "shop", store.NewRevision{YAML: "forced", Force: true})
	got, err := s.GetRevision(t.Context(), "shop", 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(forced, got); diff != "" {
		t.Errorf("head after a forced save (-want +got):\n%s", diff)
	}
}

func testGetRevisionNotFound(t *testing.T, s store.Store) {
	mustCreate(t, s, "empty")
	mustCreate(t, s, "shop")
	saveN(t, s, "shop", 2)
	for _, tc := range []struct {
		name string
		slug string
		n    int64
	}{
		{"NoHeadYet", "empty", 0},
		{"NoneYet", "empty", 1},
		{"PastHead", "shop", 3},
		{"Negative", "shop", -1},
		{"UnknownProject", "nope", 0},
		{"UnknownProjectNumbered", "nope", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.GetRevision(t.Context(), tc.slug, tc.n)
			wantErrIs(t, fmt.Sprintf("GetRevision(%s, %d)", tc.slug, tc.n), err, store.ErrNotFound)
		})
	}
}

func testListRevisions(t *testing.T, s store.Store) {
	mustCreate(t, s, "shop")
	saved := saveN(t, s, "shop", 10)
	for _, tc := range []struct {
		name   string
		limit  int
		before int64
		want   []int64
	}{
		{"All", 0, 0, []int64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}},
		{"Limit", 3, 0, []int64{10, 9, 8}},
		{"Before", 0, 5, []int64{4, 3, 2, 1}},
		{"BeforeAndLimit", 2, 8, []int64{7, 6}},
		{"BeforeOne", 0, 1, []int64{}},
		{"BeforePastHead", 2, 100, []int64{10, 9}},
		{"NegativeLimitIsDefault", -1, 0, []int64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}},
		{"NegativeBeforeIsNone", 0, -3, []int64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			revs, err := s.ListRevisions(t.Context(), "shop", tc.limit, tc.before)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, revisionNumbers(revs)); diff != "" {
				t.Errorf("numbers (-want +got):\n%s", diff)
			}
			for _, r := range revs {
				if r.YAML != "" {
					t.Errorf("revision %d lists its YAML", r.Number)
				}
				want := *saved[r.Number-1]
				want.YAML = ""
				if diff := cmp.Diff(want, r); diff != "" {
					t.Errorf("revision %d (-want +got):\n%s", r.Number, diff)
				}
			}
		})
	}
}

func testListRevisionsDefaultLimit(t *testing.T, s store.Store) {
	mustCreate(t, s, "shop")
	saveN(t, s, "shop", store.DefaultLimit+5)
	revs, err := s.ListRevisions(t.Context(), "shop", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != store.DefaultLimit {
		t.Fatalf("limit 0 listed %d revisions, want %d", len(revs), store.DefaultLimit)
	}
	if revs[0].Number != store.DefaultLimit+5 || revs[len(revs)-1].Number != 6 {
		t.Errorf("listed %d..%d, want %d..6", revs[0].Number, revs[len(revs)-1].Number, store.DefaultLimit+5)
	}
	// A limit above the maximum is lowered, not refused.
	revs, err = s.ListRevisions(t.Context(), "shop", store.MaxLimit+1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != store.DefaultLimit+5 {
		t.Errorf("limit above max listed %d, want all %d", len(revs), store.DefaultLimit+5)
	}
}

func testListRevisionsEmptyAndUnknown(t *testing.T, s store.Store) {
	mustCreate(t, s, "empty")
	revs, err := s.ListRevisions(t.Context(), "empty", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if revs == nil || len(revs) != 0 {
		t.Errorf("ListRevisions of a project without revisions = %#v, want an empty, non-nil slice", revs)
	}
	_, err = s.ListRevisions(t.Context(), "nope", 0, 0)
	wantErrIs(t, "ListRevisions of a missing project", err, store.ErrNotFound)
}

func testProjectsAreSeparate(t *testing.T, s store.Store) {
	mustCreate(t, s, "shop")
	mustCreate(t, s, "blog")
	saveN(t, s, "shop", 3)
	rev := mustSave(t, s, "blog", store.NewRevision{YAML: "blog", Base: 0})
	if rev.Number != 1 {
		t.Errorf("blog's first revision is %d, want 1 (numbers count per project)", rev.Number)
	}
	revs, err := s.ListRevisions(t.Context(), "blog", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{1}, revisionNumbers(revs)); diff != "" {
		t.Errorf("blog revisions (-want +got):\n%s", diff)
	}
	// A conflict on one project does not touch the other.
	_, err = s.SaveRevision(t.Context(), "shop", store.NewRevision{YAML: "x", Base: 1})
	wantErrIs(t, "stale save to shop", err, store.ErrConflict)
	if rev := mustSave(t, s, "blog", store.NewRevision{YAML: "x", Base: 1}); rev.Number != 2 {
		t.Errorf("blog's second revision is %d", rev.Number)
	}
}

func testTimesAreUTC(t *testing.T, s store.Store) {
	ctx := t.Context()
	p := mustCreate(t, s, "shop")
	wantUTC(t, "project CreatedAt", p.CreatedAt)
	time.Sleep(2 * time.Millisecond)
	r1 := mustSave(t, s, "shop", store.NewRevision{YAML: "a", Base: 0})
	time.Sleep(2 * time.Millisecond)
	r2 := mustSave(t, s, "shop", store.NewRevision{YAML: "b", Base: 1})
	d, err := s.CreateDeployment(ctx, store.Deployment{Project: "shop", Revision: 2, Action: "deploy"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, store.AuditEvent{Project: "shop", Action: "deploy"}); err != nil {
		t.Fatal(err)
	}
	// Millisecond precision at least: saves 2 ms apart get distinct,
	// ordered times.
	if !p.CreatedAt.Before(r1.CreatedAt) || !r1.CreatedAt.Before(r2.CreatedAt) {
		t.Errorf("times not increasing: project %v, rev 1 %v, rev 2 %v", p.CreatedAt, r1.CreatedAt, r2.CreatedAt)
	}

	got := mustGetProject(t, s, "shop")
	wantUTC(t, "GetProject CreatedAt", got.CreatedAt)
	wantUTC(t, "GetProject UpdatedAt", got.UpdatedAt)
	ps, err := s.ListProjects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantUTC(t, "ListProjects CreatedAt", ps[0].CreatedAt)
	wantUTC(t, "ListProjects UpdatedAt", ps[0].UpdatedAt)
	rev, err := s.GetRevision(ctx, "shop", 1)
	if err != nil {
		t.Fatal(err)
	}
	wantUTC(t, "GetRevision CreatedAt", rev.CreatedAt)
	if !rev.CreatedAt.Equal(r1.CreatedAt) {
		t.Errorf("stored time %v != returned time %v", rev.CreatedAt, r1.CreatedAt)
	}
	revs, err := s.ListRevisions(ctx, "shop", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantUTC(t, "ListRevisions CreatedAt", revs[0].CreatedAt)
	wantUTC(t, "CreateDeployment CreatedAt", d.CreatedAt)
	deps, err := s.ListDeployments(ctx, "shop", 0)
	if err != nil {
		t.Fatal(err)
	}
	wantUTC(t, "ListDeployments CreatedAt", deps[0].CreatedAt)
	wantUTC(t, "ListDeployments UpdatedAt", deps[0].UpdatedAt)
	events, err := s.ListAudit(ctx, "shop", 0)
	if err != nil {
		t.Fatal(err)
	}
	wantUTC(t, "ListAudit CreatedAt", events[0].CreatedAt)
}

// --- deployments ---

func testCreateDeployment(t *testing.T, s store.Store) {
	mustCreate(t, s, "shop")
	saveN(t, s, "shop", 2)
	from := time.Now()
	d, err := s.CreateDeployment(t.Context(), store.Deployment{
		ID: 999, Project: "shop", Revision: 2, Action: "deploy", Author: "alice",
		CreatedAt: time.Unix(0, 0), // ignored
	})
	to := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if d.ID <= 0 {
		t.Errorf("ID = %d, want a positive ID from the store", d.ID)
	}
	if d.Status != store.StatusRunning {
		t.Errorf("Status = %q, want %q by default", d.Status, store.StatusRunning)
	}
	between(t, "CreatedAt", d.CreatedAt, from, to)
	if !d.UpdatedAt.Equal(d.CreatedAt) {
		t.Errorf("UpdatedAt %v != CreatedAt %v", d.UpdatedAt, d.CreatedAt)
	}
	d2, err := s.CreateDeployment(t.Context(), store.Deployment{
		Project: "shop", Revision: 1, Action: "rollback", Author: "bob", Status: "running", Summary: "to 1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if d2.ID <= d.ID {
		t.Errorf("second ID %d not above first %d", d2.ID, d.ID)
	}
	got, err := s.ListDeployments(t.Context(), "shop", 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Deployment{*d2, *d}, got); diff != "" {
		t.Errorf("ListDeployments (-want +got):\n%s", diff)
	}
}

func testCreateDeploymentUnknownProject(t *testing.T, s store.Store) {
	_, err := s.CreateDeployment(t.Context(), store.Deployment{Project: "nope", Revision: 1, Action: "deploy"})
	wantErrIs(t, "CreateDeployment for a missing project", err, store.ErrNotFound)
	_, err = s.ListDeployments(t.Context(), "nope", 0)
	wantErrIs(t, "ListDeployments of a missing project", err, store.ErrNotFound)
}

func testFinishDeployment(t *testing.T, s store.Store) {
	mustCreate(t, s, "shop")
	d, err := s.CreateDeployment(t.Context(), store.Deployment{Project: "shop", Revision: 1, Action: "deploy", Author: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.CreateDeployment(t.Context(), store.Deployment{Project: "shop", Revision: 1, Action: "destroy", Author: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	if err := s.FinishDeployment(t.Context(), d.ID, "succeeded", "3 jobs healthy"); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListDeployments(t.Context(), "shop", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("listed %d deployments, want 2", len(got))
	}
	fin := got[1]
	if fin.ID != d.ID || fin.Status != "succeeded" || fin.Summary != "3 jobs healthy" {
		t.Errorf("finished deployment = %+v", fin)
	}
	if !fin.CreatedAt.Equal(d.CreatedAt) {
		t.Errorf("CreatedAt changed from %v to %v", d.CreatedAt, fin.CreatedAt)
	}
	if !fin.UpdatedAt.After(d.UpdatedAt) {
		t.Errorf("UpdatedAt %v not after %v", fin.UpdatedAt, d.UpdatedAt)
	}
	if diff := cmp.Diff(*other, got[0]); diff != "" {
		t.Errorf("the other deployment changed (-want +got):\n%s", diff)
	}
	// Finishing again overwrites (a retried finish is not an error).
	if err := s.FinishDeployment(t.Context(), d.ID, "failed", "timeout"); err != nil {
		t.Fatal(err)
	}
}

func testGetDeployment(t *testing.T, s store.Store) {
	mustCreate(t, s, "shop")
	d, err := s.CreateDeployment(t.Context(), store.Deployment{Project: "shop", Revision: 1, Action: "deploy", Author: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	if err := s.FinishDeployment(t.Context(), d.ID, "failed", "timeout"); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetDeployment(t.Context(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "failed" || got.Summary != "timeout" || !got.CreatedAt.Equal(d.CreatedAt) || !got.UpdatedAt.After(d.UpdatedAt) {
		t.Errorf("GetDeployment = %+v after finishing %+v", got, d)
	}
	wantUTC(t, "GetDeployment UpdatedAt", got.UpdatedAt)
	_, err = s.GetDeployment(t.Context(), 424242)
	wantErrIs(t, "GetDeployment of a missing ID", err, store.ErrNotFound)
}

func testFinishDeploymentNotFound(t *testing.T, s store.Store) {
	wantErrIs(t, "FinishDeployment of a missing ID", s.FinishDeployment(t.Context(), 12345, "failed", ""), store.ErrNotFound)
}

func testListDeployments(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	mustCreate(t, s, "blog")
	mustCreate(t, s, "idle")
	var ids []int64
	for i := range 6 {
		slug := "shop"
		if i%2 == 1 {
			slug = "blog"
		}
		d, err := s.CreateDeployment(ctx, store.Deployment{Project: slug, Revision: int64(i), Action: "deploy"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	idsOf := func(ds []store.Deployment) []int64 {
		out := []int64{}
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		slug  string
		limit int
		want  []int64
	}{
		{"Project", "shop", 0, []int64{ids[4], ids[2], ids[0]}},
		{"OtherProject", "blog", 0, []int64{ids[5], ids[3], ids[1]}},
		{"Limit", "shop", 2, []int64{ids[4], ids[2]}},
		{"AllProjects", "", 0, []int64{ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"AllProjectsLimit", "", 4, []int64{ids[5], ids[4], ids[3], ids[2]}},
		{"ProjectWithNone", "idle", 0, []int64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListDeployments(ctx, tc.slug, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Error("got a nil slice, want an empty one")
			}
			if diff := cmp.Diff(tc.want, idsOf(got)); diff != "" {
				t.Errorf("IDs (-want +got):\n%s", diff)
			}
		})
	}
}

// --- audit ---

func testAppendAudit(t *testing.T, s store.Store) {
	mustCreate(t, s, "shop")
	from := time.Now()
	if err := s.AppendAudit(t.Context(), store.AuditEvent{
		ID: 77, Project: "shop", Actor: "alice", Action: "schema.save", Detail: "revision 1",
		CreatedAt: time.Unix(0, 0), // ignored
	}); err != nil {
		t.Fatal(err)
	}
	to := time.Now()
	events, err := s.ListAudit(t.Context(), "shop", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 {
		t.Fatalf("listed %d events, want 1", len(events))
	}
	e := events[0]
	if e.ID <= 0 {
		t.Errorf("ID = %d, want one set by the store", e.ID)
	}
	between(t, "CreatedAt", e.CreatedAt, from, to)
	want := store.AuditEvent{ID: e.ID, Project: "shop", Actor: "alice", Action: "schema.save", Detail: "revision 1", CreatedAt: e.CreatedAt}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
}

func testAppendAuditUnknownProject(t *testing.T, s store.Store) {
	err := s.AppendAudit(t.Context(), store.AuditEvent{Project: "nope", Actor: "alice", Action: "deploy"})
	wantErrIs(t, "AppendAudit for a missing project", err, store.ErrNotFound)
	_, err = s.ListAudit(t.Context(), "nope", 0)
	wantErrIs(t, "ListAudit of a missing project", err, store.ErrNotFound)
}

func testListAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	mustCreate(t, s, "blog")
	mustCreate(t, s, "idle")
	add := func(project, action string) {
		t.Helper()
		if err := s.AppendAudit(ctx, store.AuditEvent{Project: project, Actor: "alice", Action: action}); err != nil {
			t.Fatal(err)
		}
	}
	add("shop", "project.create")
	add("blog", "project.create")
	add("", "user.login")
	add("shop", "schema.save")
	add("shop", "deploy")
	actions := func(es []store.AuditEvent) []string {
		out := []string{}
		for _, e := range es {
			out = append(out, e.Project+"/"+e.Action)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		slug  string
		limit int
		want  []string
	}{
		{"Project", "shop", 0, []string{"shop/deploy", "shop/schema.save", "shop/project.create"}},
		{"Limit", "shop", 2, []string{"shop/deploy", "shop/schema.save"}},
		{"OtherProject", "blog", 0, []string{"blog/project.create"}},
		{"All", "", 0, []string{"shop/deploy", "shop/schema.save", "/user.login", "blog/project.create", "shop/project.create"}},
		{"AllLimit", "", 3, []string{"shop/deploy", "shop/schema.save", "/user.login"}},
		{"ProjectWithNone", "idle", 0, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListAudit(ctx, tc.slug, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Error("got a nil slice, want an empty one")
			}
			if diff := cmp.Diff(tc.want, actions(got)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			for i := 1; i < len(got); i++ {
				if got[i].ID >= got[i-1].ID {
					t.Errorf("IDs not descending: %d then %d", got[i-1].ID, got[i].ID)
				}
			}
		})
	}
}

// --- errors and context ---

func testErrorsNameTheirSubject(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	saveN(t, s, "shop", 1)
	_, errExists := s.CreateProject(ctx, "shop", "")
	_, errConflict := s.SaveRevision(ctx, "shop", store.NewRevision{YAML: "x", Base: 0})
	_, errMissing := s.SaveRevision(ctx, "nope", store.NewRevision{YAML: "x"})
	_, errRevision := s.GetRevision(ctx, "shop", 9)
	errDeployment := s.FinishDeployment(ctx, 4242, "failed", "")
	for _, tc := range []struct {
		name   string
		err    error
		target error
		prefix string
	}{
		{"Exists", errExists, store.ErrExists, "store: create project shop: "},
		{"Conflict", errConflict, store.ErrConflict, "store: save revision of shop: "},
		{"MissingProject", errMissing, store.ErrNotFound, "store: save revision of nope: "},
		{"MissingRevision", errRevision, store.ErrNotFound, "store: get revision 9 of shop: "},
		{"MissingDeployment", errDeployment, store.ErrNotFound, "store: finish deployment 4242: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErrIs(t, tc.name, tc.err, tc.target)
			if !strings.HasPrefix(tc.err.Error(), tc.prefix) {
				t.Errorf("error %q does not start with %q", tc.err, tc.prefix)
			}
		})
	}
}

func testCanceledContext(t *testing.T, s store.Store) {
	mustCreate(t, s, "shop")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.SaveRevision(ctx, "shop", store.NewRevision{YAML: "x", Base: 0}); !errors.Is(err, context.Canceled) {
		t.Errorf("SaveRevision with a canceled context: %v, want context.Canceled", err)
	}
	if _, err := s.CreateProject(ctx, "blog", ""); err == nil {
		t.Error("CreateProject with a canceled context succeeded")
	}
	if _, err := s.ListProjects(ctx); err == nil {
		t.Error("ListProjects with a canceled context succeeded")
	}
	// Nothing was written, and the store still works.
	if h := mustGetProject(t, s, "shop").Head; h != 0 {
		t.Errorf("head = %d after a canceled save", h)
	}
	if _, err := s.GetProject(t.Context(), "blog"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("project created with a canceled context: %v", err)
	}
	mustSave(t, s, "shop", store.NewRevision{YAML: "x", Base: 0})
}

// --- notifications (optional) ---

// ListenForTest starts n.Listen on channel in the background until the
// test ends, waits until it listens, and returns the payloads it receives
// and the other notifications (Lost, Listening) apart.
func ListenForTest(t *testing.T, n store.Notifier, channel string) (payloads <-chan string, states <-chan store.Notification) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := make(chan string, 1024)
	st := make(chan store.Notification, 64)
	done := make(chan error, 1)
	go func() {
		done <- n.Listen(ctx, channel, func(m store.Notification) {
			if m.Listening || m.Lost {
				st <- m
				return
			}
			p <- m.Payload
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Listen returned %v after its context ended, want context.Canceled", err)
		}
	})
	select {
	case m := <-st:
		if !m.Listening || m.Resumed {
			t.Fatalf("first Listen notification = %+v, want Listening (not Resumed)", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Listen did not start listening within 10s")
	}
	return p, st
}

func testNotifier(t *testing.T, s store.Store) {
	n, ok := s.(store.Notifier)
	if !ok {
		t.Skipf("%T does not carry notifications between processes (store.Notifier)", s)
	}
	ctx := t.Context()
	payloads, _ := ListenForTest(t, n, "events")
	other, _ := ListenForTest(t, n, "other")
	const count = 50
	for i := range count {
		if err := n.Notify(ctx, "events", fmt.Sprintf(`{"n":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	big := strings.Repeat("x", store.MaxNotifyPayload)
	if err := n.Notify(ctx, "events", big); err != nil {
		t.Fatalf("Notify of MaxNotifyPayload bytes: %v", err)
	}
	for i := range count {
		select {
		case p := <-payloads:
			if want := fmt.Sprintf(`{"n":%d}`, i); p != want {
				t.Fatalf("notification %d = %q, want %q (in order)", i, p, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("notification %d did not arrive", i)
		}
	}
	select {
	case p := <-payloads:
		if p != big {
			t.Errorf("largest payload arrived as %d bytes, want %d", len(p), len(big))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("largest payload did not arrive")
	}
	if err := n.Notify(ctx, "events", big+"x"); err == nil {
		t.Error("Notify over MaxNotifyPayload succeeded")
	}
	select {
	case p := <-other:
		t.Errorf("channel other heard %q sent on events", p)
	case <-time.After(100 * time.Millisecond):
	}
}
