package osm

import (
	"fmt"
	"math"
	"sort"

	"github.com/paulmach/orb"
)

// MemberWay is a way of a multipolygon or boundary relation with its node ids
// and their locations (Points[i] is the location of Nodes[i]).
type MemberWay struct {
	ID     int64
	Role   string
	Nodes  []int64
	Points []orb.Point
}

// AssembleError says why a relation could not be made into an area.
type AssembleError struct {
	Reason string
}

// Error is the reason.
func (e *AssembleError) Error() string { return e.Reason }

// Assemble builds the area of a multipolygon (or boundary) relation from its
// member ways:
//
//   - Ways are joined into rings by shared end nodes (by node id, not by
//     coordinates), whatever their order in the relation and whichever way
//     each is drawn: a way is reversed when it joins end to end.
//   - Roles are not trusted: like osmium, rings are classified by nesting.
//     A ring inside an odd number of other rings is an inner ring (a hole) of
//     the smallest ring around it; a ring inside an even number (0, 2, ...) is
//     an outer ring, so islands in lakes in islands work.
//   - Outer rings are returned counter-clockwise and holes clockwise
//     (RFC 7946 §3.1.6).
//
// A ring that cannot be closed, or has fewer than 4 nodes, fails the whole
// relation with an *AssembleError: a partial area would be wrong area. Ring
// self-intersections and touching rings are left to the database's
// ST_MakeValid.
func Assemble(ways []MemberWay) (orb.MultiPolygon, error) {
	rings, err := joinRings(ways)
	if err != nil {
		return nil, err
	}
	if len(rings) == 0 {
		return nil, &AssembleError{Reason: "no member ways to build an area from"}
	}
	return nestRings(rings), nil
}

// ring is a closed chain of nodes.
type ring struct {
	nodes  []int64
	points orb.Ring
	area   float64 // planar, in square degrees: only compared between rings
	bound  orb.Bound
}

// joinRings closes member ways into rings.
func joinRings(ways []MemberWay) ([]ring, error) {
	type segment struct {
		nodes  []int64
		points []orb.Point
	}
	var segs []segment
	var rings []ring
	for _, w := range ways {
		if len(w.Nodes) != len(w.Points) {
			return nil, &AssembleError{Reason: fmt.Sprintf("way %d: %d nodes but %d locations", w.ID, len(w.Nodes), len(w.Points))}
		}
		if len(w.Nodes) < 2 {
			return nil, &AssembleError{Reason: fmt.Sprintf("way %d has %d node(s)", w.ID, len(w.Nodes))}
		}
		if w.Nodes[0] == w.Nodes[len(w.Nodes)-1] {
			r, err := newRing(w.Nodes, w.Points)
			if err != nil {
				return nil, fmt.Errorf("way %d: %w", w.ID, err)
			}
			rings = append(rings, r)
			continue
		}
		segs = append(segs, segment{nodes: w.Nodes, points: w.Points})
	}
	// Index the open segments by both end nodes.
	ends := make(map[int64][]int, 2*len(segs))
	for i, s := range segs {
		ends[s.nodes[0]] = append(ends[s.nodes[0]], i)
		ends[s.nodes[len(s.nodes)-1]] = append(ends[s.nodes[len(s.nodes)-1]], i)
	}
	used := make([]bool, len(segs))
	for start := range segs {
		if used[start] {
			continue
		}
		used[start] = true
		nodes := append([]int64(nil), segs[start].nodes...)
		points := append([]orb.Point(nil), segs[start].points...)
		for nodes[0] != nodes[len(nodes)-1] {
			end := nodes[len(nodes)-1]
			next := -1
			for _, j := range ends[end] {
				if !used[j] {
					next = j
					break
				}
			}
			if next < 0 {
				return nil, &AssembleError{Reason: fmt.Sprintf("ring not closed: no member way continues at node %d", end)}
			}
			used[next] = true
			s := segs[next]
			if s.nodes[0] == end {
				nodes = append(nodes, s.nodes[1:]...)
				points = append(points, s.points[1:]...)
			} else {
				for k := len(s.nodes) - 2; k >= 0; k-- {
					nodes = append(nodes, s.nodes[k])
					points = append(points, s.points[k])
				}
			}
		}
		r, err := newRing(nodes, points)
		if err != nil {
			return nil, err
		}
		rings = append(rings, r)
	}
	return rings, nil
}

func newRing(nodes []int64, points []orb.Point) (ring, error) {
	if len(nodes) < 4 {
		return ring{}, &AssembleError{Reason: fmt.Sprintf("ring of %d nodes: need at least 4", len(nodes))}
	}
	pts := orb.Ring(append([]orb.Point(nil), points...))
	return ring{nodes: nodes, points: pts, area: math.Abs(signedArea(pts)), bound: pts.Bound()}, nil
}

// nestRings classifies rings by nesting depth and builds the polygons.
func nestRings(rings []ring) orb.MultiPolygon {
	// Largest first: a ring's container is always larger than it.
	sort.SliceStable(rings, func(i, j int) bool { return rings[i].area > rings[j].area })
	parent := make([]int, len(rings))
	depth := make([]int, len(rings))
	for i := range rings {
		parent[i] = -1
		// Scan from the smallest larger ring up: the first container found is
		// the innermost one.
		for j := i - 1; j >= 0; j-- {
			if ringInside(rings[i], rings[j]) {
				parent[i] = j
				depth[i] = depth[j] + 1
				break
			}
		}
	}
	var mp orb.MultiPolygon
	polyOf := make([]int, len(rings))
	for i, r := range rings {
		if depth[i]%2 == 0 {
			polyOf[i] = len(mp)
			mp = append(mp, orb.Polygon{orient(r.points, true)})
		}
	}
	for i, r := range rings {
		if depth[i]%2 == 1 {
			p := polyOf[parent[i]]
			mp[p] = append(mp[p], orient(r.points, false))
		}
	}
	return mp
}

// ringInside reports whether ring a lies inside ring b, judged by the first
// vertex of a that is not on b's boundary. Rings sharing every vertex (a
// duplicate) are not nested.
func ringInside(a, b ring) bool {
	if !b.bound.Contains(a.bound.Min) || !b.bound.Contains(a.bound.Max) {
		return false
	}
	for _, p := range a.points {
		switch pointInRing(p, b.points) {
		case 1:
			return true
		case -1:
			return false
		}
	}
	return false
}

// pointInRing returns 1 when p is strictly inside r, 0 on its boundary and
// -1 outside (even-odd ray casting along +x).
func pointInRing(p orb.Point, r orb.Ring) int {
	inside := false
	n := len(r)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := r[j], r[i]
		if onSegment(p, a, b) {
			return 0
		}
		if (a[1] > p[1]) != (b[1] > p[1]) {
			x := a[0] + (p[1]-a[1])*(b[0]-a[0])/(b[1]-a[1])
			if p[0] < x {
				inside = !inside
			}
		}
	}
	if inside {
		return 1
	}
	return -1
}

func onSegment(p, a, b orb.Point) bool {
	cross := (b[0]-a[0])*(p[1]-a[1]) - (b[1]-a[1])*(p[0]-a[0])
	if cross != 0 {
		return false
	}
	return math.Min(a[0], b[0]) <= p[0] && p[0] <= math.Max(a[0], b[0]) &&
		math.Min(a[1], b[1]) <= p[1] && p[1] <= math.Max(a[1], b[1])
}

// signedArea is the shoelace area: positive for counter-clockwise rings.
func signedArea(r orb.Ring) float64 {
	var s float64
	for i := 0; i+1 < len(r); i++ {
		s += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	return s / 2
}

// orient returns r counter-clockwise when ccw, else clockwise.
func orient(r orb.Ring, ccw bool) orb.Ring {
	if (signedArea(r) > 0) != ccw {
		out := make(orb.Ring, len(r))
		for i, p := range r {
			out[len(r)-1-i] = p
		}
		return out
	}
	return r
}
