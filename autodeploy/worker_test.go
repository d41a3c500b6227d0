package autodeploy

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/store"
)

// Deploys of different elements run side by side (a slow build of one
// does not hold up another), while an element's own deploys never
// overlap: a commit asked for during its deploy runs after it.
func TestWorkerRunsElementsSideBySide(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "backplane.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateProject(ctx, "shop", ""); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	running := map[string]int{}
	var overlaps []string
	var done []string
	all := make(chan struct{})
	entered := 0
	w := &Worker{Store: st, Owner: "test", Settle: time.Millisecond, Slots: 3, Deploy: func(ctx context.Context, q store.QueuedDeploy) error {
		mu.Lock()
		running[q.Element]++
		if running[q.Element] > 1 {
			overlaps = append(overlaps, q.Element)
		}
		entered++
		if entered == 3 {
			close(all)
		}
		first := entered <= 3
		mu.Unlock()
		if first {
			// The first three wait for each other: only side by side
			// do they all get here.
			select {
			case <-all:
			case <-time.After(20 * time.Second):
			}
		}
		mu.Lock()
		running[q.Element]--
		done = append(done, q.Element+"@"+q.SHA)
		mu.Unlock()
		return nil
	}}
	for _, e := range []string{"api", "web", "worker"} {
		if err := st.Enqueue(ctx, store.QueuedDeploy{Project: "shop", Element: e, SHA: strings.Repeat("a", 40), Trigger: store.TriggerWebhook}); err != nil {
			t.Fatal(err)
		}
	}
	go w.Run(ctx)
	w.Wake()
	select {
	case <-all:
	case <-time.After(20 * time.Second):
		t.Fatalf("the three elements' deploys did not run side by side")
	}
	// A newer commit of api, asked for while api may still be deploying.
	if err := st.Enqueue(ctx, store.QueuedDeploy{Project: "shop", Element: "api", SHA: strings.Repeat("b", 40), Trigger: store.TriggerWebhook}); err != nil {
		t.Fatal(err)
	}
	w.Wake()
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(done)
		mu.Unlock()
		if n == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deploys done: %v", done)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(overlaps) > 0 {
		t.Errorf("an element's deploys overlapped: %v", overlaps)
	}
	if done[3] != "api@"+strings.Repeat("b", 40) {
		t.Errorf("deploys in order: %v", done)
	}
}

// A deploy that outlasts its lease keeps its claim (the worker renews it):
// another replica's worker never starts it a second time.
func TestWorkerRenewsLongDeploys(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "backplane.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateProject(ctx, "shop", ""); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	starts := 0
	done := make(chan struct{})
	deploy := func(ctx context.Context, q store.QueuedDeploy) error {
		mu.Lock()
		starts++
		first := starts == 1
		mu.Unlock()
		if first {
			time.Sleep(1500 * time.Millisecond) // five leases
			close(done)
		}
		return nil
	}
	for _, owner := range []string{"a", "b"} {
		w := &Worker{Store: st, Owner: owner, Settle: time.Millisecond, Lease: 300 * time.Millisecond, Slots: 2, Deploy: deploy}
		go w.Run(ctx)
	}
	if err := st.Enqueue(ctx, store.QueuedDeploy{Project: "shop", Element: "api", SHA: strings.Repeat("a", 40), Trigger: store.TriggerWebhook}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the deploy never ran")
	}
	time.Sleep(700 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if starts != 1 {
		t.Errorf("the deploy started %d times, want once", starts)
	}
}
