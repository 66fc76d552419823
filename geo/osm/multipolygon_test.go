package osm

import (
	"errors"
	"math"
	"testing"

	"github.com/paulmach/orb"
)

// grid is a test map of node ids to locations on a small integer grid.
type grid map[int64]orb.Point

func (g grid) way(id int64, nodes ...int64) MemberWay {
	w := MemberWay{ID: id, Nodes: nodes}
	for _, n := range nodes {
		w.Points = append(w.Points, g[n])
	}
	return w
}

// Nodes of a 10×10 square (1-4), a 4×4 square inside it (5-8), and a 2×2
// square inside that (9-12).
var squares = grid{
	1: {0, 0}, 2: {10, 0}, 3: {10, 10}, 4: {0, 10},
	5: {3, 3}, 6: {7, 3}, 7: {7, 7}, 8: {3, 7},
	9: {4, 4}, 10: {6, 4}, 11: {6, 6}, 12: {4, 6},
	13: {20, 0}, 14: {30, 0}, 15: {30, 10}, 16: {20, 10},
}

func area(mp orb.MultiPolygon) float64 {
	var a float64
	for _, p := range mp {
		a += signedArea(p[0])
		for _, h := range p[1:] {
			a += signedArea(h) // holes are clockwise: negative
		}
	}
	return a
}

func TestAssembleUnorderedReversedWays(t *testing.T) {
	// The outer square split into three ways given out of order, one reversed.
	ways := []MemberWay{
		squares.way(101, 3, 4),
		squares.way(102, 1, 2, 3),
		squares.way(103, 1, 4), // drawn the other way round
	}
	mp, err := Assemble(ways)
	if err != nil {
		t.Fatal(err)
	}
	if len(mp) != 1 || len(mp[0]) != 1 {
		t.Fatalf("got %d polygons (%v), want 1 without holes", len(mp), mp)
	}
	if r := mp[0][0]; len(r) != 5 || r[0] != r[4] {
		t.Fatalf("ring %v: want 5 positions, closed", r)
	}
	if got := area(mp); got != 100 {
		t.Fatalf("area %v, want 100 (outer ring counter-clockwise)", got)
	}
}

func TestAssembleInnerRingsIgnoreRoles(t *testing.T) {
	// A square with a hole, the hole's ways split and marked "outer" by mistake,
	// and a separate second outer square.
	ways := []MemberWay{
		squares.way(201, 1, 2, 3, 4, 1),
		squares.way(202, 5, 6, 7),
		squares.way(203, 8, 7),
		squares.way(204, 8, 5),
		squares.way(205, 13, 14, 15, 16, 13),
	}
	ways[1].Role, ways[2].Role, ways[3].Role = "outer", "outer", "outer"
	mp, err := Assemble(ways)
	if err != nil {
		t.Fatal(err)
	}
	if len(mp) != 2 {
		t.Fatalf("got %d polygons, want 2", len(mp))
	}
	holes := 0
	for _, p := range mp {
		holes += len(p) - 1
	}
	if holes != 1 {
		t.Fatalf("got %d holes, want 1: %v", holes, mp)
	}
	if got := area(mp); got != 100-16+100 {
		t.Fatalf("area %v, want 184", got)
	}
}

func TestAssembleIslandInLake(t *testing.T) {
	// Depth 0 outer, depth 1 hole, depth 2 an island: outer again.
	ways := []MemberWay{
		squares.way(301, 9, 10, 11, 12, 9),
		squares.way(302, 5, 6, 7, 8, 5),
		squares.way(303, 1, 2, 3, 4, 1),
	}
	mp, err := Assemble(ways)
	if err != nil {
		t.Fatal(err)
	}
	if len(mp) != 2 {
		t.Fatalf("got %d polygons, want 2 (the land with a lake, the island)", len(mp))
	}
	if got := area(mp); got != 100-16+4 {
		t.Fatalf("area %v, want 88", got)
	}
}

func TestAssembleRefusesOpenRings(t *testing.T) {
	tests := map[string][]MemberWay{
		"gap":        {squares.way(401, 1, 2, 3), squares.way(402, 4, 1)},
		"too short":  {squares.way(403, 1, 2, 1)},
		"no members": nil,
		"one node":   {squares.way(404, 1)},
	}
	for name, ways := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Assemble(ways)
			var ae *AssembleError
			if !errors.As(err, &ae) {
				t.Fatalf("Assemble: %v, want an *AssembleError", err)
			}
		})
	}
}

func TestPointInRingBoundary(t *testing.T) {
	r := orb.Ring{{0, 0}, {4, 0}, {4, 4}, {0, 4}, {0, 0}}
	for _, tt := range []struct {
		p    orb.Point
		want int
	}{{orb.Point{2, 2}, 1}, {orb.Point{4, 2}, 0}, {orb.Point{0, 0}, 0}, {orb.Point{5, 2}, -1}, {orb.Point{2, math.Nextafter(4, 5)}, -1}} {
		if got := pointInRing(tt.p, r); got != tt.want {
			t.Errorf("pointInRing(%v) = %d, want %d", tt.p, got, tt.want)
		}
		rev := orient(r, false)
		if got := pointInRing(tt.p, rev); got != tt.want {
			t.Errorf("pointInRing(%v) reversed ring = %d, want %d", tt.p, got, tt.want)
		}
	}
}

func TestNodeStore(t *testing.T) {
	var s nodeStore
	for _, id := range []int64{9, 3, 7, 3, 1 << 40} {
		s.need(id)
	}
	s.seal()
	if s.len() != 4 {
		t.Fatalf("len %d, want 4 distinct ids", s.len())
	}
	if _, ok := s.get(7); ok {
		t.Fatal("node 7 located before it was set")
	}
	s.set(s.index(7), 9.5212345, 47.1412345)
	s.set(s.index(1<<40), -179.9999999, -89.9999999)
	if p, ok := s.get(7); !ok || p != (orb.Point{9.5212345, 47.1412345}) {
		t.Fatalf("node 7 = %v %v", p, ok)
	}
	if p, ok := s.get(1 << 40); !ok || p != (orb.Point{-179.9999999, -89.9999999}) {
		t.Fatalf("node 2^40 = %v %v", p, ok)
	}
	if s.wanted(8) || !s.wanted(9) {
		t.Fatal("wanted() wrong")
	}
	if s.bytes() != 4*16 {
		t.Fatalf("bytes %d, want 64", s.bytes())
	}
}
