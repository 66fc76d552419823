package zoning_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
)

func ptr[T any](v T) *T { return &v }

// A contact identified at 23:30 in Beijing (15:30 UTC) is overdue for its
// first contact at 01:31 the next Beijing day, and every step not done past
// its limit is listed, in order.
func TestContactAssessAtOddLocalHours(t *testing.T) {
	bj := zoning.ChinaTime()
	identified := time.Date(2022, 11, 20, 23, 30, 0, 0, bj)
	c := zoning.Contact{ContactNo: "M1", IdentifiedAt: identified}
	l := zoning.DefaultClosedLoopLimits

	c.Assess(l, identified.Add(119*time.Minute))
	if c.Status != zoning.ContactIdentified || len(c.Overdue) != 0 || c.Next == nil || c.Next.Step != zoning.StepContact ||
		!c.Next.DueAt.Equal(time.Date(2022, 11, 21, 1, 30, 0, 0, bj)) {
		t.Fatalf("at 01:29: %+v next %+v", c, c.Next)
	}
	c.Assess(l, time.Date(2022, 11, 21, 1, 31, 0, 0, bj))
	if len(c.Overdue) != 1 || c.Overdue[0].Step != zoning.StepContact {
		t.Fatalf("at 01:31 overdue %+v", c.Overdue)
	}
	c.Steps = []zoning.ContactStep{{Step: zoning.StepContact, DoneAt: time.Date(2022, 11, 21, 1, 40, 0, 0, bj)}}
	c.Assess(l, time.Date(2022, 11, 22, 0, 0, 0, 0, bj))
	var steps []string
	for _, d := range c.Overdue {
		steps = append(steps, d.Step)
	}
	if c.Status != zoning.StepContact || strings.Join(steps, ",") != "visit,transfer,disinfect" || c.Next.Step != zoning.StepVisit {
		t.Fatalf("a day later: status %s overdue %v next %+v", c.Status, steps, c.Next)
	}
}

func TestStepRecordOrder(t *testing.T) {
	bj := zoning.ChinaTime()
	identified := time.Date(2022, 11, 20, 6, 0, 0, 0, bj)
	now := identified.Add(3 * time.Hour)
	c := zoning.Contact{ContactNo: "M1", IdentifiedAt: identified}
	for name, tc := range map[string]struct {
		r    zoning.StepRecord
		kind error
	}{
		"unknown step":     {zoning.StepRecord{Step: "quarantine"}, zoning.ErrInvalid},
		"visit first":      {zoning.StepRecord{Step: zoning.StepVisit}, zoning.ErrConflict},
		"future":           {zoning.StepRecord{Step: zoning.StepContact, DoneAt: ptr(now.Add(time.Hour))}, zoning.ErrInvalid},
		"before identity":  {zoning.StepRecord{Step: zoning.StepContact, DoneAt: ptr(identified.Add(-time.Minute))}, zoning.ErrInvalid},
		"long note":        {zoning.StepRecord{Step: zoning.StepContact, Note: strings.Repeat("x", 1001)}, zoning.ErrInvalid},
		"contact is fine":  {zoning.StepRecord{Step: zoning.StepContact}, nil},
		"contact at 06:05": {zoning.StepRecord{Step: zoning.StepContact, DoneAt: ptr(identified.Add(5 * time.Minute))}, nil},
	} {
		at, err := tc.r.Validate(c, now)
		if tc.kind == nil {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			if tc.r.DoneAt == nil && !at.Equal(now) {
				t.Errorf("%s: done at %s, want now", name, at)
			}
			continue
		}
		if !errors.Is(err, tc.kind) {
			t.Errorf("%s: %v, want %v", name, err, tc.kind)
		}
	}
	c.Steps = []zoning.ContactStep{{Step: zoning.StepContact, DoneAt: identified.Add(time.Hour)}}
	if _, err := (zoning.StepRecord{Step: zoning.StepContact}).Validate(c, now); !errors.Is(err, zoning.ErrConflict) {
		t.Errorf("a step done twice: %v", err)
	}
	if _, err := (zoning.StepRecord{Step: zoning.StepVisit, DoneAt: ptr(identified.Add(30 * time.Minute))}).Validate(c, now); !errors.Is(err, zoning.ErrInvalid) {
		t.Errorf("a visit before the contact step: %v", err)
	}
	if _, err := (zoning.StepRecord{Step: zoning.StepVisit}).Validate(c, now); err != nil {
		t.Errorf("the visit after the contact: %v", err)
	}
}

func TestNewContactValidate(t *testing.T) {
	bj := zoning.ChinaTime()
	// 07:00 in Beijing is 23:00 UTC the day before: "today" is the Beijing day.
	now := time.Date(2022, 11, 21, 7, 0, 0, 0, bj)
	today := zoning.DateOf(now, bj)
	good := zoning.NewContact{ContactNo: "M-1", CountyID: 3, Kind: zoning.ContactClose, CaseNo: "C1",
		IdentifiedAt: now.Add(-time.Hour), LastExposure: "2022-11-21", Residence: zoning.Residence{BuildingID: ptr(int64(4))}}
	if err := good.Validate(now, today); err != nil {
		t.Fatalf("good contact: %v", err)
	}
	for name, mod := range map[string]func(*zoning.NewContact){
		"bad number":        func(c *zoning.NewContact) { c.ContactNo = "=1+1" },
		"no county":         func(c *zoning.NewContact) { c.CountyID = 0 },
		"bad kind":          func(c *zoning.NewContact) { c.Kind = "casual" },
		"close without":     func(c *zoning.NewContact) { c.CaseNo = "" },
		"close via contact": func(c *zoning.NewContact) { c.ViaContactNo = "M0" },
		"secondary of case": func(c *zoning.NewContact) { c.Kind = zoning.ContactSecondary },
		"id and number":     func(c *zoning.NewContact) { c.CaseID = ptr(int64(1)) },
		"no identification": func(c *zoning.NewContact) { c.IdentifiedAt = time.Time{} },
		"identified later":  func(c *zoning.NewContact) { c.IdentifiedAt = now.Add(time.Hour) },
		"exposure tomorrow": func(c *zoning.NewContact) { c.LastExposure = "2022-11-22" },
		"bad exposure":      func(c *zoning.NewContact) { c.LastExposure = "21/11/2022" },
		"no residence":      func(c *zoning.NewContact) { c.Residence = zoning.Residence{} },
	} {
		c := good
		mod(&c)
		if err := c.Validate(now, today); !errors.Is(err, zoning.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
}

func TestParseClosedLoopLimits(t *testing.T) {
	for _, raw := range []string{"", "null", "{}"} {
		if l, err := zoning.ParseClosedLoopLimits([]byte(raw)); err != nil || l != zoning.DefaultClosedLoopLimits {
			t.Errorf("%q: %+v %v", raw, l, err)
		}
	}
	l, err := zoning.ParseClosedLoopLimits([]byte(`{"contact_within_min": 60}`))
	if err != nil || l.Contact != 60 || l.Visit != zoning.DefaultClosedLoopLimits.Visit {
		t.Fatalf("partial: %+v %v", l, err)
	}
	for _, raw := range []string{`{"contact_within_min": 0}`, `{"contact_within_min": 500, "visit_within_min": 300}`,
		`{"transfer_within_min": 99999}`, `{"colour": 1}`, `{"contact_within_min": "2h"}`, `{} {}`, `[`} {
		if _, err := zoning.ParseClosedLoopLimits([]byte(raw)); !errors.Is(err, zoning.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", raw, err)
		}
	}
}

func FuzzParseClosedLoopLimits(f *testing.F) {
	for _, s := range []string{`{}`, `{"contact_within_min": 60}`, `{"contact_within_min": 0}`, `{"visit_within_min": -5}`, `null`, `[1]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		l, err := zoning.ParseClosedLoopLimits(raw)
		if err != nil {
			if !errors.Is(err, zoning.ErrInvalid) {
				t.Fatalf("%q: %v is not ErrInvalid", raw, err)
			}
			return
		}
		if err := l.Validate(); err != nil {
			t.Fatalf("%q: accepted limits %+v do not validate: %v", raw, l, err)
		}
	})
}
