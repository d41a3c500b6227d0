package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/store"
)

// The Autodeploy cases: webhook secrets, deliveries, element commits and
// the deploy queue. Run runs them with the rest.

var autodeployTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"HookSecret", testHookSecret},
	{"RecordDeliveryRefusesReplay", testRecordDelivery},
	{"ElementCommits", testElementCommits},
	{"QueueCollapsesBursts", testQueueCollapses},
	{"QueueNewerCommitWaitsItsTurn", testQueueNewerWaits},
	{"QueueConcurrentClaims", testQueueConcurrentClaims},
	{"QueueRenewedClaimIsKept", testQueueRenewClaim},
	{"QueuePollNeverReplaces", testQueuePollNeverReplaces},
	{"QueueGoesWithProject", testQueueGoesWithProject},
	{"DeploymentTrigger", testDeploymentTrigger},
}

func testHookSecret(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	if _, err := s.HookSecret(ctx, "shop"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no secret yet: %v", err)
	}
	for _, v := range []string{"sealed-1", "sealed-2"} {
		if err := s.SetHookSecret(ctx, "shop", []byte(v)); err != nil {
			t.Fatal(err)
		}
		if got, err := s.HookSecret(ctx, "shop"); err != nil || string(got) != v {
			t.Fatalf("secret %q %v, want %q", got, err, v)
		}
	}
	if err := s.SetHookSecret(ctx, "nope", []byte("x")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown project: %v", err)
	}
}

func testRecordDelivery(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	mustCreate(t, s, "blog")
	if err := s.RecordDelivery(ctx, "shop", "d-1", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordDelivery(ctx, "shop", "d-1", time.Hour); !errors.Is(err, store.ErrExists) {
		t.Errorf("replay: %v, want ErrExists", err)
	}
	// Another project's delivery of the same ID is its own.
	if err := s.RecordDelivery(ctx, "blog", "d-1", time.Hour); err != nil {
		t.Errorf("other project: %v", err)
	}
	// Forgotten on request (the request that recorded it failed).
	if err := s.ForgetDelivery(ctx, "shop", "d-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordDelivery(ctx, "shop", "d-1", time.Hour); err != nil {
		t.Errorf("after forget: %v", err)
	}
	if err := s.RecordDelivery(ctx, "blog", "d-1", time.Hour); !errors.Is(err, store.ErrExists) {
		t.Errorf("forgetting shop's delivery forgot blog's: %v", err)
	}
	if err := s.ForgetDelivery(ctx, "shop", "never-seen"); err != nil {
		t.Errorf("forget an unknown delivery: %v", err)
	}
	// Forgotten past keep.
	time.Sleep(2 * time.Millisecond)
	if err := s.RecordDelivery(ctx, "shop", "d-1", time.Millisecond); err != nil {
		t.Errorf("after keep: %v", err)
	}
}

func testElementCommits(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	for _, c := range []store.ElementCommit{
		{Element: "api", SHA: "aaa", Author: "Ann", Message: "first"},
		{Element: "web", SHA: "bbb", Author: "Bob", Message: "web"},
		{Element: "api", SHA: "ccc", Author: "Cy", Message: "second"},
	} {
		if err := s.SetElementCommit(ctx, "shop", c); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := s.ElementCommits(ctx, "shop")
	if err != nil || len(cs) != 2 || cs[0].Element != "api" || cs[0].SHA != "ccc" || cs[0].Author != "Cy" || cs[1].SHA != "bbb" {
		t.Fatalf("commits %+v %v", cs, err)
	}
	if cs[0].UpdatedAt.Location() != time.UTC || cs[0].UpdatedAt.IsZero() {
		t.Errorf("updated_at %v", cs[0].UpdatedAt)
	}
}

func enqueue(t *testing.T, s store.Store, project, element, sha string) {
	t.Helper()
	if err := s.Enqueue(t.Context(), store.QueuedDeploy{Project: project, Element: element, SHA: sha, Trigger: store.TriggerWebhook, Actor: "pat", Author: "Ann", Message: "m " + sha}); err != nil {
		t.Fatal(err)
	}
}

func testQueueCollapses(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	for _, sha := range []string{"s1", "s2", "s3", "s4", "s5"} {
		enqueue(t, s, "shop", "api", sha)
	}
	// Not settled yet: nothing to claim before the last request.
	if q, err := s.Claim(ctx, "r1", time.Now().Add(-time.Hour), time.Minute); err != nil || q != nil {
		t.Fatalf("claim before settled: %+v %v", q, err)
	}
	q, err := s.Claim(ctx, "r1", time.Now().Add(time.Second), time.Minute)
	if err != nil || q == nil || q.SHA != "s5" || q.ClaimedBy != "r1" || q.Trigger != store.TriggerWebhook || q.Message != "m s5" {
		t.Fatalf("claim: %+v %v", q, err)
	}
	if again, err := s.Claim(ctx, "r2", time.Now().Add(time.Second), time.Minute); err != nil || again != nil {
		t.Fatalf("the claimed element was claimed again: %+v %v", again, err)
	}
	if err := s.FinishQueued(ctx, *q); err != nil {
		t.Fatal(err)
	}
	if qs, err := s.ListQueued(ctx, "shop"); err != nil || len(qs) != 0 {
		t.Fatalf("after finish: %+v %v", qs, err)
	}
}

func testQueueNewerWaits(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	enqueue(t, s, "shop", "api", "s1")
	q, err := s.Claim(ctx, "r1", time.Now().Add(time.Second), time.Minute)
	if err != nil || q == nil {
		t.Fatalf("claim: %v", err)
	}
	// A push while it deploys: the element stays claimed.
	time.Sleep(2 * time.Millisecond)
	enqueue(t, s, "shop", "api", "s2")
	if other, err := s.Claim(ctx, "r2", time.Now().Add(time.Second), time.Minute); err != nil || other != nil {
		t.Fatalf("a second deploy of the element while one runs: %+v %v", other, err)
	}
	if err := s.FinishQueued(ctx, *q); err != nil {
		t.Fatal(err)
	}
	next, err := s.Claim(ctx, "r2", time.Now().Add(time.Second), time.Minute)
	if err != nil || next == nil || next.SHA != "s2" {
		t.Fatalf("the newer commit's turn: %+v %v", next, err)
	}
	// A lapsed claim is taken over.
	if err := s.FinishQueued(ctx, *next); err != nil {
		t.Fatal(err)
	}
	enqueue(t, s, "shop", "api", "s3")
	if q, err := s.Claim(ctx, "r3", time.Now().Add(time.Second), time.Millisecond); err != nil || q == nil {
		t.Fatalf("claim: %v", err)
	}
	time.Sleep(5 * time.Millisecond)
	if q, err := s.Claim(ctx, "r4", time.Now().Add(time.Second), time.Minute); err != nil || q == nil || q.SHA != "s3" {
		t.Fatalf("a lapsed claim: %+v %v", q, err)
	}
}

func testQueueConcurrentClaims(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	const n = 8
	for i := range n {
		enqueue(t, s, "shop", string(rune('a'+i)), "sha")
	}
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				q, err := s.Claim(ctx, "replica"+string(rune('0'+r)), time.Now().Add(time.Second), time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if q == nil {
					return
				}
				mu.Lock()
				got[q.Element]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != n {
		t.Errorf("claimed %d elements of %d: %v", len(got), n, got)
	}
	for e, c := range got {
		if c != 1 {
			t.Errorf("element %s claimed %d times", e, c)
		}
	}
}

// A claim renewed before its lease lapses is not taken over; one that
// lapsed and was taken cannot be renewed by its old owner.
func testQueueRenewClaim(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	enqueue(t, s, "shop", "api", "sha1")
	settled := time.Now().Add(time.Second)
	q, err := s.Claim(ctx, "a", settled, 50*time.Millisecond)
	if err != nil || q == nil {
		t.Fatalf("claim: %v %v", q, err)
	}
	if err := s.RenewClaim(ctx, *q, time.Minute); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if other, err := s.Claim(ctx, "b", settled, time.Minute); err != nil || other != nil {
		t.Fatalf("a renewed claim was taken over: %+v %v", other, err)
	}
	// Lapsed and taken: the old owner has lost it.
	enqueue(t, s, "shop", "web", "sha2")
	w, err := s.Claim(ctx, "a", time.Now().Add(time.Second), 10*time.Millisecond)
	if err != nil || w == nil || w.Element != "web" {
		t.Fatalf("claim web: %+v %v", w, err)
	}
	time.Sleep(50 * time.Millisecond)
	if taken, err := s.Claim(ctx, "b", time.Now().Add(time.Second), time.Minute); err != nil || taken == nil || taken.Element != "web" {
		t.Fatalf("a lapsed claim is not taken over: %+v %v", taken, err)
	}
	if err := s.RenewClaim(ctx, *w, time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("renewing a lost claim: %v, want ErrNotFound", err)
	}
}

func testQueueGoesWithProject(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	enqueue(t, s, "shop", "api", "s1")
	if _, err := s.DeleteProject(ctx, "shop", "alice"); err != nil {
		t.Fatal(err)
	}
	if q, err := s.Claim(ctx, "r1", time.Now().Add(time.Second), time.Minute); err != nil || q != nil {
		t.Errorf("a deleted project's deploy was claimed: %+v %v", q, err)
	}
	if err := s.Enqueue(ctx, store.QueuedDeploy{Project: "nope", Element: "api", SHA: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown project: %v", err)
	}
}

func testDeploymentTrigger(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	d, err := s.CreateDeployment(ctx, store.Deployment{Project: "shop", Revision: 1, Action: "deploy", Author: "webhook:pat", Trigger: store.TriggerWebhook, GitSHA: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := s.CreateDeployment(ctx, store.Deployment{Project: "shop", Revision: 1, Action: "deploy", Author: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := s.ListDeployments(ctx, "shop", 10)
	if err != nil || len(ds) != 2 || ds[1].ID != d.ID || ds[1].Trigger != store.TriggerWebhook || ds[1].GitSHA != "abc" ||
		ds[0].ID != plain.ID || ds[0].Trigger != store.TriggerUser {
		t.Fatalf("deployments %+v %v", ds, err)
	}
	del, err := s.DeleteProject(ctx, "shop", "alice")
	if err != nil {
		t.Fatal(err)
	}
	kept, err := s.ListDeletedDeployments(ctx, del.ID, 10)
	if err != nil || len(kept) != 2 || kept[1].Trigger != store.TriggerWebhook || kept[1].GitSHA != "abc" {
		t.Errorf("a deleted project's deployments lost their trigger: %+v %v", kept, err)
	}
}

func testQueuePollNeverReplaces(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "shop")
	enqueue(t, s, "shop", "api", "pushed")
	if err := s.Enqueue(ctx, store.QueuedDeploy{Project: "shop", Element: "api", SHA: "polled-older", Trigger: store.TriggerPoll, Actor: "poll"}); err != nil {
		t.Fatal(err)
	}
	qs, err := s.ListQueued(ctx, "shop")
	if err != nil || len(qs) != 1 || qs[0].SHA != "pushed" || qs[0].Trigger != store.TriggerWebhook {
		t.Fatalf("a poll replaced a pushed commit: %+v %v", qs, err)
	}
}
