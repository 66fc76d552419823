package lookup_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/server/lookup"
	"github.com/riskzone/riskzone/server/lookup/lookuptest"
	"github.com/riskzone/riskzone/zoning"
)

// BenchmarkFastAddress: answering an address query (parse, compound
// resolution, the zone's address list) on synthetic zones of 60 addresses
// each (go test -run '^$' -bench FastAddress ./server/lookup/).
func BenchmarkFastAddress(b *testing.B) {
	ix := addressIndex(b, 400)
	now := time.Now()
	for _, q := range []string{addressCompound(17) + "13号楼2单元", "历下区" + addressCompound(399) + " 7号楼"} {
		b.Run(q, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				lq, err := addressQuery(q, now)
				if err != nil {
					b.Fatal(err)
				}
				if a := ix.Answer(lq, now); !a.InZone {
					b.Fatalf("%s: not in a zone: %+v", q, a)
				}
			}
		})
	}
}

// addressIndex is the grid of n zones with 60 addresses a zone: zone i
// holds buildings 1-20 of compound 城建<i>花园小区, units 1-3 of each.
func addressIndex(tb testing.TB, n int) *lookup.Index {
	zones := lookuptest.GridZones(n)
	for i := range zones {
		z := &zones[i]
		for b := 1; b <= 20; b++ {
			for u := 1; u <= 3; u++ {
				z.Addresses = append(z.Addresses, zoning.Address{District: "历下区", Street: "文化路街道", Compound: addressCompound(i),
					Number: strconv.Itoa(b), BuildingID: int64(i*100 + b), UnitNumber: u, Unit: fmt.Sprintf("%d单元", u)})
			}
		}
	}
	return lookuptest.Index(tb, lookuptest.Static{Zones: zones})
}

func addressCompound(i int) string { return "城建" + string(rune(0x5000+i)) + "花园小区" }

// addressQuery parses a lookup by address q, as the API would.
func addressQuery(q string, now time.Time) (lookup.Query, error) {
	return lookup.ParseQuery(func(k string) string {
		if k == "q" {
			return q
		}
		return ""
	}, now)
}

// An address search names the building, or the unit when the query names
// one, as the notices write it, with the zone and (for a building) the
// units of it that are zoned.
func TestFastAddressAnswer(t *testing.T) {
	ix := addressIndex(t, 16)
	now := time.Now()
	ask := func(q string) lookup.Answer {
		lq, err := addressQuery(q, now)
		if err != nil {
			t.Fatal(err)
		}
		return ix.Answer(lq, now)
	}
	want := func(unit int) string {
		a := zoning.Address{District: "历下区", Street: "文化路街道", Compound: addressCompound(5), Number: "13", BuildingID: 513}
		if unit != 0 {
			a.UnitNumber, a.Unit = unit, fmt.Sprintf("%d单元", unit)
		}
		return zoning.FormatAddressesZh([]zoning.Address{a})
	}
	a := ask(addressCompound(5) + "13号楼2单元")
	if !a.InZone || len(a.Matches) != 1 || a.Matches[0].Address != want(2) || a.Matches[0].BuildingID != 513 ||
		len(a.Matches[0].Zones) != 1 || a.Matches[0].Zones[0].ZoneID != 6 {
		t.Fatalf("unit query: %+v", a)
	}
	if !strings.Contains(want(2), "2单元") {
		t.Fatalf("the unit is not in %q", want(2))
	}
	a = ask("历下区" + addressCompound(5) + " 13号楼")
	if !a.InZone || len(a.Matches) != 1 || a.Matches[0].Address != want(0) ||
		len(a.Matches[0].Zones) != 1 || strings.Join(a.Matches[0].Zones[0].Units, ",") != "1单元,2单元,3单元" {
		t.Fatalf("building query: %+v", a)
	}
	if a = ask(addressCompound(5) + "13号楼7单元"); a.InZone {
		t.Fatalf("a unit that is not in the zone: %+v", a)
	}
}
