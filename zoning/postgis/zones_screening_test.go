package postgis_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
)

// A screening round covers the zone's population at its version (issue 17
// §4): fewer tested, or a smaller entered population, is refused and
// changes nothing; with a reason it is recorded as partial coverage, shown
// as such, and never makes the zone eligible.
func TestScreeningCoverage(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	zn := e.buildingZone(0, 0) // 40 residents; L = 2022-11-21, day 5 = 2022-11-26
	if zn.Current.Population != 40 {
		t.Fatalf("zone population %d, want 40", zn.Current.Population)
	}
	e.clk.Set(local("2022-11-26", "06:45")) // 22:45 UTC on 2022-11-25
	before := e.snap()
	for name, ns := range map[string]zoning.NewScreening{
		"fewer tested":             {RoundDate: "2022-11-26", Tested: 39, Negatives: 39},
		"smaller population":       {RoundDate: "2022-11-26", Population: ptr(30), Tested: 30, Negatives: 30},
		"blank reason":             {RoundDate: "2022-11-26", Tested: 39, Negatives: 39, PartialReason: "   "},
		"fewer than entered count": {RoundDate: "2022-11-26", Population: ptr(45), Tested: 40, Negatives: 40},
	} {
		_, err := e.z.AddScreening(ctx, as(e.bob), zn.ID, ns)
		if !errors.Is(err, zoning.ErrInvalid) || !strings.Contains(zoning.Message(err), "partial_reason") ||
			!strings.Contains(zoning.Message(err), "population 40 at version 1") {
			t.Errorf("%s: %v; want a 400 asking for partial_reason", name, err)
		}
	}
	if e.snap() != before {
		t.Fatal("refused rounds changed something")
	}
	if rounds, err := e.z.Screenings(ctx, zn.ID); err != nil || len(rounds) != 0 {
		t.Fatalf("rounds after refusals: %+v %v", rounds, err)
	}

	// With a reason: recorded as partial, shown as such, not eligible.
	s, err := e.z.AddScreening(ctx, as(e.bob), zn.ID, zoning.NewScreening{RoundDate: "2022-11-26", Tested: 39, Negatives: 39,
		PartialReason: "one resident is in hospital, tested there"})
	if err != nil || !s.Partial || s.PartialReason != "one resident is in hospital, tested there" || s.ZonePopulation != 40 ||
		s.ZoneVersion != 1 || s.Population != 40 {
		t.Fatalf("partial round %+v %v", s, err)
	}
	small, err := e.z.AddScreening(ctx, as(e.bob), zn.ID, zoning.NewScreening{RoundDate: "2022-11-26", Population: ptr(30), Tested: 30,
		Negatives: 30, PartialReason: "10 residents moved out before the round"})
	if err != nil || !small.Partial || small.Population != 30 || small.ZonePopulation != 40 {
		t.Fatalf("round of a smaller population %+v %v", small, err)
	}
	rounds, err := e.z.Screenings(ctx, zn.ID)
	if err != nil || len(rounds) != 2 || !rounds[0].Partial || !rounds[1].Partial || rounds[1].PartialReason == "" {
		t.Fatalf("rounds %+v %v", rounds, err)
	}
	ls, err := e.z.Lifting(ctx, zn.ID)
	if err != nil || ls.Eligible || ls.DayNCoveredAll || ls.DayNScreening == nil || !ls.DayNScreening.Partial ||
		!strings.Contains(strings.Join(ls.Reasons, "; "), "partial coverage") {
		t.Fatalf("lifting with partial rounds only: %+v %v", ls, err)
	}
	if _, err := e.z.Lift(ctx, as(e.alice), zn.ID, zoning.LiftRequest{Reason: "most were tested"}); !errors.Is(err, zoning.ErrConflict) ||
		!strings.Contains(zoning.Message(err), "partial coverage") {
		t.Fatalf("lift on partial rounds: %v", err)
	}

	// A whole round of the zone's population makes it eligible.
	full, err := e.z.AddScreening(ctx, as(e.bob), zn.ID, zoning.NewScreening{RoundDate: "2022-11-26", Tested: 40, Negatives: 40})
	if err != nil || full.Partial || full.PartialReason != "" {
		t.Fatalf("whole round %+v %v", full, err)
	}
	ls, err = e.z.Lifting(ctx, zn.ID)
	if err != nil || !ls.Eligible || ls.DayNScreening == nil || ls.DayNScreening.ID != full.ID {
		t.Fatalf("lifting with a whole round: %+v %v", ls, err)
	}
}
