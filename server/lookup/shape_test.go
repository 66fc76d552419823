package lookup

import (
	"slices"
	"testing"
)

// The boundary rule and the ray cast, on a square with a hole, in both
// windings.
func TestPointInPolygon(t *testing.T) {
	outer := ring{{0, 0}, {10, 0}, {10, 10}, {0, 10}, {0, 0}}
	hole := ring{{4, 4}, {6, 4}, {6, 6}, {4, 6}, {4, 4}}
	cases := []struct {
		name string
		pt   [2]float64
		want bool
	}{
		{"inside", [2]float64{2, 2}, true},
		{"outside", [2]float64{11, 5}, false},
		{"outside left of the ray", [2]float64{-1, 5}, false},
		{"on an edge", [2]float64{10, 5}, true},
		{"on a vertex", [2]float64{0, 0}, true},
		{"on the bottom edge", [2]float64{5, 0}, true},
		{"in the hole", [2]float64{5, 5}, false},
		{"on the hole's edge", [2]float64{4, 5}, true},
		{"on the hole's vertex", [2]float64{6, 6}, true},
		{"level with a vertex", [2]float64{-1, 10}, false},
		{"just outside", [2]float64{10 + 1e-7, 5}, false},
	}
	for _, reversed := range []bool{false, true} {
		o, h := slices.Clone(outer), slices.Clone(hole)
		if reversed {
			slices.Reverse(o)
			slices.Reverse(h)
		}
		sh := shape{polys: []polygon{{o, h}}, bbox: [4]float64{0, 0, 10, 10}}
		for _, c := range cases {
			if got := sh.contains(c.pt); got != c.want {
				t.Errorf("%s (reversed %v): contains(%v) = %v, want %v", c.name, reversed, c.pt, got, c.want)
			}
		}
	}
}
