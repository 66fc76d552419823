package server

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/riskzone/riskzone/server/workers"
	"github.com/riskzone/riskzone/server/workers/workerstest"
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// A subscriber gets its notices in order: when the oldest due delivery
// fails, the later ones wait for it (given back without an attempt) rather
// than overtaking it.
func TestWebhookDeliversInNoticeOrder(t *testing.T) {
	const secret = "test-secret-in-order-01"
	rc := workerstest.NewReceiver(t, secret, func(n int) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	e := newPublicEnv(t)
	ctx := context.Background()
	if _, err := e.store.Pool.Exec(ctx, `UPDATE outbox SET state = 'dead', last_error = 'set aside by the test'`); err != nil {
		t.Fatal(err)
	}
	sub, _, err := postgis.Outbox{S: e.store}.CreateSubscriber(ctx, zoning.Origin{Actor: zoning.CLI()},
		zoning.NewSubscriber{Name: "ordered agency", URL: rc.URL + "/hook", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	// The story's notices, newest inserted first, all due at once.
	notices := slices.Clone(e.story.Notices)
	slices.Reverse(notices)
	for _, n := range notices {
		if _, err := e.store.Pool.Exec(ctx, `INSERT INTO outbox (notice_id, subscriber_id, idempotency_key, next_attempt_at)
			VALUES ($1, $2, gen_random_uuid(), '2022-01-01')`, n, sub.ID); err != nil {
			t.Fatal(err)
		}
	}
	startWorker(t, e, workers.WebhookConfig{BaseDelay: 100 * time.Millisecond, Jitter: 0, MaxAttempts: 5, Poll: 30 * time.Millisecond})
	var order []int64
	for len(order) < len(notices)+1 {
		h := workerstest.WaitHit(t, rc)
		var body struct {
			Notice zoning.Notice `json:"notice"`
		}
		if err := json.Unmarshal(h.Body, &body); err != nil {
			t.Fatal(err)
		}
		order = append(order, body.Notice.ID)
	}
	want := append([]int64{e.story.Notices[0]}, e.story.Notices...) // the first fails once, then all in order
	if !slices.Equal(order, want) {
		t.Fatalf("the subscriber got notices %v, want %v", order, want)
	}
	var ids []int64
	if err := e.store.Pool.QueryRow(ctx, `SELECT array_agg(id) FROM outbox WHERE subscriber_id = $1`, sub.ID).Scan(&ids); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		workerstest.WaitState(t, e.store, id, "delivered")
	}
	rows, err := e.store.Pool.Query(ctx, `SELECT o.notice_id, o.state, o.attempts, (SELECT count(*) FROM delivery_attempts a WHERE a.outbox_id = o.id)
		FROM outbox o WHERE o.subscriber_id = $1 ORDER BY o.notice_id`, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int64
		var state string
		var attempts, recorded int
		if err := rows.Scan(&n, &state, &attempts, &recorded); err != nil {
			t.Fatal(err)
		}
		wantAttempts := 1
		if n == e.story.Notices[0] {
			wantAttempts = 2
		}
		if attempts != wantAttempts || recorded != wantAttempts {
			t.Errorf("notice %d: %s after %d attempts (%d recorded), want %d: a row given back is not an attempt", n, state, attempts,
				recorded, wantAttempts)
		}
	}
}
