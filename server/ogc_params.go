package server

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// Paging limits of /ogc items (stated in the OpenAPI document).
const (
	ogcLimitDefault = 100
	ogcLimitMax     = 10000
)

// crsInfo is an output CRS the service offers (OGC API - Features Part 2).
type crsInfo struct {
	URI string
	CRS postgis.OutputCRS
	// LatLon: the axis order is latitude first (EPSG:4326, EPSG:4490).
	LatLon bool
	// Metres: projected (EPSG:3857).
	Metres bool
}

const crs84URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

// ogcCRSs are the CRSs of every collection; the first is the storage CRS
// and the default. EPSG:4490 (CGCS2000) is treated as coincident with WGS 84
// (see postgis.EPSG4490).
var ogcCRSs = []crsInfo{
	{URI: crs84URI, CRS: postgis.CRS84},
	{URI: "http://www.opengis.net/def/crs/EPSG/0/4326", CRS: postgis.EPSG4326, LatLon: true},
	{URI: "http://www.opengis.net/def/crs/EPSG/0/3857", CRS: postgis.EPSG3857, Metres: true},
	{URI: "http://www.opengis.net/def/crs/EPSG/0/4490", CRS: postgis.EPSG4490, LatLon: true},
}

func crsURIs() []string {
	out := make([]string, len(ogcCRSs))
	for i, c := range ogcCRSs {
		out[i] = c.URI
	}
	return out
}

// parseCRS reads the crs or bbox-crs parameter: a CRS URI of ogcCRSs, or its
// safe CURIE form ([EPSG:4326], [OGC:CRS84]). Empty is CRS84.
func parseCRS(name, v string) (crsInfo, error) {
	if v == "" {
		return ogcCRSs[0], nil
	}
	s := strings.TrimSpace(v)
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		auth, code, ok := strings.Cut(s[1:len(s)-1], ":")
		if ok {
			switch strings.ToUpper(auth) {
			case "OGC":
				s = "http://www.opengis.net/def/crs/OGC/1.3/" + code
			case "EPSG":
				s = "http://www.opengis.net/def/crs/EPSG/0/" + code
			}
		}
	}
	s = strings.Replace(s, "https://", "http://", 1)
	for _, c := range ogcCRSs {
		if s == c.URI {
			return c, nil
		}
	}
	return crsInfo{}, zoning.Errorf(zoning.ErrInvalid, "%s %q is not supported: want one of %s", name, v, strings.Join(crsURIs(), ", "))
}

// parseBBox reads bbox (4 numbers, or 6 with heights that are ignored) in
// bbox-crs and answers it in lon/lat (WGS 84).
func parseBBox(v string, crs crsInfo) (*[4]float64, error) {
	if v == "" {
		return nil, nil
	}
	parts := strings.Split(v, ",")
	if len(parts) != 4 && len(parts) != 6 {
		return nil, zoning.Errorf(zoning.ErrInvalid, "bbox %q: want 4 numbers (minx,miny,maxx,maxy) or 6 with heights, got %d", v, len(parts))
	}
	n := make([]float64, len(parts))
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, zoning.Errorf(zoning.ErrInvalid, "bbox %q: %q is not a number", v, p)
		}
		n[i] = f
	}
	if len(n) == 6 {
		n = []float64{n[0], n[1], n[3], n[4]}
	}
	if crs.LatLon {
		n = []float64{n[1], n[0], n[3], n[2]}
	}
	if n[0] > n[2] || n[1] > n[3] {
		return nil, zoning.Errorf(zoning.ErrInvalid, "bbox %q: the lower corner must come first (min <= max on both axes)", v)
	}
	if crs.Metres {
		const lim = 20037508.342789244
		for _, f := range n {
			if math.Abs(f) > lim {
				return nil, zoning.Errorf(zoning.ErrInvalid, "bbox %q: coordinates beyond the Web Mercator range ±%.0f m", v, lim)
			}
		}
		x0, y0 := mercatorToLonLat(n[0], n[1])
		x1, y1 := mercatorToLonLat(n[2], n[3])
		n = []float64{x0, y0, x1, y1}
	}
	if n[0] < -180 || n[2] > 180 || n[1] < -90 || n[3] > 90 {
		return nil, zoning.Errorf(zoning.ErrInvalid, "bbox %q: longitude must lie in [-180, 180] and latitude in [-90, 90]", v)
	}
	return &[4]float64{n[0], n[1], n[2], n[3]}, nil
}

// mercatorToLonLat inverts spherical Web Mercator (EPSG:3857).
func mercatorToLonLat(x, y float64) (lon, lat float64) {
	const r = 6378137.0
	lon = x / r * 180 / math.Pi
	lat = (2*math.Atan(math.Exp(y/r)) - math.Pi/2) * 180 / math.Pi
	return lon, lat
}

// timeSpan is a parsed datetime parameter: an instant (From == To) or an
// interval with open ends as nil.
type timeSpan struct {
	From, To *time.Time
}

// parseDatetime reads the datetime parameter (RFC 3339 instants, full dates,
// and intervals "a/b" with ".." or "" for an open end).
func parseDatetime(v string) (*timeSpan, error) {
	if v == "" {
		return nil, nil
	}
	if !strings.Contains(v, "/") {
		from, to, err := parseInstant(v)
		if err != nil {
			return nil, err
		}
		return &timeSpan{From: &from, To: &to}, nil
	}
	a, b, _ := strings.Cut(v, "/")
	if strings.Contains(b, "/") {
		return nil, zoning.Errorf(zoning.ErrInvalid, "datetime %q: an interval has one \"/\"", v)
	}
	var span timeSpan
	if a != "" && a != ".." {
		from, _, err := parseInstant(a)
		if err != nil {
			return nil, err
		}
		span.From = &from
	}
	if b != "" && b != ".." {
		_, to, err := parseInstant(b)
		if err != nil {
			return nil, err
		}
		span.To = &to
	}
	if span.From == nil && span.To == nil && !(a == ".." || b == "..") {
		return nil, zoning.Errorf(zoning.ErrInvalid, "datetime %q: an interval needs at least one end or \"..\"", v)
	}
	if span.From != nil && span.To != nil && span.From.After(*span.To) {
		return nil, zoning.Errorf(zoning.ErrInvalid, "datetime %q: the interval ends before it starts", v)
	}
	return &span, nil
}

// parseInstant reads an RFC 3339 time (an instant: from == to) or a date
// (the whole day in China's calendar, the zones' own: never the UTC day).
func parseInstant(v string) (from, to time.Time, err error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil && t.UTC().Year() >= 1 && t.UTC().Year() <= 9999 {
		return t, t, nil
	}
	if d, err := time.ParseInLocation(time.DateOnly, v, zoning.ChinaTime()); err == nil && d.Year() >= 1 {
		return d, d.AddDate(0, 0, 1).Add(-time.Microsecond), nil
	}
	return time.Time{}, time.Time{}, zoning.Errorf(zoning.ErrInvalid,
		"datetime %q: want an RFC 3339 time (2022-11-20T08:00:00Z), a date (2022-11-20) or an interval (a/b, ../b, a/..)", v)
}

// parseLimit reads limit: default ogcLimitDefault, 1 to ogcLimitMax.
func parseLimit(v string) (int, error) {
	if v == "" {
		return ogcLimitDefault, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || n > ogcLimitMax {
		return 0, zoning.Errorf(zoning.ErrInvalid, "limit %q: want an integer from 1 to %d", v, ogcLimitMax)
	}
	return int(n), nil
}

// A cursor is the opaque position of a page: the direction and the key it
// starts after (or ends before), base64url-encoded. It carries no filter:
// the next and prev links keep every other query parameter.
func encodeCursor(before bool, k postgis.Key) string {
	d := "a"
	if before {
		d = "b"
	}
	return base64.RawURLEncoding.EncodeToString([]byte(d + "." + strconv.FormatInt(k.K1, 10) + "." + strconv.FormatInt(k.K2, 10)))
}

func decodeCursor(v string) (before bool, k postgis.Key, err error) {
	bad := zoning.Errorf(zoning.ErrInvalid, "cursor %q is not one this service made: follow the next and prev links", v)
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return false, k, bad
	}
	parts := strings.Split(string(b), ".")
	if len(parts) != 3 || (parts[0] != "a" && parts[0] != "b") {
		return false, k, bad
	}
	if k.K1, err = strconv.ParseInt(parts[1], 10, 64); err != nil {
		return false, k, bad
	}
	if k.K2, err = strconv.ParseInt(parts[2], 10, 64); err != nil {
		return false, k, bad
	}
	if encodeCursor(parts[0] == "b", k) != v {
		return false, k, bad
	}
	return parts[0] == "b", k, nil
}

// parseFID reads a feature id of a collection: an integer, or
// "<zone>-<version>" for zone versions.
func parseFID(coll postgis.Collection, v string) (postgis.Key, error) {
	bad := zoning.Errorf(zoning.ErrNotFound, "collection %s has no feature %q", coll.ID, v)
	if coll.StringID {
		a, b, ok := strings.Cut(v, "-")
		if !ok {
			return postgis.Key{}, bad
		}
		k1, err1 := strconv.ParseInt(a, 10, 64)
		k2, err2 := strconv.ParseInt(b, 10, 64)
		if err1 != nil || err2 != nil {
			return postgis.Key{}, bad
		}
		return postgis.Key{K1: k1, K2: k2}, nil
	}
	k1, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return postgis.Key{}, bad
	}
	return postgis.Key{K1: k1}, nil
}
