package importer

import (
	"fmt"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// Contacts on real OpenStreetMap geography: in Vaduz, a close contact whose
// residence is given as a point inside an irregular real building resolves
// to that building, and one given 20 m off the nearest footprint snaps to
// it with the distance kept; with the clock at 07:00 in Beijing (23:00 UTC
// the day before) an exposure on the Beijing day is not "in the future",
// and the first step is overdue by the rule set's limit.
func TestContactsOnRealExtract(t *testing.T) {
	im, s := newImporter(t)
	importOK(t, im, liechtensteinPBF(t), Options{Kind: KindOSM, AdminLevels: liechtensteinLevels})
	ctx := ctxT(t)
	var county, b int64
	var lon, lat, offLon, offLat float64
	err := s.Pool.QueryRow(ctx, `
		WITH c AS (SELECT id, geom FROM admin_areas WHERE level = 'county' AND name = 'Vaduz'),
		     b AS (SELECT b.id, b.geom FROM buildings b, c WHERE ST_Within(b.geom, c.geom) AND b.kind = 'residential'
		           AND ST_NPoints(b.geom) > 6 ORDER BY b.id LIMIT 1)
		SELECT c.id, b.id, ST_X(ST_PointOnSurface(b.geom)), ST_Y(ST_PointOnSurface(b.geom)),
		       ST_X(ST_Centroid(b.geom)), ST_Y(ST_Centroid(b.geom))
		FROM c, b`).Scan(&county, &b, &lon, &lat, &offLon, &offLat)
	if err != nil {
		t.Fatalf("a residential building in Vaduz: %v", err)
	}
	if _, err := s.Pool.Exec(ctx, `INSERT INTO cases (case_no, county_id, kind, report_date, residence_building_id)
		VALUES ('VA1', $1, 'confirmed', '2022-11-21', $2)`, county, b); err != nil {
		t.Fatal(err)
	}
	// 20 m north of the building's north edge, in degrees of latitude.
	var north float64
	if err := s.Pool.QueryRow(ctx, `SELECT ST_YMax(geom) FROM buildings WHERE id = $1`, b).Scan(&north); err != nil {
		t.Fatal(err)
	}
	offLat = north + 20/111320.0
	now := time.Date(2022, 11, 22, 7, 0, 0, 0, zoning.ChinaTime())
	cs := postgis.Contacts{S: s, Now: func() time.Time { return now }}
	identified := now.Add(-3 * time.Hour) // 04:00 in Beijing, 20:00 UTC on 11-21
	out, err := cs.Create(ctx, zoning.Origin{Actor: zoning.CLI()}, []zoning.NewContact{
		{ContactNo: "VA-M1", CountyID: county, Kind: zoning.ContactClose, CaseNo: "VA1", IdentifiedAt: identified,
			LastExposure: "2022-11-22", Residence: zoning.Residence{Lon: &lon, Lat: &lat}},
		{ContactNo: "VA-M2", CountyID: county, Kind: zoning.ContactClose, CaseNo: "VA1", IdentifiedAt: identified,
			Residence: zoning.Residence{Lon: &offLon, Lat: &offLat}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].BuildingID == nil || *out[0].BuildingID != b || out[0].SnapM == nil || *out[0].SnapM != 0 {
		t.Errorf("a point inside building %d resolved to %v (snap %v)", b, out[0].BuildingID, out[0].SnapM)
	}
	if out[1].BuildingID == nil || out[1].SnapM == nil || *out[1].SnapM < 5 || *out[1].SnapM > 50 {
		t.Errorf("a point 20 m off resolved to %v at %v m", out[1].BuildingID, out[1].SnapM)
	}
	for _, c := range out {
		if len(c.Overdue) != 1 || c.Overdue[0].Step != zoning.StepContact || c.Next.Step != zoning.StepContact {
			t.Errorf("%s at 07:00, identified 04:00: overdue %+v", c.ContactNo, c.Overdue)
		}
	}
}

// Quarantine sites on the real extract: Vaduz's residents (from the
// imported buildings) set the rooms it needs at 每万人20间, and contacts in
// real buildings go to the site PostGIS measures nearest to them.
func TestQuarantineSitesOnRealExtract(t *testing.T) {
	im, s := newImporter(t)
	importOK(t, im, liechtensteinPBF(t), Options{Kind: KindOSM, AdminLevels: liechtensteinLevels})
	ctx := ctxT(t)
	var county int64
	var residents int
	if err := s.Pool.QueryRow(ctx, `SELECT a.id, (SELECT coalesce(sum(population), 0) FROM buildings b WHERE b.county_id = a.id)::int
		FROM admin_areas a WHERE a.level = 'county' AND a.name = 'Vaduz'`).Scan(&county, &residents); err != nil {
		t.Fatal(err)
	}
	if residents < 1000 {
		t.Fatalf("Vaduz has %d residents after the import", residents)
	}
	ss := postgis.Sites{S: s}
	origin := zoning.Origin{Actor: zoning.CLI()}
	// Two sites: the north and the south end of Vaduz's buildings.
	var nLon, nLat, sLon, sLat float64
	if err := s.Pool.QueryRow(ctx, `SELECT ST_X(n), ST_Y(n), ST_X(m), ST_Y(m) FROM (
		SELECT (SELECT ST_PointOnSurface(geom) FROM buildings WHERE county_id = $1 ORDER BY ST_YMax(geom) DESC, id LIMIT 1) n,
		       (SELECT ST_PointOnSurface(geom) FROM buildings WHERE county_id = $1 ORDER BY ST_YMin(geom), id LIMIT 1) m) x`, county).
		Scan(&nLon, &nLat, &sLon, &sLat); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Put(ctx, origin, []zoning.NewSite{{CountyID: county, Name: "Nord", Rooms: 50, Lon: nLon, Lat: nLat},
		{CountyID: county, Name: "Süd", Rooms: 50, Lon: sLon, Lat: sLat}}); err != nil {
		t.Fatal(err)
	}
	sum, _, err := ss.Overview(ctx, county)
	if err != nil || sum.Residents != residents || sum.RoomsRequired != zoning.RoomsRequired(residents, 20) || sum.Rooms != 100 ||
		sum.Shortfall != max(0, sum.RoomsRequired-100) {
		t.Fatalf("overview %+v %v (residents %d)", sum, err, residents)
	}
	// Ten contacts in ten residential buildings spread over the county.
	if _, err := s.Pool.Exec(ctx, `INSERT INTO cases (case_no, county_id, kind, report_date, residence_building_id)
		SELECT 'VA1', $1, 'confirmed', '2022-11-21', min(id) FROM buildings WHERE county_id = $1`, county); err != nil {
		t.Fatal(err)
	}
	var list []zoning.NewContact
	rows, err := s.Pool.Query(ctx, `SELECT id FROM buildings WHERE county_id = $1 AND kind = 'residential' ORDER BY id`, county)
	if err != nil {
		t.Fatal(err)
	}
	var all []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		all = append(all, id)
	}
	rows.Close()
	identified := time.Date(2022, 11, 21, 23, 0, 0, 0, zoning.ChinaTime())
	for i := 0; i < 10; i++ {
		b := all[i*len(all)/10]
		list = append(list, zoning.NewContact{ContactNo: fmt.Sprintf("VA-M%d", i), CountyID: county, Kind: zoning.ContactClose, CaseNo: "VA1",
			IdentifiedAt: identified, Residence: zoning.Residence{BuildingID: &b}})
	}
	cs := postgis.Contacts{S: s, Now: func() time.Time { return identified.Add(time.Hour) }}
	if _, err := cs.Create(ctx, origin, list); err != nil {
		t.Fatal(err)
	}
	res, err := ss.Assign(ctx, origin, county)
	if err != nil || len(res.Assigned) != 10 || len(res.Waiting) != 0 {
		t.Fatalf("assignment %+v %v", res, err)
	}
	var wrong int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM contacts c JOIN buildings b ON b.id = c.residence_building_id
		WHERE c.county_id = $1 AND c.site_id <> (SELECT q.id FROM quarantine_sites q WHERE q.county_id = $1
			ORDER BY ST_Distance(q.geom::geography, ST_PointOnSurface(b.geom)::geography), q.id LIMIT 1)`, county).Scan(&wrong); err != nil {
		t.Fatal(err)
	}
	if wrong != 0 {
		t.Fatalf("%d contacts are not in the site PostGIS finds nearest", wrong)
	}
}
