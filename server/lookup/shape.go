package lookup

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
)

// Point in polygon: the R-tree filters by bounding box, then a ray cast
// decides. The boundary rule is explicit: a point on the boundary of a
// zone (within boundaryEpsilon degrees of an edge, about 0.1 mm) is inside
// it, also on the boundary of a hole (the zone includes its boundary).
//
// orb/planar's PolygonContains is not used: it counts a point on a hole's
// boundary as outside the polygon (TestPointInPolygon's hole edge and
// vertex cases fail with it), and it tests the boundary exactly, not
// within boundaryEpsilon.

const boundaryEpsilon = 1e-9

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
