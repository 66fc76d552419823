package server

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
)

// The sites API: CSV and GeoJSON lists, the rooms standard with its
// shortfall, the assignment and a manual placement; bad input a clear 4xx
// with nothing stored; experts only.
func TestQuarantineSitesAPI(t *testing.T) {
	e := newTestEnv(t, Config{}, nil)
	seedCounty(t, e)
	e.addUser("epi", zoning.RoleExpert, "correct horse battery")
	e.addUser("agency", zoning.RoleAgency, "correct horse battery")
	epi, ag := e.login("epi", "correct horse battery"), e.login("agency", "correct horse battery")
	send := func(s session, method, path, ctype, body string) response {
		req, _ := http.NewRequest(method, e.ts.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("X-CSRF-Token", s.csrf)
		req.AddCookie(s.cookie)
		hr, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer hr.Body.Close()
		b, _ := io.ReadAll(hr.Body)
		return response{Response: hr, body: b}
	}
	send(ag, "POST", "/api/v1/quarantine-sites?county=1", "text/csv", "name,rooms,lon,lat\nA,1,117,36.65\n").
		expectError(t, http.StatusForbidden, "expert", "an agency registers a site")
	send(epi, "POST", "/api/v1/quarantine-sites?county=1", "text/csv", "name,rooms,lon,lat\nA,many,117,36.65\n").
		expectError(t, http.StatusBadRequest, "rooms", "bad CSV rooms")
	send(epi, "POST", "/api/v1/quarantine-sites?county=1", "application/geo+json", `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]},"properties":{}}]}`).
		expectError(t, http.StatusBadRequest, "Point", "a line as a site")
	send(epi, "POST", "/api/v1/quarantine-sites", "application/xml", "<x/>").expectError(t, http.StatusUnsupportedMediaType, "Content-Type", "XML")
	if n := e.count("quarantine_sites"); n != 0 {
		t.Fatalf("refused lists stored %d sites", n)
	}

	send(epi, "POST", "/api/v1/quarantine-sites?county=1", "text/csv", "name,rooms,occupied,staff,lon,lat\n城东酒店,1,0,2,117.002,36.65\n").
		expect(t, http.StatusOK, "a CSV list")
	send(epi, "POST", "/api/v1/quarantine-sites?county=1", "application/geo+json", `{"type":"FeatureCollection","features":[
		{"type":"Feature","geometry":{"type":"Point","coordinates":[117.009,36.659]},"properties":{"name":"城北宾馆","rooms":1}}]}`).
		expect(t, http.StatusOK, "a GeoJSON list")
	var ov struct {
		Summary zoning.CountyRooms
		Sites   []zoning.Site
	}
	e.do(request{method: "GET", path: "/api/v1/quarantine-sites?county=1", cookie: epi.cookie}).expect(t, http.StatusOK, "overview").decode(t, &ov)
	// 4 buildings of 40 residents: 160 residents need 1 room; 2 listed.
	if len(ov.Sites) != 2 || ov.Summary.Residents != 160 || ov.Summary.RoomsRequired != 1 || ov.Summary.Rooms != 2 || ov.Summary.Shortfall != 0 {
		t.Fatalf("overview %+v", ov)
	}
	e.do(request{method: "GET", path: "/api/v1/quarantine-sites", cookie: epi.cookie}).expectError(t, http.StatusBadRequest, "county", "no county")

	// Two contacts near the first site; one room each.
	if _, err := e.store.Pool.Exec(t.Context(), `INSERT INTO cases (case_no, county_id, kind, report_date, residence_building_id) VALUES ('C1', 1, 'confirmed', '2022-11-21', 1)`); err != nil {
		t.Fatal(err)
	}
	var made struct{ Contacts []zoning.Contact }
	e.do(request{method: "POST", path: "/api/v1/contacts", cookie: epi.cookie, csrf: epi.csrf, json: []map[string]any{
		{"contact_no": "M1", "county_id": 1, "kind": "close", "case_no": "C1", "identified_at": "2022-11-21T10:00:00+08:00", "residence": map[string]any{"building_id": 2}},
		{"contact_no": "M2", "county_id": 1, "kind": "close", "case_no": "C1", "identified_at": "2022-11-21T11:00:00+08:00", "residence": map[string]any{"building_id": 2}},
	}}).expect(t, http.StatusCreated, "contacts").decode(t, &made)
	var res struct {
		Assigned []zoning.Assignment
		Waiting  []int64
	}
	e.do(request{method: "POST", path: "/api/v1/quarantine-sites/assign", cookie: epi.cookie, csrf: epi.csrf, json: map[string]any{"county_id": 1}}).
		expect(t, http.StatusOK, "assign").decode(t, &res)
	if len(res.Assigned) != 2 || res.Assigned[0].SiteID != ov.Sites[0].ID || res.Assigned[1].SiteID != ov.Sites[1].ID {
		t.Fatalf("assignment %+v (sites %+v)", res, ov.Sites)
	}
	place := func(contact, site int64) response {
		return e.do(request{method: "PUT", path: fmt.Sprintf("/api/v1/contacts/%d/site", contact), cookie: epi.cookie, csrf: epi.csrf,
			json: map[string]any{"site_id": site, "reason": "family"}})
	}
	place(made.Contacts[1].ID, ov.Sites[0].ID).expectError(t, http.StatusConflict, "no free room", "a full site")
	place(made.Contacts[1].ID, 999).expectError(t, http.StatusBadRequest, "no quarantine site", "an unknown site")
	e.do(request{method: "PUT", path: fmt.Sprintf("/api/v1/contacts/%d/site", made.Contacts[1].ID), cookie: epi.cookie, csrf: epi.csrf,
		json: map[string]any{"reason": "x"}}).expectError(t, http.StatusBadRequest, "site_id", "no site")
	var out zoning.Contact
	place(made.Contacts[0].ID, 0).expect(t, http.StatusOK, "out of its site").decode(t, &out)
	if out.SiteID != nil || !out.SiteManual {
		t.Fatalf("taken out: %+v", out)
	}
	e.do(request{method: "PATCH", path: fmt.Sprintf("/api/v1/quarantine-sites/%d", ov.Sites[1].ID), cookie: epi.cookie, csrf: epi.csrf,
		json: map[string]any{"rooms": 0, "reason": "closed for cleaning"}}).expectError(t, http.StatusConflict, "move contacts first", "shrink below the load")
	e.do(request{method: "GET", path: "/api/v1/zones/999/quarantine", cookie: epi.cookie}).expectError(t, http.StatusNotFound, "no zone", "an unknown zone")
	e.do(request{method: "GET", path: "/api/v1/proposals/x/quarantine", cookie: epi.cookie}).expectError(t, http.StatusBadRequest, "id", "a bad id")
}
