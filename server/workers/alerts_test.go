package workers_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskzone/riskzone/server/workers"
	"github.com/riskzone/riskzone/server/workers/workerstest"
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// Overdue closed-loop steps with the clock at 03:00 in Beijing (19:00 UTC):
// each step is raised once and delivered to the command centre signed,
// without a residence; a failed delivery is kept and retried later (the
// app's badge: TestClosedLoopBadge in server/alerts_test.go).
func TestClosedLoopAlerts(t *testing.T) {
	now := time.Date(2022, 11, 22, 3, 0, 0, 0, zoning.ChinaTime())
	clock := func() time.Time { return now }
	var mu sync.Mutex
	var bodies [][]byte
	fail := true
	const secret = "command-centre-secret-0123"
	cc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := workers.VerifyWebhook(secret, r.Header, body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("alert signature: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if fail {
			fail = false
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		bodies = append(bodies, body)
	}))
	defer cc.Close()
	store := pgtest.NewStore(t)
	ctx := context.Background()
	// M1 identified at 01:30: the first contact (2 h) is not due until
	// 03:30; M2 a day ago: all four steps are overdue.
	made := workerstest.OverdueContacts(t, store, now)
	cs := postgis.Contacts{S: store, Now: clock}
	w := workers.NewAlerts(cs, workers.AlertConfig{URL: cc.URL + "/alerts", Secret: secret}, &http.Client{Timeout: 10 * time.Second}, quiet(), clock)
	w.Once(ctx) // raises 4, the delivery fails
	var attempts int
	var lastErr string
	if err := store.Pool.QueryRow(ctx, `SELECT max(attempts), max(last_error) FROM contact_alerts`).Scan(&attempts, &lastErr); err != nil ||
		attempts != 1 || !strings.Contains(lastErr, "503") {
		t.Fatalf("after a failed delivery: attempts %d, error %q (%v)", attempts, lastErr, err)
	}
	w.Once(ctx) // not due again yet: nothing sent
	mu.Lock()
	sent := len(bodies)
	mu.Unlock()
	if sent != 0 {
		t.Fatalf("an alert was retried before its backoff: %d deliveries", sent)
	}
	if _, err := store.Pool.Exec(ctx, `UPDATE contact_alerts SET next_attempt_at = $1`, now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	w.Once(ctx)
	w.Once(ctx) // delivered alerts are not sent twice
	mu.Lock()
	got := bodies
	mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("%d deliveries, want 1", len(got))
	}
	var payload struct {
		Type   string
		Alerts []postgis.ContactAlert
	}
	if err := json.Unmarshal(got[0], &payload); err != nil {
		t.Fatal(err)
	}
	if payload.Type != "closed_loop_overdue" || len(payload.Alerts) != 4 || payload.Alerts[0].ContactID != made[1].ID {
		t.Fatalf("payload %s", got[0])
	}
	for _, leak := range []string{"building", "residence", "address", "C1", "lon"} {
		if strings.Contains(string(got[0]), leak) {
			t.Errorf("the alert carries %q: %s", leak, got[0])
		}
	}
}
