package postgis_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
)

func TestZoneApproveAndReject(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	b := e.at(0, 0)
	e.addCase(b, 2, "2022-11-20")
	far := e.at(8, 7)
	e.addCase(far, 1, "2022-11-20")
	ids := e.proposeBy(e.alice, "2022-11-20")
	if len(ids) != 2 {
		t.Fatalf("%d proposals, want 2", len(ids))
	}
	before := e.snap()
	_, err := e.z.Approve(ctx, as(e.alice), ids[0], zoning.ApproveRequest{Reason: "my own"})
	if !errors.Is(err, zoning.ErrForbidden) || !strings.Contains(zoning.Message(err), "second person") {
		t.Fatalf("approving one's own proposal: %v", err)
	}
	if e.snap() != before || e.audits("proposal.approve", "refused") != 1 {
		t.Fatalf("a refused approval changed something or was not audited: %+v", e.snap())
	}
	zn, err := e.z.Approve(ctx, as(e.bob), ids[0], zoning.ApproveRequest{Reason: "expert panel session 3"})
	if err != nil {
		t.Fatal(err)
	}
	v := zn.Current
	if zn.Status != zoning.ZoneActive || zn.CurrentVersion != 1 || v.Change != zoning.ChangeDesignate || v.Status != zoning.ZoneActive {
		t.Fatalf("zone %+v", zn)
	}
	if !slices.Equal(v.UnitIDs, []int64{e.units[b][1]}) || len(v.BuildingIDs) != 0 || v.Population != 20 || v.StaffRequired != 2 {
		t.Fatalf("members %v %v population %d staff %d", v.BuildingIDs, v.UnitIDs, v.Population, v.StaffRequired)
	}
	if math.Abs(v.AreaM2-240) > 3 || v.RuleSetID != "2022-11" || v.AuthorID == nil || *v.AuthorID != e.bob.ID || v.Author != "bob" {
		t.Fatalf("area %.1f rule set %s author %v %q", v.AreaM2, v.RuleSetID, v.AuthorID, v.Author)
	}
	if v.ClockStart != day("2022-11-21") || v.EarliestLifting != day("2022-11-26") || !strings.Contains(v.ClockReason, "designated") {
		t.Fatalf("clock %s earliest %s reason %q", v.ClockStart, v.EarliestLifting, v.ClockReason)
	}
	if !strings.Contains(string(v.Geometry), `"MultiPolygon"`) || zn.ETag() != fmt.Sprintf(`"z%d-v1"`, zn.ID) {
		t.Fatalf("geometry %s etag %s", v.Geometry, zn.ETag())
	}
	p, err := e.z.Proposal(ctx, ids[0])
	if err != nil || p.Status != "accepted" || p.ZoneID == nil || *p.ZoneID != zn.ID || p.DecisionReason != "expert panel session 3" {
		t.Fatalf("proposal after approval: %+v %v", p, err)
	}
	cs, err := e.z.CountyStatus(ctx, e.county)
	if err != nil || cs.State != zoning.CountyZoned || cs.LowRisk == nil || len(cs.LowRiskPeriods) != 1 || cs.ActivePopulation != 20 {
		t.Fatalf("county status %+v %v", cs, err)
	}
	// Twice, or rejecting what is approved: refused, nothing changes.
	before = e.snap()
	if _, err := e.z.Approve(ctx, as(e.root), ids[0], zoning.ApproveRequest{Reason: "again"}); !errors.Is(err, zoning.ErrConflict) {
		t.Fatalf("approving twice: %v", err)
	}
	if _, err := e.z.Reject(ctx, as(e.root), ids[0], zoning.RejectRequest{Reason: "changed my mind"}); !errors.Is(err, zoning.ErrConflict) {
		t.Fatalf("rejecting an approved proposal: %v", err)
	}
	// Reject the other one; then approving it is refused.
	if _, err := e.z.Reject(ctx, as(e.bob), ids[1], zoning.RejectRequest{Reason: ""}); !errors.Is(err, zoning.ErrInvalid) {
		t.Fatalf("rejection without a reason: %v", err)
	}
	if e.snap() != before {
		t.Fatal("refused decisions changed something")
	}
	rp, err := e.z.Reject(ctx, as(e.bob), ids[1], zoning.RejectRequest{Reason: "closed-loop site, low spread risk"})
	if err != nil || rp.Status != "rejected" || rp.DecisionReason == "" || rp.ZoneID != nil {
		t.Fatalf("reject: %+v %v", rp, err)
	}
	before = e.snap()
	if _, err := e.z.Approve(ctx, as(e.bob), ids[1], zoning.ApproveRequest{Reason: "after all"}); !errors.Is(err, zoning.ErrConflict) ||
		!strings.Contains(zoning.Message(err), "rejected") {
		t.Fatalf("approving a rejected proposal: %v", err)
	}
	if _, err := e.z.Approve(ctx, as(e.bob), 999, zoning.ApproveRequest{Reason: "x"}); !errors.Is(err, zoning.ErrNotFound) {
		t.Fatalf("unknown proposal: %v", err)
	}
	if e.snap() != before {
		t.Fatal("refused approvals changed something")
	}
	if e.audits("proposal.approve", "ok") != 1 || e.audits("proposal.reject", "ok") != 1 || e.audits("proposal.approve", "refused") != 3 {
		t.Fatalf("audit: approve ok %d, reject ok %d, approve refused %d", e.audits("proposal.approve", "ok"),
			e.audits("proposal.reject", "ok"), e.audits("proposal.approve", "refused"))
	}
}

// A polygon drawn through buildings assigns each wholly to one side: in
// when at least half its footprint is inside, out otherwise; the saved
// geometry then covers members wholly and non-members not at all.
func TestZoneGeometryEditMembershipRule(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	zn := e.buildingZone(0, 0) // building at (60, 100)
	e.clk.Set("2022-11-21T05:00:00Z")
	// Row y=100: the edge at x=258 leaves 18 of building (260,100)'s 40 m inside (45%: out).
	// Row y=200: the edge at x=262 leaves 22 of building (260,200)'s 40 m inside (55%: in).
	drawn := rects([4]float64{20, 90, 258, 110}, [4]float64{20, 190, 262, 210})
	got, err := e.z.ReplaceGeometry(ctx, as(e.bob), zn.ID, zoning.GeometryEdit{Version: 1, Geometry: drawn, Reason: "follow the compound wall"})
	if err != nil {
		t.Fatal(err)
	}
	v := got.Current
	want := ids(e.at(0, 0), e.at(1, 0), e.at(0, 1), e.at(1, 1), e.at(2, 1))
	if got.CurrentVersion != 2 || v.Change != zoning.ChangeAdjust || !slices.Equal(v.BuildingIDs, want) {
		t.Fatalf("version %d change %s members %v; want 2 adjust %v", got.CurrentVersion, v.Change, v.BuildingIDs, want)
	}
	if len(v.UnitIDs) != 10 || v.Population != 200 || v.StaffRequired != 20 {
		t.Fatalf("units %v population %d staff %d", v.UnitIDs, v.Population, v.StaffRequired)
	}
	if s := e.share(zn.ID, 2, e.at(2, 1)); s < 0.999 {
		t.Fatalf("the 55%% building is %.3f inside the saved geometry, want wholly", s)
	}
	if s := e.share(zn.ID, 2, e.at(2, 0)); s > 0.001 {
		t.Fatalf("the 45%% building is %.3f inside the saved geometry, want not at all", s)
	}
	if n := e.cutBuildings(zn.ID, 2); n != 0 {
		t.Fatalf("the saved geometry cuts %d buildings", n)
	}
	if v.ClockStart != zn.Current.ClockStart || v.Reason != "follow the compound wall" || v.AuthorID == nil || *v.AuthorID != e.bob.ID {
		t.Fatalf("clock %s reason %q author %v", v.ClockStart, v.Reason, v.AuthorID)
	}
	// The previous version is closed when this one starts, and unchanged.
	old, err := e.z.Version(ctx, zn.ID, 1)
	if err != nil || old.ValidTo == nil || !old.ValidTo.Equal(v.ValidFrom) || len(old.BuildingIDs) != 1 {
		t.Fatalf("version 1 after the edit: %+v %v", old, err)
	}
	d, err := e.z.Diff(ctx, zn.ID, 1, 2)
	if err != nil || !slices.Equal(d.BuildingsAdded, ids(e.at(1, 0), e.at(0, 1), e.at(1, 1), e.at(2, 1))) || len(d.BuildingsRemoved) != 0 ||
		d.PopulationDelta != 160 || d.AreaAddedM2 < 4*480 || d.AreaRemovedM2 > 1 {
		t.Fatalf("diff %+v %v", d, err)
	}
}

func TestZoneMembersEdit(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	zn := e.buildingZone(0, 0)
	a, b := e.at(0, 0), e.at(1, 0)
	edit := func(v int, ch zoning.MemberChange) zoning.Zone {
		t.Helper()
		got, err := e.z.EditMembers(ctx, as(e.bob), zn.ID, zoning.MembersEdit{Version: v, Reason: "investigation", MemberChange: ch})
		if err != nil {
			t.Fatalf("edit of version %d: %v", v, err)
		}
		return got
	}
	// Add a building: its footprint joins the geometry.
	got := edit(1, zoning.MemberChange{AddBuildings: []int64{b}})
	if !slices.Equal(got.Current.BuildingIDs, ids(a, b)) || len(got.Current.UnitIDs) != 4 || got.Current.Population != 80 {
		t.Fatalf("after adding: %+v", got.Current)
	}
	if e.share(zn.ID, 2, b) < 0.999 || e.share(zn.ID, 2, a) < 0.999 {
		t.Fatal("members not wholly inside")
	}
	// Remove one unit of building a: a is no longer whole, its other unit stays.
	got = edit(2, zoning.MemberChange{RemoveUnits: []int64{e.units[a][0]}})
	if !slices.Equal(got.Current.BuildingIDs, []int64{b}) || !slices.Equal(got.Current.UnitIDs, ids(e.units[a][1], e.units[b][0], e.units[b][1])) ||
		got.Current.Population != 60 {
		t.Fatalf("after removing a unit: %+v", got.Current)
	}
	if s := e.share(zn.ID, 3, a); math.Abs(s-0.5) > 0.01 {
		t.Fatalf("building a is %.3f inside; want its remaining unit, half of it", s)
	}
	// Adding the unit back makes the building whole again.
	got = edit(3, zoning.MemberChange{AddUnits: []int64{e.units[a][0]}})
	if !slices.Equal(got.Current.BuildingIDs, ids(a, b)) || got.Current.Population != 80 || e.share(zn.ID, 4, a) < 0.999 {
		t.Fatalf("after adding the unit back: %+v", got.Current)
	}
	// Remove building b: its footprint leaves the geometry.
	got = edit(4, zoning.MemberChange{RemoveBuildings: []int64{b}})
	if !slices.Equal(got.Current.BuildingIDs, []int64{a}) || e.share(zn.ID, 5, b) > 0.001 || e.cutBuildings(zn.ID, 5) != 0 {
		t.Fatalf("after removing building b: %+v", got.Current)
	}
	vs, err := e.z.Versions(ctx, zn.ID)
	if err != nil || len(vs) != 5 {
		t.Fatalf("%d versions (%v), want 5", len(vs), err)
	}
	for i, v := range vs {
		if v.Version != i+1 || (i < 4) != (v.ValidTo != nil) || i > 0 && !vs[i-1].ValidTo.Equal(v.ValidFrom) {
			t.Fatalf("versions do not tile time: %d %v %v", v.Version, v.ValidFrom, v.ValidTo)
		}
	}
}

// Two edits of the same version at once: exactly one wins, the other gets a
// conflict with the current version; both are audited; nothing is lost.
func TestZoneConcurrentEdits(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	zn := e.buildingZone(0, 0)
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, b := range []int64{e.at(1, 0), e.at(0, 1)} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = e.z.EditMembers(ctx, as(e.bob), zn.ID, zoning.MembersEdit{Version: 1, Reason: fmt.Sprintf("add %d", b),
				MemberChange: zoning.MemberChange{AddBuildings: []int64{b}}})
		}()
	}
	close(start)
	wg.Wait()
	var ok, stale int
	for _, err := range errs {
		var se *zoning.StaleVersionError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &se) && se.Current == 2 && se.Given == 1 && errors.Is(err, zoning.ErrConflict):
			stale++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if ok != 1 || stale != 1 {
		t.Fatalf("%d succeeded and %d conflicted, want 1 and 1", ok, stale)
	}
	got, err := e.z.Get(ctx, zn.ID)
	if err != nil || got.CurrentVersion != 2 || len(got.Current.BuildingIDs) != 2 {
		t.Fatalf("after the race: %+v %v", got, err)
	}
	if n := count(t, e.s, "zone_versions"); n != 2 {
		t.Fatalf("%d versions, want 2", n)
	}
	if e.audits("zone.edit_members", "ok") != 1 || e.audits("zone.edit_members", "conflict") != 1 {
		t.Fatalf("audit: ok %d conflict %d", e.audits("zone.edit_members", "ok"), e.audits("zone.edit_members", "conflict"))
	}
	// The loser retries on the current version and wins.
	if _, err := e.z.EditMembers(ctx, as(e.bob), zn.ID, zoning.MembersEdit{Version: 2, Reason: "retry",
		MemberChange: zoning.MemberChange{AddBuildings: []int64{e.at(2, 2)}}}); err != nil {
		t.Fatalf("retry: %v", err)
	}
}

// The map as of any instant equals what was current then.
func TestZoneMapAsOf(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	zn := e.buildingZone(0, 0) // approved at T0 = 2022-11-21T02:00Z
	type state struct {
		at        time.Time
		version   int
		buildings []int64
	}
	history := []state{{at: e.clk.Now(), version: 1, buildings: []int64{e.at(0, 0)}}}
	members := []int64{e.at(0, 0)}
	for i, b := range []int64{e.at(1, 0), e.at(2, 0), e.at(0, 1), e.at(1, 1)} {
		at := e.clk.Set(fmt.Sprintf("2022-11-21T0%d:00:00Z", 3+i))
		got, err := e.z.EditMembers(ctx, as(e.bob), zn.ID, zoning.MembersEdit{Version: i + 1, Reason: "step",
			MemberChange: zoning.MemberChange{AddBuildings: []int64{b}}})
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, b)
		slices.Sort(members)
		history = append(history, state{at: at, version: got.CurrentVersion, buildings: slices.Clone(members)})
	}
	at := e.clk.Set("2022-11-22T01:00:00Z")
	got, err := e.z.ReplaceGeometry(ctx, as(e.bob), zn.ID, zoning.GeometryEdit{Version: 5, Geometry: rect(30, 80, 190, 220), Reason: "redraw"})
	if err != nil {
		t.Fatal(err)
	}
	history = append(history, state{at: at, version: 6, buildings: ids(e.at(0, 0), e.at(1, 0), e.at(0, 1), e.at(1, 1))})
	if !slices.Equal(got.Current.BuildingIDs, history[5].buildings) {
		t.Fatalf("redrawn members %v", got.Current.BuildingIDs)
	}
	// A second zone designated in between.
	e.clk.Set("2022-11-21T04:30:00Z")
	other := e.at(8, 7)
	e.addCase(other, 1, "2022-11-21")
	var otherZone zoning.Zone
	for _, id := range e.proposeBy(e.alice, "2022-11-21") {
		p, _ := e.z.Proposal(ctx, id)
		if slices.Contains(p.UnitIDs, e.units[other][0]) {
			if otherZone, err = e.z.Approve(ctx, as(e.bob), id, zoning.ApproveRequest{Reason: "second zone"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if otherZone.ID == 0 {
		t.Fatal("no proposal for the second zone")
	}
	// Lift on day L+5 after a complete negative round.
	e.clk.Set("2022-11-26T01:00:00Z")
	if _, err := e.z.AddScreening(ctx, as(e.bob), zn.ID, zoning.NewScreening{RoundDate: "2022-11-26", Tested: 160, Negatives: 160}); err != nil {
		t.Fatal(err)
	}
	liftAt := e.clk.Set("2022-11-26T09:00:00Z")
	lifted, err := e.z.Lift(ctx, as(e.alice), zn.ID, zoning.LiftRequest{Reason: "5 clean days, screening all negative"})
	if err != nil {
		t.Fatal(err)
	}
	if lifted.Status != zoning.ZoneLifted || lifted.CurrentVersion != 7 || lifted.Current.Change != zoning.ChangeLift {
		t.Fatalf("lifted %+v", lifted)
	}
	mapAt := func(at time.Time) map[int64]zoning.ZoneVersion {
		t.Helper()
		vs, err := e.z.List(ctx, zoning.ZoneFilter{CountyID: e.county, At: at})
		if err != nil {
			t.Fatal(err)
		}
		m := map[int64]zoning.ZoneVersion{}
		for _, v := range vs {
			m[v.ZoneID] = v
		}
		return m
	}
	if m := mapAt(history[0].at.Add(-time.Second)); len(m) != 0 {
		t.Fatalf("before the designation: %d zones", len(m))
	}
	for i, h := range history {
		for _, at := range []time.Time{h.at, h.at.Add(time.Minute)} {
			m := mapAt(at)
			v, ok := m[zn.ID]
			if !ok || v.Version != h.version || !slices.Equal(v.BuildingIDs, h.buildings) || v.Status != zoning.ZoneActive {
				t.Fatalf("state %d at %s: %+v, want version %d with %v", i, at, v, h.version, h.buildings)
			}
			_, hasOther := m[otherZone.ID]
			if want := !at.Before(otherZone.Current.ValidFrom); hasOther != want || len(m) != 1+btoi(want) {
				t.Fatalf("at %s: other zone shown %v, want %v (%d zones)", at, hasOther, want, len(m))
			}
		}
	}
	if m := mapAt(liftAt.Add(-time.Microsecond)); m[zn.ID].Version != 6 {
		t.Fatalf("just before the lift: %+v", m[zn.ID])
	}
	if m := mapAt(liftAt); len(m) != 1 || m[otherZone.ID].Version != 1 {
		t.Fatalf("after the lift the map shows %d zones", len(m))
	}
	cur, err := e.z.List(ctx, zoning.ZoneFilter{CountyID: e.county})
	if err != nil || len(cur) != 1 || cur[0].ZoneID != otherZone.ID {
		t.Fatalf("current map %+v %v", cur, err)
	}
	all, err := e.z.List(ctx, zoning.ZoneFilter{CountyID: e.county, Status: "all"})
	if err != nil || len(all) != 2 {
		t.Fatalf("all current versions %d %v", len(all), err)
	}
}

func TestZoneBadInput(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	zn := e.buildingZone(0, 0)
	e.clk.Set("2022-11-21T06:00:00Z")
	a, b := ll(30, 80)
	c, d := ll(190, 220)
	bowtie := json.RawMessage(fmt.Sprintf(`{"type":"Polygon","coordinates":[[[%f,%f],[%f,%f],[%f,%f],[%f,%f],[%f,%f]]]}`, a, b, c, d, c, b, a, d, a, b))
	geom := func(g json.RawMessage) error {
		_, err := e.z.ReplaceGeometry(ctx, as(e.bob), zn.ID, zoning.GeometryEdit{Version: 1, Geometry: g, Reason: "x"})
		return err
	}
	members := func(ch zoning.MemberChange) error {
		_, err := e.z.EditMembers(ctx, as(e.bob), zn.ID, zoning.MembersEdit{Version: 1, Reason: "x", MemberChange: ch})
		return err
	}
	before := e.snap()
	cases := []struct {
		name string
		err  error
		kind error
		want string
	}{
		{"self-intersecting polygon", geom(bowtie), zoning.ErrInvalid, "Self-intersection"},
		{"polygon outside the county", geom(rect(2000, 2000, 2100, 2100)), zoning.ErrInvalid, "outside county"},
		{"polygon touching only the county edge", geom(rect(1200, 0, 1300, 100)), zoning.ErrInvalid, "outside county"},
		{"polygon covering no building", geom(rect(300, 420, 380, 480)), zoning.ErrInvalid, "covers no building"},
		{"coordinates out of range", geom(json.RawMessage(`{"type":"Polygon","coordinates":[[[190,36],[191,36],[191,37],[190,36]]]}`)), zoning.ErrInvalid, "out of range"},
		{"not a polygon", geom(json.RawMessage(`{"type":"LineString","coordinates":[[117,36],[118,36]]}`)), zoning.ErrInvalid, "LineString"},
		{"malformed GeoJSON", geom(json.RawMessage(`{"type":"Polygon","coordinates":[[["a","b"]]]}`)), zoning.ErrInvalid, "coordinates"},
		{"empty member set", members(zoning.MemberChange{RemoveBuildings: []int64{e.at(0, 0)}}), zoning.ErrInvalid, "no building or unit"},
		{"unknown building", members(zoning.MemberChange{AddBuildings: []int64{99999}}), zoning.ErrInvalid, "unknown building 99999"},
		{"unknown unit", members(zoning.MemberChange{AddUnits: []int64{99999}}), zoning.ErrInvalid, "unknown unit 99999"},
		{"building not in the zone", members(zoning.MemberChange{RemoveBuildings: []int64{e.at(3, 3)}}), zoning.ErrInvalid, "not in the zone"},
		{"building already in", members(zoning.MemberChange{AddBuildings: []int64{e.at(0, 0)}}), zoning.ErrInvalid, "already in the zone"},
		{"unknown zone", func() error {
			_, err := e.z.EditMembers(ctx, as(e.bob), 4242, zoning.MembersEdit{Version: 1, Reason: "x", MemberChange: zoning.MemberChange{AddBuildings: []int64{e.at(1, 0)}}})
			return err
		}(), zoning.ErrNotFound, "zone 4242"},
		{"no version given", func() error {
			_, err := e.z.EditMembers(ctx, as(e.bob), zn.ID, zoning.MembersEdit{Reason: "x", MemberChange: zoning.MemberChange{AddBuildings: []int64{e.at(1, 0)}}})
			return err
		}(), zoning.ErrInvalid, "If-Match"},
		{"stale version", func() error {
			_, err := e.z.EditMembers(ctx, as(e.bob), zn.ID, zoning.MembersEdit{Version: 7, Reason: "x", MemberChange: zoning.MemberChange{AddBuildings: []int64{e.at(1, 0)}}})
			return err
		}(), zoning.ErrConflict, "current version is 1"},
		{"lift before it is eligible", func() error {
			_, err := e.z.Lift(ctx, as(e.alice), zn.ID, zoning.LiftRequest{Reason: "tired of it"})
			return err
		}(), zoning.ErrConflict, "not eligible"},
		{"lift by the designator", func() error {
			_, err := e.z.Lift(ctx, as(e.bob), zn.ID, zoning.LiftRequest{Reason: "x"})
			return err
		}(), zoning.ErrForbidden, "second person"},
		{"override by an expert", func() error {
			_, err := e.z.Lift(ctx, as(e.alice), zn.ID, zoning.LiftRequest{Reason: "the site was closed loop all along", Override: true})
			return err
		}(), zoning.ErrForbidden, "only an admin"},
		{"screening in the future", func() error {
			_, err := e.z.AddScreening(ctx, as(e.bob), zn.ID, zoning.NewScreening{RoundDate: "2022-11-30", Tested: 1, Negatives: 1})
			return err
		}(), zoning.ErrInvalid, "future"},
		{"screening before the designation", func() error {
			_, err := e.z.AddScreening(ctx, as(e.bob), zn.ID, zoning.NewScreening{RoundDate: "2022-11-19", Tested: 1, Negatives: 1})
			return err
		}(), zoning.ErrInvalid, "before zone"},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.kind) || !strings.Contains(zoning.Message(c.err), c.want) {
			t.Errorf("%s: %v; want %v with %q", c.name, c.err, c.kind, c.want)
		}
	}
	if after := e.snap(); after != before {
		t.Fatalf("bad input changed something:\n%+v\n%+v", before, after)
	}
	// Refusals are audited; bad input is not a refusal.
	if e.audits("zone.edit_members", "conflict") != 1 || e.audits("zone.lift", "refused") != 3 {
		t.Fatalf("audit: conflict %d, refused lifts %d", e.audits("zone.edit_members", "conflict"), e.audits("zone.lift", "refused"))
	}
	var reasons string
	if err := e.s.Pool.QueryRow(ctx, `SELECT after::text FROM audit_log WHERE action = 'zone.lift' AND outcome = 'refused' ORDER BY id LIMIT 1`).Scan(&reasons); err != nil ||
		!strings.Contains(reasons, "clean days") {
		t.Fatalf("the refused lift's audit row does not say why: %s %v", reasons, err)
	}
}
