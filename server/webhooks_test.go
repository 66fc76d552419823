package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/riskzone/riskzone/server/workers"
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/demo"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// hit is one request the test receiver got.
type hit struct {
	at       time.Time
	key      string
	attempt  string
	verified error
	status   int
	body     []byte
}

// receiver is a webhook endpoint: answer decides each request's status (0:
// block until the client gives up); every request is reported on hits.
type receiver struct {
	*httptest.Server
	hits   chan hit
	mu     sync.Mutex
	n      int
	seen   map[string]int // accepted deliveries by idempotency key
	secret string
}

func newReceiver(t *testing.T, secret string, answer func(n int) int) *receiver {
	rc := &receiver{hits: make(chan hit, 100), seen: map[string]int{}, secret: secret}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.n++
		n := rc.n
		rc.mu.Unlock()
		h := hit{at: time.Now(), key: r.Header.Get(workers.HeaderIdempotencyKey), attempt: r.Header.Get("X-Riskzone-Attempt"), body: body,
			verified: workers.VerifyWebhook(secret, r.Header, body, time.Now(), 5*time.Minute)}
		h.status = answer(n)
		if h.status == 0 {
			rc.hits <- h
			<-r.Context().Done() // the sender died mid-delivery
			return
		}
		if h.status == http.StatusOK {
			rc.mu.Lock()
			rc.seen[h.key]++ // a real receiver dedupes by this key
			rc.mu.Unlock()
		}
		w.WriteHeader(h.status)
		rc.hits <- h
	}))
	t.Cleanup(rc.Close)
	return rc
}

// webhookEnv is the demo story with its own subscriber's delivery of
// notice 1 queued (the story's own deliveries are set aside).
func webhookEnv(t *testing.T, url string, secret string) (*publicEnv, int64) {
	e := newPublicEnv(t)
	ctx := context.Background()
	if _, err := e.store.Pool.Exec(ctx, `UPDATE outbox SET state = 'dead', last_error = 'set aside by the test'`); err != nil {
		t.Fatal(err)
	}
	sub, _, err := postgis.Outbox{S: e.store}.CreateSubscriber(ctx, zoning.Origin{Actor: zoning.CLI()},
		zoning.NewSubscriber{Name: "test agency", URL: url, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := e.store.Pool.QueryRow(ctx, `INSERT INTO outbox (notice_id, subscriber_id, idempotency_key) VALUES ($1, $2, gen_random_uuid()) RETURNING id`,
		e.story.Notices[0], sub.ID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return e, id
}

// waitState waits (at most 10 s) until the outbox row reaches state: the
// worker records an attempt after the receiver has answered.
func waitState(t *testing.T, store *postgis.Store, id int64, state string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got string
		if err := store.Pool.QueryRow(context.Background(), `SELECT state FROM outbox WHERE id = $1`, id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox row %d is %s, want %s", id, got, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitHit(t *testing.T, rc *receiver) hit {
	t.Helper()
	select {
	case h := <-rc.hits:
		return h
	case <-time.After(20 * time.Second):
		t.Fatal("no delivery within 20 s")
	}
	return hit{}
}

// A receiver that fails twice then accepts gets exactly one accepted
// delivery: signed, with one idempotency key, retried after the configured
// backoff; every attempt is recorded.
func TestWebhookRetries(t *testing.T) {
	const secret = "test-secret-0123456789"
	rc := newReceiver(t, secret, func(n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	e, outboxID := webhookEnv(t, rc.URL+"/hook", secret)
	cfg := workers.WebhookConfig{BaseDelay: 300 * time.Millisecond, MaxDelay: 2 * time.Second, Jitter: 0, MaxAttempts: 5, Poll: 50 * time.Millisecond,
		Lease: 5 * time.Second, Timeout: 2 * time.Second}
	// The delivery has been due for 90 s: the outbox lag says so before the
	// worker starts.
	if _, err := e.store.Pool.Exec(context.Background(), `UPDATE outbox SET next_attempt_at = now() - interval '90 seconds' WHERE id = $1`, outboxID); err != nil {
		t.Fatal(err)
	}
	scrape := scrapeMetrics(t, e.srv)
	failedBefore := metricValue(t, scrape, "riskzone_webhook_failed_attempts_total")
	if lag := metricValue(t, scrape, "riskzone_outbox_lag_seconds"); lag < 90 || lag > 300 {
		t.Errorf("outbox lag %.1f s with a delivery due for 90 s", lag)
	}
	if n := metricValue(t, scrape, `riskzone_outbox_deliveries{state="pending"}`); n != 1 {
		t.Errorf("%v pending deliveries in the metrics, want 1", n)
	}
	w := workers.NewDeliveries(e.store, e.srv.log, cfg, "http://riskzone.test", e.srv.out.client)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	var hits []hit
	for len(hits) < 3 {
		hits = append(hits, waitHit(t, rc))
	}
	waitState(t, e.store, outboxID, "delivered")
	cancel()
	<-done
	// The two failures are counted and the lag is gone (the collector reads
	// the outbox at most every 2 s).
	for deadline := time.Now().Add(10 * time.Second); ; {
		scrape = scrapeMetrics(t, e.srv)
		failed := metricValue(t, scrape, "riskzone_webhook_failed_attempts_total")
		lag := metricValue(t, scrape, "riskzone_outbox_lag_seconds")
		delivered := metricValue(t, scrape, `riskzone_outbox_deliveries{state="delivered"}`)
		if failed == failedBefore+2 && lag == 0 && delivered >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics after delivery: %v failed attempts (before %v, want 2 more), lag %v s (want 0), %v delivered",
				failed, failedBefore, lag, delivered)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i, h := range hits {
		if h.verified != nil {
			t.Errorf("attempt %d: %v", i+1, h.verified)
		}
		if h.key != hits[0].key || h.key == "" {
			t.Errorf("attempt %d key %q, first %q", i+1, h.key, hits[0].key)
		}
		if h.attempt != fmt.Sprint(i+1) {
			t.Errorf("attempt header %q, want %d", h.attempt, i+1)
		}
	}
	if d := hits[1].at.Sub(hits[0].at); d < cfg.BaseDelay {
		t.Errorf("second attempt after %s, want at least %s", d, cfg.BaseDelay)
	}
	if d := hits[2].at.Sub(hits[1].at); d < 2*cfg.BaseDelay {
		t.Errorf("third attempt after %s, want at least %s (doubled)", d, 2*cfg.BaseDelay)
	}
	if len(rc.seen) != 1 || rc.seen[hits[0].key] != 1 {
		t.Errorf("accepted deliveries %v, want exactly one", rc.seen)
	}
	var body struct {
		Notice zoning.Notice `json:"notice"`
		Zones  struct {
			Type     string            `json:"type"`
			Features []json.RawMessage `json:"features"`
		} `json:"zones"`
		Links map[string]string `json:"links"`
	}
	if err := json.Unmarshal(hits[2].body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Notice.ID != e.story.Notices[0] || body.Zones.Type != "FeatureCollection" || len(body.Zones.Features) == 0 || body.Links["cap"] == "" {
		t.Errorf("payload %s", hits[2].body)
	}
	var state string
	var attempts, recorded int
	if err := e.store.Pool.QueryRow(context.Background(), `SELECT state, attempts, (SELECT count(*) FROM delivery_attempts WHERE outbox_id = $1)
		FROM outbox WHERE id = $1`, outboxID).Scan(&state, &attempts, &recorded); err != nil {
		t.Fatal(err)
	}
	if state != "delivered" || attempts != 3 || recorded != 3 {
		t.Errorf("outbox %s after %d attempts, %d recorded", state, attempts, recorded)
	}
}

// A server stopped mid-delivery: its lease expires, a fresh server's worker
// delivers, and the receiver accepts the notice once.
func TestWebhookResumesAfterKill(t *testing.T) {
	const secret = "test-secret-abcdefghij"
	rc := newReceiver(t, secret, func(n int) int {
		if n == 1 {
			return 0 // hang: the first server dies while it waits
		}
		return http.StatusOK
	})
	e, outboxID := webhookEnv(t, rc.URL+"/hook", secret)
	cfg := workers.WebhookConfig{BaseDelay: 100 * time.Millisecond, Poll: 50 * time.Millisecond, Lease: time.Second, Timeout: 900 * time.Millisecond}
	first := workers.NewDeliveries(e.store, e.srv.log, cfg, "", e.srv.out.client)
	ctx1, kill := context.WithCancel(context.Background())
	done1 := make(chan struct{})
	go func() { first.Run(ctx1); close(done1) }()
	h1 := waitHit(t, rc)
	kill() // the server dies between the notice and its delivery
	<-done1
	var state string
	if err := e.store.Pool.QueryRow(context.Background(), `SELECT state FROM outbox WHERE id = $1`, outboxID).Scan(&state); err != nil {
		t.Fatal(err)
	}
	if state != "running" {
		t.Fatalf("after the kill the row is %s, want running (leased)", state)
	}
	// A fresh server on the same database.
	fresh := New(e.srv.cfg, e.store, e.srv.log)
	second := workers.NewDeliveries(fresh.store, fresh.log, cfg, "", e.srv.out.client)
	ctx2, stop := context.WithCancel(context.Background())
	done2 := make(chan struct{})
	go func() { second.Run(ctx2); close(done2) }()
	h2 := waitHit(t, rc)
	waitState(t, e.store, outboxID, "delivered")
	stop()
	<-done2
	if h2.key != h1.key || h2.verified != nil {
		t.Errorf("resumed delivery key %q (first %q), signature %v", h2.key, h1.key, h2.verified)
	}
	if len(rc.seen) != 1 || rc.seen[h1.key] != 1 {
		t.Errorf("accepted %v, want the notice once", rc.seen)
	}
	if err := e.store.Pool.QueryRow(context.Background(), `SELECT state FROM outbox WHERE id = $1`, outboxID).Scan(&state); err != nil {
		t.Fatal(err)
	}
	if state != "delivered" {
		t.Errorf("row %s, want delivered", state)
	}
}

// BenchmarkWebhookFanout: one notice to 1,000 local subscribers; the time
// until all are delivered (go test -run '^$' -bench WebhookFanout -benchtime 1x ./server/).
func BenchmarkWebhookFanout(b *testing.B) {
	var mu sync.Mutex
	got := 0
	all := make(chan struct{})
	const n = 1000
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
		mu.Lock()
		got++
		if got == n {
			close(all)
		}
		mu.Unlock()
	}))
	defer srv.Close()
	e := newPublicEnvB(b, 3000)
	ctx := context.Background()
	if _, err := e.store.Pool.Exec(ctx, `UPDATE outbox SET state = 'dead', last_error = 'set aside'`); err != nil {
		b.Fatal(err)
	}
	if _, err := e.store.Pool.Exec(ctx, `INSERT INTO subscribers (name, url, secret)
		SELECT 'agency ' || i, $1 || '/hook/' || i, 'fanout-secret-' || lpad(i::text, 6, '0') FROM generate_series(1, $2) i`, srv.URL, n); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	if _, err := e.store.Pool.Exec(ctx, `INSERT INTO outbox (notice_id, subscriber_id, idempotency_key)
		SELECT $1, id, gen_random_uuid() FROM subscribers WHERE url LIKE $2 || '%'`, e.story.Notices[0], srv.URL); err != nil {
		b.Fatal(err)
	}
	w := workers.NewDeliveries(e.store, e.srv.log, workers.WebhookConfig{Poll: 20 * time.Millisecond}, "", e.srv.out.client)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(wctx); close(done) }()
	select {
	case <-all:
	case <-time.After(2 * time.Minute):
		b.Fatal("not all delivered in 2 minutes")
	}
	// Delivered means recorded too.
	for {
		var left int
		if err := e.store.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE state <> 'delivered' AND last_error IS DISTINCT FROM 'set aside'`).Scan(&left); err != nil {
			b.Fatal(err)
		}
		if left == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	el := time.Since(start)
	cancel()
	<-done
	b.ReportMetric(el.Seconds(), "s/1000-deliveries")
	b.ReportMetric(float64(n)/el.Seconds(), "deliveries/s")
}

// benchEnv is the demo story for benchmarks.
type benchEnv struct {
	store *postgis.Store
	srv   *Server
	story *demo.StorySummary
	sum   *demo.Summary
}

func newPublicEnvB(b *testing.B, buildings int) *benchEnv {
	b.Helper()
	store := pgtest.NewStore(b)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	sum, err := demo.Load(ctx, store, demo.Options{Seed: 1, Buildings: buildings, Today: time.Now().UTC()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	st, err := demo.TellStory(ctx, store, sum)
	if err != nil {
		b.Fatal(err)
	}
	return &benchEnv{store: store, srv: New(Config{}, store, log), story: st, sum: sum}
}

// A receiver that never accepts: the row is dead after MaxAttempts, each
// attempt recorded with its status.
func TestWebhookDead(t *testing.T) {
	const secret = "test-secret-deaddeaddead"
	rc := newReceiver(t, secret, func(int) int { return http.StatusServiceUnavailable })
	e, outboxID := webhookEnv(t, rc.URL+"/hook", secret)
	w := workers.NewDeliveries(e.store, e.srv.log, workers.WebhookConfig{BaseDelay: 50 * time.Millisecond, MaxAttempts: 2, Poll: 50 * time.Millisecond}, "", e.srv.out.client)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	waitHit(t, rc)
	waitHit(t, rc)
	waitState(t, e.store, outboxID, "dead")
	cancel()
	<-done
	var codes []int
	rows, err := e.store.Pool.Query(context.Background(), `SELECT status_code FROM delivery_attempts WHERE outbox_id = $1 ORDER BY attempt`, outboxID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c int
		_ = rows.Scan(&c)
		codes = append(codes, c)
	}
	rows.Close()
	if len(codes) != 2 || codes[0] != 503 || codes[1] != 503 {
		t.Errorf("attempts %v", codes)
	}
}
