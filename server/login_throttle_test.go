package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
)

// testClock is a clock a test moves by hand (Config.Now).
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// throttleEnv is a server behind a trusted proxy on loopback (so a test
// can sign in "from" several addresses) with the per-address sign-in
// limit off, so that only the per-account throttle refuses.
func throttleEnv(t *testing.T, clock *testClock, limits LimitConfig) *testEnv {
	limits.TrustedProxies = []string{"127.0.0.1/32"}
	limits.LoginRate = -1
	return newTestEnv(t, Config{Password: testPasswordParams, Now: clock.now, Limits: limits}, nil)
}

func (e *testEnv) loginFrom(addr, username, password string) response {
	return e.do(request{method: "POST", path: loginPath, json: map[string]string{"username": username, "password": password},
		header: map[string]string{"X-Forwarded-For": addr}})
}

// sessionCount is the number of sessions in the store.
func (e *testEnv) sessionCount() int {
	e.t.Helper()
	var n int
	if err := e.store.Pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// expectThrottled checks a per-account refusal: 429, the Retry-After
// given, a JSON error naming the problem, no session cookie.
func expectThrottled(t *testing.T, res response, retry, what string) {
	t.Helper()
	res.expectError(t, http.StatusTooManyRequests, "too many failed sign-ins for this username", what)
	if got := res.Header.Get("Retry-After"); got != retry {
		t.Fatalf("%s: Retry-After %q, want %q", what, got, retry)
	}
	for _, c := range res.Cookies() {
		if c.Name == sessionCookieName && c.Value != "" {
			t.Fatalf("%s: a session cookie was set", what)
		}
	}
}

// Five failures for one username, from two addresses, lock it: further
// attempts (the right password too) answer 429 with a Retry-After that
// doubles with each failure after the lock ends; a success resets it.
func TestLoginAccountThrottleBackoff(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	e := throttleEnv(t, clock, LimitConfig{})
	e.addUser("eve", zoning.RoleExpert, "eve-password-123")
	addrs := []string{"198.51.100.1", "203.0.113.7"}
	for i := 0; i < 5; i++ {
		e.loginFrom(addrs[i%2], "eve", "wrong-password-1").expectError(t, http.StatusUnauthorized, badLogin, fmt.Sprintf("failure %d", i+1))
	}
	expectThrottled(t, e.loginFrom(addrs[1], "eve", "eve-password-123"), "1", "right password while locked")
	expectThrottled(t, e.loginFrom("192.0.2.50", "eve", "eve-password-123"), "1", "a third address while locked")
	if n := e.sessionCount(); n != 0 {
		t.Fatalf("sessions after refused logins: %d", n)
	}
	// Each failure after a lock ends doubles the next lock.
	for lock := time.Second; lock < 8*time.Second; lock *= 2 {
		clock.add(lock)
		e.loginFrom(addrs[0], "eve", "wrong-password-1").expect(t, http.StatusUnauthorized, "failure after the lock ended")
		next := strconv.Itoa(int(2 * lock / time.Second))
		expectThrottled(t, e.loginFrom(addrs[0], "eve", "wrong-password-1"), next, "locked again for "+next+" s")
	}
	clock.add(7 * time.Second)
	expectThrottled(t, e.loginFrom(addrs[1], "eve", "eve-password-123"), "1", "one second left")
	clock.add(time.Second)
	e.loginFrom(addrs[1], "eve", "eve-password-123").expect(t, http.StatusOK, "right password after the lock")
	if n := e.sessionCount(); n != 1 {
		t.Fatalf("sessions after one success: %d", n)
	}
	// The success forgot the failures: five again before a lock.
	for i := 0; i < 5; i++ {
		e.loginFrom(addrs[i%2], "eve", "wrong-password-1").expect(t, http.StatusUnauthorized, fmt.Sprintf("after reset, failure %d", i+1))
	}
	expectThrottled(t, e.loginFrom(addrs[0], "eve", "eve-password-123"), "1", "after reset, locked at 1 s again")
	m := string(scrapeMetrics(t, e.srv))
	if want := `riskzone_rate_limited_total{limit="account"} 7`; !strings.Contains(m, want) {
		t.Errorf("metrics lack %s", want)
	}
}

// An unknown username is throttled exactly like a real one: the same
// statuses, Retry-After and bodies, attempt by attempt.
func TestLoginAccountThrottleUnknownUserParity(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	e := throttleEnv(t, clock, LimitConfig{})
	e.addUser("eve", zoning.RoleExpert, "eve-password-123")
	type answer struct {
		status int
		retry  string
		body   string
	}
	run := func(name string) []answer {
		var out []answer
		for i := 0; i < 8; i++ {
			if i == 6 {
				clock.add(time.Second)
			}
			res := e.loginFrom("198.51.100.1", name, "wrong-password-1")
			out = append(out, answer{res.StatusCode, res.Header.Get("Retry-After"), string(res.body)})
		}
		return out
	}
	known, unknown := run("eve"), run("mallory")
	if fmt.Sprint(known) != fmt.Sprint(unknown) {
		t.Fatalf("answers differ:\nknown   %v\nunknown %v", known, unknown)
	}
	if known[5].status != http.StatusTooManyRequests || known[7].status != http.StatusTooManyRequests || known[6].status != http.StatusUnauthorized {
		t.Fatalf("want 401×5, 429, 401 after a second, 429; got %v", known)
	}
}

// The throttle holds at most its capacity of usernames, whatever the
// flood, keeps the most recently tried, and forgets failures after its
// window of quiet; the lock never exceeds the maximum.
func TestLoginAccountThrottleBounded(t *testing.T) {
	l := LimitConfig{AccountCapacity: 100}
	l.Defaults()
	a := newAccountThrottle(l)
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		a.admit("eve", now)
	}
	if d := a.wait("eve", now); d != time.Second {
		t.Fatalf("eve locked for %v, want 1s", d)
	}
	for i := 0; i < 10000; i++ {
		a.admit(fmt.Sprintf("random-%d", i), now)
		if n := a.size(); n > 100 {
			t.Fatalf("%d usernames held after %d, want at most 100", n, i+1)
		}
	}
	if a.size() != 100 {
		t.Fatalf("size %d, want 100", a.size())
	}
	if a.wait("random-9999", now) != 0 || a.admit("random-9999", now) != 0 {
		t.Fatal("one failure locked random-9999")
	}
	// Backoff doubles to the cap.
	b := newAccountThrottle(l)
	var last time.Duration
	for i := 0; i < 40; i++ {
		if d := b.admit("bob", now); d != 0 {
			t.Fatalf("attempt %d refused after the lock ended", i+1)
		}
		last = b.wait("bob", now)
		now = now.Add(last)
	}
	if last != 15*time.Minute {
		t.Fatalf("lock after 40 failures %v, want the 15 min cap", last)
	}
	// An hour of quiet forgets them.
	now = now.Add(time.Hour + time.Second)
	b.admit("bob", now)
	if d := b.wait("bob", now); d != 0 {
		t.Fatalf("after an hour of quiet, one failure locked bob for %v", d)
	}
}

// The argon2id hashes computed at once are bounded: with two slots taken
// by slow checks (one of them an unknown user, which still hashes), a
// third sign-in answers 503 with Retry-After within the wait, hashes
// nothing and creates no session; once a slot frees, sign-ins work again.
func TestLoginHashSlotsBounded(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	e := throttleEnv(t, clock, LimitConfig{HashConcurrency: 2, HashWait: 50 * time.Millisecond})
	e.addUser("eve", zoning.RoleExpert, "eve-password-123")
	entered, release := make(chan string, 4), make(chan struct{})
	var hashed atomic.Int32
	// Freed on any exit, so a failing test does not hang in the server's
	// shutdown on the held requests.
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free()
	e.srv.verify = func(password, hash string) (bool, error) {
		// The first two are held until the test lets them go; a third
		// (were the bound missing) passes at once, so the test fails
		// instead of hanging.
		if hashed.Add(1) <= 2 {
			entered <- password
			<-release
		}
		return zoning.VerifyPassword(password, hash)
	}
	statuses := make(chan int, 2)
	for _, name := range []string{"eve", "mallory"} {
		go func() { statuses <- e.loginFrom("198.51.100.1", name, "wrong-password-1").StatusCode }()
	}
	<-entered
	<-entered
	res := e.loginFrom("198.51.100.2", "eve", "eve-password-123")
	res.expectError(t, http.StatusServiceUnavailable, "busy checking other sign-ins", "third concurrent sign-in")
	if res.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if n := hashed.Load(); n != 2 {
		t.Fatalf("hashes started: %d, want 2", n)
	}
	if n := e.sessionCount(); n != 0 {
		t.Fatalf("sessions after a busy refusal: %d", n)
	}
	free()
	for i := 0; i < 2; i++ {
		if s := <-statuses; s != http.StatusUnauthorized {
			t.Fatalf("held sign-in answered %d, want 401", s)
		}
	}
	e.loginFrom("198.51.100.2", "eve", "eve-password-123").expect(t, http.StatusOK, "sign-in once the slots are free")
}

// Loopback clients are limited by default (per address, public and
// sign-in), and exempt only when configured.
func TestLoopbackLimitedByDefault(t *testing.T) {
	limits := LimitConfig{PublicRate: 0.01, PublicBurst: 4, LoginRate: 0.01, LoginBurst: 2}
	e := newTestEnv(t, Config{Password: testPasswordParams, Limits: limits}, nil)
	for i, name := range []string{"a", "b"} {
		e.do(request{method: "POST", path: loginPath, json: map[string]string{"username": name, "password": "wrong-password-1"}}).
			expect(t, http.StatusUnauthorized, fmt.Sprintf("loopback login %d", i+1))
	}
	e.do(request{method: "POST", path: loginPath, json: map[string]string{"username": "c", "password": "wrong-password-1"}}).
		expectError(t, http.StatusTooManyRequests, "sign-in attempts from your address", "loopback login over the burst")
	// The three sign-ins used three of the four public requests.
	e.do(request{method: "GET", path: "/api/v1/public/lookup?lon=120&lat=30"}).expect(t, http.StatusOK, "loopback lookup within the burst")
	e.do(request{method: "GET", path: "/api/v1/public/lookup?lon=120&lat=30"}).
		expectError(t, http.StatusTooManyRequests, "too many requests from your address", "loopback lookup over the burst")

	limits.ExemptLoopback = true
	x := newTestEnv(t, Config{Password: testPasswordParams, Limits: limits}, nil)
	for i := 0; i < 6; i++ {
		x.do(request{method: "POST", path: loginPath, json: map[string]string{"username": fmt.Sprintf("u%d", i), "password": "wrong-password-1"}}).
			expect(t, http.StatusUnauthorized, fmt.Sprintf("exempt loopback login %d", i+1))
		x.do(request{method: "GET", path: "/api/v1/public/lookup?lon=120&lat=30"}).expect(t, http.StatusOK, "exempt loopback lookup")
	}
}
