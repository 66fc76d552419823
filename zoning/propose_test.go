package zoning

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Two points ~100 m apart share or neighbour an H3 res-9 cell; ~5 km apart they do not.
const (
	lonA, latA = 117.0, 36.65
	lonB, latB = 117.001, 36.6505
	lonFar     = 117.06
)

func TestSelectSeedsCountsOnlyWindowAndUnexcluded(t *testing.T) {
	p := DefaultProposeParams()
	cases := []CaseInput{
		{ID: 1, ReportDate: day("2022-11-20"), UnitID: 11, BuildingID: 1, Lon: lonA, Lat: latA, SourceKnown: true},
		{ID: 2, ReportDate: day("2022-11-20"), UnitID: 21, BuildingID: 2, Lon: lonB, Lat: latB, SourceKnown: true, Excluded: "closed_loop_work"},
		{ID: 3, ReportDate: day("2022-11-01"), UnitID: 31, BuildingID: 3, Lon: lonA, Lat: latA, SourceKnown: true},
		{ID: 4, ReportDate: day("2022-11-22"), UnitID: 41, BuildingID: 4, Lon: lonA, Lat: latA, SourceKnown: true},
	}
	s := SelectSeeds(day("2022-11-21").Add(10*time.Hour), p, cases, nil)
	if len(s.Counted) != 1 || s.Counted[0].ID != 1 {
		t.Fatalf("counted %+v", s.Counted)
	}
	want := []Ignored{{2, "excluded:closed_loop_work"}, {3, "before_window"}, {4, "after_time"}}
	if !slices.Equal(s.Ignored, want) {
		t.Fatalf("ignored %+v, want %+v", s.Ignored, want)
	}
	if !slices.Equal(s.UnitSeeds[1], []int64{11}) || len(s.BuildingSeeds) != 0 {
		t.Fatalf("seeds %+v %+v", s.UnitSeeds, s.BuildingSeeds)
	}
}

func TestWindowEdges(t *testing.T) {
	p := DefaultProposeParams()
	p.WindowDays = 5
	at := day("2022-11-21")
	in := CaseInput{ID: 1, ReportDate: day("2022-11-17"), UnitID: 1, BuildingID: 1, Lon: lonA, Lat: latA, SourceKnown: true}
	out := CaseInput{ID: 2, ReportDate: day("2022-11-16"), UnitID: 2, BuildingID: 2, Lon: lonA, Lat: latA, SourceKnown: true}
	s := SelectSeeds(at, p, []CaseInput{in, out}, nil)
	if len(s.Counted) != 1 || s.Counted[0].ID != 1 {
		t.Fatalf("a 5-day window ending 11-21 counts 11-17..11-21: %+v", s.Counted)
	}
}

func TestUnknownUnitDesignatesBuilding(t *testing.T) {
	s := SelectSeeds(day("2022-11-21"), DefaultProposeParams(), []CaseInput{
		{ID: 1, ReportDate: day("2022-11-20"), BuildingID: 7, Lon: lonA, Lat: latA, SourceKnown: true},
	}, nil)
	if !slices.Equal(s.BuildingSeeds[7], []string{"residence_unit_unknown"}) || len(s.UnitSeeds) != 0 {
		t.Fatalf("seeds %+v %+v", s.BuildingSeeds, s.UnitSeeds)
	}
}

func TestPlaceNeedsRiskAndRepetition(t *testing.T) {
	p := DefaultProposeParams()
	cases := []CaseInput{
		{ID: 1, ReportDate: day("2022-11-20"), UnitID: 1, BuildingID: 1, Lon: lonA, Lat: latA, SourceKnown: true},
		{ID: 2, ReportDate: day("2022-11-20"), UnitID: 2, BuildingID: 2, Lon: lonFar, Lat: latA, SourceKnown: true},
	}
	traces := []TraceInput{
		{CaseID: 1, PlaceID: 5, BuildingID: 50, Enclosed: true, Hours: 1},
		{CaseID: 2, PlaceID: 5, BuildingID: 50, Enclosed: true, Hours: 1},
		{CaseID: 1, PlaceID: 6, BuildingID: 60, Enclosed: false, Hours: 8},  // open air: not high-risk
		{CaseID: 2, PlaceID: 7, BuildingID: 70, Enclosed: true, Hours: 0.5}, // one short visit
		{CaseID: 1, PlaceID: 8, BuildingID: 80, PoorlyVentilated: true, Hours: 3},
	}
	s := SelectSeeds(day("2022-11-21"), p, cases, traces)
	if !slices.Equal(s.BuildingSeeds[50], []string{"place_2_cases"}) {
		t.Errorf("building 50: %v", s.BuildingSeeds[50])
	}
	if !slices.Equal(s.BuildingSeeds[80], []string{"place_long_stay"}) {
		t.Errorf("building 80: %v", s.BuildingSeeds[80])
	}
	if _, ok := s.BuildingSeeds[60]; ok {
		t.Error("an open-air place became a seed")
	}
	if _, ok := s.BuildingSeeds[70]; ok {
		t.Error("a single short visit became a seed")
	}
}

func TestClustersSpreadRules(t *testing.T) {
	p := DefaultProposeParams()
	near := func(id, b int64, d string, known bool) CaseInput {
		return CaseInput{ID: id, ReportDate: day(d), UnitID: b * 10, BuildingID: b, Lon: lonA + float64(b)*0.0002, Lat: latA, SourceKnown: known}
	}
	// Three buildings within three days: spread.
	cl := FindClusters(p, []CaseInput{near(1, 1, "2022-11-18", true), near(2, 2, "2022-11-19", true), near(3, 3, "2022-11-20", true)})
	if len(cl) != 1 || !cl[0].Spread {
		t.Fatalf("clusters %+v: want one spread cluster", cl)
	}
	// The same three buildings over six days: no spread.
	cl = FindClusters(p, []CaseInput{near(1, 1, "2022-11-14", true), near(2, 2, "2022-11-17", true), near(3, 3, "2022-11-20", true)})
	if len(cl) != 1 || cl[0].Spread {
		t.Fatalf("clusters %+v: want one cluster without spread", cl)
	}
	// One case of unknown source: spread.
	cl = FindClusters(p, []CaseInput{near(1, 1, "2022-11-20", false)})
	if len(cl) != 1 || !cl[0].Spread || !slices.Contains(cl[0].Why, "case_of_unknown_source") {
		t.Fatalf("clusters %+v", cl)
	}
	// Far apart: two clusters.
	far := near(2, 2, "2022-11-20", true)
	far.Lon = lonFar
	cl = FindClusters(p, []CaseInput{near(1, 1, "2022-11-20", true), far})
	if len(cl) != 2 {
		t.Fatalf("%d clusters, want 2", len(cl))
	}
}

func TestParamsValidation(t *testing.T) {
	if _, err := ParseProposeParams(nil); err != nil {
		t.Fatalf("empty params: %v", err)
	}
	p, err := ParseProposeParams([]byte(`{"window_days": 7, "boundary_road_classes": ["primary"]}`))
	if err != nil || p.WindowDays != 7 || p.H3Resolution != 9 || !slices.Equal(p.BoundaryRoadClasses, []string{"primary"}) {
		t.Fatalf("%+v %v", p, err)
	}
	for _, bad := range []string{`{"window_days": 0.5}`, `{"membership_share": 2}`, `[1]`, `{"h3_resolution": 3}`, `{"spread_min_buildings": 1}`} {
		if _, err := ParseProposeParams([]byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestStaffRequired(t *testing.T) {
	r := RuleSet{StaffRatio: 10}
	for pop, want := range map[int]int{0: 0, 1: 1, 10: 1, 11: 2, 1234: 124} {
		if got := r.StaffRequired(pop); got != want {
			t.Errorf("StaffRequired(%d) = %d, want %d", pop, got, want)
		}
	}
}
