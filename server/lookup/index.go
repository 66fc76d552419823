// Package lookup is the public lookup's in-memory index ("is this address
// or point in a zone?", answered fast under the load of a whole city) and
// its address query parser: pure logic, no HTTP and no SQL.
// server loads it from the store (server/lookup_store.go) and answers
// the routes and the fast listener from it; its tests need no database.
//
// The index holds the public zones (each zone's latest published version)
// and the public timeline (every published version with the span the
// public map showed it), loaded into R-trees keyed by bounding box, plus
// the county outlines, the addresses of the zoned buildings (down to
// units), and an address book of every building (compound + number -> a
// point inside it; rebuilt only when the buildings layer moves). An Index
// is an immutable snapshot: a rebuild replaces it whole.
package lookup

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"

	"github.com/riskzone/riskzone/zoning"
)

// ZoneRecord is a published zone version as the index takes it.
type ZoneRecord struct {
	ZoneID   int64
	Version  int
	CountyID int64
	Name     string
	Level    string
	LevelZh  string
	LevelEn  string
	// EarliestLifting is the zone's earliest lifting date.
	EarliestLifting zoning.Date
	// Geometry is a Polygon or MultiPolygon in lon/lat.
	Geometry orb.Geometry
	// From is when the public map began showing the version; Until when it
	// stopped (zero: it still does).
	From, Until time.Time
	// Active: the version's status is active (the timeline's versions;
	// the public zones are all active).
	Active bool
	// Addresses are the zone's buildings and units (the public zones).
	Addresses []zoning.Address
}

// CountyRecord is a county's outline.
type CountyRecord struct {
	ID       int64
	Name     string
	NameEn   string
	Geometry orb.Geometry // Polygon or MultiPolygon, lon/lat
}

// Building is a building of the address book, with a point inside it.
type Building struct {
	ID                                       int64
	District, Street, Compound, Number, Name string
	Lon, Lat                                 float64
}

// Source loads what an index is built from: the store in production
// (server/lookup_store.go), plain data in tests (lookuptest.Static).
type Source interface {
	// LayerVersion is the version of a layer ("zones", "buildings").
	LayerVersion(ctx context.Context, layer string) (int64, error)
	// LoadBuildings calls each for every building with an address.
	LoadBuildings(ctx context.Context, each func(Building)) error
	// LoadZones returns the public zones.
	LoadZones(ctx context.Context) ([]ZoneRecord, error)
	// LoadTimeline returns every published zone version.
	LoadTimeline(ctx context.Context) ([]ZoneRecord, error)
	// LoadCounties returns the county outlines.
	LoadCounties(ctx context.Context) ([]CountyRecord, error)
}

// zoneEntry is a zone version in the index.
type zoneEntry struct {
	zone     Zone
	shape    shape
	from     time.Time
	until    time.Time // zero: open
	active   bool
	addrs    []zoning.Address
	countyID int64
}

type countyEntry struct {
	c     County
	shape shape
}

type addrHit struct {
	entry int32 // in current
	addr  int32 // in the entry's addrs
	unit  int   // 0: the whole building
	name  string
	// building and unitZh are the address as the answer writes it, for the
	// whole building and (when unit is not 0) for this unit: formatted
	// once, when the index is built.
	building, unitZh string
}

// Index is an immutable snapshot of the public zones, timeline, counties
// and addresses; a rebuild replaces it whole.
type Index struct {
	version  int64
	current  []zoneEntry // public zones, active
	past     []zoneEntry // the public timeline
	counties []countyEntry
	curTree  rtree.RTreeG[int32]
	pastTree rtree.RTreeG[int32]
	ctyTree  rtree.RTreeG[int32]
	// byCompound maps a place key (placeKey: compound, else street) to
	// building number to hits; byName a building name (nameKey) to hits.
	byCompound map[string]map[string][]addrHit
	compounds  []string // keys of byCompound, longest first
	byName     map[string][]addrHit
	names      []string // keys of byName, longest first
	// buildings are the addresses of all buildings, kept across rebuilds
	// while the buildings layer does not move.
	buildings *buildingIndex
}

// Version is the zones layer version the index was built at.
func (ix *Index) Version() int64 { return ix.version }

// Len is the number of public zones and of timeline versions it holds.
func (ix *Index) Len() (zones, timeline int) { return len(ix.current), len(ix.past) }

// Build reads the public zones, timeline and county outlines from src;
// the address book of prev (nil: none) is reused while the buildings
// layer has not moved.
func Build(ctx context.Context, src Source, prev *Index) (*Index, error) {
	version, err := src.LayerVersion(ctx, "zones")
	if err != nil {
		return nil, err
	}
	bversion, err := src.LayerVersion(ctx, "buildings")
	if err != nil {
		return nil, err
	}
	ix := &Index{version: version, byCompound: map[string]map[string][]addrHit{}}
	if prev != nil && prev.buildings != nil && prev.buildings.version == bversion {
		ix.buildings = prev.buildings
	} else if ix.buildings, err = buildBuildingIndex(ctx, src, bversion); err != nil {
		return nil, err
	}
	zones, err := src.LoadZones(ctx)
	if err != nil {
		return nil, err
	}
	for _, z := range zones {
		sh, err := newShape(z.Geometry)
		if err != nil {
			return nil, fmt.Errorf("lookup index: zone %d: %w", z.ZoneID, err)
		}
		e := zoneEntry{zone: zoneOf(z), shape: sh, from: z.From, active: true, addrs: z.Addresses, countyID: z.CountyID}
		ix.current = append(ix.current, e)
	}
	ix.indexAddresses()
	timeline, err := src.LoadTimeline(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range timeline {
		sh, err := newShape(t.Geometry)
		if err != nil {
			return nil, fmt.Errorf("lookup index: zone %d version %d: %w", t.ZoneID, t.Version, err)
		}
		ix.past = append(ix.past, zoneEntry{zone: zoneOf(t), shape: sh, from: t.From, until: t.Until, active: t.Active, countyID: t.CountyID})
	}
	shapes, err := src.LoadCounties(ctx)
	if err != nil {
		return nil, err
	}
	zoned := map[int64]bool{}
	for _, e := range ix.current {
		zoned[e.countyID] = true
	}
	for _, c := range shapes {
		sh, err := newShape(c.Geometry)
		if err != nil {
			return nil, fmt.Errorf("lookup index: county %d: %w", c.ID, err)
		}
		ix.counties = append(ix.counties, countyEntry{c: County{ID: c.ID, Name: c.Name, NameEn: c.NameEn, Zoned: zoned[c.ID]}, shape: sh})
	}
	for i, e := range ix.current {
		ix.curTree.Insert([2]float64{e.shape.bbox[0], e.shape.bbox[1]}, [2]float64{e.shape.bbox[2], e.shape.bbox[3]}, int32(i))
	}
	for i, e := range ix.past {
		ix.pastTree.Insert([2]float64{e.shape.bbox[0], e.shape.bbox[1]}, [2]float64{e.shape.bbox[2], e.shape.bbox[3]}, int32(i))
	}
	for i, e := range ix.counties {
		ix.ctyTree.Insert([2]float64{e.shape.bbox[0], e.shape.bbox[1]}, [2]float64{e.shape.bbox[2], e.shape.bbox[3]}, int32(i))
	}
	return ix, nil
}

// zoneOf is the answer's form of a zone version.
func zoneOf(z ZoneRecord) Zone {
	return Zone{ZoneID: z.ZoneID, Version: z.Version, CountyID: z.CountyID, Name: z.Name, Level: z.Level,
		LevelZh: z.LevelZh, LevelEn: z.LevelEn, EarliestLifting: z.EarliestLifting, URL: fmt.Sprintf("/zones/%d", z.ZoneID)}
}

// indexAddresses fills byCompound, byName and their keys from the
// addresses of the current zones.
func (ix *Index) indexAddresses() {
	ix.byCompound = map[string]map[string][]addrHit{}
	ix.byName = map[string][]addrHit{}
	for i := range ix.current {
		for j, a := range ix.current[i].addrs {
			key, name := placeKey(a), nameKey(a)
			if key == "" && name == "" {
				continue
			}
			h := addrHit{entry: int32(i), addr: int32(j), unit: a.UnitNumber, name: a.Unit}
			whole := a
			whole.UnitNumber, whole.Unit = 0, ""
			h.building = zoning.FormatAddressesZh([]zoning.Address{whole})
			if a.UnitNumber != 0 {
				h.unitZh = zoning.FormatAddressesZh([]zoning.Address{a})
			}
			if key != "" {
				m := ix.byCompound[key]
				if m == nil {
					m = map[string][]addrHit{}
					ix.byCompound[key] = m
				}
				n := normalizeCompound(a.Number)
				m[n] = append(m[n], h)
			}
			if name != "" {
				ix.byName[name] = append(ix.byName[name], h)
			}
		}
	}
	ix.compounds = ix.compounds[:0]
	for k := range ix.byCompound {
		ix.compounds = append(ix.compounds, k)
	}
	sortLongestFirst(ix.compounds)
	ix.names = ix.names[:0]
	for k := range ix.byName {
		ix.names = append(ix.names, k)
	}
	sortLongestFirst(ix.names)
}

// zonesAt returns the public zones containing pt.
func (ix *Index) zonesAt(pt [2]float64) []Zone {
	var out []Zone
	ix.curTree.Search(pt, pt, func(_, _ [2]float64, i int32) bool {
		if e := &ix.current[i]; e.shape.contains(pt) {
			out = append(out, e.zone)
		}
		return true
	})
	slices.SortFunc(out, func(a, b Zone) int { return int(a.ZoneID - b.ZoneID) })
	return out
}

// countyAt returns the county containing pt.
func (ix *Index) countyAt(pt [2]float64) *County {
	var out *County
	ix.ctyTree.Search(pt, pt, func(_, _ [2]float64, i int32) bool {
		if ix.counties[i].shape.contains(pt) {
			c := ix.counties[i].c
			out = &c
			return false
		}
		return true
	})
	return out
}

// pastAt returns the zone versions the public map showed at pt at some
// moment in [since, now].
func (ix *Index) pastAt(pt [2]float64, since, now time.Time) []PastZone {
	var out []PastZone
	ix.pastTree.Search(pt, pt, func(_, _ [2]float64, i int32) bool {
		e := &ix.past[i]
		if !e.active || e.from.After(now) || (!e.until.IsZero() && !e.until.After(since)) || !e.shape.contains(pt) {
			return true
		}
		pz := PastZone{ZoneID: e.zone.ZoneID, Version: e.zone.Version, Name: e.zone.Name, Level: e.zone.Level,
			From: e.from.In(zoning.ChinaTime()).Format(time.RFC3339)}
		if !e.until.IsZero() {
			u := e.until.In(zoning.ChinaTime()).Format(time.RFC3339)
			pz.Until = &u
		}
		out = append(out, pz)
		return true
	})
	slices.SortFunc(out, func(a, b PastZone) int { return strings.Compare(a.From, b.From) })
	return out
}

func (ix *Index) countyByID(id int64) *County {
	for i := range ix.counties {
		if ix.counties[i].c.ID == id {
			c := ix.counties[i].c
			return &c
		}
	}
	return nil
}
