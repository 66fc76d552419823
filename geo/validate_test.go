package geo

import (
	"errors"
	"math"
	"testing"

	"github.com/paulmach/orb"
)

func TestValidateNamesRuleAndPlace(t *testing.T) {
	square := orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}
	hole := orb.Ring{{0.2, 0.2}, {0.4, 0.2}, {0.4, 0.4}, {0.2, 0.2}}
	tests := []struct {
		name  string
		g     orb.Geometry
		rule  Rule
		where string
	}{
		{"valid point", orb.Point{116.4, 39.9}, "", ""},
		{"valid polygon with hole", orb.Polygon{square, hole}, "", ""},
		{"valid line", orb.LineString{{0, 0}, {1, 1}}, "", ""},
		{"edge of range is valid", orb.Point{180, -90}, "", ""},
		{"lon too large", orb.Point{180.0001, 0}, RuleCoordinateRange, ""},
		{"lat too small", orb.Point{0, -91}, RuleCoordinateRange, ""},
		{"NaN", orb.Point{math.NaN(), 0}, RuleCoordinateRange, ""},
		{"infinite", orb.LineString{{0, 0}, {math.Inf(1), 0}}, RuleCoordinateRange, "position 1"},
		{"short line", orb.LineString{{0, 0}}, RuleLinePositions, ""},
		{"ring of 3 positions", orb.Polygon{{{0, 0}, {1, 0}, {0, 0}}}, RuleRingPositions, "ring 0"},
		{"open ring", orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 1}}}, RuleRingClosed, "ring 0"},
		{"bad hole coordinate", orb.Polygon{square, {{0, 0}, {1, 0}, {1, 95}, {0, 0}}}, RuleCoordinateRange, "ring 1, position 2"},
		{"second polygon open", orb.MultiPolygon{{square}, {{{5, 5}, {6, 5}, {6, 6}, {5, 6}}}}, RuleRingClosed, "polygon 1, ring 0"},
		{"empty multipolygon", orb.MultiPolygon{}, RuleNotEmpty, ""},
		{"polygon without rings", orb.MultiPolygon{{}}, RuleNotEmpty, "polygon 0"},
		{"nil", nil, RuleNotEmpty, ""},
		{"collection member", orb.Collection{orb.Point{0, 0}, orb.LineString{{0, 0}, {200, 0}}}, RuleCoordinateRange, "geometry 1, position 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.g)
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate: %v, want a *ValidationError", err)
			}
			if ve.Rule != tt.rule || ve.Where != tt.where {
				t.Fatalf("Validate: rule %q at %q (%v), want rule %q at %q", ve.Rule, ve.Where, err, tt.rule, tt.where)
			}
			if got := errors.Is(err, ErrCoordinate); got != (tt.rule == RuleCoordinateRange) {
				t.Fatalf("errors.Is(ErrCoordinate) = %v for rule %s", got, ve.Rule)
			}
		})
	}
}
