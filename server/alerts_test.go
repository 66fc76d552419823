package server

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
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// Overdue closed-loop steps with the clock at 03:00 in Beijing (19:00 UTC):
// each step is raised once and delivered to the command centre signed,
// without a residence; a failed delivery is kept and retried later; the
// app's badge counts the steps still not done.
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
	e := newTestEnv(t, Config{Now: clock, Alerts: workers.AlertConfig{URL: cc.URL + "/alerts", Secret: secret}}, nil)
	seedCounty(t, e)
	ctx := context.Background()
	if _, err := e.store.Pool.Exec(ctx, `INSERT INTO cases (case_no, county_id, kind, report_date, residence_building_id) VALUES ('C1', 1, 'confirmed', '2022-11-21', 1)`); err != nil {
		t.Fatal(err)
	}
	b := int64(2)
	cs := postgis.Contacts{S: e.store, Now: clock}
	made, err := cs.Create(ctx, zoning.Origin{Actor: zoning.CLI()}, []zoning.NewContact{
		// Identified at 01:30: the first contact (2 h) is not due until 03:30.
		{ContactNo: "M1", CountyID: 1, Kind: zoning.ContactClose, CaseNo: "C1", IdentifiedAt: now.Add(-90 * time.Minute), Residence: zoning.Residence{BuildingID: &b}},
		// Identified a day ago: all four steps are overdue.
		{ContactNo: "M2", CountyID: 1, Kind: zoning.ContactClose, CaseNo: "C1", IdentifiedAt: now.Add(-25 * time.Hour), Residence: zoning.Residence{BuildingID: &b}},
	})
	if err != nil {
		t.Fatal(err)
	}
	w := e.srv.alertWorker()
	w.Once(ctx) // raises 4, the delivery fails
	var attempts int
	var lastErr string
	if err := e.store.Pool.QueryRow(ctx, `SELECT max(attempts), max(last_error) FROM contact_alerts`).Scan(&attempts, &lastErr); err != nil ||
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
	if _, err := e.store.Pool.Exec(ctx, `UPDATE contact_alerts SET next_attempt_at = $1`, now.Add(-time.Second)); err != nil {
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
	// The badge: 4 steps overdue; one done leaves 3.
	e.addUser("epi", zoning.RoleExpert, "correct horse battery")
	s := e.login("epi", "correct horse battery")
	var count struct{ Overdue int }
	e.do(request{method: "GET", path: "/api/v1/contacts/overdue-count?county=1", cookie: s.cookie}).expect(t, http.StatusOK, "badge").decode(t, &count)
	if count.Overdue != 4 {
		t.Fatalf("badge %d, want 4", count.Overdue)
	}
	e.do(request{method: "POST", path: "/api/v1/contacts/" + jsonID(made[1].ID) + "/steps", cookie: s.cookie, csrf: s.csrf,
		json: map[string]any{"step": "contact"}}).expect(t, http.StatusOK, "step")
	e.do(request{method: "GET", path: "/api/v1/contacts/overdue-count?county=1", cookie: s.cookie}).expect(t, http.StatusOK, "badge").decode(t, &count)
	if count.Overdue != 3 {
		t.Fatalf("badge after a step %d, want 3", count.Overdue)
	}
	e.do(request{method: "GET", path: "/api/v1/contacts/overdue-count"}).expect(t, http.StatusUnauthorized, "anonymous badge")
}

func jsonID(id int64) string { b, _ := json.Marshal(id); return string(b) }

// A command-centre URL the outbound rules refuse, or a short secret, stops
// serve at start.
func TestAlertConfigChecked(t *testing.T) {
	base := Config{InsecureDev: true}
	for name, a := range map[string]workers.AlertConfig{
		"short secret": {URL: "https://cc.example.gov.cn/alerts", Secret: "short"},
		"ftp":          {URL: "ftp://cc.example.gov.cn/alerts", Secret: "0123456789abcdef"},
	} {
		cfg := base
		cfg.Alerts = a
		if err := CheckConfig(cfg); err == nil || !strings.Contains(err.Error(), "alert webhook") {
			t.Errorf("%s: %v", name, err)
		}
	}
	cfg := base
	cfg.Alerts = workers.AlertConfig{URL: "https://cc.example.gov.cn/alerts", Secret: "0123456789abcdef"}
	if err := CheckConfig(cfg); err != nil {
		t.Errorf("a good alert webhook: %v", err)
	}
}
