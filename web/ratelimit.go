package web

import (
	"sync"
	"time"
)

// Sign-in limits: failed attempts within SignInWindow, per account and per
// client address. Past either, sign-in answers 429 until the oldest failure
// leaves the window, even with the right password, so guessing is slow.
// A success clears the account's failures. The limits are per replica.
const (
	SignInWindow          = 15 * time.Minute
	SignInFailsPerAccount = 5
	SignInFailsPerAddress = 20
	// maxTracked bounds the memory the limiter holds; the oldest keys go
	// first when it is full.
	maxTracked = 10000
)

type signInLimiter struct {
	mu    sync.Mutex
	fails map[string][]time.Time // "a:<name>" or "ip:<address>" → failure times
	now   func() time.Time
}

func newSignInLimiter() *signInLimiter {
	return &signInLimiter{fails: map[string][]time.Time{}, now: time.Now}
}

// blocked returns how long until the account or address may try again,
// and which of them is blocked ("account" or "address"); 0 when neither.
func (l *signInLimiter) blocked(name, addr string) (time.Duration, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if d := l.wait("a:"+name, SignInFailsPerAccount, now); d > 0 {
		return d, "account"
	}
	if d := l.wait("ip:"+addr, SignInFailsPerAddress, now); d > 0 {
		return d, "address"
	}
	return 0, ""
}

func (l *signInLimiter) wait(key string, limit int, now time.Time) time.Duration {
	ts := l.prune(key, now)
	if len(ts) < limit {
		return 0
	}
	return ts[len(ts)-limit].Add(SignInWindow).Sub(now)
}

// prune drops failures older than the window and returns the rest.
func (l *signInLimiter) prune(key string, now time.Time) []time.Time {
	ts := l.fails[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= SignInWindow {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, key)
	} else {
		l.fails[key] = ts
	}
	return ts
}

// failed records a failed attempt for both the account and the address.
func (l *signInLimiter) failed(name, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.fails) >= maxTracked {
		l.evict(now)
	}
	for _, k := range []string{"a:" + name, "ip:" + addr} {
		l.fails[k] = append(l.prune(k, now), now)
	}
}

// succeeded clears the account's failures.
func (l *signInLimiter) succeeded(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, "a:"+name)
}

// evict drops expired keys, then, if still full, the keys whose newest
// failure is oldest.
func (l *signInLimiter) evict(now time.Time) {
	for k := range l.fails {
		l.prune(k, now)
	}
	for len(l.fails) >= maxTracked {
		var oldest string
		var at time.Time
		for k, ts := range l.fails {
			if last := ts[len(ts)-1]; oldest == "" || last.Before(at) {
				oldest, at = k, last
			}
		}
		delete(l.fails, oldest)
	}
}
