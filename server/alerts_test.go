package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/server/workers"
	"github.com/riskzone/riskzone/server/workers/workerstest"
	"github.com/riskzone/riskzone/zoning"
)

// The app's badge, with the clock at 03:00 in Beijing (19:00 UTC), counts
// the closed-loop steps overdue and not done, for experts only (the alert
// worker's raising and delivery: server/workers/alerts_test.go).
func TestClosedLoopBadge(t *testing.T) {
	now := time.Date(2022, 11, 22, 3, 0, 0, 0, zoning.ChinaTime())
	clock := func() time.Time { return now }
	e := newTestEnv(t, Config{Now: clock, Alerts: workers.AlertConfig{Disabled: true}}, nil)
	// M1 identified at 01:30 (nothing due), M2 a day ago (4 steps overdue).
	made := workerstest.OverdueContacts(t, e.store, now)
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
