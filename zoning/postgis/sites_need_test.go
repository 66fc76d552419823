package postgis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// A zone's quarantine need: the contacts of its cases (and their secondary
// contacts) that have no site need rooms and staff, beside the nearest
// sites with free rooms; a case outside the zone does not count.
func TestQuarantineNeedOfAZone(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	z := e.buildingZone(0, 0)              // cases C001 and C002 in building (0,0)
	e.addCase(e.at(8, 7), 1, "2022-11-20") // C003, far away, not in the zone
	cs := postgis.Contacts{S: e.s, Now: e.clk.Now}
	at := e.clk.Now().Add(-30 * time.Minute)
	b := e.at(1, 1)
	var list []zoning.NewContact
	for _, c := range []struct{ no, kind, caseNo, via string }{
		{"M1", zoning.ContactClose, "C001", ""}, {"M2", zoning.ContactClose, "C002", ""}, {"M3", zoning.ContactClose, "C002", ""},
		{"S1", zoning.ContactSecondary, "", "M1"}, {"X1", zoning.ContactClose, "C003", ""},
	} {
		list = append(list, zoning.NewContact{ContactNo: c.no, CountyID: e.county, Kind: c.kind, CaseNo: c.caseNo, ViaContactNo: c.via,
			IdentifiedAt: at, Residence: zoning.Residence{BuildingID: &b}})
	}
	made, err := cs.Create(ctx, as(e.alice), list)
	if err != nil {
		t.Fatal(err)
	}
	ss := postgis.Sites{S: e.s}
	nLon, nLat := ll(100, 150)
	fLon, fLat := ll(1100, 900)
	sites, err := ss.Put(ctx, as(e.alice), []zoning.NewSite{
		{CountyID: e.county, Name: "近", Rooms: 2, Lon: nLon, Lat: nLat},
		{CountyID: e.county, Name: "远", Rooms: 10, Occupied: 9, Lon: fLon, Lat: fLat},
		{CountyID: e.county, Name: "满", Rooms: 1, Occupied: 1, Lon: nLon, Lat: nLat},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Place(ctx, as(e.bob), made[2].ID, sites[0].ID, "placed"); err != nil {
		t.Fatal(err)
	}
	q, err := ss.QuarantineNeed(ctx, "zone", z.ID)
	if err != nil {
		t.Fatal(err)
	}
	// 4 contacts of the zone's cases (M1, M2, M3, S1), 1 placed: 3 rooms,
	// 1 worker at 10 rooms each; the near site has 1 free room, the far 1.
	if q.Cases != 2 || q.Contacts != 4 || q.Placed != 1 || q.RoomsNeeded != 3 || q.SiteStaffNeed != 1 || q.Residents != z.Current.Population ||
		q.StaffRequired != z.Current.StaffRequired || len(q.Sites) != 2 || q.Sites[0].Name != "近" || q.Sites[1].Name != "远" ||
		q.FreeNearby != 2 || q.RoomsShortfall != 1 || q.Sites[0].DistanceM >= q.Sites[1].DistanceM {
		t.Fatalf("need %+v", q)
	}
	if _, err := ss.QuarantineNeed(ctx, "zone", 1<<40); !errors.Is(err, zoning.ErrNotFound) {
		t.Fatalf("an unknown zone: %v", err)
	}
	if p, err := ss.QuarantineNeed(ctx, "proposal", *z.ProposalID); err != nil || p.Contacts != 4 {
		t.Fatalf("the zone's proposal: %+v %v", p, err)
	}
	// A third case in the zone, none of its contacts registered yet: the
	// county's 5 contacts of 3 cases so far make 2 expected, so 3 + 2 rooms.
	e.addCase(e.at(0, 0), 1, "2022-11-20")
	q, err = ss.QuarantineNeed(ctx, "zone", z.ID)
	if err != nil || q.Cases != 3 || q.CasesWithout != 1 || q.ContactsPerCase < 1.66 || q.ContactsPerCase > 1.67 || q.Expected != 2 ||
		q.RoomsNeeded != 5 || q.RoomsShortfall != 3 {
		t.Fatalf("need with a case of no registered contact: %+v %v", q, err)
	}
}
