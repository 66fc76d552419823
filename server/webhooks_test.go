package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/riskzone/riskzone/server/workers"
	"github.com/riskzone/riskzone/server/workers/workerstest"
	"github.com/riskzone/riskzone/zoning"
)

// webhookEnv is the demo story with its own subscriber's delivery of
// notice 1 queued (the story's own deliveries are set aside).
func webhookEnv(t *testing.T, url string, secret string) (*publicEnv, int64) {
	e := newPublicEnv(t)
	return e, workerstest.QueueDelivery(t, e.store, e.story.Notices[0], url, secret)
}

// A receiver that fails twice then accepts gets exactly one accepted
// delivery: signed, with one idempotency key, retried after the configured
// backoff; every attempt is recorded.
func TestWebhookRetries(t *testing.T) {
	const secret = "test-secret-0123456789"
	rc := workerstest.NewReceiver(t, secret, func(n int) int {
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
	var hits []workerstest.Hit
	for len(hits) < 3 {
		hits = append(hits, workerstest.WaitHit(t, rc))
	}
	workerstest.WaitState(t, e.store, outboxID, "delivered")
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
		if h.Verified != nil {
			t.Errorf("attempt %d: %v", i+1, h.Verified)
		}
		if h.Key != hits[0].Key || h.Key == "" {
			t.Errorf("attempt %d key %q, first %q", i+1, h.Key, hits[0].Key)
		}
		if h.Attempt != fmt.Sprint(i+1) {
			t.Errorf("attempt header %q, want %d", h.Attempt, i+1)
		}
	}
	if d := hits[1].At.Sub(hits[0].At); d < cfg.BaseDelay {
		t.Errorf("second attempt after %s, want at least %s", d, cfg.BaseDelay)
	}
	if d := hits[2].At.Sub(hits[1].At); d < 2*cfg.BaseDelay {
		t.Errorf("third attempt after %s, want at least %s (doubled)", d, 2*cfg.BaseDelay)
	}
	if len(rc.Accepted()) != 1 || rc.Accepted()[hits[0].Key] != 1 {
		t.Errorf("accepted deliveries %v, want exactly one", rc.Accepted())
	}
	var body struct {
		Notice zoning.Notice `json:"notice"`
		Zones  struct {
			Type     string            `json:"type"`
			Features []json.RawMessage `json:"features"`
		} `json:"zones"`
		Links map[string]string `json:"links"`
	}
	if err := json.Unmarshal(hits[2].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Notice.ID != e.story.Notices[0] || body.Zones.Type != "FeatureCollection" || len(body.Zones.Features) == 0 || body.Links["cap"] == "" {
		t.Errorf("payload %s", hits[2].Body)
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
