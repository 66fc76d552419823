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
	"github.com/riskzone/riskzone/zoning/postgis"
)

// startWorker runs a delivery worker until the test ends.
func startWorker(t *testing.T, e *publicEnv, cfg workers.WebhookConfig) {
	t.Helper()
	w := workers.NewDeliveries(e.store, e.srv.log, cfg, "http://riskzone.test", e.srv.out.client)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// An admin redelivers a dead delivery once the receiver is fixed: the same
// row, idempotency key, body and signature scheme, with a fresh retry
// budget; a delivery that is not dead is refused with 409, an unknown one
// is 404, and the audit log names the admin.
func TestWebhookRedeliverDeadDelivery(t *testing.T) {
	const secret = "test-secret-redeliver-01"
	// Down for three requests (two attempts, then the first attempt after
	// the redelivery), then fixed.
	rc := workerstest.NewReceiver(t, secret, func(n int) int {
		if n <= 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	e, outboxID := webhookEnv(t, rc.URL+"/hook", secret)
	ctx := context.Background()
	var sub, other int64
	if err := e.store.Pool.QueryRow(ctx, `SELECT subscriber_id, (SELECT min(id) FROM outbox WHERE id <> $1) FROM outbox WHERE id = $1`,
		outboxID).Scan(&sub, &other); err != nil {
		t.Fatal(err)
	}
	e.addUser("ops", zoning.RoleAdmin, "ops-password-123")
	e.addUser("pub", zoning.RolePublisher, "pub-password-123")
	ops, pub := e.login("ops", "ops-password-123"), e.login("pub", "pub-password-123")
	redeliver := func(s session, subID, id any) response {
		return e.do(request{method: "POST", path: fmt.Sprintf("/api/v1/admin/subscribers/%v/deliveries/%v/redeliver", subID, id),
			cookie: s.cookie, csrf: s.csrf})
	}
	// Refusals before anything was attempted: the row is pending.
	redeliver(ops, sub, outboxID).expectError(t, http.StatusConflict, "is pending, not dead", "redeliver a pending delivery")
	redeliver(ops, sub, 999999).expectError(t, http.StatusNotFound, "has no delivery 999999", "redeliver an unknown delivery")
	redeliver(ops, sub, other).expectError(t, http.StatusNotFound, "has no delivery", "redeliver another subscriber's delivery")
	redeliver(ops, 999999, outboxID).expectError(t, http.StatusNotFound, "subscriber 999999 not found", "redeliver for an unknown subscriber")
	redeliver(ops, sub, "x").expectError(t, http.StatusBadRequest, "positive integer", "redeliver a bad id")
	redeliver(pub, sub, outboxID).expect(t, http.StatusForbidden, "a publisher redelivers")
	var refused int
	if err := e.store.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'delivery.redeliver' AND outcome = 'refused'
		AND actor = 'ops' AND entity_id = $1`, fmt.Sprint(outboxID)).Scan(&refused); err != nil || refused != 1 {
		t.Fatalf("the refused redelivery is audited %d times (%v)", refused, err)
	}

	startWorker(t, e, workers.WebhookConfig{BaseDelay: 50 * time.Millisecond, Jitter: 0, MaxAttempts: 2, Poll: 50 * time.Millisecond})
	first := workerstest.WaitHit(t, rc)
	workerstest.WaitHit(t, rc)
	workerstest.WaitState(t, e.store, outboxID, "dead")
	var listed struct {
		Deliveries []postgis.DeliveryRecord `json:"deliveries"`
	}
	e.do(request{method: "GET", path: fmt.Sprintf("/api/v1/admin/subscribers/%d/deliveries?state=dead", sub), cookie: ops.cookie}).
		expect(t, http.StatusOK, "list dead deliveries").decode(t, &listed)
	if len(listed.Deliveries) != 1 || listed.Deliveries[0].ID != outboxID || listed.Deliveries[0].IdempotencyKey != first.Key {
		t.Fatalf("dead deliveries %+v", listed.Deliveries)
	}
	e.do(request{method: "GET", path: fmt.Sprintf("/api/v1/admin/subscribers/%d/deliveries?state=lost", sub), cookie: ops.cookie}).
		expectError(t, http.StatusBadRequest, "state \"lost\"", "list by a bad state")

	// Redelivered: the answer is the row as written.
	var d postgis.DeliveryRecord
	redeliver(ops, sub, outboxID).expect(t, http.StatusOK, "redeliver the dead delivery").decode(t, &d)
	if d.ID != outboxID || d.State != "pending" || d.IdempotencyKey != first.Key || d.Redeliveries != 1 || d.RedeliveredAt == nil || d.Attempts != 2 {
		t.Fatalf("redelivered %+v, want pending with the original key %s", d, first.Key)
	}
	// The first attempt after the redelivery fails too: with MaxAttempts 2
	// the row would be dead again without a fresh budget.
	again := workerstest.WaitHit(t, rc)
	final := workerstest.WaitHit(t, rc)
	workerstest.WaitState(t, e.store, outboxID, "delivered")
	for _, h := range []workerstest.Hit{again, final} {
		if h.Key != first.Key || h.Verified != nil || string(h.Body) != string(first.Body) {
			t.Fatalf("redelivered attempt %s: key %q (original %q), signature %v, same body %v", h.Attempt, h.Key, first.Key,
				h.Verified, string(h.Body) == string(first.Body))
		}
	}
	if again.Attempt != "3" || final.Attempt != "4" || final.Status != http.StatusOK {
		t.Fatalf("attempts after the redelivery: %s, %s (status %d)", again.Attempt, final.Attempt, final.Status)
	}
	if rc.Accepted()[first.Key] != 1 {
		t.Fatalf("accepted %v, want the notice once", rc.Accepted())
	}
	redeliver(ops, sub, outboxID).expectError(t, http.StatusConflict, "is delivered, not dead", "redeliver a delivered delivery")

	var actor, key string
	var recorded int
	if err := e.store.Pool.QueryRow(ctx, `SELECT actor, after->>'idempotency_key', (SELECT count(*) FROM delivery_attempts WHERE outbox_id = $1)
		FROM audit_log WHERE action = 'delivery.redeliver' AND outcome = 'ok' AND entity_id = $2`, outboxID, fmt.Sprint(outboxID)).
		Scan(&actor, &key, &recorded); err != nil {
		t.Fatal(err)
	}
	if actor != "ops" || key != first.Key || recorded != 4 {
		t.Fatalf("audit: actor %q key %q; %d attempts recorded, want 4", actor, key, recorded)
	}
	var body struct {
		Notice zoning.Notice `json:"notice"`
	}
	if err := json.Unmarshal(final.Body, &body); err != nil || body.Notice.ID != e.story.Notices[0] {
		t.Fatalf("redelivered body: notice %d (%v)", body.Notice.ID, err)
	}
}
