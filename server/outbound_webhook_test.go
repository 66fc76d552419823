package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/server/workers"
	"github.com/riskzone/riskzone/server/workers/workerstest"
	"github.com/riskzone/riskzone/zoning"
)

// Subscriber creation refuses a plain-http URL (400, nothing created)
// unless the allowlist names the receiver.
func TestSubscriberHTTPURLRefused(t *testing.T) {
	e := newTestEnv(t, Config{}, nil)
	out, err := parseOutbound(OutboundConfig{Allow: []string{"127.0.0.1:9443", "10.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.out = out // production: no --insecure-dev
	e.addUser("boss", zoning.RoleAdmin, "correct horse battery")
	s := e.login("boss", "correct horse battery")
	create := func(url string) response {
		return e.do(request{method: "POST", path: "/api/v1/admin/subscribers", json: map[string]any{"name": "agency", "url": url}, cookie: s.cookie, csrf: s.csrf})
	}
	count := func() int {
		var n int
		if err := e.store.Pool.QueryRow(context.Background(), `SELECT count(*) FROM subscribers`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	for _, u := range []string{"http://agency.example/hook", "http://127.0.0.1:9444/hook", "ftp://agency.example/hook", "https://user:pw@agency.example/hook"} {
		create(u).expectError(t, http.StatusBadRequest, "url", u)
	}
	if n := count(); n != before {
		t.Fatalf("%d subscribers after refusals, want %d", n, before)
	}
	for _, u := range []string{"https://agency.example/hook", "http://127.0.0.1:9443/hook", "http://10.2.3.4/hook"} {
		create(u).expect(t, http.StatusCreated, u)
	}
}

// A delivery to a receiver on loopback is refused at dial time when the
// allowlist does not name it: the attempt fails, the receiver sees nothing.
func TestWebhookDeliveryRefusedToLoopback(t *testing.T) {
	const secret = "test-secret-0123456789"
	rc := workerstest.NewReceiver(t, secret, func(int) int { return http.StatusOK })
	e, outboxID := webhookEnv(t, rc.URL+"/hook", secret)
	strict, err := parseOutbound(OutboundConfig{InsecureHTTP: true}) // http allowed, loopback not
	if err != nil {
		t.Fatal(err)
	}
	w := workers.NewDeliveries(e.store, e.srv.log, workers.WebhookConfig{MaxAttempts: 1, Poll: 50 * time.Millisecond, Timeout: 2 * time.Second}, "", strict.client)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	workerstest.WaitState(t, e.store, outboxID, "dead")
	cancel()
	<-done
	var lastErr string
	if err := e.store.Pool.QueryRow(context.Background(), `SELECT coalesce(last_error, '') FROM outbox WHERE id = $1`, outboxID).Scan(&lastErr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(lastErr, "loopback") && !strings.Contains(lastErr, "refused") {
		t.Errorf("last error %q, want the refusal", lastErr)
	}
	select {
	case h := <-rc.Hits:
		t.Fatalf("the receiver got a delivery: %+v", h)
	default:
	}
}
