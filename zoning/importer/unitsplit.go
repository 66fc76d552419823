package importer

import (
	"math"
	"slices"

	"github.com/paulmach/orb"

	"github.com/riskzone/riskzone/geo"
)

// unitPlan is how a residential footprint would be cut into units: n strips
// across its long axis. When the footprint fills its minimum-area rectangle
// (to 0.5%), the strips are the units. Otherwise each unit is the footprint
// clipped to its strip: clipped here (clipStrips) when the footprint is one
// polygon without holes that each cut line crosses at most twice, so that
// every piece is one simple polygon; else by PostGIS (ST_Intersection), only
// for the buildings that get derived units. A GEOS overlay per unit cost
// about as much as everything else of a derived unit together.
type unitPlan struct {
	strips []orb.Polygon // lon/lat, number i+1 is strips[i]
	fills  bool          // the strips are the units
	// clips, when not nil, are the footprint clipped to each strip here;
	// the database checks them with ST_IsValid before it trusts them, and
	// clips a footprint it had to repair itself.
	clips  []orb.Polygon
	length float64 // of the long side, metres
}

// planUnits cuts a building's footprint. The rectangle is found in a local
// plane in metres around the footprint (geo.LocalPlane), by rotating
// calipers over its convex hull: the minimum-area enclosing rectangle has a
// side on a hull edge. N follows Estimates (see its doc). ok is false when
// the footprint has no area to cut.
func planUnits(g orb.Geometry, floors, flats *int32, singleUnit bool, e Estimates) (unitPlan, bool) {
	var polys []orb.Polygon
	switch g := g.(type) {
	case orb.Polygon:
		polys = []orb.Polygon{g}
	case orb.MultiPolygon:
		polys = g
	default:
		return unitPlan{}, false
	}
	var origin orb.Point
	var outer int
	for _, p := range polys {
		if len(p) > 0 && len(p[0]) > 0 {
			origin = p[0][0]
			outer += len(p[0])
		}
	}
	if outer < 4 {
		return unitPlan{}, false
	}
	plane, err := geo.NewLocalPlane(origin[0], origin[1])
	if err != nil {
		return unitPlan{}, false
	}
	pts := make([][2]float64, 0, outer)
	var area float64
	for _, p := range polys {
		if len(p) == 0 {
			continue
		}
		ring := make([][2]float64, len(p[0]))
		for i, q := range p[0] {
			x, y := plane.XY(q[0], q[1])
			ring[i] = [2]float64{x, y}
		}
		pts = append(pts, ring...)
		area += math.Abs(shoelace(ring))
		for _, hole := range p[1:] {
			h := make([][2]float64, len(hole))
			for i, q := range hole {
				x, y := plane.XY(q[0], q[1])
				h[i] = [2]float64{x, y}
			}
			area -= math.Abs(shoelace(h))
		}
	}
	rect, rectArea, ok := minAreaRect(convexHull(pts))
	if !ok || rectArea <= 0 {
		return unitPlan{}, false
	}
	// rect[0]→rect[1] is one side, rect[1]→rect[2] the next.
	o, u, v := rect[0], sub(rect[1], rect[0]), sub(rect[2], rect[1])
	if norm(u) < norm(v) {
		o, u, v = rect[1], v, sub(rect[0], rect[1])
	}
	length := norm(u)
	n := unitCount(length, floors, flats, singleUnit, e)
	// A self-intersecting ring has a meaningless shoelace area: not filling,
	// so PostGIS clips the strips with the repaired footprint.
	plan := unitPlan{fills: area > 0 && area >= 0.995*rectArea, length: length}
	for i := 0; i < n; i++ {
		a := add(o, scale(u, float64(i)/float64(n)))
		b := add(o, scale(u, float64(i+1)/float64(n)))
		ring := orb.Ring{plane.LonLat(a[0], a[1]), plane.LonLat(b[0], b[1]),
			plane.LonLat(b[0]+v[0], b[1]+v[1]), plane.LonLat(a[0]+v[0], a[1]+v[1]), plane.LonLat(a[0], a[1])}
		if shoelaceLonLat(ring) < 0 {
			slices.Reverse(ring)
		}
		plan.strips = append(plan.strips, orb.Polygon{ring})
	}
	if !plan.fills && n > 1 && len(polys) == 1 && len(polys[0]) == 1 && area > 0 {
		if clips, ok := clipStrips(polys[0][0], plane, o, u, n); ok {
			plan.clips = clips
		}
	}
	return plan, true
}

// clipMinArea is the smallest piece (m²) clipStrips makes; a smaller one
// leaves the building to PostGIS.
const clipMinArea = 0.01

// clipStrips cuts the outer ring of a footprint (lon/lat) into the n strips
// of its rectangle: strip i holds the points whose position along u from o
// lies in [i/n, (i+1)/n] of it (the footprint lies inside the rectangle, so
// only the n-1 inner cut lines matter). It refuses (false) unless every cut
// line crosses the ring exactly twice and passes no vertex closely: then
// each side of a cut is one piece, and Sutherland-Hodgman clipping by the
// two half-planes of a strip gives exactly that piece as a simple polygon.
// Vertices of the footprint keep their coordinates; the points on the cuts
// are computed in the local plane.
func clipStrips(ring orb.Ring, plane geo.LocalPlane, o, u [2]float64, n int) ([]orb.Polygon, bool) {
	length := norm(u)
	ux, uy := u[0]/length, u[1]/length
	type vertex struct {
		t  float64    // along u, metres from o
		xy [2]float64 // local plane
		ll orb.Point  // lon/lat
	}
	if len(ring) < 4 || ring[0] != ring[len(ring)-1] {
		return nil, false
	}
	vs := make([]vertex, 0, len(ring)-1)
	for _, q := range ring[:len(ring)-1] {
		x, y := plane.XY(q[0], q[1])
		vs = append(vs, vertex{t: (x-o[0])*ux + (y-o[1])*uy, xy: [2]float64{x, y}, ll: q})
	}
	const eps = 1e-4 // metres
	for i := 1; i < n; i++ {
		c := length * float64(i) / float64(n)
		crossings := 0
		for j, a := range vs {
			if math.Abs(a.t-c) < eps {
				return nil, false
			}
			if b := vs[(j+1)%len(vs)]; (a.t < c) != (b.t < c) {
				crossings++
			}
		}
		if crossings != 2 {
			return nil, false
		}
	}
	// cut keeps the part of poly on one side of t = c (below when keepBelow).
	cut := func(poly []vertex, c float64, keepBelow bool) []vertex {
		in := func(v vertex) bool { return (v.t < c) == keepBelow }
		var out []vertex
		for j, a := range poly {
			b := poly[(j+1)%len(poly)]
			if in(a) {
				out = append(out, a)
			}
			if in(a) != in(b) {
				// On the footprint's edge, in lon/lat as in the plane.
				k := (c - a.t) / (b.t - a.t)
				xy := [2]float64{a.xy[0] + k*(b.xy[0]-a.xy[0]), a.xy[1] + k*(b.xy[1]-a.xy[1])}
				ll := orb.Point{a.ll[0] + k*(b.ll[0]-a.ll[0]), a.ll[1] + k*(b.ll[1]-a.ll[1])}
				out = append(out, vertex{t: c, xy: xy, ll: ll})
			}
		}
		return out
	}
	strips := make([]orb.Polygon, 0, n)
	for i := 0; i < n; i++ {
		piece := vs
		if i > 0 {
			piece = cut(piece, length*float64(i)/float64(n), false)
		}
		if i < n-1 {
			piece = cut(piece, length*float64(i+1)/float64(n), true)
		}
		if len(piece) < 3 {
			return nil, false
		}
		xy := make([][2]float64, 0, len(piece)+1)
		out := make(orb.Ring, 0, len(piece)+1)
		for _, v := range piece {
			xy = append(xy, v.xy)
			out = append(out, v.ll)
		}
		xy = append(xy, piece[0].xy)
		out = append(out, piece[0].ll)
		if math.Abs(shoelace(xy)) < clipMinArea {
			return nil, false
		}
		if shoelaceLonLat(out) < 0 {
			slices.Reverse(out)
		}
		strips = append(strips, orb.Polygon{out})
	}
	return strips, true
}

// unitCount is N of Estimates: 1 for single-family types, from the flats
// when known, else from the long side; within [1, MaxUnits].
func unitCount(length float64, floors, flats *int32, singleUnit bool, e Estimates) int {
	n := 1
	switch {
	case singleUnit:
	case flats != nil && *flats > 0:
		f := e.DefaultFloors
		if floors != nil {
			f = int(*floors)
		}
		n = int(math.Ceil(float64(*flats) / float64(f*e.FlatsPerFloor)))
	default:
		n = int(math.Round(length / e.UnitWidthM))
	}
	return max(1, min(n, e.MaxUnits))
}

func shoelace(r [][2]float64) float64 {
	var s float64
	for i := 0; i+1 < len(r); i++ {
		s += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	return s / 2
}

func shoelaceLonLat(r orb.Ring) float64 {
	var s float64
	for i := 0; i+1 < len(r); i++ {
		s += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	return s / 2
}

func sub(a, b [2]float64) [2]float64           { return [2]float64{a[0] - b[0], a[1] - b[1]} }
func add(a, b [2]float64) [2]float64           { return [2]float64{a[0] + b[0], a[1] + b[1]} }
func scale(a [2]float64, k float64) [2]float64 { return [2]float64{a[0] * k, a[1] * k} }
func norm(a [2]float64) float64                { return math.Hypot(a[0], a[1]) }
func cross(o, a, b [2]float64) float64 {
	return (a[0]-o[0])*(b[1]-o[1]) - (a[1]-o[1])*(b[0]-o[0])
}

// convexHull is Andrew's monotone chain; counter-clockwise, not closed.
func convexHull(pts [][2]float64) [][2]float64 {
	p := slices.Clone(pts)
	slices.SortFunc(p, func(a, b [2]float64) int {
		if a[0] != b[0] {
			if a[0] < b[0] {
				return -1
			}
			return 1
		}
		switch {
		case a[1] < b[1]:
			return -1
		case a[1] > b[1]:
			return 1
		}
		return 0
	})
	p = slices.Compact(p)
	if len(p) < 3 {
		return p
	}
	hull := make([][2]float64, 0, 2*len(p))
	for _, q := range p {
		for len(hull) >= 2 && cross(hull[len(hull)-2], hull[len(hull)-1], q) <= 0 {
			hull = hull[:len(hull)-1]
		}
		hull = append(hull, q)
	}
	lower := len(hull) + 1
	for i := len(p) - 2; i >= 0; i-- {
		q := p[i]
		for len(hull) >= lower && cross(hull[len(hull)-2], hull[len(hull)-1], q) <= 0 {
			hull = hull[:len(hull)-1]
		}
		hull = append(hull, q)
	}
	return hull[:len(hull)-1]
}

// minAreaRect returns the corners of the smallest rectangle around a convex
// hull (counter-clockwise) and its area. A side of it lies on a hull edge,
// so each edge direction is tried.
func minAreaRect(hull [][2]float64) ([4][2]float64, float64, bool) {
	if len(hull) < 3 {
		return [4][2]float64{}, 0, false
	}
	best := math.Inf(1)
	var out [4][2]float64
	for i := range hull {
		e := sub(hull[(i+1)%len(hull)], hull[i])
		l := norm(e)
		if l == 0 {
			continue
		}
		ux, uy := e[0]/l, e[1]/l // along the edge
		vx, vy := -uy, ux        // across it
		minU, maxU, minV, maxV := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		for _, q := range hull {
			pu := q[0]*ux + q[1]*uy
			pv := q[0]*vx + q[1]*vy
			minU, maxU = math.Min(minU, pu), math.Max(maxU, pu)
			minV, maxV = math.Min(minV, pv), math.Max(maxV, pv)
		}
		if a := (maxU - minU) * (maxV - minV); a < best {
			best = a
			corner := func(pu, pv float64) [2]float64 { return [2]float64{pu*ux + pv*vx, pu*uy + pv*vy} }
			out = [4][2]float64{corner(minU, minV), corner(maxU, minV), corner(maxU, maxV), corner(minU, maxV)}
		}
	}
	return out, best, !math.IsInf(best, 1)
}
