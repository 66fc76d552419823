package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
)

// seedCounty makes county 1 with four buildings (two units each) around
// (117.0, 36.65), 100 m apart.
func seedCounty(t *testing.T, e *testEnv) {
	t.Helper()
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := e.store.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO admin_areas (id, level, name, geom) VALUES (1, 'county', '测试区',
		ST_Multi(ST_MakeEnvelope(116.99, 36.64, 117.01, 36.66, 4326)))`)
	for i := 1; i <= 4; i++ {
		x := 117.0 + float64(i)*0.001
		exec(`INSERT INTO buildings (id, county_id, population, addr_compound, addr_number, geom)
			VALUES ($1, 1, 40, '幸福家园小区', $2, ST_Multi(ST_MakeEnvelope($3::float8, 36.65, $3::float8 + 0.0004, 36.6501, 4326)))`, i, fmt.Sprint(i), x)
		exec(`INSERT INTO units (id, building_id, number, name, population, geom) VALUES
			($1, $2, 1, '一单元', 20, ST_Multi(ST_MakeEnvelope($3::float8, 36.65, $3::float8 + 0.0002, 36.6501, 4326))),
			($1::bigint + 1, $2, 2, '二单元', 20, ST_Multi(ST_MakeEnvelope($3::float8 + 0.0002, 36.65, $3::float8 + 0.0004, 36.6501, 4326)))`, i*10+1, i, x)
	}
	for _, table := range []string{"admin_areas", "buildings", "units"} {
		exec(`SELECT setval(pg_get_serial_sequence($1, 'id'), 1000)`, table)
	}
}

func (e *testEnv) count(table string) int {
	e.t.Helper()
	var n int
	if err := e.store.Pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestCasesAPIAuth(t *testing.T) {
	e := newTestEnv(t, Config{}, nil)
	seedCounty(t, e)
	e.addUser("epi", zoning.RoleExpert, "correct horse battery")
	e.addUser("pub", zoning.RolePublisher, "correct horse battery")
	body := map[string]any{"case_no": "C1", "county_id": 1, "kind": "confirmed", "report_date": "2022-11-20", "residence": map[string]any{"unit_id": 12}}
	e.do(request{method: "POST", path: "/api/v1/cases", json: body}).expectError(t, http.StatusUnauthorized, "", "anonymous")
	e.do(request{method: "GET", path: "/api/v1/cases/1"}).expectError(t, http.StatusUnauthorized, "", "anonymous read")
	pub := e.login("pub", "correct horse battery")
	e.do(request{method: "POST", path: "/api/v1/cases", json: body, cookie: pub.cookie, csrf: pub.csrf}).expectError(t, http.StatusForbidden, "", "publisher")
	epi := e.login("epi", "correct horse battery")
	e.do(request{method: "POST", path: "/api/v1/cases", json: body, cookie: epi.cookie}).expectError(t, http.StatusForbidden, "CSRF", "no CSRF token")
	if n := e.count("cases"); n != 0 {
		t.Fatalf("refused requests stored %d cases", n)
	}
	res := e.do(request{method: "POST", path: "/api/v1/cases", json: body, cookie: epi.cookie, csrf: epi.csrf}).expect(t, http.StatusCreated, "expert")
	var created struct{ IDs []int64 }
	res.decode(t, &created)
	if len(created.IDs) != 1 {
		t.Fatalf("created %s", res.body)
	}
	res = e.do(request{method: "GET", path: fmt.Sprintf("/api/v1/cases/%d", created.IDs[0]), cookie: epi.cookie}).expect(t, http.StatusOK, "read")
	var c zoning.Case
	res.decode(t, &c)
	if c.CaseNo != "C1" || c.ResidenceBuildingID == nil || *c.ResidenceBuildingID != 1 || res.Header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("case %+v, cache %q", c, res.Header.Get("Cache-Control"))
	}
	// Health data never reaches the log.
	if strings.Contains(e.logs.String(), "C1") || strings.Contains(e.logs.String(), "幸福家园") {
		t.Fatalf("the log holds case data:\n%s", e.logs.String())
	}
}

func TestCasesAPIBadInput(t *testing.T) {
	e := newTestEnv(t, Config{BodyLimit: "64K"}, nil)
	seedCounty(t, e)
	e.addUser("epi", zoning.RoleExpert, "correct horse battery")
	epi := e.login("epi", "correct horse battery")
	post := func(body any) response {
		return e.do(request{method: "POST", path: "/api/v1/cases", json: body, cookie: epi.cookie, csrf: epi.csrf})
	}
	post(`{"case_no": "C1",`).expectError(t, http.StatusBadRequest, "malformed JSON", "truncated JSON")
	post(`{"case_no": "C1", "colour": "red"}`).expectError(t, http.StatusBadRequest, "unknown field", "unknown field")
	post(`{"case_no": 5}`).expectError(t, http.StatusBadRequest, "case_no", "wrong type")
	post(map[string]any{"case_no": "C1", "county_id": 77, "kind": "confirmed", "report_date": "2022-11-20", "residence": map[string]any{"building_id": 1}}).
		expectError(t, http.StatusBadRequest, "county_id 77", "unknown county")
	post(map[string]any{"case_no": "C1", "county_id": 1, "kind": "confirmed", "report_date": "2022-11-20", "residence": map[string]any{"lon": 117.5, "lat": 36.9}}).
		expectError(t, http.StatusBadRequest, "no building", "residence outside every building")
	post(map[string]any{"case_no": "C1", "county_id": 1, "kind": "confirmed", "report_date": "2022-11-20", "residence": map[string]any{"lon": 200, "lat": 36.9}}).
		expectError(t, http.StatusBadRequest, "out of range", "longitude out of range")
	post(map[string]any{"case_no": "C1", "county_id": 1, "kind": "confirmed", "report_date": "2022-11-20"}).
		expectError(t, http.StatusBadRequest, "residence", "no residence")
	huge := `[` + strings.Repeat(`{"case_no": "C1", "county_id": 1, "kind": "confirmed", "report_date": "2022-11-20", "residence": {"building_id": 1}},`, 1000) + `{}]`
	post(huge).expect(t, http.StatusRequestEntityTooLarge, "huge payload")
	e.do(request{method: "GET", path: "/api/v1/cases/abc", cookie: epi.cookie}).expectError(t, http.StatusBadRequest, "positive integer", "non-numeric id")
	e.do(request{method: "GET", path: "/api/v1/cases/999", cookie: epi.cookie}).expectError(t, http.StatusNotFound, "case 999", "unknown id")
	e.do(request{method: "PATCH", path: "/api/v1/cases/999", json: map[string]any{"source_known": false, "reason": "x"}, cookie: epi.cookie, csrf: epi.csrf}).
		expectError(t, http.StatusNotFound, "case 999", "update unknown id")
	if n := e.count("cases"); n != 0 {
		t.Fatalf("bad input stored %d cases", n)
	}
	// CSV: one bad line refuses the file.
	csv := "case_no,kind,report_date,building_id\nK1,confirmed,2022-11-20,1\nK2,confirmed,2022-11-20,99\n"
	req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/cases?county=1", strings.NewReader(csv))
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("X-CSRF-Token", epi.csrf)
	req.AddCookie(epi.cookie)
	hr, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	hr.Body.Close()
	if hr.StatusCode != http.StatusBadRequest || e.count("cases") != 0 {
		t.Fatalf("CSV with an unknown building: status %d, %d cases stored", hr.StatusCode, e.count("cases"))
	}
	req, _ = http.NewRequest("POST", e.ts.URL+"/api/v1/cases?county=1", strings.NewReader(strings.Replace(csv, ",99\n", ",2\n", 1)))
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("X-CSRF-Token", epi.csrf)
	req.AddCookie(epi.cookie)
	if hr, err = e.ts.Client().Do(req); err != nil || hr.StatusCode != http.StatusCreated || e.count("cases") != 2 {
		t.Fatalf("good CSV: %v %v, %d cases", hr.StatusCode, err, e.count("cases"))
	}
	hr.Body.Close()
}

func TestProposalsAPI(t *testing.T) {
	e := newTestEnv(t, Config{}, nil)
	seedCounty(t, e)
	e.addUser("epi", zoning.RoleExpert, "correct horse battery")
	epi := e.login("epi", "correct horse battery")
	day := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	for i, unit := range []int{12, 31} {
		e.do(request{method: "POST", path: "/api/v1/cases", cookie: epi.cookie, csrf: epi.csrf, json: map[string]any{
			"case_no": fmt.Sprintf("P%d", i), "county_id": 1, "kind": "confirmed", "report_date": day, "residence": map[string]any{"unit_id": unit}}}).
			expect(t, http.StatusCreated, "case")
	}
	post := func(body any) response {
		return e.do(request{method: "POST", path: "/api/v1/proposals", json: body, cookie: epi.cookie, csrf: epi.csrf})
	}
	post(map[string]any{"county_id": 999}).expectError(t, http.StatusNotFound, "county 999", "unknown county")
	post(map[string]any{"county_id": 1, "at": time.Now().Add(72 * time.Hour).Format(time.RFC3339)}).expectError(t, http.StatusBadRequest, "future", "future time")
	post(map[string]any{"county_id": 1, "params": map[string]any{"window_days": "many"}}).expectError(t, http.StatusBadRequest, "window_days", "malformed params")
	post(map[string]any{"county_id": 1, "at": "yesterday"}).expectError(t, http.StatusBadRequest, "RFC 3339", "bad time")
	if n := e.count("proposal_runs"); n != 0 {
		t.Fatalf("bad requests stored %d runs", n)
	}
	// The run-time histogram counts successful runs only.
	if n := metricValue(t, scrapeMetrics(t, e.srv), "riskzone_proposal_run_seconds_count"); n != 0 {
		t.Fatalf("proposal run histogram counts %v runs after refused requests, want 0", n)
	}
	res := post(map[string]any{"county_id": 1}).expect(t, http.StatusCreated, "propose")
	scrape := scrapeMetrics(t, e.srv)
	if n := metricValue(t, scrape, "riskzone_proposal_run_seconds_count"); n != 1 {
		t.Fatalf("proposal run histogram counts %v runs after one 201, want 1", n)
	}
	if sum := metricValue(t, scrape, "riskzone_proposal_run_seconds_sum"); sum <= 0 {
		t.Fatalf("proposal run histogram sum %v s, want the run's time", sum)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/geo+json" {
		t.Fatalf("content type %q", ct)
	}
	var fc struct {
		Type     string
		Features []struct {
			Geometry   json.RawMessage
			Properties map[string]any
		}
	}
	res.decode(t, &fc)
	// Two unit-level proposals and the low-risk remainder.
	if fc.Type != "FeatureCollection" || len(fc.Features) != 3 {
		t.Fatalf("answer %s", res.body)
	}
	if fc.Features[0].Properties["rationale"] == nil || fc.Features[0].Properties["staff_required"] != float64(2) {
		t.Fatalf("first proposal %+v", fc.Features[0].Properties)
	}
	if n := e.count("proposals"); n != 2 {
		t.Fatalf("%d proposals stored, want 2", n)
	}
	loc := res.Header.Get("Location")
	run := e.do(request{method: "GET", path: loc, cookie: epi.cookie}).expect(t, http.StatusOK, "stored run")
	var stored struct {
		RunID    int64 `json:"run_id"`
		Features []struct{ Properties map[string]any }
	}
	run.decode(t, &stored)
	if len(stored.Features) != 3 || stored.Features[0].Properties["status"] != "proposed" || stored.RunID == 0 {
		t.Fatalf("stored run %s", run.body)
	}
	e.do(request{method: "GET", path: "/api/v1/proposal-runs/4242", cookie: epi.cookie}).expectError(t, http.StatusNotFound, "4242", "unknown run")
	e.do(request{method: "GET", path: loc}).expectError(t, http.StatusUnauthorized, "", "anonymous run")
}
