package workerstest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// OverdueContacts seeds a county (id 1) with two buildings, a case C1 and
// two close contacts of it living in building 2, with the clock at now: M1
// identified 90 minutes before (its first step, 2 h, not due yet) and M2 a
// day before (all four steps overdue). It returns the contacts made.
func OverdueContacts(t testing.TB, store *postgis.Store, now time.Time) []zoning.Contact {
	t.Helper()
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := store.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO admin_areas (id, level, name, geom) VALUES (1, 'county', '测试区',
		ST_Multi(ST_MakeEnvelope(116.99, 36.64, 117.01, 36.66, 4326)))`)
	for i := 1; i <= 2; i++ {
		x := 117.0 + float64(i)*0.001
		exec(`INSERT INTO buildings (id, county_id, population, addr_compound, addr_number, geom)
			VALUES ($1, 1, 40, '幸福家园小区', $2, ST_Multi(ST_MakeEnvelope($3::float8, 36.65, $3::float8 + 0.0004, 36.6501, 4326)))`, i, fmt.Sprint(i), x)
	}
	exec(`INSERT INTO cases (case_no, county_id, kind, report_date, residence_building_id) VALUES ('C1', 1, 'confirmed', '2022-11-21', 1)`)
	b := int64(2)
	made, err := postgis.Contacts{S: store, Now: func() time.Time { return now }}.Create(ctx, zoning.Origin{Actor: zoning.CLI()}, []zoning.NewContact{
		{ContactNo: "M1", CountyID: 1, Kind: zoning.ContactClose, CaseNo: "C1", IdentifiedAt: now.Add(-90 * time.Minute), Residence: zoning.Residence{BuildingID: &b}},
		{ContactNo: "M2", CountyID: 1, Kind: zoning.ContactClose, CaseNo: "C1", IdentifiedAt: now.Add(-25 * time.Hour), Residence: zoning.Residence{BuildingID: &b}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return made
}
