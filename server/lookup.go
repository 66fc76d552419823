package server

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb/encoding/wkb"
	"github.com/paulmach/orb/geojson"
	"github.com/tidwall/rtree"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// The public lookup (SPEC §5 "is this address/point in a zone?", §7 "lookup
// endpoints must stay fast under load"): answered from an in-memory index,
// never from the database on the hot path.
//
// The index holds the public zones (public_zone_versions: each zone's
// latest published version) and the public timeline (every published
// version with the span the public map showed it), loaded into R-trees
// keyed by bounding box, plus the county outlines, the addresses of the
// zoned buildings (down to units), and an address book of every building
// (compound + number -> a point inside it; rebuilt only when the buildings
// layer moves). It is rebuilt whole when the zones
// layer version moves: on NOTIFY riskzone_layers, and by polling
// layer_versions every PublicConfig.LookupPoll as a fallback (a replica
// that missed a notification catches up within one poll).
//
// Point in polygon: the R-tree filters by bounding box, then a ray cast
// decides. The boundary rule is explicit: a point on the boundary of a
// zone (within boundaryEpsilon degrees of an edge, about 0.1 mm) is inside
// it, also on the boundary of a hole (the zone includes its boundary).

const (
	boundaryEpsilon = 1e-9
	maxLookupDays   = 60
)

const (
	outside location = iota
	inside
	onBoundary
)

// lookupZone is a zone in a lookup answer.
type lookupZone struct {
	ZoneID          int64       `json:"zone_id"`
	Version         int         `json:"version"`
	CountyID        int64       `json:"county_id"`
	Name            string      `json:"name"`
	Level           string      `json:"level"`
	LevelZh         string      `json:"level_zh"`
	LevelEn         string      `json:"level_en"`
	EarliestLifting zoning.Date `json:"earliest_lifting"`
	URL             string      `json:"url"`
	// Units, when not empty, are the units of the building looked up that
	// are in the zone (the rest of the building is not).
	Units []string `json:"units,omitempty"`
}

// pastZone is a zone a place was in during the span asked about.
type pastZone struct {
	ZoneID  int64   `json:"zone_id"`
	Version int     `json:"version"`
	Name    string  `json:"name"`
	Level   string  `json:"level"`
	From    string  `json:"from"`
	Until   *string `json:"until"`
}

type lookupCounty struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	NameEn string `json:"name_en"`
	// Zoned: the county has high-risk zones, so the rest of it is low risk.
	Zoned bool `json:"zoned"`
}

// zoneEntry is a zone version in the index.
type zoneEntry struct {
	zone     lookupZone
	shape    shape
	from     time.Time
	until    time.Time // zero: open
	active   bool
	addrs    []zoning.Address
	countyID int64
}

type countyEntry struct {
	c     lookupCounty
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

// lookupIndex is an immutable snapshot; a rebuild replaces it whole.
type lookupIndex struct {
	version  int64
	built    time.Time
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
// shared through places: a city of 10^6 buildings takes about 70 MB).
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

func buildBuildingIndex(ctx context.Context, ns postgis.Notices, version int64) (*buildingIndex, error) {
	bi := &buildingIndex{version: version, byCompound: map[string][]buildingAddr{}, byName: map[string][]buildingAddr{}}
	places := map[zoning.Address]uint32{}
	err := ns.BuildingAddresses(ctx, func(b postgis.BuildingAddress) {
		pl := zoning.Address{District: b.District, Street: b.Street, Compound: b.Compound}
		i, ok := places[pl]
		if !ok {
			i = uint32(len(bi.places))
			places[pl] = i
			bi.places = append(bi.places, pl)
		}
		a := pl
		a.Number, a.Name = b.Number, b.Name
		ba := buildingAddr{id: b.BuildingID, place: i, number: b.Number, name: b.Name, lon: b.Lon, lat: b.Lat}
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

func lonLatOK(lon, lat float64) bool {
	return !math.IsNaN(lon) && !math.IsNaN(lat) && lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90
}

// buildIndex reads the public zones, timeline and county outlines; the
// building addresses of prev are reused while the buildings layer has not
// moved.
func buildIndex(ctx context.Context, ns postgis.Notices, prev *lookupIndex) (*lookupIndex, error) {
	version, err := ns.LayerVersion(ctx, "zones")
	if err != nil {
		return nil, err
	}
	bversion, err := ns.LayerVersion(ctx, "buildings")
	if err != nil {
		return nil, err
	}
	ix := &lookupIndex{version: version, built: time.Now(), byCompound: map[string]map[string][]addrHit{}}
	if prev != nil && prev.buildings != nil && prev.buildings.version == bversion {
		ix.buildings = prev.buildings
	} else if ix.buildings, err = buildBuildingIndex(ctx, ns, bversion); err != nil {
		return nil, err
	}
	zones, err := ns.PublicZones(ctx, 0, 0)
	if err != nil {
		return nil, err
	}
	for _, z := range zones {
		g, err := geojson.UnmarshalGeometry(z.Geometry)
		if err != nil {
			return nil, fmt.Errorf("lookup index: zone %d: %w", z.ZoneID, err)
		}
		sh, err := newShape(g.Geometry())
		if err != nil {
			return nil, fmt.Errorf("lookup index: zone %d: %w", z.ZoneID, err)
		}
		e := zoneEntry{zone: lookupZone{ZoneID: z.ZoneID, Version: z.Version, CountyID: z.CountyID, Name: z.Name, Level: z.Level,
			LevelZh: z.LevelZh, LevelEn: z.LevelEn, EarliestLifting: z.EarliestLifting, URL: fmt.Sprintf("/zones/%d", z.ZoneID)},
			shape: sh, from: z.Since, active: true, addrs: z.Addresses, countyID: z.CountyID}
		ix.current = append(ix.current, e)
	}
	ix.indexAddresses()
	timeline, err := ns.Timeline(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range timeline {
		g, err := wkb.Unmarshal(t.WKB)
		if err != nil {
			return nil, fmt.Errorf("lookup index: zone %d version %d: %w", t.ZoneID, t.Version, err)
		}
		sh, err := newShape(g)
		if err != nil {
			return nil, fmt.Errorf("lookup index: zone %d version %d: %w", t.ZoneID, t.Version, err)
		}
		e := zoneEntry{zone: lookupZone{ZoneID: t.ZoneID, Version: t.Version, CountyID: t.CountyID, Name: t.Name, Level: t.Level,
			EarliestLifting: t.EarliestLifting, URL: fmt.Sprintf("/zones/%d", t.ZoneID)},
			shape: sh, from: t.From, active: t.Status == zoning.ZoneActive, countyID: t.CountyID}
		if t.Until != nil {
			e.until = *t.Until
		}
		ix.past = append(ix.past, e)
	}
	shapes, err := ns.CountyShapes(ctx)
	if err != nil {
		return nil, err
	}
	zoned := map[int64]bool{}
	for _, e := range ix.current {
		zoned[e.countyID] = true
	}
	for _, c := range shapes {
		g, err := wkb.Unmarshal(c.WKB)
		if err != nil {
			return nil, fmt.Errorf("lookup index: county %d: %w", c.ID, err)
		}
		sh, err := newShape(g)
		if err != nil {
			return nil, fmt.Errorf("lookup index: county %d: %w", c.ID, err)
		}
		ix.counties = append(ix.counties, countyEntry{c: lookupCounty{ID: c.ID, Name: c.Name, NameEn: c.NameEn, Zoned: zoned[c.ID]}, shape: sh})
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

// indexAddresses fills byCompound, byName and their keys from the
// addresses of the current zones.
func (ix *lookupIndex) indexAddresses() {
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
func (ix *lookupIndex) zonesAt(pt [2]float64) []lookupZone {
	var out []lookupZone
	ix.curTree.Search(pt, pt, func(_, _ [2]float64, i int32) bool {
		if e := &ix.current[i]; e.shape.contains(pt) {
			out = append(out, e.zone)
		}
		return true
	})
	slices.SortFunc(out, func(a, b lookupZone) int { return int(a.ZoneID - b.ZoneID) })
	return out
}

// countyAt returns the county containing pt.
func (ix *lookupIndex) countyAt(pt [2]float64) *lookupCounty {
	var out *lookupCounty
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
func (ix *lookupIndex) pastAt(pt [2]float64, since, now time.Time) []pastZone {
	var out []pastZone
	ix.pastTree.Search(pt, pt, func(_, _ [2]float64, i int32) bool {
		e := &ix.past[i]
		if !e.active || e.from.After(now) || (!e.until.IsZero() && !e.until.After(since)) || !e.shape.contains(pt) {
			return true
		}
		pz := pastZone{ZoneID: e.zone.ZoneID, Version: e.zone.Version, Name: e.zone.Name, Level: e.zone.Level,
			From: e.from.In(zoning.ChinaTime()).Format(time.RFC3339)}
		if !e.until.IsZero() {
			u := e.until.In(zoning.ChinaTime()).Format(time.RFC3339)
			pz.Until = &u
		}
		out = append(out, pz)
		return true
	})
	slices.SortFunc(out, func(a, b pastZone) int { return strings.Compare(a.From, b.From) })
	return out
}

// ---- addresses ----------------------------------------------------------------

var (
	fullWidth   = strings.NewReplacer("０", "0", "１", "1", "２", "2", "３", "3", "４", "4", "５", "5", "６", "6", "７", "7", "８", "8", "９", "9", "－", "-", "＃", "#")
	addrPattern = regexp.MustCompile(`^(.*?)(\d+[a-z]?)(?:号楼|号|栋|幢|座|#)?(?:(\d+|[一二三四五六七八九十]+)单元)?(?:.*)?$`)
)

func (ix *lookupIndex) countyByID(id int64) *lookupCounty {
	for i := range ix.counties {
		if ix.counties[i].c.ID == id {
			c := ix.counties[i].c
			return &c
		}
	}
	return nil
}

// ---- handlers --------------------------------------------------------------------

// currentIndex returns the index, building it on first use when the
// background worker has not (yet) done so.
func (p *publicSite) currentIndex(ctx context.Context) (*lookupIndex, error) {
	if ix := p.index.Load(); ix != nil {
		return ix, nil
	}
	p.buildMu.Lock()
	defer p.buildMu.Unlock()
	if ix := p.index.Load(); ix != nil {
		return ix, nil
	}
	ix, err := buildIndex(ctx, postgis.Notices{S: p.s.store}, nil)
	if err != nil {
		return nil, err
	}
	p.index.Store(ix)
	return ix, nil
}

// rebuildIndex builds a new index when the zones layer moved past the
// current one's version (force: always).
func (p *publicSite) rebuildIndex(ctx context.Context, force bool) error {
	ns := postgis.Notices{S: p.s.store}
	if cur := p.index.Load(); cur != nil && !force {
		v, err := ns.LayerVersion(ctx, "zones")
		if err != nil {
			return err
		}
		if v == cur.version {
			return nil
		}
	}
	p.buildMu.Lock()
	defer p.buildMu.Unlock()
	ix, err := buildIndex(ctx, ns, p.index.Load())
	if err != nil {
		return err
	}
	p.index.Store(ix)
	p.s.log.Debug("lookup index rebuilt", "zones_version", ix.version, "zones", len(ix.current), "timeline", len(ix.past),
		"ms", time.Since(ix.built).Milliseconds())
	return nil
}

// runIndex keeps the index current until ctx ends: LISTEN riskzone_layers
// on a connection of its own, and a poll of layer_versions.
func (p *publicSite) runIndex(ctx context.Context) {
	if err := p.rebuildIndex(ctx, true); err != nil && ctx.Err() == nil {
		p.s.log.Warn("lookup index", "err", err)
	}
	wake := make(chan struct{}, 1)
	go listen(ctx, p.s, "riskzone_layers", wake)
	p.pages.live.Store(true)
	defer p.pages.live.Store(false)
	tick := time.NewTicker(p.cfg.LookupPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-wake:
			p.pages.bump() // published data changed: render the pages afresh
		}
		if err := p.rebuildIndex(ctx, false); err != nil && ctx.Err() == nil {
			p.s.log.Warn("lookup index", "err", err)
		}
	}
}

// listen LISTENs on channel with a connection of its own and signals wake
// on every notification, reconnecting after errors, until ctx ends.
func listen(ctx context.Context, s *Server, channel string, wake chan<- struct{}) {
	for ctx.Err() == nil {
		err := func() error {
			conn, err := s.store.Pool.Acquire(ctx)
			if err != nil {
				return err
			}
			defer conn.Release()
			if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
				conn.Conn().Close(context.Background()) //nolint:errcheck // dropping a broken connection
				return err
			}
			defer func() {
				// A connection returned to the pool must not keep listening.
				if _, err := conn.Exec(context.WithoutCancel(ctx), "UNLISTEN "+channel); err != nil {
					conn.Conn().Close(context.Background()) //nolint:errcheck
				}
			}()
			for {
				if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
					return err
				}
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}()
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("listen", "channel", channel, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
