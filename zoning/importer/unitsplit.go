package importer

import (
	"math"
	"slices"

	"github.com/paulmach/orb"

	"github.com/riskzone/riskzone/geo"
)

// unitPlan is how a residential footprint would be cut into units: n strips
// across its long axis. When the footprint fills its minimum-area rectangle
// (to 0.5%), the strips are the units; otherwise each unit is the footprint
// clipped to its strip, which PostGIS computes (ST_Intersection) only for
// the buildings that get derived units.
type unitPlan struct {
	strips []orb.Polygon // lon/lat, number i+1 is strips[i]
	fills  bool
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
	return plan, true
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
