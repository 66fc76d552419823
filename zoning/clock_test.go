package zoning

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// A case reported at 04:00 in Beijing (20:00 UTC the day before) on its own
// date is not in the future; the next day is.
func TestCaseReportDateIsALocalDay(t *testing.T) {
	at := time.Date(2022, 11, 21, 4, 0, 0, 0, ChinaTime())
	today := DateOf(at, ChinaTime())
	if today != MakeDate(2022, 11, 21) || DateOf(at, time.UTC) != MakeDate(2022, 11, 20) {
		t.Fatalf("today %s (UTC day %s)", today, DateOf(at, time.UTC))
	}
	c := NewCase{CaseNo: "A1", CountyID: 1, Kind: "confirmed", ReportDate: "2022-11-21", Residence: Residence{Address: "x"}}
	if err := c.Validate(today); err != nil {
		t.Fatalf("today's report: %v", err)
	}
	c.ReportDate = "2022-11-22"
	if err := c.Validate(today); !errors.Is(err, ErrInvalid) || !strings.Contains(Message(err), "future") {
		t.Fatalf("tomorrow's report: %v", err)
	}
	u := CaseUpdate{ReportDate: ptrTo("2022-11-21"), Reason: "x"}
	if err := u.Validate(today); err != nil {
		t.Fatalf("update to today: %v", err)
	}
	u.ReportDate = ptrTo("2022-11-22")
	if err := u.Validate(today); !errors.Is(err, ErrInvalid) {
		t.Fatalf("update to tomorrow: %v", err)
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestLoadTimeZone(t *testing.T) {
	for _, name := range []string{"", DefaultTimeZone} {
		if loc, err := LoadTimeZone(name); err != nil || loc.String() != ChinaTime().String() {
			t.Errorf("%q: %v %v", name, loc, err)
		}
	}
	loc, err := LoadTimeZone("Asia/Urumqi")
	if err != nil || DateOf(time.Date(2022, 11, 20, 17, 0, 0, 0, time.UTC), loc) != MakeDate(2022, 11, 20) {
		t.Fatalf("Asia/Urumqi: %v %v", loc, err)
	}
	for _, bad := range []string{"Mars/Olympus", "Local", "../etc/passwd"} {
		if _, err := LoadTimeZone(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", bad, err)
		}
	}
}

func TestScreeningCoverageRule(t *testing.T) {
	pop := func(n int) *int { return &n }
	cases := map[string]struct {
		ns          NewScreening
		wantPop     int
		wantPartial bool
		wantErr     string
	}{
		"whole":                 {NewScreening{Tested: 40}, 40, false, ""},
		"whole, larger count":   {NewScreening{Tested: 45, Population: pop(45)}, 45, false, ""},
		"reason on a whole one": {NewScreening{Tested: 40, PartialReason: "x"}, 40, false, ""},
		"one short":             {NewScreening{Tested: 39}, 0, false, "39 of 40 residents were tested"},
		"smaller count":         {NewScreening{Tested: 30, Population: pop(30)}, 0, false, "entered population 30 is smaller than the zone's 40"},
		"short of the count":    {NewScreening{Tested: 40, Population: pop(45)}, 0, false, "40 of 45"},
		"one short, reason":     {NewScreening{Tested: 39, PartialReason: " in hospital "}, 40, true, ""},
		"smaller count, reason": {NewScreening{Tested: 30, Population: pop(30), PartialReason: "moved out"}, 30, true, ""},
	}
	for name, c := range cases {
		p, partial, why, err := c.ns.Coverage(7, 3, 40)
		if c.wantErr != "" {
			if !errors.Is(err, ErrInvalid) || !strings.Contains(Message(err), c.wantErr) || !strings.Contains(Message(err), "partial_reason") {
				t.Errorf("%s: %v; want ErrInvalid with %q", name, err, c.wantErr)
			}
			continue
		}
		if err != nil || p != c.wantPop || partial != c.wantPartial || (partial && why != strings.TrimSpace(c.ns.PartialReason)) || (!partial && why != "") {
			t.Errorf("%s: population %d partial %v reason %q %v", name, p, partial, why, err)
		}
	}
}

// A partial round on day N never makes the zone eligible, even when it
// tested everyone it counted.
func TestPartialRoundNeverEligible(t *testing.T) {
	rules := RuleSet{ID: "r", CleanDays: 5, ScreeningRequired: true}
	l := MakeDate(2022, 11, 21)
	n := l.AddDays(5)
	partial := Screening{ID: 1, RoundDate: n, Population: 30, Tested: 30, Negatives: 30, Partial: true, PartialReason: "moved out"}
	ls := EvaluateLifting(rules, l, []Screening{partial}, n)
	if ls.Eligible || ls.DayNCoveredAll || !strings.Contains(strings.Join(ls.Reasons, "; "), "partial coverage (moved out)") {
		t.Fatalf("partial round: %+v", ls)
	}
	whole := Screening{ID: 2, RoundDate: n, Population: 40, Tested: 40, Negatives: 40}
	ls = EvaluateLifting(rules, l, []Screening{partial, whole}, n)
	if !ls.Eligible || ls.DayNScreening.ID != 2 {
		t.Fatalf("with a whole round too: %+v", ls)
	}
	// A positive in a partial round still moves the clock.
	pos := Screening{ID: 3, RoundDate: l.AddDays(2), Population: 40, Tested: 20, Negatives: 19, Positives: 1, Partial: true, PartialReason: "x"}
	if ls = EvaluateLifting(rules, l, []Screening{pos}, n); ls.LastInfection != l.AddDays(2) {
		t.Fatalf("a positive partial round: %+v", ls)
	}
}

func TestRecomputeClock(t *testing.T) {
	des := MakeDate(2022, 11, 21)
	if l, why := RecomputeClock(des); l != des || !strings.Contains(why, "designated on 2022-11-21") {
		t.Fatalf("no events: %s %q", l, why)
	}
	early := ClockEvent{Day: MakeDate(2022, 11, 20), Why: "case 1"}
	if l, _ := RecomputeClock(des, early); l != des {
		t.Fatalf("an event before the designation moved the clock to %s", l)
	}
	late := ClockEvent{Day: MakeDate(2022, 11, 23), Why: "case 2"}
	mid := ClockEvent{Day: MakeDate(2022, 11, 22), Why: "round 1"}
	if l, why := RecomputeClock(des, early, late, mid); l != late.Day || why != "case 2" {
		t.Fatalf("latest event: %s %q", l, why)
	}
}

// FuzzLoadTimeZone: any name either loads a calendar or is a clear
// ErrInvalid, never a panic or a path outside the zone database.
func FuzzLoadTimeZone(f *testing.F) {
	for _, s := range []string{"", "Asia/Shanghai", "Asia/Urumqi", "UTC", "Local", "../../etc/passwd", "Asia/", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		loc, err := LoadTimeZone(name)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || loc != nil {
				t.Fatalf("%q: %v %v", name, loc, err)
			}
			return
		}
		if loc == nil || name == "Local" {
			t.Fatalf("%q loaded %v", name, loc)
		}
	})
}
