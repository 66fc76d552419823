package zoning

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// The two seeded rule sets (migrations/001_schema.sql), as the store loads them.
var (
	rules202211 = RuleSet{ID: "2022-11", CleanDays: 5, ScreeningRequired: true, StaffRatio: 10, DefaultLevel: "high",
		Levels: []Level{{Code: "high"}, {Code: "low"}}}
	rules202206 = RuleSet{ID: "2022-06", CleanDays: 7, ScreeningRequired: true, StaffRatio: 10, DefaultLevel: "high",
		Levels: []Level{{Code: "high"}, {Code: "medium"}, {Code: "low"}}}
)

func TestEvaluateLifting(t *testing.T) {
	L := MakeDate(2022, 11, 20)
	day := func(n int) Date { return L.AddDays(n) }
	round := func(n, population, tested, negatives, positives int) Screening {
		return Screening{RoundDate: day(n), Population: population, Tested: tested, Negatives: negatives, Positives: positives}
	}
	complete := func(n int) Screening { return round(n, 1000, 1000, 1000, 0) }
	noScreening := rules202211
	noScreening.ScreeningRequired = false
	cases := []struct {
		name       string
		rules      RuleSet
		last       Date
		rounds     []Screening
		today      Date
		eligible   bool
		wantL      Date
		earliest   Date
		streak     int
		covered    bool
		negative   bool
		reasonHas  string
		judgedDate Date
	}{
		{name: "complete negative round on L+5, today L+5", rules: rules202211, last: L, rounds: []Screening{complete(5)}, today: day(5),
			eligible: true, wantL: L, earliest: day(5), streak: 5, covered: true, negative: true, reasonHas: "must be lifted promptly", judgedDate: day(5)},
		{name: "still eligible after day N", rules: rules202211, last: L, rounds: []Screening{complete(5)}, today: day(7),
			eligible: true, wantL: L, earliest: day(5), streak: 7, covered: true, negative: true, judgedDate: day(5)},
		{name: "round on L+4 does not count", rules: rules202211, last: L, rounds: []Screening{complete(4)}, today: day(5),
			wantL: L, earliest: day(5), streak: 5, reasonHas: "no screening round dated 2022-11-25"},
		{name: "round on L+6 does not count either", rules: rules202211, last: L, rounds: []Screening{complete(6)}, today: day(6),
			wantL: L, earliest: day(5), streak: 6, reasonHas: "rounds on other days do not count"},
		{name: "before day N", rules: rules202211, last: L, rounds: []Screening{complete(4)}, today: day(4),
			wantL: L, earliest: day(5), streak: 4, reasonHas: "4 of 5 clean days"},
		{name: "99% coverage", rules: rules202211, last: L, rounds: []Screening{round(5, 1000, 990, 990, 0)}, today: day(5),
			wantL: L, earliest: day(5), streak: 5, negative: true, reasonHas: "tested 990 of 1000 residents (99.0%)", judgedDate: day(5)},
		{name: "results pending", rules: rules202211, last: L, rounds: []Screening{round(5, 1000, 1000, 998, 0)}, today: day(5),
			wantL: L, earliest: day(5), streak: 5, covered: true, reasonHas: "2 results", judgedDate: day(5)},
		{name: "one positive on day N resets L", rules: rules202211, last: L, rounds: []Screening{round(5, 1000, 1000, 999, 1)}, today: day(5),
			wantL: day(5), earliest: day(10), streak: 0, reasonHas: "found 1 positive(s)"},
		{name: "a positive on L+2 moves L; day N follows", rules: rules202211, last: L, rounds: []Screening{round(2, 1000, 1000, 999, 1), complete(7)}, today: day(7),
			eligible: true, wantL: day(2), earliest: day(7), streak: 5, covered: true, negative: true, judgedDate: day(7)},
		{name: "new case on L+3 moves L", rules: rules202211, last: LastInfection(L, day(3)), rounds: []Screening{complete(5)}, today: day(5),
			wantL: day(3), earliest: day(8), streak: 2, reasonHas: "2 of 5 clean days"},
		{name: "partial and complete rounds on day N", rules: rules202211, last: L, rounds: []Screening{round(5, 1000, 400, 400, 0), complete(5)}, today: day(5),
			eligible: true, wantL: L, earliest: day(5), streak: 5, covered: true, negative: true, judgedDate: day(5)},
		{name: "no round yet, day N ahead", rules: rules202211, last: L, today: day(2),
			wantL: L, earliest: day(5), streak: 2, reasonHas: "is due on 2022-11-25"},
		{name: "2022-06: 7 days, L+5 is too early", rules: rules202206, last: L, rounds: []Screening{complete(5)}, today: day(5),
			wantL: L, earliest: day(7), streak: 5, reasonHas: "5 of 7 clean days"},
		{name: "2022-06: round on L+7", rules: rules202206, last: L, rounds: []Screening{complete(5), complete(7)}, today: day(7),
			eligible: true, wantL: L, earliest: day(7), streak: 7, covered: true, negative: true, judgedDate: day(7)},
		{name: "2022-06: a positive on L+5 pushes day N to L+12", rules: rules202206, last: L, rounds: []Screening{round(5, 500, 500, 499, 1), complete(7)}, today: day(7),
			wantL: day(5), earliest: day(12), streak: 2, reasonHas: "clock restarted on 2022-11-25"},
		{name: "a rule set without screening", rules: noScreening, last: L, today: day(5),
			eligible: true, wantL: L, earliest: day(5), streak: 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := EvaluateLifting(c.rules, c.last, c.rounds, c.today)
			if st.Eligible != c.eligible {
				t.Errorf("eligible %v, want %v; reasons %q", st.Eligible, c.eligible, st.Reasons)
			}
			if st.LastInfection != c.wantL || st.EarliestLifting != c.earliest || st.CleanStreakDays != c.streak {
				t.Errorf("L %s earliest %s streak %d; want %s %s %d", st.LastInfection, st.EarliestLifting, st.CleanStreakDays, c.wantL, c.earliest, c.streak)
			}
			if st.DayNCoveredAll != c.covered || st.DayNAllNegative != c.negative {
				t.Errorf("covered %v negative %v; want %v %v", st.DayNCoveredAll, st.DayNAllNegative, c.covered, c.negative)
			}
			if c.judgedDate.IsZero() != (st.DayNScreening == nil) || st.DayNScreening != nil && st.DayNScreening.RoundDate != c.judgedDate {
				t.Errorf("judged round %+v, want one dated %s", st.DayNScreening, c.judgedDate)
			}
			if len(st.Reasons) == 0 || c.reasonHas != "" && !strings.Contains(strings.Join(st.Reasons, "; "), c.reasonHas) {
				t.Errorf("reasons %q, want one with %q", st.Reasons, c.reasonHas)
			}
			if st.CleanDays != c.rules.CleanDays || st.RuleSetID != c.rules.ID {
				t.Errorf("rule set %s/%d in the status", st.RuleSetID, st.CleanDays)
			}
		})
	}
}

// The input order of rounds does not matter, and the input is not modified.
func TestEvaluateLiftingOrderIndependent(t *testing.T) {
	L := MakeDate(2022, 11, 20)
	rounds := []Screening{
		{RoundDate: L.AddDays(5), Population: 10, Tested: 10, Negatives: 10},
		{RoundDate: L.AddDays(1), Population: 10, Tested: 10, Negatives: 9, Positives: 1},
	}
	orig := slices.Clone(rounds)
	a := EvaluateLifting(rules202211, L, rounds, L.AddDays(6))
	slices.Reverse(rounds)
	b := EvaluateLifting(rules202211, L, rounds, L.AddDays(6))
	if a.Eligible || b.Eligible || a.LastInfection != L.AddDays(1) || b.LastInfection != a.LastInfection {
		t.Fatalf("a %+v\nb %+v", a, b)
	}
	slices.Reverse(rounds)
	if !slices.Equal(rounds, orig) {
		t.Fatal("the rounds were modified")
	}
}

func TestClockHelpers(t *testing.T) {
	L := MakeDate(2022, 11, 20)
	if got := LastInfection(L, L.AddDays(-3), L.AddDays(2), L.AddDays(1)); got != L.AddDays(2) {
		t.Fatalf("LastInfection %s", got)
	}
	if got := LastInfection(L, L.AddDays(-3)); got != L {
		t.Fatalf("designation later than the cases: %s", got)
	}
	if _, _, moved := ExtendClock(L, 7, L); moved {
		t.Fatal("a case on L moved the clock")
	}
	c, why, moved := ExtendClock(L, 7, L.AddDays(3))
	if !moved || c != L.AddDays(3) || !strings.Contains(why, "case 7") || !strings.Contains(why, "2022-11-23") {
		t.Fatalf("ExtendClock: %s %q %v", c, why, moved)
	}
	m, why := MergeClock([]ZoneVersion{{ZoneID: 3, ClockStart: L}, {ZoneID: 4, ClockStart: L.AddDays(2), ClockReason: "new counted case 9 reported on 2022-11-22"}})
	if m != L.AddDays(2) || !strings.Contains(why, "zone 4") || !strings.Contains(why, "case 9") {
		t.Fatalf("MergeClock: %s %q", m, why)
	}
	if got := MostSevereLevel(rules202206, []string{"low", "medium", "high"}); got != "high" {
		t.Fatalf("most severe %q", got)
	}
	if got := MostSevereLevel(rules202206, []string{"low", "medium"}); got != "medium" {
		t.Fatalf("most severe %q", got)
	}
	if MembershipShare() != 0.5 {
		t.Fatalf("membership share %g", MembershipShare())
	}
}

func TestDateJSONAndArithmetic(t *testing.T) {
	d := MakeDate(2022, 12, 30)
	if d.AddDays(3).String() != "2023-01-02" || d.AddDays(3).DaysSince(d) != 3 || d.DaysSince(d.AddDays(3)) != -3 {
		t.Fatalf("arithmetic: %s", d.AddDays(3))
	}
	b, _ := json.Marshal(struct{ D, Z Date }{D: d})
	if string(b) != `{"D":"2022-12-30","Z":null}` {
		t.Fatalf("JSON %s", b)
	}
	var back struct{ D Date }
	if err := json.Unmarshal([]byte(`{"D":"2022-12-30"}`), &back); err != nil || back.D != d {
		t.Fatalf("unmarshal %v %v", back.D, err)
	}
	if err := json.Unmarshal([]byte(`{"D":"30/12/2022"}`), &back); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad date: %v", err)
	}
	// 23:30 UTC is the next day in China.
	if got := DateOf(time.Date(2022, 11, 20, 23, 30, 0, 0, time.UTC), ChinaTime()); got != MakeDate(2022, 11, 21) {
		t.Fatalf("DateOf %s", got)
	}
}

func TestParseIfMatch(t *testing.T) {
	for h, want := range map[string]int{`"z5-v3"`: 3, `W/"z5-v12"`: 12, ` "z5-v1" `: 1} {
		if v, err := ParseIfMatch(h, 5); err != nil || v != want {
			t.Errorf("%s: %d %v", h, v, err)
		}
	}
	for _, h := range []string{`*`, `"z6-v3"`, `"z5-v0"`, `"z5-vx"`, `z5-v3`, `"z5-v3", "z5-v4"`} {
		if _, err := ParseIfMatch(h, 5); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want invalid", h, err)
		}
	}
	z := Zone{ID: 5, CurrentVersion: 3}
	if z.ETag() != `"z5-v3"` {
		t.Fatalf("ETag %s", z.ETag())
	}
	var err error = &StaleVersionError{ZoneID: 5, Given: 2, Current: 3, Status: ZoneActive}
	if Kind(err) != ErrConflict || !strings.Contains(Message(err), "current version is 3") {
		t.Fatalf("stale error: kind %v message %q", Kind(err), Message(err))
	}
}

func TestCheckGeometryJSON(t *testing.T) {
	good := `{"type":"Polygon","coordinates":[[[117,36.6],[117.01,36.6],[117.01,36.61],[117,36.6]]]}`
	if err := CheckGeometryJSON(json.RawMessage(good)); err != nil {
		t.Fatalf("good polygon: %v", err)
	}
	multi := `{"type":"MultiPolygon","coordinates":[[[[117,36.6],[117.01,36.6],[117.01,36.61],[117,36.6]]]]}`
	if err := CheckGeometryJSON(json.RawMessage(multi)); err != nil {
		t.Fatalf("good multipolygon: %v", err)
	}
	bad := map[string]string{
		`[1,2]`: "GeoJSON object",
		`{"type":"Point","coordinates":[117,36]}`:                                                          `"Point"`,
		`{"coordinates":[]}`:                                                                               "type is missing",
		`{"type":"Polygon","coordinates":[[[117,36],[118,36],[117,36]]]}`:                                  "at least 4",
		`{"type":"Polygon","coordinates":[[[117,36],[118,36],[118,37],[117,37]]]}`:                         "not closed",
		`{"type":"Polygon","coordinates":[[[117,36],[218,36],[118,37],[117,36]]]}`:                         "out of range",
		`{"type":"Polygon","coordinates":[[[117,36],[118],[118,37],[117,36]]]}`:                            "position 2",
		`{"type":"Polygon","coordinates":"x"}`:                                                             "Polygon coordinates",
		`{"type":"MultiPolygon","coordinates":[]}`:                                                         "no polygon",
		`{"type":"Polygon","coordinates":[[[117,36],[118,36],[118,37],[117,36]]],"crs":{"type":"name"}}`:   "crs",
		`{"type":"Polygon","coordinates":[[[117,36],[118,36],[118,37],[117,36]]],"crs":null,"bbox":[1,2]}`: "",
	}
	for in, want := range bad {
		err := CheckGeometryJSON(json.RawMessage(in))
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", in, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalid) || !strings.Contains(Message(err), want) {
			t.Errorf("%s: %v, want invalid with %q", in, err, want)
		}
	}
}

func TestRequestValidation(t *testing.T) {
	poly := json.RawMessage(`{"type":"Polygon","coordinates":[[[117,36.6],[117.01,36.6],[117.01,36.61],[117,36.6]]]}`)
	cases := map[string]struct {
		err  error
		want string
	}{
		"approve without reason":      {ApproveRequest{}.Validate(), "reason is required"},
		"approve geometry and member": {ApproveRequest{Reason: "x", Geometry: poly, MemberChange: MemberChange{AddBuildings: []int64{1}}}.Validate(), "not both"},
		"approve geometry":            {ApproveRequest{Reason: "x", Geometry: poly}.Validate(), ""},
		"approve null geometry":       {ApproveRequest{Reason: "x", Geometry: json.RawMessage("null")}.Validate(), ""},
		"add and remove":              {MembersEdit{Reason: "x", MemberChange: MemberChange{AddBuildings: []int64{1}, RemoveBuildings: []int64{1}}}.Validate(), "both added and removed"},
		"twice":                       {MembersEdit{Reason: "x", MemberChange: MemberChange{AddUnits: []int64{4, 4}}}.Validate(), "given twice"},
		"non-positive id":             {MembersEdit{Reason: "x", MemberChange: MemberChange{RemoveUnits: []int64{0}}}.Validate(), "not a positive"},
		"empty member edit":           {MembersEdit{Reason: "x"}.Validate(), "no member change"},
		"geometry edit without geom":  {GeometryEdit{Reason: "x"}.Validate(), "geometry is missing"},
		"negative version":            {GeometryEdit{Reason: "x", Version: -1, Geometry: poly}.Validate(), "version -1"},
		"split one part":              {SplitRequest{Reason: "x", Parts: []json.RawMessage{poly}}.Validate(), "at least two parts"},
		"split bad part":              {SplitRequest{Reason: "x", Parts: []json.RawMessage{poly, json.RawMessage(`{"type":"Point"}`)}}.Validate(), "part 2"},
		"split names":                 {SplitRequest{Reason: "x", Parts: []json.RawMessage{poly, poly}, Names: []string{"a"}}.Validate(), "1 names for 2 parts"},
		"merge one":                   {MergeRequest{Reason: "x", Zones: []ZoneRef{{1, 1}}}.Validate(), "at least two zones"},
		"merge twice":                 {MergeRequest{Reason: "x", Zones: []ZoneRef{{1, 1}, {1, 1}}}.Validate(), "given twice"},
		"merge no version":            {MergeRequest{Reason: "x", Zones: []ZoneRef{{1, 1}, {2, 0}}}.Validate(), "give the version"},
		"override short reason":       {LiftRequest{Reason: "because", Override: true}.Validate(), "at least 10 characters"},
		"lift":                        {LiftRequest{Reason: "because"}.Validate(), ""},
		"reject":                      {RejectRequest{Reason: "  "}.Validate(), "reason is required"},
	}
	for name, c := range cases {
		if c.want == "" {
			if c.err != nil {
				t.Errorf("%s: %v", name, c.err)
			}
			continue
		}
		if Kind(c.err) == nil || !strings.Contains(Message(c.err), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, c.err, c.want)
		}
	}
	today := MakeDate(2022, 11, 25)
	for in, want := range map[NewScreening]string{
		{RoundDate: "2022-11-26", Tested: 1}:               "future",
		{RoundDate: "25.11.2022", Tested: 1}:               "YYYY-MM-DD",
		{RoundDate: "2022-11-25", Tested: 5, Negatives: 6}: "exceed",
		{RoundDate: "2022-11-25", Tested: -1}:              "tested -1",
		{RoundDate: "2022-11-25", Tested: 5, Negatives: 5}: "",
	} {
		d, err := in.Validate(today)
		if want == "" {
			if err != nil || d != today {
				t.Errorf("%+v: %s %v", in, d, err)
			}
		} else if !errors.Is(err, ErrInvalid) || !strings.Contains(Message(err), want) {
			t.Errorf("%+v: %v, want %q", in, err, want)
		}
	}
	if err := (ZoneFilter{Status: "gone"}).Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad status: %v", err)
	}
	if err := (ZoneFilter{Status: ZoneLifted, At: time.Now()}).Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("lifted as of: %v", err)
	}
}

func TestDiffVersions(t *testing.T) {
	a := ZoneVersion{ZoneID: 1, Version: 1, BuildingIDs: []int64{1, 2, 3}, UnitIDs: []int64{11, 12, 21, 22, 31, 32}, Population: 120, AreaM2: 1000}
	b := ZoneVersion{ZoneID: 1, Version: 3, BuildingIDs: []int64{2, 3, 4}, UnitIDs: []int64{21, 22, 31, 32, 41, 42, 51}, Population: 140, AreaM2: 1300}
	d := DiffVersions(a, b)
	if !slices.Equal(d.BuildingsAdded, []int64{4}) || !slices.Equal(d.BuildingsRemoved, []int64{1}) ||
		!slices.Equal(d.UnitsAdded, []int64{41, 42, 51}) || !slices.Equal(d.UnitsRemoved, []int64{11, 12}) {
		t.Fatalf("members %+v", d)
	}
	if d.PopulationDelta != 20 || d.From != 1 || d.To != 3 || d.AreaToM2 != 1300 {
		t.Fatalf("numbers %+v", d)
	}
	same := DiffVersions(a, a)
	if same.BuildingsAdded == nil || len(same.BuildingsAdded)+len(same.BuildingsRemoved)+len(same.UnitsAdded)+len(same.UnitsRemoved) != 0 {
		t.Fatalf("a version against itself: %+v", same)
	}
}
