package server

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/riskzone/riskzone/zoning"
)

// The lockdown API: draw an entrance on a compound's outline, staff it,
// refuse a bad state or a point far off with nothing stored; experts only.
func TestLockdownAPI(t *testing.T) {
	e := newTestEnv(t, Config{}, nil)
	seedCounty(t, e)
	ctx := context.Background()
	var compound int64
	if err := e.store.Pool.QueryRow(ctx, `INSERT INTO compounds (name, geom) VALUES ('幸福家园小区',
		ST_Multi(ST_MakeEnvelope(117.0009, 36.6499, 117.0051, 36.6502, 4326))) RETURNING id`).Scan(&compound); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Pool.Exec(ctx, `UPDATE buildings SET compound_id = $1`, compound); err != nil {
		t.Fatal(err)
	}
	e.addUser("epi", zoning.RoleExpert, "correct horse battery")
	e.addUser("pub", zoning.RolePublisher, "correct horse battery")
	epi, pub := e.login("epi", "correct horse battery"), e.login("pub", "correct horse battery")
	path := fmt.Sprintf("/api/v1/compounds/%d/entrances", compound)
	e.do(request{method: "POST", path: path, cookie: pub.cookie, csrf: pub.csrf, json: map[string]any{"lon": 117.003, "lat": 36.6499}}).
		expectError(t, http.StatusForbidden, "expert", "a publisher draws an entrance")
	e.do(request{method: "POST", path: path, cookie: epi.cookie, csrf: epi.csrf, json: map[string]any{"lon": 117.003, "lat": 36.66}}).
		expectError(t, http.StatusBadRequest, "from the compound's outline", "an entrance 1 km off")
	e.do(request{method: "POST", path: path, cookie: epi.cookie, csrf: epi.csrf, json: map[string]any{"lon": 117.003, "lat": 36.6499, "state": "ajar"}}).
		expectError(t, http.StatusBadRequest, "state", "a bad state")
	if n := e.count("compound_entrances"); n != 0 {
		t.Fatalf("refused entrances stored: %d", n)
	}
	var l zoning.CompoundLockdown
	e.do(request{method: "POST", path: path, cookie: epi.cookie, csrf: epi.csrf, json: map[string]any{"lon": 117.003, "lat": 36.6499, "name": "南门"}}).
		expect(t, http.StatusCreated, "draw an entrance").decode(t, &l)
	// 4 buildings of 40 residents: 16 staff at 1/10.
	if l.Residents != 160 || l.StaffRequired != 16 || len(l.Entrances) != 1 || len(l.Unmanned) != 1 {
		t.Fatalf("lockdown %+v", l)
	}
	e.do(request{method: "PATCH", path: fmt.Sprintf("/api/v1/entrances/%d", l.Entrances[0].ID), cookie: epi.cookie, csrf: epi.csrf,
		json: map[string]any{"staff": 16, "reason": "roster"}}).expect(t, http.StatusOK, "staff it").decode(t, &l)
	if len(l.Problems) != 0 {
		t.Fatalf("problems after staffing: %v", l.Problems)
	}
	e.do(request{method: "PATCH", path: "/api/v1/entrances/999999", cookie: epi.cookie, csrf: epi.csrf, json: map[string]any{"staff": 1, "reason": "r"}}).
		expectError(t, http.StatusNotFound, "no entrance", "an unknown entrance")
	e.do(request{method: "GET", path: "/api/v1/compounds/999999/lockdown", cookie: epi.cookie}).expectError(t, http.StatusNotFound, "no compound", "an unknown compound")
	e.do(request{method: "GET", path: fmt.Sprintf("/api/v1/compounds/%d/lockdown", compound)}).expect(t, http.StatusUnauthorized, "anonymous")
}
