package postgis_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// contactCount counts the contacts and steps stored.
func contactCount(t *testing.T, s *postgis.Store) (contacts, steps int) {
	t.Helper()
	if err := s.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM contact_steps)`).
		Scan(&contacts, &steps); err != nil {
		t.Fatal(err)
	}
	return contacts, steps
}

// The closed loop of a close contact and its secondary contact, with the
// clock at 23:30 in Beijing (15:30 UTC): registered by case number, steps
// recorded in order, the overdue list follows the rule set's limits, and
// bad input answers a clear error and changes nothing.
func TestContactsClosedLoop(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	e.clk.Set("2022-11-21T15:30:00Z") // 23:30 on 11-21 in Beijing
	e.addCase(e.at(0, 0), 1, "2022-11-21")
	cs := postgis.Contacts{S: e.s, Now: e.clk.Now}
	identified := e.clk.Now().Add(-10 * time.Minute)

	// Last exposure "today" is the Beijing day (11-21), although the UTC
	// day is the same here; at 07:00 Beijing it would differ.
	close := zoning.NewContact{ContactNo: "M001", CountyID: e.county, Kind: zoning.ContactClose, CaseNo: "C001",
		IdentifiedAt: identified, LastExposure: "2022-11-21", Residence: zoning.Residence{BuildingID: i64(e.at(1, 0))}}
	out, err := cs.Create(ctx, as(e.alice), []zoning.NewContact{close})
	if err != nil {
		t.Fatal(err)
	}
	m := out[0]
	if m.ID == 0 || m.CaseID == nil || m.Status != zoning.ContactIdentified || len(m.Overdue) != 0 || m.Next == nil ||
		m.Next.Step != zoning.StepContact || !m.Next.DueAt.Equal(identified.Add(2*time.Hour)) {
		t.Fatalf("created %+v (next %+v)", m, m.Next)
	}
	second := zoning.NewContact{ContactNo: "S001", CountyID: e.county, Kind: zoning.ContactSecondary, ViaContactNo: "M001",
		IdentifiedAt: identified, Residence: zoning.Residence{UnitID: i64(e.units[e.at(2, 0)][0])}}
	out, err = cs.Create(ctx, as(e.alice), []zoning.NewContact{second})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].ViaContactID == nil || *out[0].ViaContactID != m.ID || out[0].BuildingID == nil || *out[0].BuildingID != e.at(2, 0) {
		t.Fatalf("secondary %+v", out[0])
	}

	// Bad input: each refused, nothing stored.
	c0, s0 := contactCount(t, e.s)
	for name, c := range map[string]struct {
		list []zoning.NewContact
		kind error
	}{
		"unknown case":         {[]zoning.NewContact{{ContactNo: "M9", CountyID: e.county, Kind: zoning.ContactClose, CaseNo: "C404", IdentifiedAt: identified, Residence: close.Residence}}, zoning.ErrInvalid},
		"duplicate number":     {[]zoning.NewContact{close}, zoning.ErrConflict},
		"secondary of second":  {[]zoning.NewContact{{ContactNo: "T1", CountyID: e.county, Kind: zoning.ContactSecondary, ViaContactNo: "S001", IdentifiedAt: identified, Residence: close.Residence}}, zoning.ErrInvalid},
		"unknown county":       {[]zoning.NewContact{{ContactNo: "M8", CountyID: 999, Kind: zoning.ContactClose, CaseNo: "C001", IdentifiedAt: identified, Residence: close.Residence}}, zoning.ErrInvalid},
		"far point":            {[]zoning.NewContact{{ContactNo: "M7", CountyID: e.county, Kind: zoning.ContactClose, CaseNo: "C001", IdentifiedAt: identified, Residence: zoning.Residence{Lon: new(float64), Lat: new(float64)}}}, zoning.ErrInvalid},
		"batch with a bad row": {[]zoning.NewContact{{ContactNo: "M6", CountyID: e.county, Kind: zoning.ContactClose, CaseNo: "C001", IdentifiedAt: identified, Residence: close.Residence}, {ContactNo: "M5", CountyID: e.county, Kind: "casual"}}, zoning.ErrInvalid},
		"none":                 {nil, zoning.ErrInvalid},
	} {
		_, err := cs.Create(ctx, as(e.alice), c.list)
		if !errors.Is(err, c.kind) {
			t.Errorf("%s: %v, want %v", name, err, c.kind)
		}
	}
	if c1, s1 := contactCount(t, e.s); c1 != c0 || s1 != s0 {
		t.Fatalf("refused registrations changed the store: %d/%d → %d/%d", c0, s0, c1, s1)
	}

	// 01:41 in Beijing: the first contact is overdue (due 01:20).
	e.clk.Set("2022-11-21T17:41:00Z")
	over, err := cs.List(ctx, postgis.ContactFilter{CountyID: e.county, Overdue: true, Limit: 10})
	if err != nil || len(over) != 2 || over[0].Overdue[0].Step != zoning.StepContact {
		t.Fatalf("overdue at 01:41: %+v %v", over, err)
	}
	// Steps in order; out of order or twice is refused and audited.
	if _, err := cs.RecordStep(ctx, as(e.bob), m.ID, zoning.StepRecord{Step: zoning.StepVisit}); !errors.Is(err, zoning.ErrConflict) {
		t.Fatalf("a visit before the contact step: %v", err)
	}
	if n := e.audits("contact.step", "refused"); n != 1 {
		t.Fatalf("%d refused steps audited, want 1", n)
	}
	if _, err := cs.RecordStep(ctx, as(e.bob), m.ID, zoning.StepRecord{Step: "call"}); !errors.Is(err, zoning.ErrInvalid) {
		t.Fatalf("an unknown step: %v", err)
	}
	if _, err := cs.RecordStep(ctx, as(e.bob), 1<<40, zoning.StepRecord{Step: zoning.StepContact}); !errors.Is(err, zoning.ErrNotFound) {
		t.Fatalf("an unknown contact: %v", err)
	}
	got, err := cs.RecordStep(ctx, as(e.bob), m.ID, zoning.StepRecord{Step: zoning.StepContact, Note: "informed by phone"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != zoning.StepContact || len(got.Steps) != 1 || got.Steps[0].DoneBy != "bob" || !got.Steps[0].DoneAt.Equal(e.clk.Now()) ||
		len(got.Overdue) != 0 || got.Next.Step != zoning.StepVisit {
		t.Fatalf("after the contact step: %+v", got)
	}
	if _, err := cs.RecordStep(ctx, as(e.bob), m.ID, zoning.StepRecord{Step: zoning.StepContact}); !errors.Is(err, zoning.ErrConflict) {
		t.Fatalf("a step recorded twice: %v", err)
	}
	// A county's rule set sets the limits: a 30-minute visit limit makes
	// the visit overdue at 01:41 too.
	if _, err := e.s.Pool.Exec(ctx, `UPDATE rule_sets SET closed_loop = '{"visit_within_min": 30, "contact_within_min": 20}' WHERE is_default`); err != nil {
		t.Fatal(err)
	}
	again, err := cs.Get(ctx, m.ID)
	if err != nil || len(again.Overdue) != 1 || again.Overdue[0].Step != zoning.StepVisit || !again.Overdue[0].DueAt.Equal(identified.Add(30*time.Minute)) {
		t.Fatalf("with a 30 min visit limit: %+v %v", again.Overdue, err)
	}
	for _, step := range []string{zoning.StepVisit, zoning.StepTransfer, zoning.StepDisinfect} {
		if got, err = cs.RecordStep(ctx, as(e.bob), m.ID, zoning.StepRecord{Step: step}); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	if got.Status != zoning.StepDisinfect || got.Next != nil || len(got.Overdue) != 0 {
		t.Fatalf("closed loop done: %+v", got)
	}
	over, err = cs.List(ctx, postgis.ContactFilter{CountyID: e.county, Overdue: true, Limit: 10})
	if err != nil || len(over) != 1 || over[0].ContactNo != "S001" {
		t.Fatalf("overdue after the loop closed: %+v %v", over, err)
	}
	// The audit log says what was done, never where a contact lives.
	var leaked int
	if err := e.s.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE entity = 'contact' AND (after::text LIKE '%building%' OR after::text LIKE '%residence%')`).
		Scan(&leaked); err != nil || leaked != 0 {
		t.Fatalf("%d audit rows carry a residence (%v)", leaked, err)
	}
	if _, err := cs.List(ctx, postgis.ContactFilter{Limit: 0}); !errors.Is(err, zoning.ErrInvalid) {
		t.Fatalf("limit 0: %v", err)
	}
	if !strings.Contains(got.Steps[0].Note, "phone") {
		t.Fatalf("the note of the first step is lost: %+v", got.Steps)
	}
}
