package tiles

import (
	"math"
	"strconv"

	"github.com/paulmach/orb"

	"github.com/riskzone/riskzone/zoning"
)

// MaxZoom is the deepest zoom the service answers. Deeper XYZ requests are
// refused (400): at z22 a tile already spans under 10 m.
const MaxZoom = 22

// Extent is the MVT tile extent: tile coordinates run 0..4096, y down.
const Extent = 4096

// Buffer is how far (in tile units) geometry reaches beyond the tile edge,
// so that outlines and clipped polygons render seamlessly across tiles.
const Buffer = 128

// maxLat is the latitude limit of Web Mercator.
const maxLat = 85.0511287798066

// TileID is one XYZ tile (y from the north, as slippy maps count).
type TileID struct {
	Z    uint8
	X, Y uint32
}

// String is z/x/y.
func (t TileID) String() string {
	return strconv.Itoa(int(t.Z)) + "/" + strconv.FormatUint(uint64(t.X), 10) + "/" + strconv.FormatUint(uint64(t.Y), 10)
}

// ParseTileID reads z, x and y from path segments. Each must be a decimal
// number without sign; z at most MaxZoom and x, y below 2^z. Every failure is
// a zoning.ErrInvalid that names the problem.
func ParseTileID(zs, xs, ys string) (TileID, error) {
	z, err := parseCoord("z", zs)
	if err != nil {
		return TileID{}, err
	}
	if z > MaxZoom {
		return TileID{}, zoning.Errorf(zoning.ErrInvalid, "zoom %d is out of range: want 0 to %d", z, MaxZoom)
	}
	x, err := parseCoord("x", xs)
	if err != nil {
		return TileID{}, err
	}
	y, err := parseCoord("y", ys)
	if err != nil {
		return TileID{}, err
	}
	n := uint64(1) << z
	if x >= n || y >= n {
		return TileID{}, zoning.Errorf(zoning.ErrInvalid, "tile %d/%d/%d is out of range: at zoom %d, x and y run from 0 to %d", z, x, y, z, n-1)
	}
	return TileID{Z: uint8(z), X: uint32(x), Y: uint32(y)}, nil
}

func parseCoord(name, s string) (uint64, error) {
	if s == "" || len(s) > 8 {
		return 0, zoning.Errorf(zoning.ErrInvalid, "tile %s %q is not a tile number", name, s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, zoning.Errorf(zoning.ErrInvalid, "tile %s %q is not a tile number", name, s)
		}
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, zoning.Errorf(zoning.ErrInvalid, "tile %s %q is not a tile number", name, s)
	}
	return v, nil
}

// Parent is the ancestor of t at zoom z (t itself when z >= t.Z).
func (t TileID) Parent(z uint8) TileID {
	if z >= t.Z {
		return t
	}
	d := t.Z - z
	return TileID{Z: z, X: t.X >> d, Y: t.Y >> d}
}

// WorldBound is the tile's square in world coordinates (see World), grown
// on every side by pad tile units of the tile's own zoom.
func (t TileID) WorldBound(pad float64) orb.Bound {
	scale := 1 / float64(uint64(1)<<t.Z)
	p := pad / Extent * scale
	x0 := float64(t.X) * scale
	y0 := float64(t.Y) * scale
	return orb.Bound{Min: orb.Point{x0 - p, y0 - p}, Max: orb.Point{x0 + scale + p, y0 + scale + p}}
}

// LonLatBound is the tile's box in lon/lat, grown by pad tile units and
// clamped to the valid range.
func (t TileID) LonLatBound(pad float64) orb.Bound {
	w := t.WorldBound(pad)
	lon0, lat0 := FromWorld(w.Min[0], w.Max[1])
	lon1, lat1 := FromWorld(w.Max[0], w.Min[1])
	return orb.Bound{Min: orb.Point{lon0, lat0}, Max: orb.Point{lon1, lat1}}
}

// World maps lon/lat (degrees) to world coordinates: Web Mercator scaled to
// the unit square, x east from -180°, y south from the north edge (so y grows
// down as in tiles). Latitudes beyond ±85.05° are clamped to the edge.
func World(lon, lat float64) (x, y float64) {
	if lat > maxLat {
		lat = maxLat
	} else if lat < -maxLat {
		lat = -maxLat
	}
	x = (lon + 180) / 360
	s := math.Sin(lat * math.Pi / 180)
	y = 0.5 - math.Log((1+s)/(1-s))/(4*math.Pi)
	return x, y
}

// FromWorld is the inverse of World; coordinates outside the unit square
// are clamped to it first.
func FromWorld(x, y float64) (lon, lat float64) {
	x = math.Min(1, math.Max(0, x))
	y = math.Min(1, math.Max(0, y))
	lon = x*360 - 180
	lat = 180 / math.Pi * math.Atan(math.Sinh(math.Pi*(1-2*y)))
	return lon, lat
}

// TileOf is the tile at zoom z that holds lon/lat (edges clamped).
func TileOf(lon, lat float64, z uint8) TileID {
	x, y := World(lon, lat)
	n := float64(uint64(1) << z)
	tx := math.Floor(x * n)
	ty := math.Floor(y * n)
	maxT := n - 1
	tx = math.Min(maxT, math.Max(0, tx))
	ty = math.Min(maxT, math.Max(0, ty))
	return TileID{Z: z, X: uint32(tx), Y: uint32(ty)}
}

// toWorld projects a lon/lat geometry to world coordinates in place.
func toWorld(g orb.Geometry) orb.Geometry {
	switch g := g.(type) {
	case orb.Point:
		x, y := World(g[0], g[1])
		return orb.Point{x, y}
	case orb.MultiPoint:
		projectPoints(g)
		return g
	case orb.LineString:
		projectPoints(g)
		return g
	case orb.MultiLineString:
		for _, l := range g {
			projectPoints(l)
		}
		return g
	case orb.Ring:
		projectPoints(g)
		return g
	case orb.Polygon:
		for _, r := range g {
			projectPoints(r)
		}
		return g
	case orb.MultiPolygon:
		for _, p := range g {
			for _, r := range p {
				projectPoints(r)
			}
		}
		return g
	}
	return nil
}

func projectPoints(ps []orb.Point) {
	for i, p := range ps {
		x, y := World(p[0], p[1])
		ps[i] = orb.Point{x, y}
	}
}
