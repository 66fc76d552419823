package demo

import "math"

// Geometry in the local metric plane (metres, x east, y north) where the city
// is laid out. Everything here is exact arithmetic on the coordinates that
// the generator later projects; no sampling.

type xy struct{ x, y float64 }

// rect is an axis-aligned rectangle.
type rect struct{ minX, minY, maxX, maxY float64 }

func (r rect) w() float64 { return r.maxX - r.minX }
func (r rect) h() float64 { return r.maxY - r.minY }

func (r rect) inset(west, south, east, north float64) rect {
	return rect{r.minX + west, r.minY + south, r.maxX - east, r.maxY - north}
}

func (r rect) centre() xy { return xy{(r.minX + r.maxX) / 2, (r.minY + r.maxY) / 2} }

// pointRectDist is the distance from p to r (0 inside).
func pointRectDist(p xy, r rect) float64 {
	dx := math.Max(math.Max(r.minX-p.x, 0), p.x-r.maxX)
	dy := math.Max(math.Max(r.minY-p.y, 0), p.y-r.maxY)
	return math.Hypot(dx, dy)
}

// pointSegDist is the distance from p to the segment ab.
func pointSegDist(p, a, b xy) float64 {
	dx, dy := b.x-a.x, b.y-a.y
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = ((p.x-a.x)*dx + (p.y-a.y)*dy) / l2
		t = math.Max(0, math.Min(1, t))
	}
	return math.Hypot(p.x-(a.x+t*dx), p.y-(a.y+t*dy))
}

// segHitsRect reports whether the segment ab meets the closed rectangle r
// (Liang-Barsky clipping).
func segHitsRect(a, b xy, r rect) bool {
	t0, t1 := 0.0, 1.0
	dx, dy := b.x-a.x, b.y-a.y
	clip := func(p, q float64) bool {
		if p == 0 {
			return q >= 0
		}
		t := q / p
		if p < 0 {
			if t > t1 {
				return false
			}
			if t > t0 {
				t0 = t
			}
		} else {
			if t < t0 {
				return false
			}
			if t < t1 {
				t1 = t
			}
		}
		return true
	}
	return clip(-dx, a.x-r.minX) && clip(dx, r.maxX-a.x) &&
		clip(-dy, a.y-r.minY) && clip(dy, r.maxY-a.y) && t0 <= t1
}

// segRectDist is the distance between the segment ab and the rectangle r: 0
// when they meet, else the least of the endpoint-to-rectangle and
// corner-to-segment distances (two disjoint convex shapes are closest at a
// vertex of one of them).
func segRectDist(a, b xy, r rect) float64 {
	if segHitsRect(a, b, r) {
		return 0
	}
	d := math.Min(pointRectDist(a, r), pointRectDist(b, r))
	for _, c := range [4]xy{{r.minX, r.minY}, {r.maxX, r.minY}, {r.maxX, r.maxY}, {r.minX, r.maxY}} {
		d = math.Min(d, pointSegDist(c, a, b))
	}
	return d
}

// polylineRectDist is the distance from the polyline pts[i0..i1] (segments
// i0..i1-1) to r.
func polylineRectDist(pts []xy, i0, i1 int, r rect) float64 {
	d := math.Inf(1)
	for i := max(i0, 0); i < min(i1, len(pts)-1); i++ {
		d = math.Min(d, segRectDist(pts[i], pts[i+1], r))
	}
	return d
}

// box is an oriented rectangle: centre, unit vector u along its length, and
// the perpendicular v = (-u.y, u.x).
type box struct {
	c             xy
	u             xy
	length, depth float64
}

// corner returns c + u*su*length/2 + v*sv*depth/2 for su, sv in {-1, 1}.
func (b box) corner(su, sv float64) xy {
	v := xy{-b.u.y, b.u.x}
	return xy{
		b.c.x + b.u.x*su*b.length/2 + v.x*sv*b.depth/2,
		b.c.y + b.u.y*su*b.length/2 + v.y*sv*b.depth/2,
	}
}

// extent is the axis-aligned bounding box of b.
func (b box) extent() rect {
	hw := (math.Abs(b.u.x)*b.length + math.Abs(b.u.y)*b.depth) / 2
	hh := (math.Abs(b.u.y)*b.length + math.Abs(b.u.x)*b.depth) / 2
	return rect{b.c.x - hw, b.c.y - hh, b.c.x + hw, b.c.y + hh}
}

// lerp returns a + (b-a)*k/n, exactly a for k == 0 and exactly b for k == n,
// so that the split points of a side start and end on its corners bit for bit.
func lerp(a, b xy, k, n int) xy {
	switch k {
	case 0:
		return a
	case n:
		return b
	}
	t := float64(k) / float64(n)
	return xy{a.x + (b.x-a.x)*t, a.y + (b.y-a.y)*t}
}
