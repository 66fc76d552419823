package server

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// exportRoutes are the GeoJSON, JSON and CSV exports for other agencies
// (SPEC §5 "Data out", docs/ogc.md). They serve published data and need no
// sign-in; with source=current, agencies (and experts) also get the zones'
// newest versions, approved but not yet published included. Every GeoJSON
// export is RFC 7946: lon/lat WGS 84, exterior rings counter-clockwise and
// holes clockwise, at most 7 decimals, no "crs" member; it streams, so
// memory stays flat in the number of features.
func (s *Server) exportRoutes() {
	o := &ogcAPI{s: s}
	// Anonymous exports read the public pool under the stream limits
	// (streams.go); signed-in ones the main pool.
	g := s.echo.Group("/api/v1/export", s.publicStream(streamExports))
	g.GET("/zones.geojson", o.exportCollection("zones"))
	g.GET("/zone-versions.geojson", o.exportCollection("zone-versions"))
	g.GET("/buildings.geojson", o.exportCollection("buildings"))
	g.GET("/notices.geojson", o.exportCollection("notices"))
	g.GET("/lookup.json", o.exportLookup)
	g.GET("/addresses.csv", o.exportAddresses)
}

// exportParams are the parameters of a GeoJSON export.
var exportParams = map[string]bool{"county": true, "level": true, "status": true, "at": true, "bbox": true, "zone": true, "source": true}

// parseExport reads county, level, status, at (an instant or date: the
// zones in force then), bbox (lon/lat) and zone.
func parseExport(c echo.Context, coll postgis.Collection) (postgis.ExportQuery, error) {
	var q postgis.ExportQuery
	for name, vs := range c.QueryParams() {
		if !exportParams[name] {
			return q, zoning.Errorf(zoning.ErrInvalid, "unknown query parameter %q: an export takes county, level, status, at, bbox, zone and source", name)
		}
		if len(vs) > 1 {
			return q, zoning.Errorf(zoning.ErrInvalid, "query parameter %q is given %d times", name, len(vs))
		}
	}
	if err := filterParams(c, &q); err != nil {
		return q, err
	}
	zone, err := queryInt(c, "zone", 0)
	if err != nil {
		return q, err
	}
	q.Zone = zone
	if at := c.QueryParam("at"); at != "" {
		span, err := parseDatetime(at)
		if err != nil {
			return q, err
		}
		if coll.Temporal {
			q.Timed, q.From, q.To = true, span.From, span.To
		}
	}
	if q.BBox, err = parseBBox(c.QueryParam("bbox"), ogcCRSs[0]); err != nil {
		return q, err
	}
	return q, nil
}

// exportCollection streams a whole collection (published data) as one RFC
// 7946 FeatureCollection with its bbox.
func (o *ogcAPI) exportCollection(id string) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := id
		switch src := c.QueryParam("source"); src {
		case "", "published":
		case "current":
			// The newest versions, published or not: agencies, experts, admins.
			if id != "zones" {
				return zoning.Errorf(zoning.ErrInvalid, "source=current exists for zones only")
			}
			p := principal(c)
			switch {
			case !p.Authenticated():
				return zoning.Errorf(zoning.ErrUnauthorized, "source=current needs the agency role: sign in or send an API token")
			case !p.Is(zoning.RoleAgency, zoning.RoleExpert):
				return zoning.Errorf(zoning.ErrForbidden, "source=current needs the agency or expert role; you have the role %s", p.Role)
			}
			id = "zones-current"
		default:
			return zoning.Errorf(zoning.ErrInvalid, "source %q: want published (default) or current", src)
		}
		coll, err := o.visible(c, id)
		if err != nil {
			return err
		}
		q, err := parseExport(c, coll)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		ex := postgis.Export{S: o.s.streamStore(c)}
		if q.Zone > 0 && (id == "buildings" || id == "zones") {
			// The zone must be public: an unknown or unpublished zone is a 404.
			if ok, err := o.publicZone(c, q.Zone); err != nil || !ok {
				return err
			}
		}
		var bbox *[4]float64
		if q.BBox == nil {
			ext, err := ex.Extent(ctx, id, q)
			if err != nil {
				return err
			}
			bbox = ext.BBox
		}
		h := c.Response().Header()
		h.Set(echo.HeaderContentType, mimeGeoJSON)
		h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`inline; filename="%s.geojson"`, id))
		cacheFor(c, coll.Restricted)
		w := bufio.NewWriterSize(c.Response(), 64<<10)
		n := 0
		start := func(int64) error {
			c.Response().WriteHeader(http.StatusOK)
			w.WriteString(`{"type":"FeatureCollection",`)
			if bbox != nil {
				fmt.Fprintf(w, `"bbox":[%s,%s,%s,%s],`, deg(bbox[0]), deg(bbox[1]), deg(bbox[2]), deg(bbox[3]))
			}
			_, err := w.WriteString(`"features":[`)
			return err
		}
		_, err = ex.Stream(ctx, id, q, start, o.featureList(c, w, coll, streamExports, &n))
		if err != nil {
			return o.streamFailed(c, err)
		}
		w.WriteString("]}\n")
		if err := w.Flush(); err != nil {
			return o.streamFailed(c, err)
		}
		return nil
	}
}

// publicZone answers a 404 unless zone has a published version.
func (o *ogcAPI) publicZone(c echo.Context, zone int64) (bool, error) {
	info, err := postgis.Export{S: o.s.streamStore(c)}.Stream(c.Request().Context(), "zones",
		postgis.ExportQuery{Zone: zone, Status: "all", Limit: 1}, nil, func(postgis.Feature) error { return nil })
	if err != nil {
		return false, err
	}
	if info.Returned == 0 {
		return false, zoning.Errorf(zoning.ErrNotFound, "zone %d is not public", zone)
	}
	return true, nil
}

// deg writes a bbox coordinate with at most 7 decimals.
func deg(f float64) string { return strconv.FormatFloat(math.Round(f*1e7)/1e7, 'f', -1, 64) }

// exportLookup is the national lookup list as JSON.
func (o *ogcAPI) exportLookup(c echo.Context) error {
	for name := range c.QueryParams() {
		if name != "county" && name != "level" {
			return zoning.Errorf(zoning.ErrInvalid, "unknown query parameter %q: the lookup list takes county and level", name)
		}
	}
	var q postgis.ExportQuery
	if err := filterParams(c, &q); err != nil {
		return err
	}
	areas, err := postgis.Export{S: o.s.streamStore(c)}.LookupList(c.Request().Context(), q.County, q.Level)
	if err != nil {
		return err
	}
	var updated *time.Time
	for _, a := range areas {
		if a.UpdatedAt != nil && (updated == nil || a.UpdatedAt.After(*updated)) {
			updated = a.UpdatedAt
		}
	}
	cacheFor(c, false)
	return c.JSON(http.StatusOK, map[string]any{"generated_at": time.Now().UTC().Format(time.RFC3339), "updated_at": updated, "areas": areas})
}

// exportAddresses streams the address CSV: stable ids, ISO dates, lon/lat.
func (o *ogcAPI) exportAddresses(c echo.Context) error {
	for name := range c.QueryParams() {
		if name != "county" && name != "level" {
			return zoning.Errorf(zoning.ErrInvalid, "unknown query parameter %q: the address list takes county and level", name)
		}
	}
	var q postgis.ExportQuery
	if err := filterParams(c, &q); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="addresses.csv"`)
	cacheFor(c, false)
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	_ = w.Write([]string{"zone_id", "zone_version", "level", "zone_name", "building_id", "unit_id", "district", "street", "community",
		"compound", "building_number", "unit", "lon", "lat", "since", "earliest_lifting", "building_name", "source_ref"})
	rows := 0
	err := postgis.Export{S: o.s.streamStore(c)}.Addresses(c.Request().Context(), q.County, q.Level, func(a postgis.AddressRow) error {
		unit := ""
		if a.UnitID != nil {
			unit = strconv.FormatInt(*a.UnitID, 10)
		}
		since := ""
		if a.Since != nil {
			since = a.Since.UTC().Format(time.RFC3339)
		}
		err := w.Write([]string{strconv.FormatInt(a.ZoneID, 10), strconv.Itoa(a.Version), a.Level, csvText(a.Zone), strconv.FormatInt(a.BuildingID, 10),
			unit, csvText(a.District), csvText(a.Street), csvText(a.Community), csvText(a.Compound), csvText(a.Number), csvText(a.Unit),
			a.Lon, a.Lat, since, a.EarliestLifting.Format(time.DateOnly), csvText(a.Name), a.SourceRef})
		if rows++; rows == 1 && err == nil {
			o.s.streamHeld(c, streamExports, w.Flush)
		}
		return err
	})
	w.Flush()
	if err == nil {
		err = w.Error()
	}
	if err != nil {
		return o.streamFailed(c, err)
	}
	return nil
}
