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

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// China's clock (issue 17 §3): every day of the zone lifecycle is a day in
// the county's calendar (Asia/Shanghai), never the UTC day, whatever the
// database session's TimeZone.

// localHours are the local times the clock tests run at: just after local
// midnight and just before 08:00 (both on the previous UTC day), and just
// before local midnight (the same UTC day).
var localHours = []string{"00:30", "07:59", "23:59"}

// local is the instant of day d at hh:mm in China (UTC+8), as RFC 3339.
func local(d, hhmm string) string { return d + "T" + hhmm + ":00+08:00" }

// newClockEnv is newZoneEnv whose database session runs in time zone tz
// (the store's own sessions run in UTC); a session not in UTC also writes
// dates day first (DateStyle SQL, DMY).
func newClockEnv(t *testing.T, tz string) *zoneEnv {
	t.Helper()
	e := newZoneEnv(t)
	ctx := context.Background()
	if tz != "UTC" {
		cfg, err := pgxpool.ParseConfig(e.s.Pool.Config().ConnString())
		if err != nil {
			t.Fatal(err)
		}
		cfg.ConnConfig.RuntimeParams["timezone"] = tz
		cfg.ConnConfig.RuntimeParams["datestyle"] = "SQL, DMY"
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		e.scenario.s = &postgis.Store{Pool: pool}
		e.z = postgis.Zones{S: e.s, Now: e.clk.Now}
		e.cases = postgis.Cases{S: e.s, Now: e.clk.Now}
	}
	var got string
	if err := e.s.Pool.QueryRow(ctx, `SHOW TimeZone`).Scan(&got); err != nil || got != tz {
		t.Fatalf("session time zone %q %v, want %q", got, err, tz)
	}
	return e
}

// newCaseIn registers, through the store, a case reported on day in unit
// (1 or 2) of building b.
func (e *zoneEnv) newCaseIn(b int64, unit int, day string) (int64, error) {
	e.scenario.cases++
	unitID := e.units[b][unit-1]
	ids, err := e.cases.Create(context.Background(), as(e.alice), []zoning.NewCase{{
		CaseNo: fmt.Sprintf("L%03d", e.scenario.cases), CountyID: e.county, Kind: "confirmed", ReportDate: day,
		Residence: zoning.Residence{UnitID: &unitID}}})
	if err != nil {
		return 0, err
	}
	return ids[0], nil
}

// designateAt designates building (i, j), whose two units had cases on
// caseDay, at the clock's current instant.
func (e *zoneEnv) designateAt(i, j int, caseDay string) zoning.Zone {
	e.t.Helper()
	b := e.at(i, j)
	e.addCase(b, 1, caseDay)
	e.addCase(b, 2, caseDay)
	p, err := zoning.Propose(context.Background(), postgis.Proposals{S: e.s}, zoning.ProposeRequest{
		CountyID: e.county, At: e.clk.Now(), Now: e.clk.Now()}, &e.alice.ID)
	if err != nil {
		e.t.Fatalf("propose: %v", err)
	}
	for _, id := range p.IDs {
		pr, err := e.z.Proposal(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		if slices.Contains(pr.BuildingIDs, b) {
			zn, err := e.z.Approve(context.Background(), as(e.bob), id, zoning.ApproveRequest{Reason: "designate"})
			if err != nil {
				e.t.Fatalf("approve: %v", err)
			}
			return zn
		}
	}
	e.t.Fatalf("no proposal holds building %d", b)
	return zoning.Zone{}
}

func TestLocalClockAtOddHours(t *testing.T) {
	type run struct{ hour, tz string }
	var runs []run
	for _, h := range localHours {
		runs = append(runs, run{h, "UTC"})
	}
	// 07:59 in China is 23:59 UTC of the day before, and 03:59 of the day
	// after in Kiritimati (UTC+14): neither session calendar may leak in.
	runs = append(runs, run{"07:59", "Pacific/Kiritimati"})
	for _, r := range runs {
		t.Run(strings.ReplaceAll(r.hour, ":", "")+"_"+strings.ReplaceAll(r.tz, "/", "_"), func(t *testing.T) {
			localClockRun(t, r.hour, r.tz)
		})
	}
}

// localClockRun: designation on D-2, a case reported on D registered on D
// (extends the zone at once), screening dates and the lifting status on D
// and D+5 — all at hour hh:mm local time.
func localClockRun(t *testing.T, hh, tz string) {
	e := newClockEnv(t, tz)
	ctx := context.Background()

	// Designation date: the local day of the approval, not the UTC day.
	e.clk.Set(local("2022-11-19", hh))
	zn := e.designateAt(0, 0, "2022-11-18")
	if zn.Current.ClockStart != day("2022-11-19") || zn.Current.EarliestLifting != day("2022-11-24") {
		t.Fatalf("designated at %s local: clock %s, earliest lifting %s; want 2022-11-19 and 2022-11-24",
			hh, zn.Current.ClockStart, zn.Current.EarliestLifting)
	}

	// A case reported today (local) is accepted and counted at once.
	e.clk.Set(local("2022-11-21", hh))
	b := e.at(0, 0)
	if _, err := e.newCaseIn(b, 1, "2022-11-22"); !errors.Is(err, zoning.ErrInvalid) || !strings.Contains(zoning.Message(err), "future") {
		t.Fatalf("a report dated tomorrow (local): %v", err)
	}
	c, err := e.newCaseIn(b, 1, "2022-11-21")
	if err != nil {
		t.Fatalf("a report dated today (local) at %s: %v", hh, err)
	}
	if _, err := e.cases.Update(ctx, as(e.alice), c, zoning.CaseUpdate{ReportDate: ptr("2022-11-22"), Reason: "typo"}); !errors.Is(err, zoning.ErrInvalid) ||
		!strings.Contains(zoning.Message(err), "future") {
		t.Fatalf("an update to tomorrow (local): %v", err)
	}
	if cs, err := e.cases.Update(ctx, as(e.alice), c, zoning.CaseUpdate{ReportDate: ptr("2022-11-21"), Reason: "confirmed"}); err != nil ||
		cs.ReportDate != "2022-11-21" {
		t.Fatalf("an update to today (local) at %s: %q %v", hh, cs.ReportDate, err)
	}
	got, err := e.z.Get(ctx, zn.ID)
	if err != nil || got.Current.Change != zoning.ChangeExtend || got.Current.ClockStart != day("2022-11-21") ||
		!strings.Contains(got.Current.ClockReason, fmt.Sprintf("case %d", c)) {
		t.Fatalf("after today's case: change %s clock %s %q %v", got.Current.Change, got.Current.ClockStart, got.Current.ClockReason, err)
	}
	ls, err := e.z.Lifting(ctx, zn.ID)
	if err != nil || ls.Today != day("2022-11-21") || ls.LastInfection != day("2022-11-21") || ls.EarliestLifting != day("2022-11-26") ||
		ls.CleanStreakDays != 0 || ls.Eligible {
		t.Fatalf("lifting on day 0: %+v %v", ls, err)
	}

	// Screening dates: today is allowed, tomorrow is not.
	if _, err := e.z.AddScreening(ctx, as(e.bob), zn.ID, zoning.NewScreening{RoundDate: "2022-11-22", Tested: 40, Negatives: 40}); !errors.Is(err, zoning.ErrInvalid) ||
		!strings.Contains(zoning.Message(err), "future") {
		t.Fatalf("a round dated tomorrow (local): %v", err)
	}
	if _, err := e.z.AddScreening(ctx, as(e.bob), zn.ID, zoning.NewScreening{RoundDate: "2022-11-21", Tested: 40, Negatives: 40}); err != nil {
		t.Fatalf("a round dated today (local): %v", err)
	}

	// Day 5 (L+5): not eligible before its round, eligible with it.
	e.clk.Set(local("2022-11-26", hh))
	ls, err = e.z.Lifting(ctx, zn.ID)
	if err != nil || ls.Today != day("2022-11-26") || ls.CleanStreakDays != 5 || ls.Eligible || ls.DayNScreening != nil {
		t.Fatalf("lifting on day 5 before its round: %+v %v", ls, err)
	}
	if _, err := e.z.AddScreening(ctx, as(e.bob), zn.ID, zoning.NewScreening{RoundDate: "2022-11-27", Tested: 40, Negatives: 40}); !errors.Is(err, zoning.ErrInvalid) {
		t.Fatalf("a round dated day 6 on day 5: %v", err)
	}
	if _, err := e.z.AddScreening(ctx, as(e.bob), zn.ID, zoning.NewScreening{RoundDate: "2022-11-26", Tested: 40, Negatives: 40}); err != nil {
		t.Fatalf("the round of day 5 on day 5: %v", err)
	}
	ls, err = e.z.Lifting(ctx, zn.ID)
	if err != nil || !ls.Eligible || ls.Today != day("2022-11-26") || ls.EarliestLifting != day("2022-11-26") {
		t.Fatalf("lifting on day 5 with its round: %+v %v", ls, err)
	}
	if _, err := e.z.Lift(ctx, as(e.alice), zn.ID, zoning.LiftRequest{Reason: "5 clean days, all negative"}); err != nil {
		t.Fatalf("lift on day 5 at %s local: %v", hh, err)
	}
}

// A county's calendar comes from admin_areas.time_zone when the store is not
// given one.
func TestCountyTimeZone(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	e.z.Loc, e.cases.Loc = nil, nil
	loc, err := e.s.CountyLocation(ctx, e.county)
	if err != nil || loc.String() != zoning.ChinaTime().String() {
		t.Fatalf("default county calendar %v %v", loc, err)
	}
	// 2022-11-21 00:30 in China is still 2022-11-20 (22:30) in Urumqi's
	// calendar (UTC+6): a county that keeps its own calendar.
	mustExec(t, e.s, `UPDATE admin_areas SET time_zone = 'Asia/Urumqi' WHERE id = $1`, e.county)
	e.clk.Set(local("2022-11-21", "00:30"))
	if _, err := e.newCaseIn(e.at(0, 0), 1, "2022-11-21"); !errors.Is(err, zoning.ErrInvalid) || !strings.Contains(zoning.Message(err), "future") {
		t.Fatalf("a report dated 2022-11-21 at 22:30 on 2022-11-20 in Urumqi: %v", err)
	}
	if _, err := e.newCaseIn(e.at(0, 0), 1, "2022-11-20"); err != nil {
		t.Fatal(err)
	}
	mustExec(t, e.s, `UPDATE admin_areas SET time_zone = 'Mars/Olympus' WHERE id = $1`, e.county)
	if _, err := e.newCaseIn(e.at(0, 0), 2, "2022-11-20"); err == nil || errors.Is(err, zoning.ErrInvalid) || !strings.Contains(err.Error(), "Mars/Olympus") {
		t.Fatalf("a county with a broken time zone: %v (want a server error naming it)", err)
	}
}

// Adjust recomputes the clock from the counted cases of the new member set
// (issue 17 §4): an added building brings its cases' report dates in, a
// removed one takes them out, and the clock never goes before the
// designation date. At 05:17 in China (21:17 UTC the day before).
func TestAdjustRecomputesClock(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	zn := e.buildingZone(0, 0) // cases on 2022-11-20, designated 2022-11-21: L = 2022-11-21
	next := e.at(1, 0)         // x=160, y=100: outside the zone, a case on 2022-11-23
	c := e.addCase(next, 1, "2022-11-23")
	e.clk.Set(local("2022-11-24", "05:17"))

	added, err := e.z.EditMembers(ctx, as(e.bob), zn.ID, zoning.MembersEdit{Version: 1, Reason: "the neighbour block",
		MemberChange: zoning.MemberChange{AddBuildings: []int64{next}}})
	if err != nil || added.Current.ClockStart != day("2022-11-23") || added.Current.EarliestLifting != day("2022-11-28") ||
		!strings.Contains(added.Current.ClockReason, fmt.Sprintf("case %d", c)) {
		t.Fatalf("after adding building %d: clock %s earliest %s %q %v", next, added.Current.ClockStart, added.Current.EarliestLifting, added.Current.ClockReason, err)
	}
	ls, err := e.z.Lifting(ctx, zn.ID)
	if err != nil || ls.LastInfection != day("2022-11-23") || ls.Today != day("2022-11-24") {
		t.Fatalf("lifting after the add: %+v %v", ls, err)
	}

	removed, err := e.z.EditMembers(ctx, as(e.bob), zn.ID, zoning.MembersEdit{Version: 2, Reason: "the neighbour is closed loop",
		MemberChange: zoning.MemberChange{RemoveBuildings: []int64{next}}})
	// The zone's own cases (2022-11-20) are before its designation: the
	// clock falls back to the designation date, not to them.
	if err != nil || removed.Current.ClockStart != day("2022-11-21") || removed.Current.EarliestLifting != day("2022-11-26") ||
		!strings.Contains(removed.Current.ClockReason, "designated on 2022-11-21") {
		t.Fatalf("after removing building %d: clock %s earliest %s %q %v", next, removed.Current.ClockStart, removed.Current.EarliestLifting, removed.Current.ClockReason, err)
	}

	// A geometry edit is an adjust too.
	drawn, err := e.z.ReplaceGeometry(ctx, as(e.bob), zn.ID, zoning.GeometryEdit{Version: 3, Geometry: rect(30, 80, 190, 120),
		Reason: "both buildings of the lane"})
	if err != nil || !slices.Contains(drawn.Current.BuildingIDs, next) || drawn.Current.ClockStart != day("2022-11-23") {
		t.Fatalf("after redrawing: members %v clock %s %v", drawn.Current.BuildingIDs, drawn.Current.ClockStart, err)
	}
	if e.audits("zone.edit_members", "ok") != 2 || e.audits("zone.edit_geometry", "ok") != 1 {
		t.Fatal("adjusts not audited")
	}
}

// Split gives each part the clock of its own members' cases ("一区一策"):
// two parts with different last-case dates get different earliest lifting
// dates; merging them back takes the latest. At 01:05 in China.
func TestSplitPartsOwnClocks(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	zn := e.buildingZone(0, 0) // L = 2022-11-21
	grown, err := e.z.ReplaceGeometry(ctx, as(e.bob), zn.ID, zoning.GeometryEdit{Version: 1, Geometry: rect(30, 80, 290, 220), Reason: "two rows"})
	if err != nil || len(grown.Current.BuildingIDs) != 6 {
		t.Fatalf("grown zone %+v %v", grown.Current.BuildingIDs, err)
	}
	// A case in the east building (260, 200), reported and registered at
	// 01:05 on 2022-11-23 (17:05 UTC on the 22nd), moves the whole zone.
	e.clk.Set(local("2022-11-23", "01:05"))
	c, err := e.newCaseIn(e.at(2, 1), 2, "2022-11-23")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := e.z.Get(ctx, zn.ID)
	if got.Current.ClockStart != day("2022-11-23") || got.CurrentVersion != 3 {
		t.Fatalf("zone after the east case: v%d clock %s", got.CurrentVersion, got.Current.ClockStart)
	}
	e.clk.Set(local("2022-11-24", "01:05"))
	parts, err := e.z.Split(ctx, as(e.bob), zn.ID, zoning.SplitRequest{Version: 3, Reason: "one zone, one policy",
		Parts: []json.RawMessage{rect(30, 80, 165, 220), rect(165, 80, 290, 220)}})
	if err != nil {
		t.Fatal(err)
	}
	west, east := parts[0], parts[1]
	if !slices.Contains(east.Current.BuildingIDs, e.at(2, 1)) || slices.Contains(west.Current.BuildingIDs, e.at(2, 1)) {
		t.Fatalf("west %v east %v", west.Current.BuildingIDs, east.Current.BuildingIDs)
	}
	if west.Current.ClockStart != day("2022-11-21") || west.Current.EarliestLifting != day("2022-11-26") ||
		!strings.Contains(west.Current.ClockReason, fmt.Sprintf("split from zone %d", zn.ID)) {
		t.Fatalf("west part clock %s (earliest %s, %q); want 2022-11-21 from its designation",
			west.Current.ClockStart, west.Current.EarliestLifting, west.Current.ClockReason)
	}
	if east.Current.ClockStart != day("2022-11-23") || east.Current.EarliestLifting != day("2022-11-28") ||
		!strings.Contains(east.Current.ClockReason, fmt.Sprintf("case %d", c)) {
		t.Fatalf("east part clock %s (earliest %s, %q); want 2022-11-23 from case %d",
			east.Current.ClockStart, east.Current.EarliestLifting, east.Current.ClockReason, c)
	}
	// The west part keeps the parent's designation as its floor: a later
	// adjust does not start its clock before it.
	var floor time.Time
	if err := e.s.Pool.QueryRow(ctx, `SELECT designated_on FROM zones WHERE id = $1`, west.ID).Scan(&floor); err != nil ||
		zoning.AsDate(floor) != day("2022-11-21") {
		t.Fatalf("west designated_on %v %v", floor, err)
	}
	ls, err := e.z.Lifting(ctx, west.ID)
	if err != nil || ls.EarliestLifting != day("2022-11-26") {
		t.Fatalf("west lifting %+v %v", ls, err)
	}
	merged, err := e.z.Merge(ctx, as(e.bob), zoning.MergeRequest{Reason: "one again",
		Zones: []zoning.ZoneRef{{ID: west.ID, Version: 1}, {ID: east.ID, Version: 1}}})
	if err != nil || merged.Current.ClockStart != day("2022-11-23") {
		t.Fatalf("merged clock %s %v", merged.Current.ClockStart, err)
	}
}
