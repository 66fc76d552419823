package demo

import (
	"math"
	"math/rand/v2"
)

// river is the 清水河: a meandering centre line crossing the county from west
// to east and its water surface, the strip between the two banks offset
// riverHalfWidth to each side. Its bends are gentle (radius above 500 m, far
// more than the half width), so the banks never cross and the surface is a
// simple polygon; every point of it lies within riverHalfWidth of the centre
// line.
type river struct {
	x0     float64 // x of the first vertex; vertex i is at x0 + i*riverStep
	centre []xy
	left   []xy // north bank
	right  []xy // south bank
}

func newRiver(rng *rand.Rand, county rect) river {
	w, h := county.w(), county.h()
	// Keep the river a block and a half away from the north and south edges.
	maxDev := math.Max(h/2-1.5*blockH, 0)
	amp := math.Min(250+170*rng.Float64(), 0.35*maxDev)
	wave := 3000 + 2000*rng.Float64()
	phase := 2 * math.Pi * rng.Float64()
	slopeMax := math.Min(0.2, 0.8*(maxDev-amp)/(w/2))
	slope := slopeMax * (2*rng.Float64() - 1)
	yc := 0.8 * (maxDev - amp - math.Abs(slope)*w/2) * (2*rng.Float64() - 1)
	midY := (county.minY + county.maxY) / 2
	midX := (county.minX + county.maxX) / 2

	n := int(math.Ceil(w/riverStep)) + 1
	rv := river{x0: county.minX, centre: make([]xy, n), left: make([]xy, n), right: make([]xy, n)}
	for i := range n {
		x := math.Min(county.minX+float64(i)*riverStep, county.maxX)
		y := midY + yc + slope*(x-midX) + amp*math.Sin(2*math.Pi*(x-county.minX)/wave+phase)
		rv.centre[i] = xy{x, y}
	}
	for i := range n {
		a, b := rv.centre[max(i-1, 0)], rv.centre[min(i+1, n-1)]
		tx, ty := b.x-a.x, b.y-a.y
		l := math.Hypot(tx, ty)
		nx, ny := -ty/l*riverHalfWidth, tx/l*riverHalfWidth
		p := rv.centre[i]
		rv.left[i] = xy{p.x + nx, p.y + ny}
		rv.right[i] = xy{p.x - nx, p.y - ny}
	}
	return rv
}

// clearance is the least distance from r to the water surface (negative or
// zero when they meet), computed exactly against the segments of the centre
// line and of both banks and end caps. Points of the water surface lie within
// riverHalfWidth of the centre line, so the centre-line distance less the half
// width bounds it; the banks are checked too so that the bound is never the
// only guard.
func (rv *river) clearance(r rect) float64 {
	reach := 2*riverHalfWidth + riverStep
	i0 := int(math.Floor((r.minX-reach-rv.x0)/riverStep)) - 1
	i1 := int(math.Ceil((r.maxX+reach-rv.x0)/riverStep)) + 1
	n := len(rv.centre)
	if i1 < 0 || i0 > n-1 {
		return math.Inf(1)
	}
	d := polylineRectDist(rv.centre, i0, i1, r) - riverHalfWidth
	d = math.Min(d, polylineRectDist(rv.left, i0, i1, r))
	d = math.Min(d, polylineRectDist(rv.right, i0, i1, r))
	if i0 <= 0 {
		d = math.Min(d, segRectDist(rv.left[0], rv.right[0], r))
	}
	if i1 >= n-1 {
		d = math.Min(d, segRectDist(rv.left[n-1], rv.right[n-1], r))
	}
	return d
}

// surface is the water polygon's ring, counter-clockwise: east along the
// south bank, back west along the north bank.
func (rv *river) surface() []xy {
	n := len(rv.centre)
	ring := make([]xy, 0, 2*n+1)
	ring = append(ring, rv.right...)
	for i := n - 1; i >= 0; i-- {
		ring = append(ring, rv.left[i])
	}
	return append(ring, rv.right[0])
}
