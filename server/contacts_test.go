package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
)

// The contacts API with the clock at 00:30 in Beijing (16:30 UTC the day
// before): JSON and a CSV list written in Beijing time, the closed-loop
// steps in order, the overdue list, bad input answered 4xx with nothing
// stored, experts only, and nothing of it in public answers.
func TestContactsAPI(t *testing.T) {
	now := time.Date(2022, 11, 22, 0, 30, 0, 0, zoning.ChinaTime())
	e := newTestEnv(t, Config{Now: func() time.Time { return now }}, nil)
	seedCounty(t, e)
	if _, err := e.store.Pool.Exec(context.Background(), `INSERT INTO cases (case_no, county_id, kind, report_date, residence_building_id)
		VALUES ('C1', 1, 'confirmed', '2022-11-21', 1)`); err != nil {
		t.Fatal(err)
	}
	e.addUser("epi", zoning.RoleExpert, "correct horse battery")
	e.addUser("pub", zoning.RolePublisher, "correct horse battery")
	epi, pub := e.login("epi", "correct horse battery"), e.login("pub", "correct horse battery")
	post := func(s session, path string, body any) response {
		return e.do(request{method: "POST", path: path, json: body, cookie: s.cookie, csrf: s.csrf})
	}
	csv := func(body string) response {
		req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/contacts?county=1", strings.NewReader(body))
		req.Header.Set("Content-Type", "text/csv")
		req.Header.Set("X-CSRF-Token", epi.csrf)
		req.AddCookie(epi.cookie)
		hr, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer hr.Body.Close()
		b, _ := io.ReadAll(hr.Body)
		return response{Response: hr, body: b}
	}

	// Bad input first: each a clear 4xx, nothing stored.
	post(pub, "/api/v1/contacts", map[string]any{"contact_no": "M1"}).expectError(t, http.StatusForbidden, "expert", "a publisher registers a contact")
	post(epi, "/api/v1/contacts", map[string]any{"contact_no": "M1", "county_id": 1, "kind": "close", "case_no": "C9",
		"identified_at": "2022-11-22T00:00:00+08:00", "residence": map[string]any{"building_id": 2}}).expectError(t, http.StatusBadRequest, "no case C9", "unknown case")
	post(epi, "/api/v1/contacts", map[string]any{"contact_no": "M1", "phone": "123"}).expectError(t, http.StatusBadRequest, "phone", "unknown field")
	csv("contact_no,kind,case_no,identified_at,building_id\nM1,close,C1,yesterday,2\n").expectError(t, http.StatusBadRequest, "identified_at", "bad CSV time")
	if n := e.count("contacts"); n != 0 {
		t.Fatalf("refused requests stored %d contacts", n)
	}

	// A CSV list in Beijing time: identified at 22:00 on 11-21.
	res := csv("contact_no,kind,case_no,via_contact_no,identified_at,last_exposure_date,building_id\n" +
		"M1,close,C1,,2022-11-21 22:00,2022-11-22,2\nS1,secondary,,M1,2022-11-21 22:00,,3\n")
	res.expect(t, http.StatusCreated, "register a CSV list")
	var made struct{ Contacts []zoning.Contact }
	if err := json.Unmarshal(res.body, &made); err != nil {
		t.Fatal(err)
	}
	if len(made.Contacts) != 2 || !made.Contacts[0].IdentifiedAt.Equal(time.Date(2022, 11, 21, 14, 0, 0, 0, time.UTC)) ||
		made.Contacts[0].Overdue[0].Step != zoning.StepContact {
		t.Fatalf("registered %s", res.body)
	}
	if res.Header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("a contact answer may be cached: %q", res.Header.Get("Cache-Control"))
	}
	m1 := made.Contacts[0].ID
	step := func(s session, body map[string]any) response {
		return post(s, fmt.Sprintf("/api/v1/contacts/%d/steps", m1), body)
	}
	step(epi, map[string]any{"step": "transfer"}).expectError(t, http.StatusConflict, "not done yet", "transfer first")
	step(epi, map[string]any{"step": "contact", "done_at": "2022-11-21T21:00:00+08:00"}).expectError(t, http.StatusBadRequest, "before the contact was identified", "done before identified")
	var after zoning.Contact
	step(epi, map[string]any{"step": "contact", "note": "phoned"}).expect(t, http.StatusOK, "the contact step").decode(t, &after)
	if after.Status != zoning.StepContact || len(after.Steps) != 1 || after.Steps[0].DoneBy != "epi" {
		t.Fatalf("after the contact step %+v", after)
	}
	var over struct {
		Contacts []zoning.Contact
	}
	e.do(request{method: "GET", path: "/api/v1/contacts?county=1&overdue=true", cookie: epi.cookie}).expect(t, http.StatusOK, "overdue").decode(t, &over)
	if len(over.Contacts) != 1 || over.Contacts[0].ContactNo != "S1" {
		t.Fatalf("overdue at 00:30: %+v", over.Contacts)
	}
	e.do(request{method: "GET", path: "/api/v1/contacts?overdue=maybe", cookie: epi.cookie}).expectError(t, http.StatusBadRequest, "overdue", "bad overdue")
	e.do(request{method: "GET", path: "/api/v1/contacts/999999", cookie: epi.cookie}).expectError(t, http.StatusNotFound, "no contact", "unknown contact")
	e.do(request{method: "GET", path: fmt.Sprintf("/api/v1/contacts/%d", m1)}).expect(t, http.StatusUnauthorized, "anonymous")

	// Nothing of a contact in what the public reads.
	for _, path := range []string{"/api/v1/export/zones.geojson", "/api/v1/export/addresses.csv", "/api/v1/public/changes", "/ogc/collections"} {
		r := e.do(request{method: "GET", path: path})
		if strings.Contains(string(r.body), "M1") || strings.Contains(string(r.body), "S1") || strings.Contains(string(r.body), "contact_no") {
			t.Errorf("%s shows a contact: %s", path, r.body)
		}
	}
}
