package geo

import (
	"errors"
	"fmt"
	"math"

	"github.com/uber/h3-go/v4"
)

// SpreadResolution is the H3 resolution riskzone stores on buildings, case
// residences and traces (cells of about 2,150 m², edges of about 25 m).
const SpreadResolution = 11

// ErrCoordinate is returned for a coordinate that is not a finite lon/lat
// within [-180, 180] × [-90, 90].
var ErrCoordinate = errors.New("coordinate out of range")

// CellR11 returns the H3 cell at resolution 11 that contains (lon, lat),
// as the int64 the schema stores (h3_r11 columns).
func CellR11(lon, lat float64) (int64, error) {
	return Cell(lon, lat, SpreadResolution)
}

// Cell returns the H3 cell at resolution res (0-15) that contains (lon, lat)
// as an int64. H3 indexes fit in 63 bits, so the value is never negative.
func Cell(lon, lat float64, res int) (int64, error) {
	if res < 0 || res > 15 {
		return 0, fmt.Errorf("h3 resolution %d: want 0 to 15", res)
	}
	if math.IsNaN(lon) || math.IsNaN(lat) || math.IsInf(lon, 0) || math.IsInf(lat, 0) ||
		lon < -180 || lon > 180 || lat < -90 || lat > 90 {
		return 0, fmt.Errorf("h3 cell of (%v, %v): %w", lon, lat, ErrCoordinate)
	}
	c := h3.LatLngToCell(h3.NewLatLng(lat, lon), res)
	if !c.IsValid() || int64(c) <= 0 {
		return 0, fmt.Errorf("h3 cell of (%v, %v) at resolution %d: no valid cell", lon, lat, res)
	}
	return int64(c), nil
}
