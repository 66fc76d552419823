package postgis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// Quarantine sites on the scenario county (72 buildings of 40 residents:
// 2,880 residents need 6 rooms at 每万人20间): the shortfall, re-import by
// name, the automatic assignment by distance and capacity, a manual
// override the assignment leaves alone, and refusals that change nothing.
func TestQuarantineSites(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	e.clk.Set("2022-11-21T18:00:00Z") // 02:00 in Beijing
	e.addCase(e.at(0, 0), 1, "2022-11-21")
	ss := postgis.Sites{S: e.s}
	sum, sites, err := ss.Overview(ctx, e.county)
	if err != nil || sum.Residents != 2880 || sum.RoomsRequired != 6 || sum.Shortfall != 6 || len(sites) != 0 {
		t.Fatalf("overview before any site: %+v %v %v", sum, sites, err)
	}
	westLon, westLat := ll(50, 100)
	eastLon, eastLat := ll(1150, 900)
	put, err := ss.Put(ctx, as(e.alice), []zoning.NewSite{
		{CountyID: e.county, Name: "西站宾馆", Rooms: 2, Lon: westLon, Lat: westLat},
		{CountyID: e.county, Name: "东湖酒店", Rooms: 3, Occupied: 1, Staff: 2, Lon: eastLon, Lat: eastLat},
	})
	if err != nil || len(put) != 2 || put[1].Free != 2 {
		t.Fatalf("put: %+v %v", put, err)
	}
	west, east := put[0].ID, put[1].ID
	// The same name again updates the site.
	if again, err := ss.Put(ctx, as(e.alice), []zoning.NewSite{{CountyID: e.county, Name: "西站宾馆", Rooms: 2, Staff: 1, Lon: westLon, Lat: westLat}}); err != nil ||
		again[0].ID != west || again[0].Staff != 1 {
		t.Fatalf("re-put: %+v %v", again, err)
	}
	if sum, _, _ = ss.Overview(ctx, e.county); sum.Rooms != 5 || sum.Shortfall != 1 || sum.Staff != 3 {
		t.Fatalf("overview with two sites: %+v", sum)
	}

	// Four contacts in the west, identified in order; the west site takes
	// two, the east one two (one room there is occupied), none waits.
	cs := postgis.Contacts{S: e.s, Now: e.clk.Now}
	var list []zoning.NewContact
	for i, b := range []int64{e.at(0, 1), e.at(0, 2), e.at(1, 1), e.at(1, 2), e.at(2, 2)} {
		list = append(list, zoning.NewContact{ContactNo: "M" + string(rune('1'+i)), CountyID: e.county, Kind: zoning.ContactClose, CaseNo: "C001",
			IdentifiedAt: e.clk.Now().Add(time.Duration(i-10) * time.Minute), Residence: zoning.Residence{BuildingID: &b}})
	}
	made, err := cs.Create(ctx, as(e.alice), list)
	if err != nil {
		t.Fatal(err)
	}
	// By hand first: the fifth contact goes east; the assignment leaves it.
	placed, err := ss.Place(ctx, as(e.bob), made[4].ID, east, "family there")
	if err != nil || placed.SiteID == nil || *placed.SiteID != east || !placed.SiteManual {
		t.Fatalf("place: %+v %v", placed, err)
	}
	res, err := ss.Assign(ctx, as(e.alice), e.county)
	if err != nil {
		t.Fatal(err)
	}
	at := map[int64]int64{}
	for _, a := range res.Assigned {
		at[a.ContactID] = a.SiteID
	}
	if len(res.Assigned) != 3 || at[made[0].ID] != west || at[made[1].ID] != west || at[made[2].ID] != east || len(res.Waiting) != 1 || res.Waiting[0] != made[3].ID {
		t.Fatalf("assignment %+v", res)
	}
	if got, _ := cs.Get(ctx, made[4].ID); got.SiteID == nil || *got.SiteID != east {
		t.Fatalf("the manual placement moved: %+v", got.SiteID)
	}

	// Refusals: a full site, a closed site, a site shrunk below its load,
	// an unknown contact; none changes anything.
	before := e.snapSites(t)
	if _, err := ss.Place(ctx, as(e.bob), made[3].ID, west, ""); !errors.Is(err, zoning.ErrConflict) {
		t.Errorf("place into a full site: %v", err)
	}
	one := 1
	if _, err := ss.Edit(ctx, as(e.bob), west, zoning.SiteEdit{Rooms: &one, Reason: "a room closed"}); !errors.Is(err, zoning.ErrConflict) {
		t.Errorf("shrink below the assigned: %v", err)
	}
	if _, err := ss.Put(ctx, as(e.bob), []zoning.NewSite{{CountyID: e.county, Name: "西站宾馆", Rooms: 1, Lon: westLon, Lat: westLat}}); !errors.Is(err, zoning.ErrConflict) {
		t.Errorf("re-put below the assigned: %v", err)
	}
	if _, err := ss.Place(ctx, as(e.bob), 1<<40, west, ""); !errors.Is(err, zoning.ErrNotFound) {
		t.Errorf("place an unknown contact: %v", err)
	}
	if _, err := ss.Put(ctx, as(e.bob), []zoning.NewSite{{CountyID: 999, Name: "x", Rooms: 1, Lon: 1, Lat: 1}}); !errors.Is(err, zoning.ErrInvalid) {
		t.Errorf("a site in an unknown county: %v", err)
	}
	if after := e.snapSites(t); after != before {
		t.Fatalf("refusals changed the sites: %s → %s", before, after)
	}
	closed := false
	if _, err := ss.Edit(ctx, as(e.bob), east, zoning.SiteEdit{Active: &closed, Reason: "closing"}); err != nil {
		t.Fatal(err)
	}
	// A room freed in the west (a contact taken out) goes to the waiting one.
	if _, err := ss.Place(ctx, as(e.bob), made[0].ID, 0, "released"); err != nil {
		t.Fatal(err)
	}
	if res, err = ss.Assign(ctx, as(e.alice), e.county); err != nil || len(res.Assigned) != 1 || res.Assigned[0].ContactID != made[3].ID || res.Assigned[0].SiteID != west {
		t.Fatalf("second assignment: %+v %v", res, err)
	}
}

// snapSites is the sites' figures and the contacts' placements as text.
func (e *zoneEnv) snapSites(t *testing.T) string {
	t.Helper()
	var s string
	if err := e.s.Pool.QueryRow(context.Background(), `SELECT
		coalesce((SELECT string_agg(format('%s:%s/%s/%s/%s', id, rooms, occupied, staff, active), ',' ORDER BY id) FROM quarantine_sites), '') || ';' ||
		coalesce((SELECT string_agg(format('%s:%s', id, site_id), ',' ORDER BY id) FROM contacts), '')`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}
