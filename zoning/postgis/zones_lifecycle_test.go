package postgis_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

func TestZoneExtendedByNewCases(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	zn := e.buildingZone(0, 0) // designated 2022-11-21
	b := e.at(0, 0)
	newCase := func(no string, building int64, unit int, report string, excl *zoning.Exclusion) int64 {
		t.Helper()
		var unitID *int64
		if unit > 0 {
			unitID = ptr(e.units[building][unit-1])
		}
		created, err := e.cases.Create(ctx, as(e.alice), []zoning.NewCase{{CaseNo: no, CountyID: e.county, Kind: "confirmed", ReportDate: report,
			Residence: zoning.Residence{UnitID: unitID, BuildingID: &building}, Exclusion: excl}})
		if err != nil {
			t.Fatal(err)
		}
		return created[0]
	}
	e.clk.Set("2022-11-23T03:00:00Z")
	// An excluded case in the zone and a counted case elsewhere: no change.
	excluded := newCase("X1", b, 1, "2022-11-23", &zoning.Exclusion{Category: "centralized_quarantine", Assessment: "found in the quarantine hotel"})
	newCase("X2", e.at(5, 5), 1, "2022-11-23", nil)
	if got, _ := e.z.Get(ctx, zn.ID); got.CurrentVersion != 1 {
		t.Fatalf("an excluded case or a case outside moved the zone to version %d", got.CurrentVersion)
	}
	// A counted case in the zone resets its clock.
	c := newCase("N1", b, 2, "2022-11-23", nil)
	got, err := e.z.Get(ctx, zn.ID)
	if err != nil || got.CurrentVersion != 2 {
		t.Fatalf("after a new case: version %d (%v)", got.CurrentVersion, err)
	}
	v := got.Current
	if v.Change != zoning.ChangeExtend || v.ClockStart != day("2022-11-23") || v.EarliestLifting != day("2022-11-28") ||
		!strings.Contains(v.ClockReason, fmt.Sprintf("case %d", c)) || !strings.Contains(v.ClockReason, "2022-11-23") {
		t.Fatalf("extend version %+v", v)
	}
	if !slices.Equal(v.BuildingIDs, zn.Current.BuildingIDs) || v.Population != zn.Current.Population || v.AuthorID == nil || *v.AuthorID != e.alice.ID {
		t.Fatal("the extension changed the zone's members or lost its author")
	}
	ls, err := e.z.Lifting(ctx, zn.ID)
	if err != nil || ls.LastInfection != day("2022-11-23") || !strings.Contains(ls.ClockReason, fmt.Sprintf("case %d", c)) {
		t.Fatalf("lifting status %+v %v", ls, err)
	}
	// A case reported on an earlier day than the clock does not move it back.
	newCase("N0", b, 1, "2022-11-22", nil)
	if got, _ := e.z.Get(ctx, zn.ID); got.CurrentVersion != 2 {
		t.Fatalf("an older case moved the zone to version %d", got.CurrentVersion)
	}
	// Clearing the exclusion of a later case makes it count: the clock moves.
	e.clk.Set("2022-11-24T03:00:00Z")
	if _, err := e.cases.Update(ctx, as(e.alice), excluded, zoning.CaseUpdate{ReportDate: ptr("2022-11-24"), ClearExclusion: true, Reason: "reassessed"}); err != nil {
		t.Fatal(err)
	}
	got, _ = e.z.Get(ctx, zn.ID)
	if got.CurrentVersion != 3 || got.Current.ClockStart != day("2022-11-24") || !strings.Contains(got.Current.ClockReason, fmt.Sprintf("case %d", excluded)) {
		t.Fatalf("after clearing the exclusion: %+v", got.Current)
	}
	if e.audits("zone.extend", "ok") != 2 {
		t.Fatalf("%d zone.extend audit rows, want 2", e.audits("zone.extend", "ok"))
	}
	// A positive screening round moves the clock too.
	e.clk.Set("2022-11-25T03:00:00Z")
	if _, err := e.z.AddScreening(ctx, as(e.bob), zn.ID, zoning.NewScreening{RoundDate: "2022-11-25", Tested: 40, Negatives: 39, Positives: 1}); err != nil {
		t.Fatal(err)
	}
	got, _ = e.z.Get(ctx, zn.ID)
	if got.CurrentVersion != 4 || got.Current.ClockStart != day("2022-11-25") || !strings.Contains(got.Current.ClockReason, "positive") {
		t.Fatalf("after a positive round: %+v", got.Current)
	}
}

func TestZoneLiftAndLowRiskPeriods(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	zn := e.buildingZone(0, 0) // L = 2022-11-21, day 5 = 2022-11-26
	e.clk.Set("2022-11-25T02:00:00Z")
	if _, err := e.z.AddScreening(ctx, as(e.bob), zn.ID, zoning.NewScreening{RoundDate: "2022-11-25", Tested: 40, Negatives: 40}); err != nil {
		t.Fatal(err)
	}
	e.clk.Set("2022-11-26T02:00:00Z")
	ls, err := e.z.Lifting(ctx, zn.ID)
	if err != nil || ls.Eligible || ls.DayNScreening != nil {
		t.Fatalf("with the round on day 4 only: %+v %v", ls, err)
	}
	// 99% coverage on day 5: still not.
	if _, err := e.z.AddScreening(ctx, as(e.bob), zn.ID, zoning.NewScreening{RoundDate: "2022-11-26", Population: ptr(100), Tested: 99, Negatives: 99,
		PartialReason: "one resident in hospital"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.z.Lift(ctx, as(e.alice), zn.ID, zoning.LiftRequest{Reason: "almost everyone"}); !errors.Is(err, zoning.ErrConflict) ||
		!strings.Contains(zoning.Message(err), "99 of 100") {
		t.Fatalf("lift at 99%% coverage: %v", err)
	}
	s, err := e.z.AddScreening(ctx, as(e.bob), zn.ID, zoning.NewScreening{RoundDate: "2022-11-26", Tested: 40, Negatives: 40})
	if err != nil || s.Population != 40 {
		t.Fatalf("screening %+v %v", s, err)
	}
	rounds, err := e.z.Screenings(ctx, zn.ID)
	if err != nil || len(rounds) != 3 {
		t.Fatalf("%d rounds %v", len(rounds), err)
	}
	ls, err = e.z.Lifting(ctx, zn.ID)
	if err != nil || !ls.Eligible || !ls.DayNCoveredAll || !ls.DayNAllNegative || ls.CleanStreakDays != 5 || ls.EarliestLifting != day("2022-11-26") {
		t.Fatalf("eligible status %+v %v", ls, err)
	}
	// A second zone, so that the first lift leaves the county zoned.
	e.clk.Set("2022-11-26T03:00:00Z")
	other := e.at(8, 7)
	e.addCase(other, 1, "2022-11-26")
	var second zoning.Zone
	for _, id := range e.proposeBy(e.alice, "2022-11-26") {
		p, _ := e.z.Proposal(ctx, id)
		if slices.Contains(p.UnitIDs, e.units[other][0]) {
			if second, err = e.z.Approve(ctx, as(e.bob), id, zoning.ApproveRequest{Reason: "second zone"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if second.ID == 0 {
		t.Fatal("no second zone")
	}
	e.clk.Set("2022-11-26T04:00:00Z")
	lifted, err := e.z.Lift(ctx, as(e.alice), zn.ID, zoning.LiftRequest{Reason: "5 clean days, all negative"})
	if err != nil || lifted.Status != zoning.ZoneLifted || lifted.Current.Change != zoning.ChangeLift {
		t.Fatalf("lift: %+v %v", lifted, err)
	}
	before := e.snap()
	if _, err := e.z.Lift(ctx, as(e.alice), zn.ID, zoning.LiftRequest{Reason: "again"}); !errors.Is(err, zoning.ErrConflict) ||
		!strings.Contains(zoning.Message(err), "already lifted") {
		t.Fatalf("lifting twice: %v", err)
	}
	if _, err := e.z.EditMembers(ctx, as(e.bob), zn.ID, zoning.MembersEdit{Version: lifted.CurrentVersion, Reason: "x",
		MemberChange: zoning.MemberChange{AddBuildings: []int64{e.at(1, 0)}}}); !errors.Is(err, zoning.ErrConflict) {
		t.Fatalf("editing a lifted zone: %v", err)
	}
	if e.snap() != before {
		t.Fatal("refused requests on a lifted zone changed something")
	}
	cs, err := e.z.CountyStatus(ctx, e.county)
	if err != nil || cs.State != zoning.CountyZoned || cs.LowRisk == nil || len(cs.LowRiskPeriods) != 1 {
		t.Fatalf("county with one zone left: %+v %v", cs, err)
	}
	// The last zone: lifted against the rule by an admin, with a written reason.
	e.clk.Set("2022-11-27T04:00:00Z")
	if _, err := e.z.Lift(ctx, as(e.root), second.ID, zoning.LiftRequest{Reason: "short", Override: true}); !errors.Is(err, zoning.ErrInvalid) {
		t.Fatalf("override with a short reason: %v", err)
	}
	over, err := e.z.Lift(ctx, as(e.root), second.ID, zoning.LiftRequest{Reason: "the case was reclassified as an imported past infection", Override: true})
	if err != nil || over.Current.Change != zoning.ChangeOverrideLift || over.Status != zoning.ZoneLifted {
		t.Fatalf("override: %+v %v", over, err)
	}
	var after string
	if err := e.s.Pool.QueryRow(ctx, `SELECT after::text FROM audit_log WHERE action = 'zone.lift' AND outcome = 'ok' AND entity_id = $1`,
		fmt.Sprint(second.ID)).Scan(&after); err != nil || !strings.Contains(after, "override_lift") {
		t.Fatalf("override audit %s %v", after, err)
	}
	cs, err = e.z.CountyStatus(ctx, e.county)
	if err != nil || cs.State != zoning.CountyNormalized || cs.LowRisk != nil || len(cs.LowRiskPeriods) != 1 ||
		cs.LowRiskPeriods[0].ClosedAt == nil || cs.LowRiskPeriods[0].ClosedByZone == nil || *cs.LowRiskPeriods[0].ClosedByZone != second.ID {
		t.Fatalf("county after the last lift: %+v %v", cs, err)
	}
	// A new zone opens a new period.
	e.clk.Set("2022-11-28T04:00:00Z")
	e.buildingZoneAt(3, 3, "2022-11-28")
	cs, _ = e.z.CountyStatus(ctx, e.county)
	if cs.State != zoning.CountyZoned || len(cs.LowRiskPeriods) != 2 || cs.LowRisk == nil || !cs.LowRisk.OpenedAt.After(*cs.LowRiskPeriods[0].ClosedAt) {
		t.Fatalf("county after a new zone: %+v", cs)
	}
}

func TestZoneSplitAndMerge(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	zn := e.buildingZone(0, 0)
	// Grow the zone to the six buildings of rows y=100 and y=200, x=60..260.
	grown, err := e.z.ReplaceGeometry(ctx, as(e.bob), zn.ID, zoning.GeometryEdit{Version: 1, Geometry: rect(30, 80, 290, 220), Reason: "two rows"})
	if err != nil || len(grown.Current.BuildingIDs) != 6 {
		t.Fatalf("grown zone %+v %v", grown.Current.BuildingIDs, err)
	}
	e.clk.Set("2022-11-22T02:00:00Z")
	before := e.snap()
	// A part that leaves a building to nobody, and overlapping parts: refused.
	if _, err := e.z.Split(ctx, as(e.bob), zn.ID, zoning.SplitRequest{Version: 2, Reason: "x",
		Parts: []json.RawMessage{rect(30, 80, 150, 220), rect(170, 80, 290, 220)}}); !errors.Is(err, zoning.ErrInvalid) ||
		!strings.Contains(zoning.Message(err), "no part covers") {
		t.Fatalf("a split losing building (160, y): %v", err)
	}
	if _, err := e.z.Split(ctx, as(e.bob), zn.ID, zoning.SplitRequest{Version: 2, Reason: "x",
		Parts: []json.RawMessage{rect(30, 80, 200, 220), rect(120, 80, 290, 220)}}); !errors.Is(err, zoning.ErrInvalid) ||
		!strings.Contains(zoning.Message(err), "overlap") {
		t.Fatalf("overlapping parts: %v", err)
	}
	if _, err := e.z.Split(ctx, as(e.bob), zn.ID, zoning.SplitRequest{Version: 1, Reason: "x",
		Parts: []json.RawMessage{rect(30, 80, 150, 220), rect(150, 80, 290, 220)}}); !errors.Is(err, zoning.ErrConflict) {
		t.Fatalf("a split of an old version: %v", err)
	}
	if e.snap() != before {
		t.Fatal("refused splits changed something")
	}
	// Split by a line through the middle of the buildings at x=160 (at x=165:
	// 25 of 40 m west, so they go west whole).
	parts, err := e.z.Split(ctx, as(e.bob), zn.ID, zoning.SplitRequest{Version: 2, Reason: "one zone, one policy",
		Parts: []json.RawMessage{rect(30, 80, 165, 220), rect(165, 80, 290, 220)}, Names: []string{"西", ""}})
	if err != nil {
		t.Fatal(err)
	}
	west, east := parts[0], parts[1]
	if !slices.Equal(west.Current.BuildingIDs, ids(e.at(0, 0), e.at(0, 1), e.at(1, 0), e.at(1, 1))) ||
		!slices.Equal(east.Current.BuildingIDs, ids(e.at(2, 0), e.at(2, 1))) {
		t.Fatalf("west %v east %v", west.Current.BuildingIDs, east.Current.BuildingIDs)
	}
	if west.Current.Name != "西" || !strings.HasSuffix(east.Current.Name, "-2") || !slices.Equal(west.ParentZoneIDs, []int64{zn.ID}) ||
		west.Current.Change != zoning.ChangeSplit || west.Current.ClockStart != grown.Current.ClockStart ||
		!strings.Contains(west.Current.ClockReason, fmt.Sprintf("split from zone %d", zn.ID)) {
		t.Fatalf("west part %+v", west)
	}
	for _, p := range parts {
		if n := e.cutBuildings(p.ID, 1); n != 0 {
			t.Fatalf("part %d cuts %d buildings", p.ID, n)
		}
	}
	if e.share(east.ID, 1, e.at(1, 0)) > 0.001 {
		t.Fatal("the east part covers part of a west building")
	}
	parent, _ := e.z.Get(ctx, zn.ID)
	if parent.Status != zoning.ZoneSuperseded || parent.CurrentVersion != 3 || parent.Current.Change != zoning.ChangeSplit {
		t.Fatalf("parent after the split %+v", parent)
	}
	// Each part has its own clock: a case in the east part moves only it.
	e.clk.Set("2022-11-23T02:00:00Z")
	unit := e.units[e.at(2, 0)][0]
	b := e.at(2, 0)
	if _, err := e.cases.Create(ctx, as(e.alice), []zoning.NewCase{{CaseNo: "S1", CountyID: e.county, Kind: "confirmed",
		ReportDate: "2022-11-23", Residence: zoning.Residence{UnitID: &unit, BuildingID: &b}}}); err != nil {
		t.Fatal(err)
	}
	west, _ = e.z.Get(ctx, west.ID)
	east, _ = e.z.Get(ctx, east.ID)
	if west.CurrentVersion != 1 || east.CurrentVersion != 2 || east.Current.ClockStart != day("2022-11-23") {
		t.Fatalf("after a case in the east part: west v%d, east v%d clock %s", west.CurrentVersion, east.CurrentVersion, east.Current.ClockStart)
	}
	// Merge them back: the latest clock wins; a stale version is refused.
	if _, err := e.z.Merge(ctx, as(e.bob), zoning.MergeRequest{Reason: "x", Zones: []zoning.ZoneRef{{ID: west.ID, Version: 1}, {ID: east.ID, Version: 1}}}); !errors.Is(err, zoning.ErrConflict) {
		t.Fatalf("merge of a stale version: %v", err)
	}
	merged, err := e.z.Merge(ctx, as(e.bob), zoning.MergeRequest{Reason: "the investigation links them",
		Zones: []zoning.ZoneRef{{ID: east.ID, Version: 2}, {ID: west.ID, Version: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(merged.Current.BuildingIDs) != 6 || merged.Current.Population != 240 || merged.Current.ClockStart != day("2022-11-23") ||
		merged.Current.Change != zoning.ChangeMerge || !slices.Equal(merged.ParentZoneIDs, ids(west.ID, east.ID)) ||
		!strings.Contains(merged.Current.ClockReason, fmt.Sprintf("zone %d", east.ID)) {
		t.Fatalf("merged %+v", merged)
	}
	for _, id := range []int64{west.ID, east.ID} {
		p, _ := e.z.Get(ctx, id)
		if p.Status != zoning.ZoneSuperseded || p.Current.Change != zoning.ChangeMerge {
			t.Fatalf("parent %d after the merge: %s %s", id, p.Status, p.Current.Change)
		}
	}
	if cs, _ := e.z.CountyStatus(ctx, e.county); len(cs.ActiveZones) != 1 || cs.ActiveZones[0].ID != merged.ID || len(cs.LowRiskPeriods) != 1 {
		t.Fatalf("county after split and merge: %+v", cs)
	}
}

// A building or unit is in one active zone at most.
func TestZoneMembersAreExclusive(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	first := e.buildingZone(0, 0)
	second := e.buildingZoneAt(1, 0, "2022-11-21")
	before := e.snap()
	_, err := e.z.EditMembers(ctx, as(e.bob), second.ID, zoning.MembersEdit{Version: 1, Reason: "x",
		MemberChange: zoning.MemberChange{AddBuildings: []int64{e.at(0, 0)}}})
	if !errors.Is(err, zoning.ErrConflict) || !strings.Contains(zoning.Message(err), fmt.Sprintf("active zone %d", first.ID)) {
		t.Fatalf("adding a building of another zone: %v", err)
	}
	if e.snap() != before {
		t.Fatal("the refused edit changed something")
	}
}

// Every lifecycle write bumps the zones and proposals layers and tells the
// replicas with NOTIFY; a refused one does not.
func TestZoneWritesBumpLayersAndNotify(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	zn := e.buildingZone(0, 0)
	layer := func(name string) int64 {
		t.Helper()
		var v int64
		if err := e.s.Pool.QueryRow(ctx, `SELECT version FROM layer_versions WHERE layer = $1`, name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	conn, err := e.s.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+postgis.LayersChannel); err != nil {
		t.Fatal(err)
	}
	zones, proposals := layer("zones"), layer("proposals")
	if _, err := e.z.EditMembers(ctx, as(e.bob), zn.ID, zoning.MembersEdit{Version: 9, Reason: "stale",
		MemberChange: zoning.MemberChange{AddBuildings: []int64{e.at(1, 0)}}}); !errors.Is(err, zoning.ErrConflict) {
		t.Fatalf("stale edit: %v", err)
	}
	if layer("zones") != zones {
		t.Fatal("a refused edit bumped the zones layer")
	}
	if _, err := e.z.EditMembers(ctx, as(e.bob), zn.ID, zoning.MembersEdit{Version: 1, Reason: "grow",
		MemberChange: zoning.MemberChange{AddBuildings: []int64{e.at(1, 0)}}}); err != nil {
		t.Fatal(err)
	}
	if layer("zones") != zones+1 || layer("proposals") != proposals+1 {
		t.Fatalf("layers zones %d proposals %d, want %d and %d", layer("zones"), layer("proposals"), zones+1, proposals+1)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := conn.Conn().WaitForNotification(wctx)
	if err != nil || !strings.Contains(n.Payload, "zones") {
		t.Fatalf("notification %+v %v", n, err)
	}
}
