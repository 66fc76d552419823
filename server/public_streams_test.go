package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/demo"
)

// streamEnv is a server on a small demo county whose anonymous public
// streams are held open after their first row, as a slow reader holds
// them: the handler waits in the stream, its database connection taken,
// until the test releases it.
type streamEnv struct {
	*testEnv
	county int64
	unit   int64 // a unit of the county, for the expert's case
	// entered receives the kind of each stream that reached the hook;
	// release ends the wait of every held stream.
	entered chan string
	release chan struct{}
	once    sync.Once
}

// releaseAll lets every held stream go on (once; also at cleanup, so that
// a failing test leaves no handler waiting).
func (e *streamEnv) releaseAll() { e.once.Do(func() { close(e.release) }) }

func newStreamEnv(t *testing.T, cfg Config) *streamEnv {
	t.Helper()
	// Readers name their address in X-Forwarded-For, as behind a proxy.
	cfg.Limits.TrustedProxies = []string{"127.0.0.1/32"}
	e := newTestEnv(t, cfg, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := demo.Load(ctx, e.store, demo.Options{Seed: 1, Buildings: 300, Today: time.Now().UTC()}, nil)
	if err != nil {
		t.Fatalf("load demo: %v", err)
	}
	se := &streamEnv{testEnv: e, county: sum.CountyID, entered: make(chan string, 200), release: make(chan struct{})}
	if err := e.store.Pool.QueryRow(ctx, `SELECT min(id) FROM units`).Scan(&se.unit); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(se.releaseAll)
	// The hook holds what the test's readers ask for: anonymous requests,
	// as the client sends them, whichever pool the server picked.
	e.srv.streams.held = func(r *http.Request, kind string) {
		if r.Header.Get("Authorization") != "" {
			return
		}
		se.entered <- kind
		select {
		case <-se.release:
		case <-r.Context().Done():
		}
	}
	return se
}

// reader is one anonymous download: its status and headers, and for a 200
// whether the body ended as a whole document.
type reader struct {
	status     int
	retryAfter string
	body       string
	whole      bool
	err        error
}

// startReaders starts n anonymous GETs of path, client i from addr(i). A
// client that gets a 200 reads the first bytes and then stops reading
// until release. It returns once each one is either held in the stream or
// answered otherwise — events, not time; the deadline only turns a hang
// into a failure — with the held count, the others' answers, and wait,
// which returns every reader once all have finished.
func (e *streamEnv) startReaders(t *testing.T, n int, path string, addr func(i int) string) (held int, refused []reader, wait func() []reader) {
	t.Helper()
	out := make([]reader, n)
	done := make(chan int, n)
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := &out[i]
			req, _ := http.NewRequest("GET", e.ts.URL+path, nil)
			req.Header.Set("X-Forwarded-For", addr(i))
			res, err := client.Do(req)
			if err != nil {
				r.err = err
				done <- i
				return
			}
			defer res.Body.Close()
			r.status, r.retryAfter = res.StatusCode, res.Header.Get("Retry-After")
			if res.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(res.Body)
				r.body = string(b)
				done <- i
				return
			}
			first := make([]byte, 16)
			if _, err := io.ReadFull(res.Body, first); err != nil {
				r.err = err
				return
			}
			<-e.release
			rest, err := io.ReadAll(res.Body)
			r.err, r.body = err, string(first)+string(rest)
			r.whole = strings.HasSuffix(strings.TrimSpace(r.body), "}")
		}(i)
	}
	deadline := time.After(30 * time.Second)
	for got := 0; got < n; got++ {
		select {
		case <-e.entered:
			held++
		case i := <-done:
			refused = append(refused, out[i])
		case <-deadline:
			t.Errorf("after 30 s only %d of %d readers were held or answered (%d held): the others wait for a connection", got, n, held)
			got = n
		}
	}
	return held, refused, func() []reader { wg.Wait(); return out }
}

// expertWrite creates a case through the API as a signed-in expert and
// returns how long the answer took.
func (e *streamEnv) expertWrite(t *testing.T, token, caseNo string) time.Duration {
	t.Helper()
	day := zoning.DateOf(time.Now(), zoning.ChinaTime()).AddDays(-1)
	b, _ := json.Marshal(map[string]any{"case_no": caseNo, "county_id": e.county, "kind": "confirmed", "report_date": day.String(),
		"residence": map[string]any{"unit_id": e.unit}})
	req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/cases", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	// Well past the 1 s bound, so that a starved write fails the test
	// instead of hanging it.
	client := &http.Client{Timeout: 10 * time.Second}
	start := time.Now()
	res, err := client.Do(req)
	took := time.Since(start)
	if err != nil {
		t.Errorf("expert case create with the public streams full, after %v: %v", took, err)
		return took
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(res.Body)
		t.Errorf("expert case create with the public streams full: %d %s", res.StatusCode, msg)
	}
	return took
}

// expectRefused checks 429 answers: Retry-After and a JSON error naming
// the limit.
func expectRefused(t *testing.T, what string, rs []reader, want string) {
	t.Helper()
	for _, r := range rs {
		var eb ErrorBody
		_ = json.Unmarshal([]byte(r.body), &eb)
		if r.err != nil || r.status != http.StatusTooManyRequests || r.retryAfter != "5" || eb.Error.Code != "rate_limited" || !strings.Contains(eb.Error.Message, want) {
			t.Fatalf("%s: %d Retry-After %q %s (err %v); want 429, Retry-After 5 and %q", what, r.status, r.retryAfter, r.body, r.err, want)
		}
	}
}

// expectStreamsIdle checks that no stream is counted and the public pool
// holds no connection. Callers call it after every reader has read its
// answer to the end: a chunked answer ends after the handler returned,
// and the handler gives its slot and connection back before it returns.
func (e *streamEnv) expectStreamsIdle(t *testing.T) {
	t.Helper()
	ps := e.srv.streams
	ps.mu.Lock()
	kinds, addrs := ps.kinds[streamExports]+ps.kinds[streamItems], len(ps.byAddr)
	ps.mu.Unlock()
	if acquired := ps.store.Pool.Stat().AcquiredConns(); kinds != 0 || addrs != 0 || acquired != 0 {
		t.Fatalf("after the readers: %d streams counted, %d addresses, %d public connections taken", kinds, addrs, acquired)
	}
}

// The check: 40 slow anonymous export readers from 40 addresses.
// As many as the exports limit stream, on the public pool; the others get
// 429 with Retry-After at once; the main pool keeps free connections and
// an expert's write answers within 1 s; once the readers go away their
// documents are whole, nothing is held, and public streams work again.
func TestPublicStreamsLeaveRoomForWrites(t *testing.T) {
	e := newStreamEnv(t, Config{})
	expert := e.apiToken("expert1", zoning.RoleExpert)
	if e.srv.streams.store == e.srv.store || e.srv.streams.store.Pool == e.store.Pool {
		t.Fatal("the public streams read the main pool")
	}
	limit := e.srv.cfg.Streams.Exports
	held, refused, wait := e.startReaders(t, 40, "/api/v1/export/buildings.geojson", func(i int) string { return fmt.Sprintf("198.51.100.%d", i+1) })
	if held != limit || len(refused) != 40-limit {
		t.Errorf("40 readers: %d held, %d answered; want %d (the exports limit) and %d", held, len(refused), limit, 40-limit)
	}
	expectRefused(t, "a reader over the limit", refused, "too many public exports")
	mainSize := e.store.Pool.Stat().MaxConns()
	if got := e.store.Pool.Stat().AcquiredConns(); got >= mainSize {
		t.Errorf("the main pool has %d of its %d connections taken with the readers held", got, mainSize)
	}
	if got := e.srv.streams.store.Pool.Stat().AcquiredConns(); got != int32(limit) {
		t.Errorf("the public pool has %d connections taken for %d held streams", got, limit)
	}
	took := e.expertWrite(t, expert, "S1")
	t.Logf("expert write with %d readers held and %d refused: %v (main pool: %d of %d taken)", held, len(refused), took,
		e.store.Pool.Stat().AcquiredConns(), mainSize)
	if took > time.Second {
		t.Errorf("the expert's write took %v with 40 slow readers; want within 1 s", took)
	}
	if got := e.store.Pool.Stat().AcquiredConns(); got >= mainSize {
		t.Errorf("the main pool has %d of its %d connections taken after the write", got, mainSize)
	}
	e.releaseAll()
	for i, r := range wait() {
		if r.err != nil {
			t.Errorf("reader %d: %v", i, r.err)
		}
		if r.status == http.StatusOK && !r.whole {
			t.Errorf("reader %d: a held stream ended short: …%q", i, r.body[max(0, len(r.body)-40):])
		}
	}
	e.expectStreamsIdle(t)
	res := e.do(request{method: "GET", path: "/api/v1/export/buildings.geojson"}).expect(t, http.StatusOK, "an export after the readers")
	if n := len(checkRFC7946(t, "the export after the readers", res.body)); n != 300 {
		t.Errorf("the export after the readers has %d buildings, want 300", n)
	}
	e.expectStreamsIdle(t)
}

// From one address, PerAddress streams run and the rest are refused with
// the per-address message; another address still gets its stream; the
// refusals are counted.
func TestPublicStreamsPerAddress(t *testing.T) {
	e := newStreamEnv(t, Config{})
	per := e.srv.cfg.Streams.PerAddress
	held, refused, wait := e.startReaders(t, 40, "/api/v1/export/buildings.geojson", func(int) string { return "203.0.113.7" })
	if held != per || len(refused) != 40-per {
		t.Fatalf("40 readers from one address: %d held, %d answered; want %d and %d", held, len(refused), per, 40-per)
	}
	expectRefused(t, "a reader over its address's limit", refused, "from your address")
	held2, refused2, wait2 := e.startReaders(t, 1, "/ogc/collections/buildings/items?limit=50", func(int) string { return "203.0.113.8" })
	if held2 != 1 || len(refused2) != 0 {
		t.Errorf("another address: %d held, %d refused", held2, len(refused2))
	}
	e.releaseAll()
	wait()
	wait2()
	e.expectStreamsIdle(t)
	if got := metricValue(t, scrapeMetrics(t, e.srv), `riskzone_rate_limited_total{limit="streams"}`); got != float64(40-per) {
		t.Errorf("stream refusals counted %v, want %d", got, 40-per)
	}
}

// Every anonymous public stream is under its kind's limit and reads the
// public pool: with one export held (Exports 1) every export route answers
// 429 while items still stream; with one items stream held (Items 1) items
// of every collection answer 429. Signed-in requests are not counted and
// read the main pool, whatever is held.
func TestPublicStreamsEveryRoute(t *testing.T) {
	e := newStreamEnv(t, Config{Streams: StreamConfig{Exports: 1, Items: 1}})
	agency := e.apiToken("agency1", zoning.RoleAgency)
	heldX, _, waitX := e.startReaders(t, 1, "/api/v1/export/buildings.geojson", func(int) string { return "192.0.2.1" })
	if heldX != 1 {
		t.Fatalf("the export was not held (%d)", heldX)
	}
	exports := []string{"/api/v1/export/zones.geojson", "/api/v1/export/zone-versions.geojson", "/api/v1/export/buildings.geojson",
		"/api/v1/export/notices.geojson", "/api/v1/export/lookup.json", "/api/v1/export/addresses.csv"}
	for _, p := range exports {
		res := e.do(request{method: "GET", path: p})
		res.expectError(t, http.StatusTooManyRequests, "too many public exports", p+" with the exports limit full")
		if res.Header.Get("Retry-After") != "5" {
			t.Errorf("%s: Retry-After %q", p, res.Header.Get("Retry-After"))
		}
		e.do(request{method: "GET", path: p, bearer: agency}).expect(t, http.StatusOK, p+" signed in, the exports limit full")
	}
	heldI, _, waitI := e.startReaders(t, 1, "/ogc/collections/buildings/items?limit=100", func(int) string { return "192.0.2.2" })
	if heldI != 1 {
		t.Fatalf("the items stream was not held with the exports limit full (%d)", heldI)
	}
	if got := e.srv.streams.store.Pool.Stat().AcquiredConns(); got != 2 {
		t.Errorf("the public pool has %d connections taken for an export and an items stream held", got)
	}
	for _, id := range []string{"zones", "zone-versions", "buildings", "barriers", "notices"} {
		p := "/ogc/collections/" + id + "/items"
		e.do(request{method: "GET", path: p}).expectError(t, http.StatusTooManyRequests, "too many public items", p+" with the items limit full")
		e.do(request{method: "GET", path: p + "?f=html"}).expectError(t, http.StatusTooManyRequests, "too many public items", p+" as HTML with the items limit full")
		e.do(request{method: "GET", path: p, bearer: agency}).expect(t, http.StatusOK, p+" signed in, the items limit full")
	}
	// What is not a stream stays open: collection documents, one feature.
	e.do(request{method: "GET", path: "/ogc/collections/buildings"}).expect(t, http.StatusOK, "a collection with the limits full")
	e.releaseAll()
	waitX()
	waitI()
	e.expectStreamsIdle(t)
	e.do(request{method: "GET", path: "/ogc/collections/buildings/items?limit=5"}).expect(t, http.StatusOK, "items once the stream is gone")
	e.do(request{method: "GET", path: "/api/v1/export/lookup.json"}).expect(t, http.StatusOK, "an export once the stream is gone")
	e.expectStreamsIdle(t)
}

// The public pool's sessions carry its statement_timeout (the main pool's
// none); a public query past it answers 503 with a clear message — not a
// 500, nothing about the query — and gives its connection back. The
// buildings table is locked by a transaction on the main pool, so the
// public query waits past the timeout: no sleep decides the outcome.
func TestPublicStreamsStatementTimeout(t *testing.T) {
	e := newStreamEnv(t, Config{Streams: StreamConfig{StatementTimeout: 2 * time.Second}})
	e.srv.streams.held = nil
	// A public query that waits for the lock without a timeout fails the
	// test instead of hanging it.
	e.ts.Client().Timeout = 30 * time.Second
	ctx := context.Background()
	var pubTimeout, app, mainTimeout string
	if err := e.srv.streams.store.Pool.QueryRow(ctx, `SELECT current_setting('statement_timeout'), current_setting('application_name')`).Scan(&pubTimeout, &app); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Pool.QueryRow(ctx, `SHOW statement_timeout`).Scan(&mainTimeout); err != nil {
		t.Fatal(err)
	}
	if pubTimeout != "2s" || app != "riskzone-public" || mainTimeout != "0" {
		t.Fatalf("statement_timeout: public pool %q (application %q), main pool %q; want 2s riskzone-public, 0", pubTimeout, app, mainTimeout)
	}
	tx, err := e.store.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `LOCK TABLE buildings IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/api/v1/export/buildings.geojson", "/ogc/collections/buildings/items?limit=10", "/ogc/collections/buildings/items?f=html"} {
		res := e.do(request{method: "GET", path: p})
		res.expectError(t, http.StatusServiceUnavailable, "longer than a public download may take", p+" past statement_timeout")
		if res.Header.Get("Retry-After") == "" || strings.Contains(string(res.body), "57014") || strings.Contains(string(res.body), "statement") {
			t.Errorf("%s: Retry-After %q, body %s", p, res.Header.Get("Retry-After"), res.body)
		}
		e.expectStreamsIdle(t)
	}
	if logs := e.logs.String(); strings.Contains(logs, "internal error") || !strings.Contains(logs, "past statement_timeout") {
		t.Errorf("a statement timeout logged as an internal error, or not at all:\n%s", logs)
	}
	// A signed-in export reads the main pool: no timeout there (it waits
	// for the lock, and gets its answer once the lock is gone).
	agency := e.apiToken("agency1", zoning.RoleAgency)
	signed := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest("GET", e.ts.URL+"/api/v1/export/buildings.geojson?bbox=0,0,1,1", nil)
		req.Header.Set("Authorization", "Bearer "+agency)
		res, err := e.ts.Client().Do(req)
		if err != nil {
			signed <- err.Error()
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		signed <- fmt.Sprintf("%d %s", res.StatusCode, b)
	}()
	waitForLockWaiter(t, e)
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := <-signed; !strings.HasPrefix(got, "200 ") {
		t.Errorf("a signed-in export that waited for the lock: %s", got)
	}
	e.do(request{method: "GET", path: "/api/v1/export/buildings.geojson"}).expect(t, http.StatusOK, "an export once the lock is gone")
	e.expectStreamsIdle(t)
}

// waitForLockWaiter returns once a session of the main pool waits for a
// lock (the signed-in export behind the test's LOCK TABLE).
func waitForLockWaiter(t *testing.T, e *streamEnv) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := e.store.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'riskzone' AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the signed-in export never waited for the lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
