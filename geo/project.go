package geo

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
)

// EarthRadius is the radius in metres of the sphere that LocalPlane uses
// (the WGS 84 semi-major axis).
const EarthRadius = 6378137.0

// CoordDecimals is the number of decimals riskzone keeps in lon/lat
// coordinates: 1e-7 degrees is about 1 cm, far below any feature it draws.
const CoordDecimals = 7

// LocalPlane is a local equirectangular projection: a plane in metres (x east,
// y north) centred on a lon/lat origin. It is affine, so straight lines stay
// straight and the relations between shapes (inside, disjoint, touching) are
// the same in the plane and in lon/lat. Distances are true to within a
// fraction of a percent over a few tens of kilometres from the origin, which
// is what laying out or measuring a city needs.
type LocalPlane struct {
	lon0, lat0 float64
	degPerMX   float64 // degrees of longitude per metre east
	degPerMY   float64 // degrees of latitude per metre north
}

// NewLocalPlane returns the plane centred on (lon0, lat0). The origin must be
// a valid coordinate away from the poles (|lat| <= 85), where one degree of
// longitude still spans a usable distance.
func NewLocalPlane(lon0, lat0 float64) (LocalPlane, error) {
	if math.IsNaN(lon0) || math.IsNaN(lat0) || lon0 < -180 || lon0 > 180 || lat0 < -85 || lat0 > 85 {
		return LocalPlane{}, fmt.Errorf("local plane origin (%v, %v): %w (latitude within ±85)", lon0, lat0, ErrCoordinate)
	}
	degPerRad := 180 / math.Pi
	return LocalPlane{
		lon0:     lon0,
		lat0:     lat0,
		degPerMX: degPerRad / (EarthRadius * math.Cos(lat0*math.Pi/180)),
		degPerMY: degPerRad / EarthRadius,
	}, nil
}

// LonLat maps plane coordinates in metres to lon/lat, rounded to
// CoordDecimals. Points with equal plane coordinates always map to equal
// lon/lat, so shapes that share vertices in the plane share them exactly
// after projection: that is what keeps adjoining shapes adjoining.
func (p LocalPlane) LonLat(x, y float64) orb.Point {
	return orb.Point{RoundCoord(p.lon0 + x*p.degPerMX), RoundCoord(p.lat0 + y*p.degPerMY)}
}

// XY maps lon/lat back to plane coordinates in metres (not rounded).
func (p LocalPlane) XY(lon, lat float64) (x, y float64) {
	return (lon - p.lon0) / p.degPerMX, (lat - p.lat0) / p.degPerMY
}

// RoundCoord rounds a lon or lat to CoordDecimals decimals, half away from zero.
func RoundCoord(v float64) float64 {
	const scale = 1e7
	return math.Round(v*scale) / scale
}
