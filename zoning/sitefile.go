package zoning

import (
	"fmt"
	"io"
	"strconv"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// SiteCSVColumns are the columns of the quarantine-site CSV, in any order.
var SiteCSVColumns = []string{"name", "county_id", "address", "rooms", "occupied", "staff", "lon", "lat"}

// ParseSitesCSV reads sites from CSV with a header row; county is used when
// the file has no county_id column.
func ParseSitesCSV(r io.Reader, county int64, maxRows int) ([]NewSite, error) {
	return parseCSV(r, csvTable{known: SiteCSVColumns, required: []string{"name", "rooms", "lon", "lat"}, max: maxRows, what: "sites"},
		func(row csvRow) (NewSite, error) {
			s := NewSite{CountyID: county, Name: row.get("name"), Address: row.get("address")}
			var err error
			for _, f := range []struct {
				name string
				dst  *int
			}{{"rooms", &s.Rooms}, {"occupied", &s.Occupied}, {"staff", &s.Staff}} {
				if v := row.get(f.name); v != "" {
					if *f.dst, err = strconv.Atoi(v); err != nil {
						return s, row.bad(f.name, fmt.Errorf("want a whole number, got %q", v))
					}
				}
			}
			if v := row.get("county_id"); v != "" {
				if s.CountyID, err = strconv.ParseInt(v, 10, 64); err != nil {
					return s, row.bad("county_id", fmt.Errorf("want a whole number, got %q", v))
				}
			}
			for _, f := range []struct {
				name string
				dst  *float64
			}{{"lon", &s.Lon}, {"lat", &s.Lat}} {
				if *f.dst, err = strconv.ParseFloat(row.get(f.name), 64); err != nil {
					return s, row.bad(f.name, fmt.Errorf("want a number, got %q", row.get(f.name)))
				}
			}
			return s, nil
		})
}

// ParseSitesGeoJSON reads sites from a GeoJSON FeatureCollection of points
// with the properties name, rooms and optionally occupied, staff, address
// and county_id (county otherwise).
func ParseSitesGeoJSON(data []byte, county int64, maxRows int) ([]NewSite, error) {
	fc, err := geojson.UnmarshalFeatureCollection(data)
	if err != nil {
		return nil, Errorf(ErrInvalid, "GeoJSON: %v", err)
	}
	if len(fc.Features) == 0 {
		return nil, Errorf(ErrInvalid, "GeoJSON has no features")
	}
	if len(fc.Features) > maxRows {
		return nil, Errorf(ErrTooLarge, "GeoJSON has more than %d sites", maxRows)
	}
	out := make([]NewSite, 0, len(fc.Features))
	for i, f := range fc.Features {
		bad := func(format string, args ...any) error {
			return Errorf(ErrInvalid, "feature %d: %s", i+1, fmt.Sprintf(format, args...))
		}
		if f == nil || f.Geometry == nil {
			return nil, bad("no geometry: want a Point")
		}
		p, ok := f.Geometry.(orb.Point)
		if !ok {
			return nil, bad("geometry %s: want a Point", f.Geometry.GeoJSONType())
		}
		s := NewSite{CountyID: county, Lon: p[0], Lat: p[1]}
		if v, ok := f.Properties["name"].(string); ok {
			s.Name = v
		}
		if v, ok := f.Properties["address"].(string); ok {
			s.Address = v
		}
		for _, k := range []struct {
			name string
			dst  *int
		}{{"rooms", &s.Rooms}, {"occupied", &s.Occupied}, {"staff", &s.Staff}} {
			v, present := f.Properties[k.name]
			if !present {
				continue
			}
			x, ok := v.(float64)
			if !ok || x != float64(int(x)) || x < 0 || x > MaxSiteRooms {
				return nil, bad("property %s %v: want a whole number from 0 to %d", k.name, v, MaxSiteRooms)
			}
			*k.dst = int(x)
		}
		if v, present := f.Properties["county_id"]; present {
			x, ok := v.(float64)
			if !ok || x != float64(int64(x)) || x <= 0 {
				return nil, bad("property county_id %v: want a positive whole number", v)
			}
			s.CountyID = int64(x)
		}
		out = append(out, s)
	}
	return out, nil
}
