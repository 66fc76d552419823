package server

import (
	"container/list"
	"context"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// accountThrottle counts failed sign-ins per username, from any address,
// and refuses further attempts for a while once there are too many: free
// failures pass, then each one locks the account for base, 2·base, 4·base …
// up to max; a success forgets the account. Usernames that do not exist
// are counted exactly like those that do, so the answer reveals nothing.
//
// It lives in memory, per replica (docs/operations.md): with several
// replicas an attacker gets free failures on each. It holds at most
// capacity usernames, dropping the least recently tried, so a flood of
// random names cannot grow it without bound.
type accountThrottle struct {
	free     int
	base     time.Duration
	max      time.Duration
	window   time.Duration
	capacity int

	mu      sync.Mutex
	entries map[string]*list.Element // of *accountEntry
	lru     list.List                // front: most recently tried
}

type accountEntry struct {
	name     string
	failures int
	until    time.Time // refused before this
	last     time.Time // last attempt counted
}

func newAccountThrottle(l LimitConfig) *accountThrottle {
	if l.AccountFailures < 0 {
		return nil
	}
	return &accountThrottle{free: l.AccountFailures, base: l.AccountBaseDelay, max: l.AccountMaxDelay,
		window: l.AccountWindow, capacity: l.AccountCapacity, entries: map[string]*list.Element{}}
}

// wait is how long attempts for name are still refused at now (0: none).
func (a *accountThrottle) wait(name string, now time.Time) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	if el, ok := a.entries[name]; ok {
		if e := el.Value.(*accountEntry); now.Before(e.until) {
			return e.until.Sub(now)
		}
	}
	return 0
}

// admit lets an attempt for name through, or answers how long it must
// wait. An admitted attempt counts as a failure at once, so that attempts
// racing each other cannot all pass; a success undoes it with succeed.
func (a *accountThrottle) admit(name string, now time.Time) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	var e *accountEntry
	if el, ok := a.entries[name]; ok {
		e = el.Value.(*accountEntry)
		if now.Before(e.until) {
			return e.until.Sub(now)
		}
		a.lru.MoveToFront(el)
		if now.Sub(e.last) > a.window {
			// Quiet for long enough: a fresh start.
			e.failures, e.until = 0, time.Time{}
		}
	} else {
		for len(a.entries) >= a.capacity {
			old := a.lru.Back()
			a.lru.Remove(old)
			delete(a.entries, old.Value.(*accountEntry).name)
		}
		e = &accountEntry{name: name}
		a.entries[name] = a.lru.PushFront(e)
	}
	e.failures++
	e.last = now
	if e.failures >= a.free {
		e.until = now.Add(a.delay(e.failures - a.free))
	}
	return 0
}

// delay is base·2^n, capped at max.
func (a *accountThrottle) delay(n int) time.Duration {
	d := a.base
	for ; n > 0 && d < a.max; n-- {
		d *= 2
	}
	return min(d, a.max)
}

// succeed forgets name's failures.
func (a *accountThrottle) succeed(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if el, ok := a.entries[name]; ok {
		a.lru.Remove(el)
		delete(a.entries, name)
	}
}

// size is the number of usernames held.
func (a *accountThrottle) size() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.entries)
}

// hashSlots bounds the argon2id hashes computed at once: each takes tens
// of MiB and a core, so unbounded logins would exhaust memory and CPU.
type hashSlots struct {
	slots chan struct{}
	wait  time.Duration
}

func newHashSlots(l LimitConfig) *hashSlots {
	return &hashSlots{slots: make(chan struct{}, l.HashConcurrency), wait: l.HashWait}
}

// acquire takes a slot, waiting at most the configured time; false means
// the server is busy and the caller should answer 503.
func (h *hashSlots) acquire(ctx context.Context) bool {
	select {
	case h.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (h *hashSlots) release() { <-h.slots }

// retryAfter is a Retry-After value: whole seconds, rounded up, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// accountThrottled answers a sign-in refused by the per-account throttle.
func (s *Server) accountThrottled(c echo.Context, d time.Duration) error {
	s.metrics.rateLimited.WithLabelValues("account").Inc()
	c.Response().Header().Set("Retry-After", retryAfter(d))
	return c.JSON(http.StatusTooManyRequests, ErrorBody{Error: ErrorDetail{Code: codeOf(http.StatusTooManyRequests),
		Message: "too many failed sign-ins for this username: wait " + retryAfter(d) + " s and retry"}})
}

// hashBusy answers a sign-in that found no free password-hashing slot.
func (s *Server) hashBusy(c echo.Context) error {
	s.metrics.rateLimited.WithLabelValues("password_hash").Inc()
	c.Response().Header().Set("Retry-After", "1")
	return c.JSON(http.StatusServiceUnavailable, ErrorBody{Error: ErrorDetail{Code: codeOf(http.StatusServiceUnavailable),
		Message: "the server is busy checking other sign-ins: retry in a moment"}})
}
