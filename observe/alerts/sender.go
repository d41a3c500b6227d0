package alerts

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// postBatch is the most alerts one POST carries.
const postBatch = 500

// sender delivers alerts to Alertmanager. Pending alerts are keyed by
// identity, so a burst of updates to one alert is one post of its newest
// state; the queue is bounded, and when it is full the oldest firing
// update is dropped (the resend brings it back) before any resolution.
// Posts are retried with backoff while Alertmanager is down.
type sender struct {
	c   *Client
	max int
	log *slog.Logger

	mu      sync.Mutex
	pending map[string]queued
	seq     uint64
	wake    chan struct{}
	posted  uint64
	failed  uint64
	dropped uint64
}

type queued struct {
	a   PostableAlert
	seq uint64
}

func newSender(c *Client, max int, log *slog.Logger) *sender {
	return &sender{c: c, max: max, log: log, pending: map[string]queued{}, wake: make(chan struct{}, 1)}
}

func (s *sender) enqueue(as []PostableAlert) {
	s.mu.Lock()
	for _, a := range as {
		s.seq++
		s.pending[alertKey(a)] = queued{a: a, seq: s.seq}
	}
	for len(s.pending) > s.max {
		s.dropOldest()
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// dropOldest drops the oldest firing update, or the oldest of all when
// only resolutions wait. The caller holds s.mu.
func (s *sender) dropOldest() {
	now := time.Now()
	oldest := func(firingOnly bool) (string, bool) {
		var key string
		var best uint64
		found := false
		for k, q := range s.pending {
			if firingOnly && !q.a.EndsAt.After(now) {
				continue
			}
			if !found || q.seq < best {
				key, best, found = k, q.seq, true
			}
		}
		return key, found
	}
	key, ok := oldest(true)
	if !ok {
		key, _ = oldest(false)
	}
	delete(s.pending, key)
	s.dropped++
}

func (s *sender) stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Posted: s.posted, Failed: s.failed, Dropped: s.dropped, Pending: len(s.pending)}
}

// take removes up to postBatch pending alerts, oldest first.
func (s *sender) take() []queued {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]queued, 0, min(len(s.pending), postBatch))
	for k, q := range s.pending {
		out = append(out, q)
		delete(s.pending, k)
		if len(out) == postBatch {
			break
		}
	}
	return out
}

// putBack returns alerts whose post failed, unless a newer update of the
// same alert arrived meanwhile.
func (s *sender) putBack(qs []queued) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range qs {
		k := alertKey(q.a)
		if cur, ok := s.pending[k]; !ok || cur.seq < q.seq {
			s.pending[k] = q
		}
	}
	for len(s.pending) > s.max {
		s.dropOldest()
	}
}

func (s *sender) run(ctx context.Context) {
	const minBackoff, maxBackoff = 250 * time.Millisecond, 30 * time.Second
	backoff := minBackoff
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		for ctx.Err() == nil {
			qs := s.take()
			if len(qs) == 0 {
				break
			}
			as := make([]PostableAlert, len(qs))
			for i, q := range qs {
				as[i] = q.a
			}
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := s.c.PostAlerts(pctx, as)
			cancel()
			s.mu.Lock()
			if err != nil {
				s.failed++
			} else {
				s.posted += uint64(len(as))
			}
			s.mu.Unlock()
			if err == nil {
				backoff = minBackoff
				continue
			}
			s.putBack(qs)
			s.log.Warn("alertmanager unreachable; alerts wait to be re-sent", "pending", len(qs), "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, maxBackoff)
		}
	}
}
