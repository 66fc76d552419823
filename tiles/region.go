package tiles

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/uber/h3-go/v4"
)

// Geometry kinds of a stored feature.
const (
	kindPoint uint8 = iota + 1
	kindMultiPoint
	kindLines    // a LineString or MultiLineString: each part a line
	kindPolygons // a Polygon or MultiPolygon: each part a ring
)

// feature is a feature held in memory, ready to render: its bound in world
// coordinates (see World), the zooms it shows at, and where its geometry
// and attributes are in the region's arrays. It holds no pointer, and
// neither do the arrays of points and parts: a region of a hundred thousand
// buildings is a few flat arrays the garbage collector does not scan, which
// keeps its pauses off the warm path's latency.
type feature struct {
	id         uint64
	bound      orb.Bound
	minZ, maxZ uint8
	kind       uint8
	props      uint32 // index into region.props
	first, end uint32 // its parts: region.parts[first:end]
}

// part is one ring or line: its points end at pts[end], and for rings
// newPolygon marks the exterior of the next polygon of a MultiPolygon.
type part struct {
	end        uint32
	newPolygon bool
}

// region is one layer's features in one region tile, as of one version.
// Features are sorted by the west edge of their bound, and maxWidth is the
// widest bound, so the features that may meet a tile are one binary search
// away: those starting west of the tile's east edge and not more than
// maxWidth west of its west edge.
type region struct {
	version  int64
	feats    []feature
	pts      []orb.Point
	parts    []part
	props    []geojson.Properties
	maxWidth float64
	bytes    int64 // estimated memory
}

// add stores a feature with its geometry in world coordinates.
func (r *region) add(id uint64, g orb.Geometry, minZ, maxZ uint8, props geojson.Properties, propIndex map[uintptr]uint32) error {
	f := feature{id: id, bound: g.Bound(), minZ: minZ, maxZ: maxZ, first: uint32(len(r.parts))}
	addPart := func(ps []orb.Point, newPolygon bool) {
		r.pts = append(r.pts, ps...)
		r.parts = append(r.parts, part{end: uint32(len(r.pts)), newPolygon: newPolygon})
	}
	switch g := g.(type) {
	case orb.Point:
		f.kind = kindPoint
		addPart([]orb.Point{g}, false)
	case orb.MultiPoint:
		f.kind = kindMultiPoint
		addPart(g, false)
	case orb.LineString:
		f.kind = kindLines
		addPart(g, false)
	case orb.MultiLineString:
		f.kind = kindLines
		for _, l := range g {
			addPart(l, false)
		}
	case orb.Polygon:
		f.kind = kindPolygons
		for i, ring := range g {
			addPart(ring, i == 0)
		}
	case orb.MultiPolygon:
		f.kind = kindPolygons
		for _, p := range g {
			for i, ring := range p {
				addPart(ring, i == 0)
			}
		}
	default:
		return fmt.Errorf("feature %d: unsupported geometry %T", id, g)
	}
	f.end = uint32(len(r.parts))
	f.props = r.propIndex(props, propIndex)
	r.feats = append(r.feats, f)
	return nil
}

// propIndex stores a property map once per identity: the source hands
// features with equal attributes one shared map.
func (r *region) propIndex(p geojson.Properties, index map[uintptr]uint32) uint32 {
	key := reflect.ValueOf(p).Pointer() // 0 for nil
	if i, ok := index[key]; ok {
		return i
	}
	if p == nil {
		p = geojson.Properties{}
	}
	i := uint32(len(r.props))
	r.props = append(r.props, p)
	index[key] = i
	return i
}

// geometry rebuilds a feature's geometry as orb types whose rings and lines
// alias the region's points: nothing is copied.
func (r *region) geometry(f *feature) orb.Geometry {
	start := uint32(0)
	if f.first > 0 {
		start = r.parts[f.first-1].end
	}
	switch f.kind {
	case kindPoint:
		return r.pts[start]
	case kindMultiPoint:
		return orb.MultiPoint(r.pts[start:r.parts[f.first].end])
	case kindLines:
		mls := make(orb.MultiLineString, 0, f.end-f.first)
		for _, p := range r.parts[f.first:f.end] {
			mls = append(mls, orb.LineString(r.pts[start:p.end:p.end]))
			start = p.end
		}
		return mls
	case kindPolygons:
		var mp orb.MultiPolygon
		for _, p := range r.parts[f.first:f.end] {
			ring := orb.Ring(r.pts[start:p.end:p.end])
			if p.newPolygon || len(mp) == 0 {
				mp = append(mp, orb.Polygon{ring})
			} else {
				mp[len(mp)-1] = append(mp[len(mp)-1], ring)
			}
			start = p.end
		}
		return mp
	}
	return nil
}

// index sorts the features for candidates (ties by id, so the order is
// stable), records the widest and the memory.
func (r *region) index() {
	slices.SortFunc(r.feats, func(a, b feature) int {
		if c := cmp.Compare(a.bound.Min[0], b.bound.Min[0]); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	for i := range r.feats {
		r.maxWidth = max(r.maxWidth, r.feats[i].bound.Max[0]-r.feats[i].bound.Min[0])
	}
	r.pts = slices.Clip(r.pts)
	r.parts = slices.Clip(r.parts)
	r.feats = slices.Clip(r.feats)
	r.bytes = int64(len(r.feats))*64 + int64(len(r.pts))*16 + int64(len(r.parts))*8 + int64(len(r.props))*256
}

// candidates are the features whose bound may meet b, in index order.
func (r *region) candidates(b orb.Bound) []feature {
	lo, _ := slices.BinarySearchFunc(r.feats, b.Min[0]-r.maxWidth, func(f feature, x float64) int {
		return cmp.Compare(f.bound.Min[0], x)
	})
	hi, _ := slices.BinarySearchFunc(r.feats, b.Max[0], func(f feature, x float64) int {
		if f.bound.Min[0] <= x {
			return -1
		}
		return 1
	})
	return r.feats[lo:hi]
}

// buildRegion turns what the source read into renderable features, applying
// the layer's rules (which zooms a kind of feature shows at; the spread
// layer's aggregation of cases into H3 cells).
func buildRegion(l *Layer, src Region) (*region, error) {
	if l.Name == "spread" {
		return buildSpread(l, src)
	}
	reg := &region{version: src.Version, feats: make([]feature, 0, len(src.Features))}
	index := map[uintptr]uint32{}
	for _, sf := range src.Features {
		if sf.Geometry == nil {
			continue
		}
		g := toWorld(sf.Geometry)
		if g == nil {
			return nil, fmt.Errorf("layer %s feature %d: unsupported geometry %T", l.Name, sf.ID, sf.Geometry)
		}
		minZ := l.MinZoom
		switch l.Name {
		case "barriers":
			minZ = max(minZ, barrierMinZoom(str(sf.Props["kind"]), str(sf.Props["class"])))
		case "admin":
			minZ = max(minZ, adminMinZoom(str(sf.Props["level"])))
		}
		if err := reg.add(sf.ID, g, minZ, MaxZoom, sf.Props, index); err != nil {
			return nil, fmt.Errorf("layer %s: %w", l.Name, err)
		}
	}
	reg.index()
	return reg, nil
}

// buildSpread counts counted cases per H3 cell at each resolution the layer
// shows (7 to 10) and makes each cell a polygon feature for its zoom band.
// The feature id is the cell index.
func buildSpread(l *Layer, src Region) (*region, error) {
	reg := &region{version: src.Version}
	index := map[uintptr]uint32{}
	bands := []struct {
		res        int
		minZ, maxZ uint8
	}{{7, l.MinZoom, 11}, {8, 12, 13}, {9, 14, 15}, {10, 16, MaxZoom}}
	for _, band := range bands {
		counts := map[h3.Cell]int64{}
		for _, sf := range src.Features {
			c := h3.Cell(sf.Cell)
			if !c.IsValid() || c.Resolution() < band.res {
				continue
			}
			counts[c.Parent(band.res)]++
		}
		cells := make([]h3.Cell, 0, len(counts))
		for c := range counts {
			cells = append(cells, c)
		}
		slices.Sort(cells)
		for _, c := range cells {
			boundary := c.Boundary()
			ring := make(orb.Ring, 0, len(boundary)+1)
			for _, ll := range boundary {
				x, y := World(ll.Lng, ll.Lat)
				ring = append(ring, orb.Point{x, y})
			}
			ring = append(ring, ring[0])
			props := geojson.Properties{"count": counts[c], "res": int64(band.res), "cell": c.String()}
			if err := reg.add(uint64(c), orb.Polygon{ring}, band.minZ, band.maxZ, props, index); err != nil {
				return nil, err
			}
		}
	}
	reg.index()
	return reg, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
