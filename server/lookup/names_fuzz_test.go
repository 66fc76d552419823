package lookup_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/riskzone/riskzone/server/lookup"
	"github.com/riskzone/riskzone/server/lookup/lookuptest"
	"github.com/riskzone/riskzone/zoning"
)

// Address queries against zones of imported buildings (street + house
// number, names, unnamed buildings, Latin letters): never a panic, always
// JSON, and every match names its building.
func FuzzAddressSearchNames(f *testing.F) {
	zones := lookuptest.GridZones(4)
	zones[0].Addresses = []zoning.Address{
		{District: "Schaan", Street: "Im Pardiel", Number: "17", BuildingID: 1},
		{District: "Schaan", Street: "Im Pardiel", Number: "61a", BuildingID: 2},
		{District: "Schaan", Name: "St. Peter", BuildingID: 3},
		{District: "Schaan", BuildingID: 4, Ref: "OSM way 2128"},
		{District: "Eschen", Compound: "Nendeln", BuildingID: 5, Ref: "OSM way 6870"},
		{District: "临河区", Street: "建设路", Number: "12", Name: "邮电大楼", BuildingID: 6, UnitNumber: 1, Unit: "一单元"},
	}
	ix := lookuptest.Index(f, lookuptest.Static{Zones: zones})
	for _, q := range []string{"Im Pardiel 17", "im pardiel 61A", "St. Peter", "Schaan St. Peter 3", "Nendeln", "邮电大楼",
		"建设路12号1单元", "Peter", "ＩＭ　ＰＡＲＤＩＥＬ　１７", "\xff", "", "61a61a61a"} {
		f.Add(q)
	}
	now := time.Date(2022, 11, 21, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, q string) {
		a := ix.Answer(lookup.Query{Q: q}, now)
		if _, err := json.Marshal(a); err != nil {
			t.Fatalf("answer of %q does not encode: %v", q, err)
		}
		for _, m := range a.Matches {
			if m.Address == "" || m.BuildingID == 0 || !m.InZone {
				t.Fatalf("answer of %q: match %+v", q, m)
			}
		}
	})
}
