package lookup

import (
	"context"

	"github.com/riskzone/riskzone/zoning"
)

// buildingIndex is the address book of every building a query can name:
// by compound (or, without one, street) and number, and by building name;
// address -> building -> point, for addresses outside every zone.
type buildingIndex struct {
	version int64
	// byCompound maps a place key (placeKey: the compound, else the
	// street) to its numbered buildings.
	byCompound map[string][]buildingAddr
	compounds  []string // keys, longest first
	// byName maps a normalised building name to the buildings of that name
	// outside compounds (in a compound the number finds them).
	byName map[string][]buildingAddr
	names  []string // keys, longest first
	// places are the district, street and compound of buildings, shared:
	// buildingAddr.place indexes them.
	places []zoning.Address
}

// buildingAddr is one building of the address book (64 bytes, the names
// shared through places).
type buildingAddr struct {
	id       int64
	place    uint32
	number   string // as written; its key is normalizeCompound(number)
	name     string
	lon, lat float64
}

// label is the building's address as the notices write it.
func (bi *buildingIndex) label(b buildingAddr) string {
	a := bi.places[b.place]
	a.Number, a.Name, a.BuildingID = b.number, b.name, b.id
	return zoning.FormatAddressesZh([]zoning.Address{a})
}

func buildBuildingIndex(ctx context.Context, src Source, version int64) (*buildingIndex, error) {
	bi := &buildingIndex{version: version, byCompound: map[string][]buildingAddr{}, byName: map[string][]buildingAddr{}}
	places := map[zoning.Address]uint32{}
	err := src.LoadBuildings(ctx, func(b Building) {
		pl := zoning.Address{District: b.District, Street: b.Street, Compound: b.Compound}
		i, ok := places[pl]
		if !ok {
			i = uint32(len(bi.places))
			places[pl] = i
			bi.places = append(bi.places, pl)
		}
		a := pl
		a.Number, a.Name = b.Number, b.Name
		ba := buildingAddr{id: b.ID, place: i, number: b.Number, name: b.Name, lon: b.Lon, lat: b.Lat}
		if key := placeKey(a); key != "" {
			bi.byCompound[key] = append(bi.byCompound[key], ba)
		}
		if key := nameKey(a); key != "" {
			bi.byName[key] = append(bi.byName[key], ba)
		}
	})
	if err != nil {
		return nil, err
	}
	for k := range bi.byCompound {
		bi.compounds = append(bi.compounds, k)
	}
	sortLongestFirst(bi.compounds)
	for k := range bi.byName {
		bi.names = append(bi.names, k)
	}
	sortLongestFirst(bi.names)
	return bi, nil
}

// indexAddress finds a parsed address among the zoned buildings: by place
// and number, else (q: the normalised query) by building name.
func (ix *Index) indexAddress(p parsedAddress, q string) []Match {
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
	byBuilding := map[int64]*Match{}
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
			m = &Match{Address: addr, BuildingID: a.BuildingID, InZone: true}
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
	var out []Match
	for _, id := range order {
		out = append(out, *byBuilding[id])
	}
	return out
}

// buildingNamePoint is the address book's point of a named building.
func (ix *Index) buildingNamePoint(name string, id int64) (float64, float64, bool) {
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
func (ix *Index) buildingPoint(compound string, id int64) (float64, float64, bool) {
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
