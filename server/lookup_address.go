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

// normalizeCompound is the key form of a place, number or name: full-width
// digits made ASCII, spaces dropped, Latin letters in lower case (people
// type "im pardiel 16" for Im Pardiel 16).
func normalizeCompound(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(fullWidth.Replace(s)), ""))
}

// placeKey is the key a numbered address is found by: its compound, else
// its street (a house number on a street, as OSM's addr:street +
// addr:housenumber); "" for a building without number.
func placeKey(a zoning.Address) string {
	if a.Number == "" {
		return ""
	}
	if a.Compound != "" {
		return normalizeCompound(a.Compound)
	}
	return normalizeCompound(a.Street)
}

// nameKey is the key a building is found by its name: named buildings
// outside compounds (in a compound the number finds it, and the demo
// city's names only repeat compound and number).
func nameKey(a zoning.Address) string {
	if a.Compound != "" || a.Name == "" {
		return ""
	}
	return normalizeCompound(a.Name)
}

// minNameKey is the shortest name a query may contain rather than equal
// (a short name such as "Post" would match too many queries).
const minNameKey = 4

// findName resolves a normalised query to a name key: the query itself,
// else the longest key of at least minNameKey runes it contains.
func findName(q string, has func(string) bool, keys []string) string {
	if q == "" {
		return ""
	}
	if has(q) {
		return q
	}
	for _, k := range keys {
		if len([]rune(k)) >= minNameKey && strings.Contains(q, k) {
			return k
		}
	}
	return ""
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

// indexAddress finds a parsed address among the zoned buildings: by place
// and number, else (q: the normalised query) by building name.
func (ix *lookupIndex) indexAddress(p parsedAddress, q string) []addressMatch {
	var hits []addrHit
	var book func(id int64) (float64, float64, bool)
	if p.number != "" {
		if key := compoundKey(p.place, func(k string) bool { _, ok := ix.byCompound[k]; return ok }, ix.compounds); key != "" {
			hits = ix.byCompound[key][p.number]
			book = func(id int64) (float64, float64, bool) { return ix.buildingPoint(key, id) }
		}
	}
	if len(hits) == 0 {
		name := findName(q, func(k string) bool { _, ok := ix.byName[k]; return ok }, ix.names)
		if name == "" {
			return nil
		}
		hits, p.unit = ix.byName[name], 0
		book = func(id int64) (float64, float64, bool) { return ix.buildingNamePoint(name, id) }
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
			if lon, lat, ok := book(a.BuildingID); ok {
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

// buildingNamePoint is the address book's point of a named building.
func (ix *lookupIndex) buildingNamePoint(name string, id int64) (float64, float64, bool) {
	if ix.buildings == nil {
		return 0, 0, false
	}
	for _, b := range ix.buildings.byName[name] {
		if b.id == id {
			return b.lon, b.lat, true
		}
	}
	return 0, 0, false
}

// find finds a parsed address (q: the normalised query) in the address book of every
// building (at most 5): by place and number, else by name.
func (bi *buildingIndex) find(p parsedAddress, q string) []buildingAddr {
	var out []buildingAddr
	if p.number != "" {
		key := compoundKey(p.place, func(k string) bool { _, ok := bi.byCompound[k]; return ok }, bi.compounds)
		for _, b := range bi.byCompound[key] {
			if normalizeCompound(b.number) == p.number {
				out = append(out, b)
				if len(out) == 5 {
					return out
				}
			}
		}
	}
	if len(out) > 0 {
		return out
	}
	name := findName(q, func(k string) bool { _, ok := bi.byName[k]; return ok }, bi.names)
	for _, b := range bi.byName[name] {
		out = append(out, b)
		if len(out) == 5 {
			break
		}
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
