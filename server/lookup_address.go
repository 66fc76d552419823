package server

import (
	"slices"
	"strconv"
	"strings"

	"github.com/riskzone/riskzone/zoning"
)

func sortLongestFirst(keys []string) {
	slices.SortFunc(keys, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
}

// compoundKey resolves the place part of a query to a compound name of
// keys: a candidate equal to a key, else the longest key the place
// contains, else a key containing the place (when it is long enough).
func compoundKey(place string, has func(string) bool, keys []string) string {
	for _, cand := range placeCandidates(place) {
		if has(cand) {
			return cand
		}
	}
	for _, k := range keys {
		if strings.Contains(place, k) {
			return k
		}
	}
	if len([]rune(place)) >= 3 {
		for _, k := range keys {
			if strings.Contains(k, place) {
				return k
			}
		}
	}
	return ""
}

func normalizeCompound(s string) string {
	return strings.Join(strings.Fields(fullWidth.Replace(s)), "")
}

// parsedAddress is an address query: a compound part, a building number and
// a unit number (0: none).
type parsedAddress struct {
	place  string
	number string
	unit   int
}

func parseAddress(q string) parsedAddress {
	s := normalizeCompound(q)
	m := addrPattern.FindStringSubmatch(s)
	if m == nil {
		return parsedAddress{place: s}
	}
	p := parsedAddress{place: m[1], number: strings.TrimLeft(m[2], "0")}
	if m[3] != "" {
		if n, err := strconv.Atoi(m[3]); err == nil {
			p.unit = n
		} else {
			p.unit = chineseSmall(m[3])
		}
	}
	return p
}

func chineseSmall(s string) int {
	for n := 1; n <= 99; n++ {
		if zoning.ChineseNumeral(n) == s {
			return n
		}
	}
	return 0
}

// placeCandidates are the compound names a query's place part may mean:
// itself, and what follows its last street, community, township or county
// word (people type "临河区建设街道城建花园小区").
func placeCandidates(place string) []string {
	out := []string{place}
	add := func(s string) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, sep := range []string{"街道", "社区", "镇", "乡"} {
		if i := strings.LastIndex(place, sep); i >= 0 {
			add(place[i+len(sep):])
		}
	}
	for _, sep := range []string{"区", "县", "市"} {
		if i := strings.Index(place, sep); i >= 0 && !strings.HasSuffix(place[:i+len(sep)], "小区") {
			add(place[i+len(sep):])
		}
	}
	return out
}

// addressMatch is a building (or unit) found for an address query.
type addressMatch struct {
	Address    string        `json:"address"`
	BuildingID int64         `json:"building_id"`
	Lon        *float64      `json:"lon,omitempty"`
	Lat        *float64      `json:"lat,omitempty"`
	InZone     bool          `json:"in_zone"`
	Zones      []lookupZone  `json:"zones"`
	County     *lookupCounty `json:"county"`
	Past       []pastZone    `json:"past,omitempty"`
}

// indexAddress finds a parsed address among the zoned buildings.
func (ix *lookupIndex) indexAddress(p parsedAddress) []addressMatch {
	if p.number == "" {
		return nil
	}
	key := compoundKey(p.place, func(k string) bool { _, ok := ix.byCompound[k]; return ok }, ix.compounds)
	if key == "" {
		return nil
	}
	hits := ix.byCompound[key][p.number]
	if len(hits) == 0 {
		return nil
	}
	byBuilding := map[int64]*addressMatch{}
	var order []int64
	for _, h := range hits {
		e := &ix.current[h.entry]
		a := e.addrs[h.addr] // the address the hit was made from
		if h.unit != 0 && p.unit != 0 && h.unit != p.unit {
			continue // another unit of the building is in the zone, not this one
		}
		m, ok := byBuilding[a.BuildingID]
		if !ok {
			addr := h.building
			if p.unit != 0 && h.unit == p.unit {
				addr = h.unitZh
			}
			m = &addressMatch{Address: addr, BuildingID: a.BuildingID, InZone: true}
			if lon, lat, ok := ix.buildingPoint(key, a.BuildingID); ok {
				m.Lon, m.Lat = &lon, &lat
			}
			byBuilding[a.BuildingID] = m
			order = append(order, a.BuildingID)
		}
		z := e.zone
		if h.unit != 0 && p.unit == 0 {
			z.Units = append(z.Units, h.name)
		}
		found := false
		for i := range m.Zones {
			if m.Zones[i].ZoneID == z.ZoneID {
				m.Zones[i].Units = append(m.Zones[i].Units, z.Units...)
				found = true
			}
		}
		if !found {
			m.Zones = append(m.Zones, z)
		}
		c := ix.countyByID(e.countyID)
		m.County = c
	}
	var out []addressMatch
	for _, id := range order {
		out = append(out, *byBuilding[id])
	}
	return out
}

// buildingPoint is the address book's point of a building.
func (ix *lookupIndex) buildingPoint(compound string, id int64) (float64, float64, bool) {
	if ix.buildings == nil {
		return 0, 0, false
	}
	for _, b := range ix.buildings.byCompound[compound] {
		if b.id == id {
			return b.lon, b.lat, true
		}
	}
	return 0, 0, false
}
