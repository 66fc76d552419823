package workers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/riskzone/riskzone/server/workers"
	"github.com/riskzone/riskzone/server/workers/workerstest"
)

// webhookEnv is the demo story with its own subscriber's delivery of
// notice 1 queued (the story's own deliveries are set aside).
func webhookEnv(t *testing.T, url string, secret string) (*storyEnv, int64) {
	e := newStoryEnv(t)
	return e, workerstest.QueueDelivery(t, e.store, e.story.Notices[0], url, secret)
}

// plainClient is a client without the server's outbound rules: the
// receivers of these tests listen on loopback.
func plainClient(timeout time.Duration) *http.Client { return &http.Client{Timeout: timeout} }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// A worker stopped mid-delivery (its server killed): its lease expires, a
// fresh worker on the same database delivers, and the receiver accepts the
// notice once.
func TestWebhookResumesAfterKill(t *testing.T) {
	const secret = "test-secret-abcdefghij"
	rc := workerstest.NewReceiver(t, secret, func(n int) int {
		if n == 1 {
			return 0 // hang: the first server dies while it waits
		}
		return http.StatusOK
	})
	e, outboxID := webhookEnv(t, rc.URL+"/hook", secret)
	cfg := workers.WebhookConfig{BaseDelay: 100 * time.Millisecond, Poll: 50 * time.Millisecond, Lease: time.Second, Timeout: 900 * time.Millisecond}
	first := workers.NewDeliveries(e.store, quiet(), cfg, "", plainClient)
	ctx1, kill := context.WithCancel(context.Background())
	done1 := make(chan struct{})
	go func() { first.Run(ctx1); close(done1) }()
	h1 := workerstest.WaitHit(t, rc)
	kill() // the server dies between the notice and its delivery
	<-done1
	var state string
	if err := e.store.Pool.QueryRow(context.Background(), `SELECT state FROM outbox WHERE id = $1`, outboxID).Scan(&state); err != nil {
		t.Fatal(err)
	}
	if state != "running" {
		t.Fatalf("after the kill the row is %s, want running (leased)", state)
	}
	// A fresh worker (a fresh server's) on the same database.
	second := workers.NewDeliveries(e.store, quiet(), cfg, "", plainClient)
	ctx2, stop := context.WithCancel(context.Background())
	done2 := make(chan struct{})
	go func() { second.Run(ctx2); close(done2) }()
	h2 := workerstest.WaitHit(t, rc)
	workerstest.WaitState(t, e.store, outboxID, "delivered")
	stop()
	<-done2
	if h2.Key != h1.Key || h2.Verified != nil {
		t.Errorf("resumed delivery key %q (first %q), signature %v", h2.Key, h1.Key, h2.Verified)
	}
	if len(rc.Accepted()) != 1 || rc.Accepted()[h1.Key] != 1 {
		t.Errorf("accepted %v, want the notice once", rc.Accepted())
	}
	if err := e.store.Pool.QueryRow(context.Background(), `SELECT state FROM outbox WHERE id = $1`, outboxID).Scan(&state); err != nil {
		t.Fatal(err)
	}
	if state != "delivered" {
		t.Errorf("row %s, want delivered", state)
	}
}

// BenchmarkWebhookFanout: one notice to 1,000 local subscribers; the time
// until all are delivered (go test -run '^$' -bench WebhookFanout -benchtime 1x ./server/workers/).
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
	e := newStoryEnv(b)
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
	w := workers.NewDeliveries(e.store, quiet(), workers.WebhookConfig{Poll: 20 * time.Millisecond}, "", plainClient)
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

// A receiver that never accepts: the row is dead after MaxAttempts, each
// attempt recorded with its status.
func TestWebhookDead(t *testing.T) {
	const secret = "test-secret-deaddeaddead"
	rc := workerstest.NewReceiver(t, secret, func(int) int { return http.StatusServiceUnavailable })
	e, outboxID := webhookEnv(t, rc.URL+"/hook", secret)
	w := workers.NewDeliveries(e.store, quiet(), workers.WebhookConfig{BaseDelay: 50 * time.Millisecond, MaxAttempts: 2, Poll: 50 * time.Millisecond}, "", plainClient)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	workerstest.WaitHit(t, rc)
	workerstest.WaitHit(t, rc)
	workerstest.WaitState(t, e.store, outboxID, "dead")
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
