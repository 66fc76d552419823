package tiles

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/simplify"
)

// simplifyTolerance is the Douglas-Peucker tolerance in tile units: a
// sixteenth of a pixel on a 256-pixel tile, an eighth on a 512-pixel one.
const simplifyTolerance = 1.0

// tileFrame maps world coordinates to the tile coordinates of one tile:
// 0..Extent across the tile, y down, with the buffer beyond.
type tileFrame struct {
	tile   TileID
	scale  float64   // world units to tile units: 2^z * Extent
	ox, oy float64   // the tile's corner in tile units of its zoom
	world  orb.Bound // the buffered tile in world coordinates
	clip   orb.Bound // the buffered tile in tile coordinates
	arena  []orb.Point
}

// alloc hands out n points from a chunk shared by the tile's geometries
// (they all live until the tile is encoded): one allocation per few
// hundred features instead of one per ring.
func (f *tileFrame) alloc(n int) []orb.Point {
	if len(f.arena)+n > cap(f.arena) {
		f.arena = make([]orb.Point, 0, max(2*cap(f.arena), 256, n))
	}
	start := len(f.arena)
	f.arena = f.arena[:start+n]
	return f.arena[start : start+n : start+n]
}

func newTileFrame(t TileID) tileFrame {
	scale := float64(uint64(1)<<t.Z) * Extent
	return tileFrame{
		tile:  t,
		scale: scale,
		ox:    float64(t.X) * Extent,
		oy:    float64(t.Y) * Extent,
		world: t.WorldBound(Buffer),
		clip:  orb.Bound{Min: orb.Point{-Buffer, -Buffer}, Max: orb.Point{Extent + Buffer, Extent + Buffer}},
	}
}

func (f *tileFrame) point(p orb.Point) orb.Point {
	return orb.Point{p[0]*f.scale - f.ox, p[1]*f.scale - f.oy}
}

func (f *tileFrame) points(ps []orb.Point) []orb.Point {
	out := f.alloc(len(ps))
	for i, p := range ps {
		out[i] = orb.Point{p[0]*f.scale - f.ox, p[1]*f.scale - f.oy}
	}
	return out
}

// inside reports whether a world bound lies wholly within the buffered tile,
// so the feature needs no clipping.
func (f *tileFrame) inside(b orb.Bound) bool {
	return b.Min[0] >= f.world.Min[0] && b.Min[1] >= f.world.Min[1] && b.Max[0] <= f.world.Max[0] && b.Max[1] <= f.world.Max[1]
}

// geometry turns a feature's world geometry into valid MVT tile geometry:
// projected, clipped to the buffered tile, simplified when asked, rounded to
// integers without repeated points, and for polygons with every exterior
// ring clockwise in tile space (positive area with y down, MVT 2.1 §4.3.4.4)
// and every hole counter-clockwise. Rings that collapse are dropped, and a
// polygon whose exterior collapses goes with its holes. It returns nil when
// nothing is left.
func (f *tileFrame) geometry(g orb.Geometry, b orb.Bound, simple bool) orb.Geometry {
	needClip := !f.inside(b)
	switch g := g.(type) {
	case orb.Point:
		p := f.point(g)
		if !f.clip.Contains(p) {
			return nil
		}
		return orb.Point{math.Round(p[0]), math.Round(p[1])}
	case orb.MultiPoint:
		var out orb.MultiPoint
		for _, wp := range g {
			p := f.point(wp)
			if f.clip.Contains(p) {
				out = append(out, orb.Point{math.Round(p[0]), math.Round(p[1])})
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case orb.LineString:
		return f.lines(orb.MultiLineString{g}, needClip, simple)
	case orb.MultiLineString:
		return f.lines(g, needClip, simple)
	case orb.Polygon:
		return f.polygons(orb.MultiPolygon{g}, needClip, simple)
	case orb.MultiPolygon:
		return f.polygons(g, needClip, simple)
	}
	return nil
}

func (f *tileFrame) lines(mls orb.MultiLineString, needClip, simple bool) orb.Geometry {
	var out orb.MultiLineString
	for _, wl := range mls {
		ls := orb.LineString(f.points(wl))
		parts := orb.MultiLineString{ls}
		if needClip {
			parts = clip.LineString(f.clip, ls)
		}
		for _, part := range parts {
			if simple && len(part) > 2 {
				part = simplify.DouglasPeucker(simplifyTolerance).LineString(part)
			}
			if r := roundLine(part); len(r) >= 2 {
				out = append(out, r)
			}
		}
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return out
}

func (f *tileFrame) polygons(mp orb.MultiPolygon, needClip, simple bool) orb.Geometry {
	var out orb.MultiPolygon
	for _, wp := range mp {
		if !needClip && !simple {
			// The common case (a building inside the tile): project, round
			// and drop repeats in one pass.
			var kept orb.Polygon
			for i, r := range wp {
				rr, area := f.roundRingWorld(r)
				if rr == nil {
					if i == 0 {
						break
					}
					continue
				}
				if (i == 0) != (area > 0) {
					reverse(rr)
				}
				kept = append(kept, rr)
			}
			if len(kept) > 0 {
				out = append(out, kept)
			}
			continue
		}
		poly := make(orb.Polygon, len(wp))
		for i, r := range wp {
			poly[i] = orb.Ring(f.points(r))
		}
		if needClip {
			poly = clip.Polygon(f.clip, poly)
			if len(poly) == 0 {
				continue
			}
		}
		var kept orb.Polygon
		for i, r := range poly {
			if simple && len(r) > 4 {
				r = simplify.DouglasPeucker(simplifyTolerance).Ring(r)
			}
			rr, area := roundRing(r, f.alloc(len(r)+1))
			if rr == nil {
				if i == 0 {
					break // the exterior collapsed: drop the polygon
				}
				continue
			}
			// Exterior rings have positive area in tile space (y down),
			// holes negative, whatever the source's winding was.
			if (i == 0) != (area > 0) {
				reverse(rr)
			}
			kept = append(kept, rr)
		}
		if len(kept) > 0 {
			out = append(out, kept)
		}
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return out
}

// roundLine rounds to integer tile units and drops repeated points.
func roundLine(ls orb.LineString) orb.LineString {
	out := make(orb.LineString, 0, len(ls))
	for _, p := range ls {
		q := orb.Point{math.Round(p[0]), math.Round(p[1])}
		if n := len(out); n > 0 && out[n-1] == q {
			continue
		}
		out = append(out, q)
	}
	return out
}

// roundRing rounds a ring in tile units to integers into buf (of room for
// len(r)+1 points), dropping repeated points and points on a straight line
// between their neighbours, and closes it. It returns the ring and its
// signed area in tile space (the surveyor's formula, positive for clockwise
// with y down), or nil when the ring has no area left.
func roundRing(r orb.Ring, buf []orb.Point) (orb.Ring, float64) {
	out := buf[:0]
	for _, p := range r {
		out = appendVertex(out, orb.Point{math.Round(p[0]), math.Round(p[1])})
	}
	return closeRing(out)
}

// roundRingWorld is roundRing for a ring in world coordinates.
func (f *tileFrame) roundRingWorld(r orb.Ring) (orb.Ring, float64) {
	out := f.alloc(len(r) + 1)[:0]
	for _, p := range r {
		out = appendVertex(out, orb.Point{math.Round(p[0]*f.scale - f.ox), math.Round(p[1]*f.scale - f.oy)})
	}
	return closeRing(out)
}

// appendVertex adds q to an open ring unless it repeats the last point; a
// last point that q makes collinear (on the line from the one before to q)
// is dropped.
func appendVertex(out []orb.Point, q orb.Point) []orb.Point {
	n := len(out)
	if n > 0 && out[n-1] == q {
		return out
	}
	if n > 1 && collinear(out[n-2], out[n-1], q) {
		out[n-1] = q
		return out
	}
	return append(out, q)
}

func collinear(a, b, c orb.Point) bool {
	return (b[0]-a[0])*(c[1]-a[1])-(b[1]-a[1])*(c[0]-a[0]) == 0
}

// closeRing finishes an open ring from appendVertex: drops the closing
// repeats and a collinear seam, checks the area and closes it.
func closeRing(out []orb.Point) (orb.Ring, float64) {
	for len(out) > 1 && out[len(out)-1] == out[0] {
		out = out[:len(out)-1]
	}
	for len(out) > 3 && collinear(out[len(out)-2], out[len(out)-1], out[0]) {
		out = out[:len(out)-1]
	}
	for len(out) > 3 && collinear(out[len(out)-1], out[0], out[1]) {
		out = out[1:]
	}
	if len(out) < 3 {
		return nil, 0
	}
	area := signedArea(out)
	if area == 0 {
		return nil, 0
	}
	return append(out, out[0]), area
}

// signedArea is twice the area of an open ring by the surveyor's formula, in
// tile space: positive when the ring runs clockwise on screen (y down).
func signedArea(r []orb.Point) float64 {
	var s float64
	n := len(r)
	for i := 0; i < n; i++ {
		a, b := r[i], r[(i+1)%n]
		s += a[0]*b[1] - b[0]*a[1]
	}
	return s
}

func reverse(r orb.Ring) {
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
}

// renderLayer adds the features of one region that show in the tile to an
// MVT layer. It returns the layer (nil when empty) and how many features
// were dropped over MaxFeaturesPerTile.
func renderLayer(l *Layer, reg *region, f *tileFrame) (*mvt.Layer, int) {
	z := f.tile.Z
	var feats []*geojson.Feature
	dropped := 0
	w := f.world
	cands := reg.candidates(w)
	for i := range cands {
		ft := &cands[i]
		if z < ft.minZ || z > ft.maxZ || ft.bound.Max[0] < w.Min[0] || ft.bound.Min[1] > w.Max[1] || ft.bound.Max[1] < w.Min[1] {
			continue
		}
		if len(feats) >= MaxFeaturesPerTile {
			dropped++
			continue
		}
		g := f.geometry(reg.geometry(ft), ft.bound, l.Simplify)
		if g == nil {
			continue
		}
		feats = append(feats, &geojson.Feature{Type: "Feature", ID: ft.id, Geometry: g, Properties: reg.props[ft.props]})
	}
	if len(feats) == 0 {
		return nil, dropped
	}
	return &mvt.Layer{Name: l.Name, Version: 2, Extent: Extent, Features: feats}, dropped
}

// encodeTile marshals the layers into one MVT tile; nil when no layer has a
// feature.
func encodeTile(layers mvt.Layers) ([]byte, error) {
	if len(layers) == 0 {
		return nil, nil
	}
	b, err := mvt.Marshal(layers)
	if err != nil {
		return nil, fmt.Errorf("encode tile: %w", err)
	}
	return b, nil
}
