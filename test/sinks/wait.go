package sinks

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder keeps what a sink received and wakes its waiters.
type recorder[T any] struct {
	mu      sync.Mutex
	items   []T
	changed chan struct{}
}

func newRecorder[T any]() *recorder[T] { return &recorder[T]{changed: make(chan struct{})} }

func (r *recorder[T]) add(v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, v)
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder[T]) all() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.items...)
}

// wait returns the first item match accepts, waiting up to timeout for
// one to arrive, and fails t naming what arrived when none does.
func (r *recorder[T]) wait(t testing.TB, timeout time.Duration, what string, match func(T) bool, describe func(T) string) T {
	t.Helper()
	if v, ok := r.find(timeout, match); ok {
		return v
	}
	items := r.all()
	var b strings.Builder
	for i, it := range items {
		d := describe(it)
		if len(d) > 600 {
			d = d[:600] + "…"
		}
		fmt.Fprintf(&b, "\n  [%d] %s", i, d)
	}
	t.Fatalf("no %s matched within %s; %d received:%s", what, timeout, len(items), b.String())
	var zero T
	return zero
}

func (r *recorder[T]) find(timeout time.Duration, match func(T) bool) (T, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		r.mu.Lock()
		items, changed := r.items, r.changed
		r.mu.Unlock()
		for ; seen < len(items); seen++ {
			if match(items[seen]) {
				return items[seen], true
			}
		}
		select {
		case <-changed:
		case <-deadline.C:
			var zero T
			return zero, false
		}
	}
}
