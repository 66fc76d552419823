package server

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/paulmach/orb"
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

// ring is a closed ring of [lon, lat] positions.
type ring [][2]float64

// polygon is an exterior ring and its holes.
type polygon []ring

type shape struct {
	polys []polygon
	bbox  [4]float64
}

func newShape(g orb.Geometry) (shape, error) {
	var s shape
	add := func(p orb.Polygon) {
		var pg polygon
		for _, r := range p {
			rr := make(ring, len(r))
			for i, pt := range r {
				rr[i] = [2]float64{pt[0], pt[1]}
			}
			pg = append(pg, rr)
		}
		s.polys = append(s.polys, pg)
	}
	switch t := g.(type) {
	case orb.Polygon:
		add(t)
	case orb.MultiPolygon:
		for _, p := range t {
			add(p)
		}
	default:
		return s, fmt.Errorf("geometry %T: want a polygon", g)
	}
	b := g.Bound()
	s.bbox = [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
	return s, nil
}

// contains applies the boundary rule: on the boundary is inside.
func (s shape) contains(pt [2]float64) bool {
	if pt[0] < s.bbox[0] || pt[0] > s.bbox[2] || pt[1] < s.bbox[1] || pt[1] > s.bbox[3] {
		return false
	}
	for _, p := range s.polys {
		if polygonContains(p, pt) {
			return true
		}
	}
	return false
}

func polygonContains(p polygon, pt [2]float64) bool {
	if len(p) == 0 {
		return false
	}
	switch ringLocate(p[0], pt) {
	case outside:
		return false
	case onBoundary:
		return true
	}
	for _, hole := range p[1:] {
		if ringLocate(hole, pt) == inside {
			return false // strictly inside a hole; its boundary belongs to the zone
		}
	}
	return true
}

type location int

const (
	outside location = iota
	inside
	onBoundary
)

// ringLocate locates pt against a ring (either winding): a crossing-number
// ray cast to +x, with edges tested for the point on them first.
func ringLocate(r ring, pt [2]float64) location {
	n := len(r)
	if n < 3 {
		return outside
	}
	in := false
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := r[j], r[i]
		if onEdge(a, b, pt) {
			return onBoundary
		}
		if (a[1] > pt[1]) != (b[1] > pt[1]) {
			x := a[0] + (pt[1]-a[1])*(b[0]-a[0])/(b[1]-a[1])
			if pt[0] < x {
				in = !in
			}
		}
	}
	if in {
		return inside
	}
	return outside
}

// onEdge reports whether pt lies on segment ab, within boundaryEpsilon.
func onEdge(a, b, pt [2]float64) bool {
	if pt[0] < math.Min(a[0], b[0])-boundaryEpsilon || pt[0] > math.Max(a[0], b[0])+boundaryEpsilon ||
		pt[1] < math.Min(a[1], b[1])-boundaryEpsilon || pt[1] > math.Max(a[1], b[1])+boundaryEpsilon {
		return false
	}
	dx, dy := b[0]-a[0], b[1]-a[1]
	l := math.Hypot(dx, dy)
	if l == 0 {
		return math.Hypot(pt[0]-a[0], pt[1]-a[1]) <= boundaryEpsilon
	}
	cross := dx*(pt[1]-a[1]) - dy*(pt[0]-a[0])
	return math.Abs(cross)/l <= boundaryEpsilon
}

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
	// byCompound maps a compound name to building number to hits.
	byCompound map[string]map[string][]addrHit
	compounds  []string // keys of byCompound, longest first
	// buildings are the addresses of all buildings, kept across rebuilds
	// while the buildings layer does not move.
	buildings *buildingIndex
}

// buildingIndex is the address book of every building with a compound
// name: address -> building -> point, for addresses outside every zone.
type buildingIndex struct {
	version    int64
	byCompound map[string][]buildingAddr
	compounds  []string // keys, longest first
	places     []string // district + street, by buildingAddr.place
}

// buildingAddr is one building of the address book (48 bytes: a city of
// 10^6 buildings takes about 50 MB).
type buildingAddr struct {
	id       int64
	place    uint32
	number   string
	lon, lat float64
}

func buildBuildingIndex(ctx context.Context, ns postgis.Notices, version int64) (*buildingIndex, error) {
	bi := &buildingIndex{version: version, byCompound: map[string][]buildingAddr{}}
	places := map[string]uint32{}
	err := ns.BuildingAddresses(ctx, func(b postgis.BuildingAddress) {
		key := normalizeCompound(b.Compound)
		place := b.District + b.Street
		i, ok := places[place]
		if !ok {
			i = uint32(len(bi.places))
			places[place] = i
			bi.places = append(bi.places, place)
		}
		bi.byCompound[key] = append(bi.byCompound[key], buildingAddr{id: b.BuildingID, place: i,
			number: b.Number, lon: b.Lon, lat: b.Lat})
	})
	if err != nil {
		return nil, err
	}
	for k := range bi.byCompound {
		bi.compounds = append(bi.compounds, k)
	}
	sortLongestFirst(bi.compounds)
	return bi, nil
}

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

// indexAddresses fills byCompound and compounds from the addresses of the
// current zones.
func (ix *lookupIndex) indexAddresses() {
	ix.byCompound = map[string]map[string][]addrHit{}
	for i := range ix.current {
		for j, a := range ix.current[i].addrs {
			key := normalizeCompound(a.Compound)
			if key == "" {
				continue
			}
			m := ix.byCompound[key]
			if m == nil {
				m = map[string][]addrHit{}
				ix.byCompound[key] = m
			}
			h := addrHit{entry: int32(i), addr: int32(j), unit: a.UnitNumber, name: a.Unit}
			whole := a
			whole.UnitNumber, whole.Unit = 0, ""
			h.building = zoning.FormatAddressesZh([]zoning.Address{whole})
			if a.UnitNumber != 0 {
				h.unitZh = zoning.FormatAddressesZh([]zoning.Address{a})
			}
			m[a.Number] = append(m[a.Number], h)
		}
	}
	ix.compounds = ix.compounds[:0]
	for k := range ix.byCompound {
		ix.compounds = append(ix.compounds, k)
	}
	sortLongestFirst(ix.compounds)
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
	addrPattern = regexp.MustCompile(`^(.*?)(\d+)(?:号楼|号|栋|幢|座|#)?(?:(\d+|[一二三四五六七八九十]+)单元)?(?:.*)?$`)
)

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

// lookupAnswer is the answer of GET /api/v1/public/lookup.
type lookupAnswer struct {
	Lon          *float64       `json:"lon,omitempty"`
	Lat          *float64       `json:"lat,omitempty"`
	Query        string         `json:"q,omitempty"`
	Since        string         `json:"since,omitempty"`
	InZone       bool           `json:"in_zone"`
	Zones        []lookupZone   `json:"zones"`
	County       *lookupCounty  `json:"county"`
	Past         []pastZone     `json:"past,omitempty"`
	WasInZone    *bool          `json:"was_in_zone,omitempty"`
	Matches      []addressMatch `json:"matches,omitempty"`
	IndexVersion int64          `json:"index_version"`
}

// lookupQuery is a parsed lookup request.
type lookupQuery struct {
	hasPoint bool
	pt       [2]float64
	q        string
	since    time.Time // zero: no history asked
	days     int
}

func parseLookup(c echo.Context, now time.Time) (lookupQuery, error) {
	return parseLookupQuery(c.QueryParam, now)
}

// parseLookupQuery reads a lookup from its query parameters (param answers
// the first value of a name, "" when absent): the routes and the lookup
// listener (lookup_listener.go) share it.
func parseLookupQuery(param func(string) string, now time.Time) (lookupQuery, error) {
	var lq lookupQuery
	lonS, latS := param("lon"), param("lat")
	if ll := strings.TrimSpace(param("ll")); ll != "" && lonS == "" && latS == "" {
		a, b, ok := strings.Cut(strings.NewReplacer("，", ",", " ", ",").Replace(ll), ",")
		if !ok {
			return lq, zoning.Errorf(zoning.ErrInvalid, "ll %q: want longitude,latitude", ll)
		}
		lonS, latS = strings.TrimSpace(a), strings.TrimSpace(b)
	}
	lq.q = strings.TrimSpace(param("q"))
	if len(lq.q) > 200 {
		return lq, zoning.Errorf(zoning.ErrInvalid, "q is longer than 200 bytes")
	}
	switch {
	case lonS != "" || latS != "":
		lon, err1 := strconv.ParseFloat(lonS, 64)
		lat, err2 := strconv.ParseFloat(latS, 64)
		if err1 != nil || err2 != nil || !lonLatOK(lon, lat) {
			return lq, zoning.Errorf(zoning.ErrInvalid, "lon=%q lat=%q: want a longitude in [-180, 180] and a latitude in [-90, 90]", lonS, latS)
		}
		lq.hasPoint, lq.pt = true, [2]float64{lon, lat}
	case lq.q == "":
		return lq, zoning.Errorf(zoning.ErrInvalid, "give lon and lat, or q (an address such as 城建花园小区73号楼二单元)")
	}
	if d := param("days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > maxLookupDays {
			return lq, zoning.Errorf(zoning.ErrInvalid, "days=%q: want 1 to %d", d, maxLookupDays)
		}
		lq.days, lq.since = n, now.AddDate(0, 0, -n)
	}
	if s := param("since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return lq, zoning.Errorf(zoning.ErrInvalid, "since=%q: want an RFC 3339 time, e.g. 2022-11-20T00:00:00+08:00", s)
		}
		if t.After(now) || now.Sub(t) > maxLookupDays*24*time.Hour {
			return lq, zoning.Errorf(zoning.ErrInvalid, "since=%q: want a time in the last %d days", s, maxLookupDays)
		}
		lq.since = t
	}
	return lq, nil
}

// answer resolves a lookup against the index alone: zones, counties,
// timeline and the address book; the database is not asked.
func (ix *lookupIndex) answer(lq lookupQuery, now time.Time) lookupAnswer {
	a := lookupAnswer{IndexVersion: ix.version, Zones: []lookupZone{}}
	if !lq.since.IsZero() {
		a.Since = lq.since.In(zoning.ChinaTime()).Format(time.RFC3339)
	}
	if lq.hasPoint {
		lon, lat := lq.pt[0], lq.pt[1]
		a.Lon, a.Lat = &lon, &lat
		if z := ix.zonesAt(lq.pt); z != nil {
			a.Zones = z
		}
		a.InZone = len(a.Zones) > 0
		a.County = ix.countyAt(lq.pt)
		if !lq.since.IsZero() {
			a.Past = ix.pastAt(lq.pt, lq.since, now)
			was := len(a.Past) > 0
			a.WasInZone = &was
		}
		return a
	}
	a.Query = lq.q
	pa := parseAddress(lq.q)
	a.Matches = ix.indexAddress(pa)
	if len(a.Matches) == 0 && pa.number != "" && ix.buildings != nil {
		// Not a zoned building: find it in the address book, then its zones.
		bi := ix.buildings
		key := compoundKey(pa.place, func(k string) bool { _, ok := bi.byCompound[k]; return ok }, bi.compounds)
		for _, b := range bi.byCompound[key] {
			if b.number != pa.number {
				continue
			}
			lon, lat := b.lon, b.lat
			m := addressMatch{Address: bi.places[b.place] + key + b.number + "号楼", BuildingID: b.id, Lon: &lon, Lat: &lat,
				Zones: []lookupZone{}}
			pt := [2]float64{lon, lat}
			if z := ix.zonesAt(pt); z != nil {
				m.Zones, m.InZone = z, true
			}
			m.County = ix.countyAt(pt)
			a.Matches = append(a.Matches, m)
			if len(a.Matches) == 5 {
				break
			}
		}
	}
	for i := range a.Matches {
		m := &a.Matches[i]
		if m.County == nil || m.Lon == nil {
			continue
		}
		if !lq.since.IsZero() {
			m.Past = ix.pastAt([2]float64{*m.Lon, *m.Lat}, lq.since, now)
		}
	}
	for _, m := range a.Matches {
		if m.InZone {
			a.InZone = true
			a.Zones = append(a.Zones, m.Zones...)
		}
	}
	if a.Matches == nil {
		a.Matches = []addressMatch{}
	}
	return a
}

// lookupAPI is GET /api/v1/public/lookup?lon=&lat= or ?q=address, with
// &days=N or &since=T for the history ("was this place in a zone?").
func (p *publicSite) lookupAPI(c echo.Context) error {
	now := time.Now()
	lq, err := parseLookup(c, now)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ix, err := p.currentIndex(ctx)
	if err != nil {
		return err
	}
	return writeLookup(c, ix.answer(lq, now))
}

// lookupResult is one place on the lookup page.
type lookupResult struct {
	Place       string
	Zones       []lookupZone
	County      *lookupCounty
	CountyZoned bool
	Past        []pastZone
}

type lookupPageData struct {
	Q, LL   string
	Days    int
	Asked   bool
	Error   string
	Results []lookupResult
}

// lookupPage is the HTML form of the lookup: no JavaScript, no location
// permission.
func (p *publicSite) lookupPage(c echo.Context) error {
	d := lookupPageData{Q: c.QueryParam("q"), LL: c.QueryParam("ll")}
	pg := p.newPage(c, "", &d)
	pg.Title = pg.T("lookup.title")
	if c.QueryParam("days") == "" {
		c.QueryParams().Del("days")
	}
	if d.Q == "" && d.LL == "" {
		return p.render(c, http.StatusOK, "lookup", pg)
	}
	d.Asked = true
	now := time.Now()
	lq, err := parseLookup(c, now)
	if err != nil {
		d.Error, d.Asked = zoning.Message(err), false
		return p.render(c, http.StatusBadRequest, "lookup", pg)
	}
	d.Days = lq.days
	ctx := c.Request().Context()
	ix, err := p.currentIndex(ctx)
	if err != nil {
		return err
	}
	a := ix.answer(lq, now)
	if lq.hasPoint {
		r := lookupResult{Place: fmt.Sprintf("%.6f, %.6f", lq.pt[0], lq.pt[1]), Zones: a.Zones, County: a.County, Past: a.Past}
		if a.County != nil {
			r.CountyZoned = a.County.Zoned
		}
		d.Results = append(d.Results, r)
	}
	for _, m := range a.Matches {
		r := lookupResult{Place: m.Address, Zones: m.Zones, County: m.County, Past: m.Past}
		if m.County != nil {
			r.CountyZoned = m.County.Zoned
		}
		d.Results = append(d.Results, r)
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "private, no-store")
	return p.render(c, http.StatusOK, "lookup", pg)
}

// changesAPI is GET /api/v1/public/changes?since=T: the zone changes
// published after T, oldest first, from the published version history;
// next_since continues the list.
func (p *publicSite) changesAPI(c echo.Context) error {
	s := c.QueryParam("since")
	if s == "" {
		return zoning.Errorf(zoning.ErrInvalid, "since is missing: /api/v1/public/changes?since=2022-11-20T00:00:00+08:00")
	}
	since, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return zoning.Errorf(zoning.ErrInvalid, "since=%q: want an RFC 3339 time", s)
	}
	limit, err := queryInt(c, "limit", 500)
	if err != nil {
		return err
	}
	if limit < 1 || limit > 5000 {
		return zoning.Errorf(zoning.ErrInvalid, "limit %d: want 1 to 5000", limit)
	}
	changes, err := postgis.Notices{S: p.s.store}.Changes(c.Request().Context(), since, int(limit))
	if err != nil {
		return err
	}
	next := s
	if n := len(changes); n > 0 {
		next = changes[n-1].PublishedAt.Format(time.RFC3339Nano)
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=10")
	return c.JSON(http.StatusOK, map[string]any{"since": s, "changes": changes, "next_since": next, "complete": len(changes) < int(limit)})
}
