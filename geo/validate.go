package geo

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
)

// Rule names one structural rule that Validate checks. Tests and callers
// compare against these values; a ValidationError always names one.
type Rule string

// The rules Validate checks, in the order it checks them for each part.
// Topology (self-intersection, ring nesting) is not among them: PostGIS
// ST_IsValid/ST_MakeValid judge and repair that.
const (
	// RuleCoordinateRange: every coordinate is finite, lon within [-180, 180]
	// and lat within [-90, 90].
	RuleCoordinateRange Rule = "coordinate-range"
	// RuleRingClosed: a polygon ring ends at the position it starts at.
	RuleRingClosed Rule = "ring-closed"
	// RuleRingPositions: a polygon ring has at least 4 positions (RFC 7946 §3.1.6).
	RuleRingPositions Rule = "ring-min-positions"
	// RuleLinePositions: a line string has at least 2 positions (RFC 7946 §3.1.4).
	RuleLinePositions Rule = "line-min-positions"
	// RuleNotEmpty: a geometry (or a polygon, or a collection) has at least one part.
	RuleNotEmpty Rule = "not-empty"
)

// ValidationError says which rule a geometry broke and where: Where is a
// path such as "polygon 1, ring 0, position 3" (all indexes 0-based).
type ValidationError struct {
	Rule   Rule
	Where  string
	Detail string
}

// Error says where, what and which rule.
func (e *ValidationError) Error() string {
	if e.Where == "" {
		return fmt.Sprintf("%s (rule %s)", e.Detail, e.Rule)
	}
	return fmt.Sprintf("%s: %s (rule %s)", e.Where, e.Detail, e.Rule)
}

// Unwrap makes a range failure match ErrCoordinate with errors.Is.
func (e *ValidationError) Unwrap() error {
	if e.Rule == RuleCoordinateRange {
		return ErrCoordinate
	}
	return nil
}

// ValidCoordinate reports whether p is a finite lon/lat inside
// [-180, 180] × [-90, 90].
func ValidCoordinate(p orb.Point) bool {
	lon, lat := p[0], p[1]
	return !math.IsNaN(lon) && !math.IsNaN(lat) && !math.IsInf(lon, 0) && !math.IsInf(lat, 0) &&
		lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90
}

// Validate checks the structure of a lon/lat geometry: coordinates in range,
// rings closed with at least 4 positions, lines with at least 2, no empty
// parts. It returns the first failure as a *ValidationError, or nil.
// A nil geometry fails RuleNotEmpty.
func Validate(g orb.Geometry) error {
	return validate(g, "")
}

func validate(g orb.Geometry, where string) error {
	switch g := g.(type) {
	case nil:
		return &ValidationError{Rule: RuleNotEmpty, Where: where, Detail: "no geometry"}
	case orb.Point:
		return checkPoint(g, where)
	case orb.MultiPoint:
		if len(g) == 0 {
			return &ValidationError{Rule: RuleNotEmpty, Where: where, Detail: "multipoint has no points"}
		}
		for i, p := range g {
			if err := checkPoint(p, join(where, "point", i)); err != nil {
				return err
			}
		}
	case orb.LineString:
		return checkLine(g, where)
	case orb.MultiLineString:
		if len(g) == 0 {
			return &ValidationError{Rule: RuleNotEmpty, Where: where, Detail: "multilinestring has no lines"}
		}
		for i, l := range g {
			if err := checkLine(l, join(where, "line", i)); err != nil {
				return err
			}
		}
	case orb.Ring:
		return checkRing(g, where)
	case orb.Polygon:
		return checkPolygon(g, where)
	case orb.MultiPolygon:
		if len(g) == 0 {
			return &ValidationError{Rule: RuleNotEmpty, Where: where, Detail: "multipolygon has no polygons"}
		}
		for i, p := range g {
			if err := checkPolygon(p, join(where, "polygon", i)); err != nil {
				return err
			}
		}
	case orb.Collection:
		if len(g) == 0 {
			return &ValidationError{Rule: RuleNotEmpty, Where: where, Detail: "geometry collection is empty"}
		}
		for i, c := range g {
			if err := validate(c, join(where, "geometry", i)); err != nil {
				return err
			}
		}
	case orb.Bound:
		if err := checkPoint(g.Min, join(where, "min", -1)); err != nil {
			return err
		}
		return checkPoint(g.Max, join(where, "max", -1))
	default:
		return &ValidationError{Rule: RuleNotEmpty, Where: where, Detail: fmt.Sprintf("unsupported geometry %T", g)}
	}
	return nil
}

func checkPoint(p orb.Point, where string) error {
	if ValidCoordinate(p) {
		return nil
	}
	return &ValidationError{Rule: RuleCoordinateRange, Where: where,
		Detail: fmt.Sprintf("coordinate (%v, %v) is not a lon/lat in [-180, 180] × [-90, 90]", p[0], p[1])}
}

func checkPositions(ps []orb.Point, where string) error {
	for i, p := range ps {
		if err := checkPoint(p, join(where, "position", i)); err != nil {
			return err
		}
	}
	return nil
}

func checkLine(l orb.LineString, where string) error {
	if err := checkPositions(l, where); err != nil {
		return err
	}
	if len(l) < 2 {
		return &ValidationError{Rule: RuleLinePositions, Where: where,
			Detail: fmt.Sprintf("line has %d position(s), need at least 2", len(l))}
	}
	return nil
}

func checkRing(r orb.Ring, where string) error {
	if err := checkPositions(r, where); err != nil {
		return err
	}
	if len(r) < 4 {
		return &ValidationError{Rule: RuleRingPositions, Where: where,
			Detail: fmt.Sprintf("ring has %d position(s), need at least 4", len(r))}
	}
	if r[0] != r[len(r)-1] {
		return &ValidationError{Rule: RuleRingClosed, Where: where,
			Detail: fmt.Sprintf("ring starts at (%v, %v) but ends at (%v, %v)", r[0][0], r[0][1], r[len(r)-1][0], r[len(r)-1][1])}
	}
	return nil
}

func checkPolygon(p orb.Polygon, where string) error {
	if len(p) == 0 {
		return &ValidationError{Rule: RuleNotEmpty, Where: where, Detail: "polygon has no rings"}
	}
	for i, r := range p {
		if err := checkRing(r, join(where, "ring", i)); err != nil {
			return err
		}
	}
	return nil
}

// join extends a location path; i < 0 adds the name alone.
func join(where, name string, i int) string {
	part := name
	if i >= 0 {
		part = fmt.Sprintf("%s %d", name, i)
	}
	if where == "" {
		return part
	}
	return where + ", " + part
}
