package zoning

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func levelsOf(seedRes int, cands ...LevelCandidate) ClusterLevels {
	cl := ClusterLevels{SeedBuildings: 3, SeedResidents: seedRes, Levels: map[string]LevelCandidate{}}
	for _, c := range cands {
		cl.Levels[c.Level] = c
	}
	cl.Levels[LevelBuilding] = LevelCandidate{Level: LevelBuilding, BuildingIDs: []int64{1, 2, 3}, Residents: seedRes, AreaM2: 900}
	return cl
}

func TestChooseLevelStopsAtFirstWithinBounds(t *testing.T) {
	b := DefaultEnlargementBounds()
	cases := map[string]struct {
		cl      ClusterLevels
		want    string
		refused map[string][]string
	}{
		"compound holds it": {
			cl:   levelsOf(300, LevelCandidate{Level: LevelCompound, AreaIDs: []int64{7}, Residents: 1200, AreaM2: 60_000}, LevelCandidate{Level: LevelFineBlock, AreaIDs: []int64{1}, Residents: 900, AreaM2: 40_000}),
			want: LevelCompound,
		},
		"a building outside every compound: the fine block": {
			cl: levelsOf(300, LevelCandidate{Level: LevelCompound, AreaIDs: []int64{7}, Outside: 1, Residents: 1200, AreaM2: 60_000},
				LevelCandidate{Level: LevelFineBlock, AreaIDs: []int64{1, 2}, Residents: 2500, AreaM2: 200_000}),
			want:    LevelFineBlock,
			refused: map[string][]string{LevelCompound: {RefusedNotHeld}},
		},
		"fine block too big, coarse is the county outline: nearby": {
			cl: levelsOf(300,
				LevelCandidate{Level: LevelFineBlock, AreaIDs: []int64{1}, Residents: 3500, AreaM2: 300_000},
				LevelCandidate{Level: LevelCoarseBlock, AreaIDs: []int64{9}, Residents: 2000, AreaM2: 200_000, EdgeShare: 0.8},
				LevelCandidate{Level: LevelNearby, BuildingIDs: []int64{1, 2, 3, 4}, Residents: 400, AreaM2: 1500}),
			want: LevelNearby,
			refused: map[string][]string{LevelCompound: {RefusedNotHeld}, LevelFineBlock: {RefusedResidents, RefusedArea, RefusedRatio},
				LevelCoarseBlock: {RefusedCountyEdge}},
		},
		"ratio refuses a block of few residents per case": {
			cl: levelsOf(30, LevelCandidate{Level: LevelFineBlock, AreaIDs: []int64{1}, Residents: 400, AreaM2: 20_000},
				LevelCandidate{Level: LevelNearby, BuildingIDs: []int64{1, 2, 3}, Residents: 30, AreaM2: 900}),
			want:    LevelNearby,
			refused: map[string][]string{LevelFineBlock: {RefusedRatio}},
		},
		"even the nearby buildings are beyond the bounds: the case buildings alone": {
			cl:      levelsOf(2800, LevelCandidate{Level: LevelNearby, BuildingIDs: []int64{1, 2, 3, 4}, Residents: 3400, AreaM2: 5000}),
			want:    LevelBuilding,
			refused: map[string][]string{LevelNearby: {RefusedResidents}},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e := ChooseLevel(4, c.cl, b)
			if e.Level != c.want {
				t.Fatalf("level %s, want %s (tried %+v)", e.Level, c.want, e.Tried)
			}
			if e.Fallback != (c.want == LevelNearby || c.want == LevelBuilding) {
				t.Fatalf("fallback %v at %s", e.Fallback, e.Level)
			}
			for _, tr := range e.Tried {
				if want, ok := c.refused[tr.Level]; ok && !slices.Equal(tr.Refused, want) {
					t.Errorf("%s refused for %v, want %v", tr.Level, tr.Refused, want)
				}
				if tr.Accepted != (tr.Level == c.want) {
					t.Errorf("%s accepted %v", tr.Level, tr.Accepted)
				}
			}
		})
	}
}

func TestStepLevel(t *testing.T) {
	b := DefaultEnlargementBounds()
	cl := levelsOf(300,
		LevelCandidate{Level: LevelCompound, AreaIDs: []int64{7}, Outside: 2},
		LevelCandidate{Level: LevelFineBlock, AreaIDs: []int64{1}, Residents: 9000, AreaM2: 900_000},
		LevelCandidate{Level: LevelCoarseBlock, AreaIDs: []int64{9}, EdgeShare: 0.9})
	steps := []struct {
		from string
		up   bool
		want string
	}{
		{LevelNearby, true, LevelFineBlock}, // the compound does not hold the cluster; bounds do not bind an expert
		{LevelFineBlock, true, ""},          // the coarse block is the county outline: never
		{LevelFineBlock, false, LevelNearby},
		{LevelNearby, false, LevelBuilding},
		{LevelBuilding, false, ""},
		{"bogus", true, ""},
	}
	for _, s := range steps {
		if got := StepLevel(s.from, s.up, cl, b); got != s.want {
			t.Errorf("from %s up=%v: %q, want %q", s.from, s.up, got, s.want)
		}
	}
}

func TestEnlargementBoundsValidation(t *testing.T) {
	good, err := ParseEnlargementBounds([]byte(`{}`))
	if err != nil || good != DefaultEnlargementBounds() {
		t.Fatalf("empty bounds: %+v, %v; want the defaults", good, err)
	}
	if b, err := ParseEnlargementBounds([]byte(`{"max_residents": 5000}`)); err != nil || b.MaxResidents != 5000 || b.MaxAreaM2 != DefaultEnlargementBounds().MaxAreaM2 {
		t.Fatalf("partial bounds: %+v, %v", b, err)
	}
	for _, raw := range []string{
		`{"max_residents": -1}`, `{"max_residents": 2000000}`, `{"max_area_m2": -5}`, `{"max_area_m2": 1e12}`,
		`{"max_ratio": 0.5}`, `{"fallback_distance_m": 5000}`, `{"max_edge_share": 1.5}`, `{"max_residnts": 10}`,
		`{"max_residents": "many"}`, `[1]`, `{} {}`,
	} {
		if _, err := ParseEnlargementBounds([]byte(raw)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", raw, err)
		}
	}
	rs := RuleSet{ID: "x", Levels: []Level{{Code: "high"}, {Code: "low"}}, CleanDays: 5, StaffRatio: 10, DefaultLevel: "high",
		Enlargement: EnlargementBounds{MaxRatio: 0.1}}
	if err := rs.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("rule set with a bad ratio: %v", err)
	}
}

func TestRationaleSentencesInBothLanguages(t *testing.T) {
	b := DefaultEnlargementBounds()
	e := ChooseLevel(2, levelsOf(300,
		LevelCandidate{Level: LevelFineBlock, AreaIDs: []int64{1}, Residents: 3500, AreaM2: 300_000},
		LevelCandidate{Level: LevelCoarseBlock, AreaIDs: []int64{9}, Residents: 2000, AreaM2: 200_000, EdgeShare: 0.8},
		LevelCandidate{Level: LevelNearby, BuildingIDs: []int64{1, 2, 3, 4}, Residents: 412, AreaM2: 1500}), b)
	r := Rationale{Rules: []string{"case_of_unknown_source", "cases_in_2_units", "cases_in_3_buildings_within_3_days", "place_2_cases", "place_32_visits", "spread_cluster_nearby"},
		CaseIDs: []int64{1, 2, 3, 4, 5}, PlaceIDs: []int64{8}, Enlargements: []Enlargement{e}}
	Describe(&r, 4, 9)
	zh, en := strings.Join(r.Text.Zh, "\n"), strings.Join(r.Text.En, "\n")
	for _, want := range []string{"5例计入病例、4栋楼、9个单元、1个高风险场所", "感染来源不明", "2个单元有病例", "3天内3栋楼", "2例病例到访", "到访32次",
		"未按小区扩大：病例楼栋不在任何小区内", "居民3500人，超过上限3000人", "面积30万平方米，超过上限25万平方米", "11.7倍，超过上限10倍",
		"其边界80%为区县边界", "有界兜底", "30米内", "居民412人"} {
		if !strings.Contains(zh, want) {
			t.Errorf("zh lacks %q:\n%s", want, zh)
		}
	}
	for _, want := range []string{"5 counted cases, 4 buildings, 9 units and 1 high-risk places", "unknown source", "3 buildings within 3 days",
		"2 cases visited", "32 visits", "3,500 residents, above the bound of 3,000", "300,000 m², above the bound of 250,000 m²",
		"11.7 times", "80% of its boundary is the county edge", "bounded fallback", "within 30 m", "412 residents"} {
		if !strings.Contains(en, want) {
			t.Errorf("en lacks %q:\n%s", want, en)
		}
	}
	if len(r.Text.Zh) != len(r.Text.En) || strings.Contains(zh, "cases_in") || strings.Contains(en, "cases_in_2_units") {
		t.Errorf("sentences carry raw rule ids or differ in number:\n%s\n%s", zh, en)
	}
	if got := r.Text.Sentences("en-GB"); got[0] != r.Text.En[0] {
		t.Errorf("Sentences(en-GB) = %q", got[0])
	}
	if got := r.Text.Sentences("zh-CN"); got[0] != r.Text.Zh[0] {
		t.Errorf("Sentences(zh-CN) = %q", got[0])
	}
	if !slices.Contains(r.Rules, "cases_in_2_units") {
		t.Error("the machine rule ids were lost")
	}
}

func TestParseRule(t *testing.T) {
	for rule, want := range map[string]Reason{
		"cases_in_2_units":                    {Rule: "cases_in_2_units", Code: "cases_in_units", Numbers: map[string]int{"units": 2}},
		"place_32_visits":                     {Rule: "place_32_visits", Code: "place_visits", Numbers: map[string]int{"visits": 32}},
		"cases_in_15_buildings_within_3_days": {Rule: "cases_in_15_buildings_within_3_days", Code: "cases_in_buildings", Numbers: map[string]int{"buildings": 15, "days": 3}},
		"case_of_unknown_source":              {Rule: "case_of_unknown_source", Code: "case_of_unknown_source"},
	} {
		got := ParseRule(rule)
		if got.Code != want.Code || len(got.Numbers) != len(want.Numbers) {
			t.Errorf("%s: %+v, want %+v", rule, got, want)
		}
		for k, v := range want.Numbers {
			if got.Numbers[k] != v {
				t.Errorf("%s: %s = %d, want %d", rule, k, got.Numbers[k], v)
			}
		}
	}
}

func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"cases_in_2_units", "place_3_cases", "cases_in_1_buildings_within_9_days", "x", "place__visits"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := ParseRule(s)
		if r.Rule != s || r.Code == "" && s != "" {
			t.Fatalf("ParseRule(%q) = %+v", s, r)
		}
		RenderRationale(Rationale{Reasons: []Reason{r}})
	})
}

func FuzzParseEnlargementBounds(f *testing.F) {
	for _, s := range []string{`{}`, `{"max_residents": 10}`, `{"max_ratio": -1}`, `null`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseEnlargementBounds([]byte(s))
		if err == nil && b.Validate() != nil {
			t.Fatalf("accepted invalid bounds %+v from %q", b, s)
		}
	})
}

// The engine's day is the day in China: 20:00 UTC on 11-20 is 04:00 on
// 11-21 in Beijing, so a case reported on 11-21 counts, and the window ends
// on 11-21.
func TestProposalDayIsChinaDay(t *testing.T) {
	at := time.Date(2022, 11, 20, 20, 0, 0, 0, time.UTC)
	if got := ProposalDay(at); !got.Equal(time.Date(2022, 11, 21, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("day of %s: %s, want 2022-11-21", at, got)
	}
	p := DefaultProposeParams()
	cases := []CaseInput{
		{ID: 1, ReportDate: time.Date(2022, 11, 21, 0, 0, 0, 0, time.UTC), BuildingID: 1, Lon: 117, Lat: 36, SourceKnown: true},
		{ID: 2, ReportDate: time.Date(2022, 11, 8, 0, 0, 0, 0, time.UTC), BuildingID: 2, Lon: 117, Lat: 36, SourceKnown: true},
		{ID: 3, ReportDate: time.Date(2022, 11, 7, 0, 0, 0, 0, time.UTC), BuildingID: 3, Lon: 117, Lat: 36, SourceKnown: true},
	}
	s := SelectSeeds(at, p, cases, nil)
	if len(s.Counted) != 2 || s.Counted[0].ID != 1 || s.Counted[1].ID != 2 {
		t.Fatalf("counted %+v, ignored %+v: want cases 1 and 2 (the 14 days to 11-21 in Beijing)", s.Counted, s.Ignored)
	}
	// 15:59 UTC is 23:59 in Beijing: still 11-20, the case of 11-21 is after the time.
	s = SelectSeeds(time.Date(2022, 11, 20, 15, 59, 0, 0, time.UTC), p, cases, nil)
	if len(s.Ignored) != 1 || s.Ignored[0] != (Ignored{1, "after_time"}) {
		t.Fatalf("at 23:59 Beijing: ignored %+v", s.Ignored)
	}
}
