package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
)

// polyJSON is a GeoJSON Polygon of a lon/lat box.
func polyJSON(x0, y0, x1, y1 float64) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"type":"Polygon","coordinates":[[[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g]]]}`,
		x0, y0, x1, y0, x1, y1, x0, y1, x0, y0))
}

// zoneAPI is a test server with the seeded county, two experts (alice
// proposes, bob approves), an admin and a publisher, all signed in.
type zoneAPI struct {
	*testEnv
	alice, bob, root, pub session
}

func newZoneAPI(t *testing.T) *zoneAPI {
	t.Helper()
	e := newTestEnv(t, Config{BodyLimit: "1M"}, nil)
	seedCounty(t, e)
	for _, u := range []struct {
		name string
		role zoning.Role
	}{{"alice", zoning.RoleExpert}, {"bob", zoning.RoleExpert}, {"root", zoning.RoleAdmin}, {"pub", zoning.RolePublisher}} {
		e.addUser(u.name, u.role, "correct horse battery")
	}
	return &zoneAPI{testEnv: e, alice: e.login("alice", "correct horse battery"), bob: e.login("bob", "correct horse battery"),
		root: e.login("root", "correct horse battery"), pub: e.login("pub", "correct horse battery")}
}

func (e *zoneAPI) call(s session, method, path string, body any, header map[string]string) response {
	e.t.Helper()
	return e.do(request{method: method, path: path, json: body, cookie: s.cookie, csrf: s.csrf, header: header})
}

// proposals registers cases in the given units as alice and runs the
// engine as alice; it returns the proposal ids.
func (e *zoneAPI) proposals(units ...int) []int64 {
	e.t.Helper()
	today := time.Now().UTC().Format(time.DateOnly)
	for _, u := range units {
		e.call(e.alice, "POST", "/api/v1/cases", map[string]any{"case_no": fmt.Sprintf("Z%d", u), "county_id": 1, "kind": "confirmed",
			"report_date": today, "residence": map[string]any{"unit_id": u}}, nil).expect(e.t, http.StatusCreated, "case")
	}
	res := e.call(e.alice, "POST", "/api/v1/proposals", map[string]any{"county_id": 1}, nil).expect(e.t, http.StatusCreated, "propose")
	var fc struct {
		Features []struct{ Properties map[string]any }
	}
	res.decode(e.t, &fc)
	var ids []int64
	for _, f := range fc.Features {
		if id, ok := f.Properties["proposal_id"].(float64); ok {
			ids = append(ids, int64(id))
		}
	}
	return ids
}

// rawCall is a request that is safe in any goroutine (no t.Fatal).
func (e *zoneAPI) rawCall(s session, method, path string, body any, header map[string]string) (int, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequest(method, e.ts.URL+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", s.csrf)
	req.AddCookie(s.cookie)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, out, err
}

func (e *zoneAPI) auditCount(action, outcome string) int {
	e.t.Helper()
	var n int
	if err := e.store.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = $1 AND outcome = $2`, action, outcome).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// The lifecycle through the API: decide proposals, edit with If-Match,
// history, the map as of a time, screening, lifting, county status.
func TestZonesAPILifecycle(t *testing.T) {
	e := newZoneAPI(t)
	ids := e.proposals(12, 41)
	if len(ids) != 2 {
		t.Fatalf("proposals %v", ids)
	}
	approve := map[string]any{"reason": "expert panel session 1"}
	path := fmt.Sprintf("/api/v1/proposals/%d/approve", ids[0])
	e.do(request{method: "POST", path: path, json: approve}).expectError(t, http.StatusUnauthorized, "", "anonymous")
	e.call(e.pub, "POST", path, approve, nil).expectError(t, http.StatusForbidden, "role expert", "publisher")
	e.do(request{method: "POST", path: path, json: approve, cookie: e.bob.cookie}).expectError(t, http.StatusForbidden, "CSRF", "no CSRF token")
	e.call(e.alice, "POST", path, approve, nil).expectError(t, http.StatusForbidden, "second person", "own proposal")
	if n := e.count("zones"); n != 0 {
		t.Fatalf("refused approvals made %d zones", n)
	}
	res := e.call(e.bob, "POST", path, approve, nil).expect(t, http.StatusCreated, "approve")
	var z zoning.Zone
	res.decode(t, &z)
	if res.Header.Get("ETag") != fmt.Sprintf(`"z%d-v1"`, z.ID) || res.Header.Get("Location") != fmt.Sprintf("/api/v1/zones/%d", z.ID) {
		t.Fatalf("headers %v", res.Header)
	}
	if z.Current.Population != 20 || z.Current.StaffRequired != 2 || z.Current.EarliestLifting.IsZero() || !slices.Equal(z.Current.UnitIDs, []int64{12}) {
		t.Fatalf("zone %+v", z.Current)
	}
	// The other proposal is rejected; approving it afterwards is refused.
	e.call(e.bob, "POST", fmt.Sprintf("/api/v1/proposals/%d/reject", ids[1]), map[string]any{}, nil).expectError(t, http.StatusBadRequest, "reason", "reject without reason")
	e.call(e.bob, "POST", fmt.Sprintf("/api/v1/proposals/%d/reject", ids[1]), map[string]any{"reason": "no zone needed: closed-loop site"}, nil).
		expect(t, http.StatusOK, "reject")
	e.call(e.root, "POST", fmt.Sprintf("/api/v1/proposals/%d/approve", ids[1]), approve, nil).expectError(t, http.StatusConflict, "rejected", "approve a rejected proposal")
	var p zoning.ProposalRecord
	e.call(e.bob, "GET", fmt.Sprintf("/api/v1/proposals/%d", ids[0]), nil, nil).expect(t, http.StatusOK, "proposal").decode(t, &p)
	if p.Status != "accepted" || p.ZoneID == nil || *p.ZoneID != z.ID {
		t.Fatalf("proposal %+v", p)
	}

	zpath := fmt.Sprintf("/api/v1/zones/%d", z.ID)
	res = e.call(e.bob, "GET", zpath, nil, nil).expect(t, http.StatusOK, "get zone")
	etag := res.Header.Get("ETag")
	e.call(e.bob, "GET", zpath, nil, map[string]string{"If-None-Match": etag}).expect(t, http.StatusNotModified, "If-None-Match")

	// Members by id, with If-Match.
	res = e.call(e.bob, "PATCH", zpath+"/members", map[string]any{"reason": "the other unit too", "add_units": []int64{11}},
		map[string]string{"If-Match": etag}).expect(t, http.StatusOK, "add unit")
	res.decode(t, &z)
	if z.CurrentVersion != 2 || !slices.Equal(z.Current.BuildingIDs, []int64{1}) || res.Header.Get("ETag") != fmt.Sprintf(`"z%d-v2"`, z.ID) {
		t.Fatalf("after adding the unit: %+v", z)
	}
	// Redraw: all of building 1 and 62.5% of building 2 (x from 117.002 to 117.00225 of 117.0024).
	res = e.call(e.bob, "PUT", zpath+"/geometry", map[string]any{"version": 2, "reason": "redrawn along the fence",
		"geometry": polyJSON(117.0005, 36.6499, 117.00225, 36.6502)}, nil).expect(t, http.StatusOK, "redraw")
	res.decode(t, &z)
	if z.CurrentVersion != 3 || !slices.Equal(z.Current.BuildingIDs, []int64{1, 2}) || z.Current.Population != 80 {
		t.Fatalf("after the redraw: %+v", z.Current)
	}
	// History and diff.
	var hist struct{ Versions []zoning.ZoneVersion }
	e.call(e.bob, "GET", zpath+"/versions", nil, nil).expect(t, http.StatusOK, "versions").decode(t, &hist)
	if len(hist.Versions) != 3 || hist.Versions[0].ValidTo == nil || hist.Versions[2].ValidTo != nil {
		t.Fatalf("versions %+v", hist.Versions)
	}
	var v1 zoning.ZoneVersion
	e.call(e.bob, "GET", zpath+"/versions/1", nil, nil).expect(t, http.StatusOK, "version 1").decode(t, &v1)
	if v1.Version != 1 || v1.Change != zoning.ChangeDesignate || v1.Author != "bob" {
		t.Fatalf("version 1 %+v", v1)
	}
	e.call(e.bob, "GET", zpath+"/versions/9", nil, nil).expectError(t, http.StatusNotFound, "no version 9", "unknown version")
	var d zoning.Diff
	e.call(e.bob, "GET", zpath+"/diff?from=1", nil, nil).expect(t, http.StatusOK, "diff").decode(t, &d)
	if d.To != 3 || !slices.Equal(d.BuildingsAdded, []int64{1, 2}) || !slices.Equal(d.UnitsAdded, []int64{11, 21, 22}) ||
		d.PopulationDelta != 60 || d.AreaAddedM2 <= 0 {
		t.Fatalf("diff %+v", d)
	}
	// The map as of each version's start shows that version; geometry is RFC 7946 (CCW outer rings).
	for _, v := range hist.Versions {
		at := v.ValidFrom.Add(time.Microsecond).Format(time.RFC3339Nano)
		res := e.call(e.bob, "GET", "/api/v1/zones?county=1&at="+at, nil, nil).expect(t, http.StatusOK, "as of")
		if ct := res.Header.Get("Content-Type"); ct != "application/geo+json" {
			t.Fatalf("content type %q", ct)
		}
		var fc struct {
			Type     string
			Features []struct {
				ID       string
				Geometry struct {
					Type        string
					Coordinates [][][][]float64
				}
				Properties map[string]any
			}
		}
		res.decode(t, &fc)
		if fc.Type != "FeatureCollection" || len(fc.Features) != 1 || fc.Features[0].ID != fmt.Sprintf("z%d-v%d", z.ID, v.Version) ||
			fc.Features[0].Properties["population"] != float64(v.Population) || fc.Features[0].Properties["clock_start"] == nil {
			t.Fatalf("map at %s: %s", at, res.body)
		}
		for _, poly := range fc.Features[0].Geometry.Coordinates {
			if signedArea(poly[0]) <= 0 {
				t.Fatalf("map at %s: outer ring is clockwise", at)
			}
		}
	}
	before := v1.ValidFrom.Add(-time.Second).Format(time.RFC3339)
	res = e.call(e.bob, "GET", "/api/v1/zones?county=1&at="+before, nil, nil).expect(t, http.StatusOK, "before")
	if !strings.Contains(string(res.body), `"features":[]`) {
		t.Fatalf("map before the designation: %s", res.body)
	}
	// An offset with an unencoded "+" is read as meant.
	inChina := hist.Versions[2].ValidFrom.Add(time.Second).In(zoning.ChinaTime()).Format(time.RFC3339)
	if res := e.call(e.bob, "GET", "/api/v1/zones?county=1&at="+inChina, nil, nil).expect(t, http.StatusOK, "as of, +08:00"); !strings.Contains(string(res.body), fmt.Sprintf(`"z%d-v3"`, z.ID)) {
		t.Fatalf("map at %s: %s", inChina, res.body)
	}
	e.call(e.bob, "GET", "/api/v1/zones?at=yesterday", nil, nil).expectError(t, http.StatusBadRequest, "RFC 3339", "bad at")
	e.call(e.bob, "GET", "/api/v1/zones?status=gone", nil, nil).expectError(t, http.StatusBadRequest, "status", "bad status")

	// Screening and lifting: today is day 0, so the zone is not eligible.
	today := time.Now().In(zoning.ChinaTime()).Format(time.DateOnly)
	var scr struct {
		Screening zoning.Screening
		Lifting   zoning.LiftingStatus
	}
	e.call(e.bob, "POST", zpath+"/screenings", map[string]any{"round_date": today, "tested": 80, "negatives": 80}, nil).
		expect(t, http.StatusCreated, "screening").decode(t, &scr)
	if scr.Screening.Population != 80 || scr.Lifting.Eligible || scr.Lifting.EarliestLifting.String() == "" {
		t.Fatalf("screening %+v", scr)
	}
	e.call(e.bob, "POST", zpath+"/screenings", map[string]any{"round_date": today, "tested": 5, "negatives": 6}, nil).
		expectError(t, http.StatusBadRequest, "exceed", "over-counted round")
	e.call(e.alice, "POST", zpath+"/lift", map[string]any{"reason": "please"}, nil).expectError(t, http.StatusConflict, "not eligible", "lift too early")
	e.call(e.bob, "POST", zpath+"/lift", map[string]any{"reason": "please"}, nil).expectError(t, http.StatusForbidden, "second person", "lift by the designator")
	e.call(e.alice, "POST", zpath+"/lift", map[string]any{"reason": "the cases were reclassified", "override": true}, nil).
		expectError(t, http.StatusForbidden, "only an admin", "expert override")
	if e.auditCount("zone.lift", "refused") != 3 {
		t.Fatalf("%d refused lifts audited, want 3", e.auditCount("zone.lift", "refused"))
	}
	var ls zoning.LiftingStatus
	e.call(e.bob, "GET", zpath+"/lifting", nil, nil).expect(t, http.StatusOK, "lifting").decode(t, &ls)
	if ls.Eligible || len(ls.Reasons) == 0 || ls.ClockReason == "" || ls.ZoneID != z.ID {
		t.Fatalf("lifting %+v", ls)
	}
	var cs zoning.CountyStatus
	e.call(e.bob, "GET", "/api/v1/counties/1/status", nil, nil).expect(t, http.StatusOK, "county").decode(t, &cs)
	if cs.State != zoning.CountyZoned || cs.LowRisk == nil || len(cs.ActiveZones) != 1 {
		t.Fatalf("county %+v", cs)
	}
	res = e.call(e.root, "POST", zpath+"/lift", map[string]any{"reason": "the cases were reclassified as imported", "override": true},
		map[string]string{"If-Match": fmt.Sprintf(`"z%d-v3"`, z.ID)}).expect(t, http.StatusOK, "override lift")
	res.decode(t, &z)
	if z.Status != zoning.ZoneLifted || z.Current.Change != zoning.ChangeOverrideLift {
		t.Fatalf("lifted %+v", z)
	}
	e.call(e.root, "POST", zpath+"/lift", map[string]any{"reason": "again and again", "override": true}, nil).
		expectError(t, http.StatusConflict, "already lifted", "lift twice")
	e.call(e.bob, "GET", "/api/v1/counties/1/status", nil, nil).expect(t, http.StatusOK, "county").decode(t, &cs)
	if cs.State != zoning.CountyNormalized || cs.LowRisk != nil || len(cs.LowRiskPeriods) != 1 || cs.LowRiskPeriods[0].ClosedAt == nil {
		t.Fatalf("county after the lift %+v", cs)
	}
	e.call(e.bob, "GET", "/api/v1/counties/77/status", nil, nil).expectError(t, http.StatusNotFound, "county 77", "unknown county")
}

// signedArea is twice the signed area of a ring (positive: counter-clockwise).
func signedArea(ring [][]float64) float64 {
	var a float64
	for i := 0; i+1 < len(ring); i++ {
		a += ring[i][0]*ring[i+1][1] - ring[i+1][0]*ring[i][1]
	}
	return a
}

// Two edits of the same version through the API: one wins, the other gets
// 409 with the current version; both are audited; no update is lost.
func TestZonesAPIConcurrentEdits(t *testing.T) {
	e := newZoneAPI(t)
	ids := e.proposals(12)
	var z zoning.Zone
	e.call(e.bob, "POST", fmt.Sprintf("/api/v1/proposals/%d/approve", ids[0]), map[string]any{"reason": "designate"}, nil).
		expect(t, http.StatusCreated, "approve").decode(t, &z)
	etag := fmt.Sprintf(`"z%d-v1"`, z.ID)
	type result struct {
		status int
		body   []byte
		err    error
	}
	results := make([]result, 2)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, who := range []session{e.alice, e.bob} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st, body, err := e.rawCall(who, "PATCH", fmt.Sprintf("/api/v1/zones/%d/members", z.ID),
				map[string]any{"reason": fmt.Sprintf("edit %d", i), "add_buildings": []int64{int64(2 + 2*i)}}, map[string]string{"If-Match": etag})
			results[i] = result{st, body, err}
		}()
	}
	close(start)
	wg.Wait()
	var ok, conflict int
	for _, r := range results {
		if r.err != nil {
			t.Fatal(r.err)
		}
		switch r.status {
		case http.StatusOK:
			ok++
		case http.StatusConflict:
			conflict++
			var cb conflictBody
			if err := json.Unmarshal(r.body, &cb); err != nil || cb.CurrentVersion != 2 || cb.ETag != fmt.Sprintf(`"z%d-v2"`, z.ID) ||
				cb.Error.Code != "conflict" || !strings.Contains(cb.Error.Message, "current version is 2") {
				t.Fatalf("conflict body %s (%v)", r.body, err)
			}
		default:
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	}
	if ok != 1 || conflict != 1 {
		t.Fatalf("%d ok and %d conflicts, want 1 and 1", ok, conflict)
	}
	if n := e.count("zone_versions"); n != 2 {
		t.Fatalf("%d versions, want 2", n)
	}
	if e.auditCount("zone.edit_members", "ok") != 1 || e.auditCount("zone.edit_members", "conflict") != 1 {
		t.Fatalf("audit ok %d conflict %d", e.auditCount("zone.edit_members", "ok"), e.auditCount("zone.edit_members", "conflict"))
	}
}

// Bad input is a clear 4xx and changes nothing.
func TestZonesAPIBadInput(t *testing.T) {
	e := newZoneAPI(t)
	ids := e.proposals(12)
	var z zoning.Zone
	e.call(e.bob, "POST", fmt.Sprintf("/api/v1/proposals/%d/approve", ids[0]), map[string]any{"reason": "designate"}, nil).
		expect(t, http.StatusCreated, "approve").decode(t, &z)
	zpath := fmt.Sprintf("/api/v1/zones/%d", z.ID)
	ifMatch := map[string]string{"If-Match": z.ETag()}
	versions := e.count("zone_versions")
	auditRows := e.count("audit_log")
	bowtie := json.RawMessage(`{"type":"Polygon","coordinates":[[[117.0005,36.6499],[117.0025,36.6502],[117.0025,36.6499],[117.0005,36.6502],[117.0005,36.6499]]]}`)
	put := func(body any, header map[string]string) response {
		return e.call(e.bob, "PUT", zpath+"/geometry", body, header)
	}
	put(`{"reason": "x", "geometry": {`, ifMatch).expectError(t, http.StatusBadRequest, "malformed JSON", "truncated JSON")
	put(map[string]any{"reason": "x", "geometry": bowtie}, ifMatch).expectError(t, http.StatusBadRequest, "Self-intersection", "self-intersecting")
	put(map[string]any{"reason": "x", "geometry": polyJSON(118, 37, 118.01, 37.01)}, ifMatch).expectError(t, http.StatusBadRequest, "outside county", "outside")
	put(map[string]any{"reason": "x", "geometry": polyJSON(117.0005, 36.6499, 117.0025, 36.6502)}, nil).expectError(t, http.StatusBadRequest, "If-Match", "no version")
	put(map[string]any{"reason": "x", "geometry": polyJSON(117.0005, 36.6499, 117.0025, 36.6502)}, map[string]string{"If-Match": `"z999-v1"`}).
		expectError(t, http.StatusBadRequest, "If-Match", "another zone's ETag")
	put(map[string]any{"reason": "x", "version": 2, "geometry": polyJSON(117.0005, 36.6499, 117.0025, 36.6502)}, ifMatch).
		expectError(t, http.StatusBadRequest, "body says version 2", "If-Match and body disagree")
	put(map[string]any{"reason": "x", "geometry": map[string]any{"type": "Point", "coordinates": []float64{117, 36.65}}}, ifMatch).
		expectError(t, http.StatusBadRequest, "Point", "a point")
	e.call(e.bob, "PATCH", zpath+"/members", map[string]any{"reason": "x", "remove_units": []int64{12}}, ifMatch).
		expectError(t, http.StatusBadRequest, "no building or unit", "empty member set")
	e.call(e.bob, "PATCH", zpath+"/members", map[string]any{"reason": "x", "add_buildings": []int64{9999}}, ifMatch).
		expectError(t, http.StatusBadRequest, "unknown building 9999", "unknown building")
	e.call(e.bob, "PATCH", "/api/v1/zones/4242/members", map[string]any{"reason": "x", "add_buildings": []int64{2}}, map[string]string{"If-Match": `"z4242-v1"`}).
		expectError(t, http.StatusNotFound, "zone 4242", "unknown zone")
	e.call(e.bob, "GET", "/api/v1/zones/abc", nil, nil).expectError(t, http.StatusBadRequest, "positive integer", "bad id")
	e.call(e.bob, "POST", "/api/v1/zones/merge", map[string]any{"reason": "x", "zones": []map[string]any{{"id": z.ID, "version": 1}}}, nil).
		expectError(t, http.StatusBadRequest, "at least two", "merge of one")
	e.call(e.bob, "POST", zpath+"/split", map[string]any{"reason": "x", "parts": []any{polyJSON(117.0005, 36.6499, 117.0025, 36.6502)}}, ifMatch).
		expectError(t, http.StatusBadRequest, "at least two parts", "split into one")
	e.call(e.bob, "POST", zpath+"/screenings", map[string]any{"round_date": "2099-01-01", "tested": 1, "negatives": 1}, nil).
		expectError(t, http.StatusBadRequest, "future", "future round")
	if n := e.count("zone_versions"); n != versions {
		t.Fatalf("bad input wrote %d versions", n-versions)
	}
	if n := e.count("screenings"); n != 0 {
		t.Fatalf("bad input wrote %d screenings", n)
	}
	if n := e.count("audit_log"); n != auditRows {
		t.Fatalf("bad input wrote %d audit rows", n-auditRows)
	}
}

// Split and merge through the API.
func TestZonesAPISplitMerge(t *testing.T) {
	e := newZoneAPI(t)
	ids := e.proposals(12)
	var z zoning.Zone
	e.call(e.bob, "POST", fmt.Sprintf("/api/v1/proposals/%d/approve", ids[0]), map[string]any{"reason": "designate",
		"add_buildings": []int64{2}}, nil).expect(t, http.StatusCreated, "approve with an added building").decode(t, &z)
	if !slices.Equal(z.Current.BuildingIDs, []int64{2}) || !slices.Equal(z.Current.UnitIDs, []int64{12, 21, 22}) {
		t.Fatalf("approved with edits: %+v", z.Current)
	}
	var split struct{ Zones []zoning.Zone }
	e.call(e.bob, "POST", fmt.Sprintf("/api/v1/zones/%d/split", z.ID), map[string]any{"reason": "one zone, one policy",
		"parts": []any{polyJSON(117.0005, 36.6499, 117.0017, 36.6502), polyJSON(117.0017, 36.6499, 117.0029, 36.6502)}},
		map[string]string{"If-Match": z.ETag()}).expect(t, http.StatusCreated, "split").decode(t, &split)
	if len(split.Zones) != 2 || !slices.Equal(split.Zones[0].Current.UnitIDs, []int64{12}) || !slices.Equal(split.Zones[1].Current.BuildingIDs, []int64{2}) {
		t.Fatalf("parts %+v", split.Zones)
	}
	var merged zoning.Zone
	e.call(e.bob, "POST", "/api/v1/zones/merge", map[string]any{"reason": "linked by the investigation", "zones": []map[string]any{
		{"id": split.Zones[0].ID, "version": 1}, {"id": split.Zones[1].ID, "version": 1}}}, nil).expect(t, http.StatusCreated, "merge").decode(t, &merged)
	if merged.Current.Population != 60 || len(merged.ParentZoneIDs) != 2 {
		t.Fatalf("merged %+v", merged)
	}
	e.call(e.bob, "POST", "/api/v1/zones/merge", map[string]any{"reason": "again", "zones": []map[string]any{
		{"id": split.Zones[0].ID, "version": 1}, {"id": split.Zones[1].ID, "version": 1}}}, nil).expect(t, http.StatusConflict, "merge twice")
	var all struct {
		Features []struct{ Properties map[string]any }
	}
	e.call(e.bob, "GET", "/api/v1/zones?county=1&status=all", nil, nil).expect(t, http.StatusOK, "all zones").decode(t, &all)
	if len(all.Features) != 4 {
		t.Fatalf("%d zones in all states, want 4", len(all.Features))
	}
}
