package postgis

import (
	"context"
	bin "encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
)

// Export is the store side of "data out" (SPEC §5, issue 9): the OGC API -
// Features collections and the GeoJSON exports. Every collection is one SQL
// source (sql/ogc_src_<id>.sql) with the same columns — a keyset (k1, k2),
// the feature id, the geometry (SRID 4326), a time span and the properties
// as JSON — wrapped by fixed queries for a page, a count, an extent and
// "is there more". Pages are cut by key (keyset), never by OFFSET, so deep
// pages cost the same as the first and rows written between two pages are
// neither skipped nor repeated. Rows stream from PostgreSQL to the caller's
// callback one at a time; PostGIS encodes the geometry (ST_AsGeoJSON) and
// the properties (json_build_object), so the Go side only concatenates.
//
// Public collections read zones only through published versions:
// public_zone_versions for the current map, and for history the versions a
// published notice announced (published_notice_id set), as the public
// timeline does. No public collection has an attribute derived from cases;
// the restricted ones (cases, traces) are served to experts and admins only
// (the server checks the role).
type Export struct {
	S *Store
}

// Collection describes one collection: its id ([a-z0-9_-]), texts, who may
// read it and the schema of its properties.
type Collection struct {
	ID          string
	Title       string
	Description string
	// Restricted collections are not public: only Readers (and admins) may
	// read them, and no shared cache keeps them.
	Restricted bool
	Readers    []zoning.Role
	// GeometryType is the GeoJSON type of the geometries ("" when mixed).
	GeometryType string
	// Temporal collections answer the datetime parameter.
	Temporal bool
	// StringID: feature ids are strings ("<zone>-<version>"); else integers.
	StringID   bool
	Properties []Property
}

// Property is one property of a collection's features (JSON Schema).
type Property struct {
	Name        string
	Type        string // integer, number, string, boolean, array
	Format      string // date, date-time, or ""
	Items       string // element type of arrays
	Description string
}

// Collections lists every collection, public ones first. The list is fixed:
// nothing about it comes from requests.
func Collections() []Collection {
	zoneProps := []Property{
		{Name: "zone_id", Type: "integer", Description: "stable zone id (also the feature id)"},
		{Name: "version", Type: "integer", Description: "published version of the zone"},
		{Name: "county_id", Type: "integer", Description: "county (admin area id)"},
		{Name: "county", Type: "string", Description: "county name"},
		{Name: "name", Type: "string", Description: "zone name"},
		{Name: "level", Type: "string", Description: "risk level code of the county's rule set (high, medium, low)"},
		{Name: "status", Type: "string", Description: "active, lifted or superseded"},
		{Name: "since", Type: "string", Format: "date-time", Description: "effective time of the zone's first notice"},
		{Name: "earliest_lifting", Type: "string", Format: "date", Description: "earliest possible lifting date (clock start + clean days)"},
		{Name: "population", Type: "integer", Description: "residents"},
		{Name: "staff_required", Type: "integer", Description: "workers needed: ceil(population / staff ratio)"},
		{Name: "buildings", Type: "integer", Description: "member buildings"},
		{Name: "addresses", Type: "array", Items: "string", Description: "addresses: compound, building number, unit"},
		{Name: "notice_ids", Type: "array", Items: "integer", Description: "notices that announced the zone"},
	}
	return []Collection{
		{ID: "zones", Title: "Risk zones", Description: "Published risk zones: the latest published version of each active zone; with datetime, the zones in force then",
			GeometryType: "MultiPolygon", Temporal: true, Properties: zoneProps},
		{ID: "zone-versions", Title: "Risk zone history", Description: "Every published zone version, in force from its notice's effective time until the zone's next notice",
			GeometryType: "MultiPolygon", Temporal: true, StringID: true, Properties: []Property{
				{Name: "zone_id", Type: "integer", Description: "zone id"},
				{Name: "version", Type: "integer", Description: "version"},
				{Name: "county_id", Type: "integer", Description: "county (admin area id)"},
				{Name: "name", Type: "string", Description: "zone name"},
				{Name: "level", Type: "string", Description: "risk level code"},
				{Name: "status", Type: "string", Description: "active, lifted or superseded"},
				{Name: "change", Type: "string", Description: "designate, adjust, extend, split, merge, lift or override_lift"},
				{Name: "notice_id", Type: "integer", Description: "the notice that announced this version"},
				{Name: "valid_from", Type: "string", Format: "date-time", Description: "in force from (the notice's effective time)"},
				{Name: "valid_to", Type: "string", Format: "date-time", Description: "in force until (the zone's next notice); null while in force"},
				{Name: "earliest_lifting", Type: "string", Format: "date", Description: "earliest possible lifting date"},
				{Name: "population", Type: "integer", Description: "residents"},
				{Name: "staff_required", Type: "integer", Description: "workers needed"},
				{Name: "buildings", Type: "integer", Description: "member buildings"},
			}},
		{ID: "buildings", Title: "Buildings", Description: "Building footprints with address parts and resident population",
			GeometryType: "MultiPolygon", Properties: []Property{
				{Name: "kind", Type: "string", Description: "residential, commercial, office, public, industrial or other"},
				{Name: "name", Type: "string", Description: "building name"},
				{Name: "district", Type: "string", Description: "address: district"},
				{Name: "street", Type: "string", Description: "address: street or township"},
				{Name: "community", Type: "string", Description: "address: community"},
				{Name: "compound", Type: "string", Description: "address: compound"},
				{Name: "number", Type: "string", Description: "address: building number"},
				{Name: "floors", Type: "integer", Description: "floors"},
				{Name: "population", Type: "integer", Description: "residents"},
				{Name: "county_id", Type: "integer", Description: "county (admin area id)"},
				{Name: "community_id", Type: "integer", Description: "community (admin area id)"},
				{Name: "compound_id", Type: "integer", Description: "compound id"},
			}},
		{ID: "barriers", Title: "Barriers", Description: "Roads, rivers, railways, ridges and water that zone boundaries follow",
			Properties: []Property{
				{Name: "kind", Type: "string", Description: "road, river, canal, stream, drain, railway, ridge, cliff, water, wall or fence"},
				{Name: "road_class", Type: "string", Description: "road class (roads only)"},
				{Name: "name", Type: "string", Description: "name"},
			}},
		{ID: "notices", Title: "Notices", Description: "Published notices; the geometry is the union of the zones each announced",
			GeometryType: "MultiPolygon", Temporal: true, Properties: []Property{
				{Name: "county_id", Type: "integer", Description: "county (admin area id)"},
				{Name: "kind", Type: "string", Description: "designate, adjust, extend, split, merge, lift, normalize or correction"},
				{Name: "status", Type: "string", Description: "actual, exercise or test"},
				{Name: "title_zh", Type: "string", Description: "title (Chinese)"},
				{Name: "title_en", Type: "string", Description: "title (English)"},
				{Name: "effective_at", Type: "string", Format: "date-time", Description: "effective time"},
				{Name: "published_at", Type: "string", Format: "date-time", Description: "publication time"},
				{Name: "cap_identifier", Type: "string", Description: "CAP 1.2 identifier"},
				{Name: "cap_msg_type", Type: "string", Description: "CAP msgType: Alert, Update or Cancel"},
				{Name: "references_notice_id", Type: "integer", Description: "the notice a correction corrects"},
				{Name: "zone_ids", Type: "array", Items: "integer", Description: "zones announced"},
			}},
		{ID: "zones-current", Title: "Risk zones, current (agencies)", Description: "The newest version of each zone, published or approved and waiting for its notice; agencies, experts and admins only",
			Restricted: true, Readers: []zoning.Role{zoning.RoleAgency, zoning.RoleExpert}, GeometryType: "MultiPolygon", Temporal: true, Properties: []Property{
				{Name: "zone_id", Type: "integer", Description: "stable zone id (also the feature id)"},
				{Name: "version", Type: "integer", Description: "newest version"},
				{Name: "county_id", Type: "integer", Description: "county (admin area id)"},
				{Name: "county", Type: "string", Description: "county name"},
				{Name: "name", Type: "string", Description: "zone name"},
				{Name: "level", Type: "string", Description: "risk level code"},
				{Name: "status", Type: "string", Description: "active, lifted or superseded"},
				{Name: "change", Type: "string", Description: "the change that made this version"},
				{Name: "published", Type: "boolean", Description: "whether a notice has published this version"},
				{Name: "valid_from", Type: "string", Format: "date-time", Description: "version valid from"},
				{Name: "valid_to", Type: "string", Format: "date-time", Description: "version valid until (null: current)"},
				{Name: "earliest_lifting", Type: "string", Format: "date", Description: "earliest possible lifting date"},
				{Name: "population", Type: "integer", Description: "residents"},
				{Name: "staff_required", Type: "integer", Description: "workers needed"},
				{Name: "buildings", Type: "integer", Description: "member buildings"},
				{Name: "addresses", Type: "array", Items: "string", Description: "addresses: compound, building number, unit"},
			}},
		{ID: "cases", Title: "Cases (restricted)", Description: "Case residences: health data, experts and admins only",
			Restricted: true, Readers: []zoning.Role{zoning.RoleExpert}, GeometryType: "Point", Temporal: true, Properties: []Property{
				{Name: "case_no", Type: "string", Description: "case number"},
				{Name: "county_id", Type: "integer", Description: "county"},
				{Name: "kind", Type: "string", Description: "confirmed or asymptomatic"},
				{Name: "report_date", Type: "string", Format: "date", Description: "report date"},
				{Name: "onset_date", Type: "string", Format: "date", Description: "onset date"},
				{Name: "residence_unit_id", Type: "integer", Description: "residence unit"},
				{Name: "residence_building_id", Type: "integer", Description: "residence building"},
				{Name: "source_known", Type: "boolean", Description: "source of infection known"},
				{Name: "excluded", Type: "boolean", Description: "excluded from zoning"},
				{Name: "exclusion_category", Type: "string", Description: "exclusion category"},
			}},
		{ID: "traces", Title: "Traces (restricted)", Description: "Case activity traces: health data, experts and admins only",
			Restricted: true, Readers: []zoning.Role{zoning.RoleExpert}, GeometryType: "Point", Temporal: true, Properties: []Property{
				{Name: "case_id", Type: "integer", Description: "case"},
				{Name: "activity", Type: "string", Description: "work, shopping, dining, leisure, school, medical, transport or other"},
				{Name: "starts_at", Type: "string", Format: "date-time", Description: "start"},
				{Name: "ends_at", Type: "string", Format: "date-time", Description: "end"},
				{Name: "enclosed", Type: "boolean", Description: "enclosed place"},
				{Name: "place_id", Type: "integer", Description: "place"},
				{Name: "building_id", Type: "integer", Description: "building"},
				{Name: "county_id", Type: "integer", Description: "county of the case"},
			}},
	}
}

// CollectionByID finds a collection of Collections.
func CollectionByID(id string) (Collection, bool) {
	for _, c := range Collections() {
		if c.ID == id {
			return c, true
		}
	}
	return Collection{}, false
}

// OutputCRS is a coordinate reference system features can be written in.
type OutputCRS int

// The output CRSs (OGC API - Features Part 2). CGCS2000 (EPSG:4490) is
// treated as coincident with WGS 84: the datums differ by centimetres,
// below the precision of the data, so coordinates are not transformed,
// only written in its lat/lon axis order.
const (
	CRS84    OutputCRS = iota // lon/lat, WGS 84 (the default, RFC 7946)
	EPSG4326                  // lat/lon, WGS 84
	EPSG3857                  // x/y metres, Web Mercator
	EPSG4490                  // lat/lon, CGCS2000 (coincident with WGS 84)
)

// geojsonExpr is the geometry encoding of each output CRS: exterior rings
// counter-clockwise (RFC 7946) for x/y order, at most 7 decimals for degrees
// (about 1 cm) and 2 for metres, and never a "crs" member (options 0).
var geojsonExpr = map[OutputCRS]string{
	CRS84:    "ST_AsGeoJSON(ST_ForcePolygonCCW(s.geom), 7, 0)",
	EPSG4326: "ST_AsGeoJSON(ST_FlipCoordinates(ST_ForcePolygonCCW(s.geom)), 7, 0)",
	EPSG4490: "ST_AsGeoJSON(ST_FlipCoordinates(ST_ForcePolygonCCW(s.geom)), 7, 0)",
	EPSG3857: "ST_AsGeoJSON(ST_Transform(ST_ForcePolygonCCW(s.geom), 3857), 2, 0)",
}

// Key is a feature's position in its collection's order.
type Key struct{ K1, K2 int64 }

// ExportQuery selects the features of a collection.
type ExportQuery struct {
	// Timed turns on the time filter: features in force at some time in
	// [From, To] (nil: open end; From == To: an instant).
	Timed    bool
	From, To *time.Time
	// County, Level, Status and Zone filter where the collection has them
	// (0 or "": any; Status "" means active zones, "all" every status).
	County int64
	Level  string
	Status string
	Zone   int64
	// BBox is lon/lat (minx, miny, maxx, maxy); nil for none.
	BBox *[4]float64
	// Limit is the page size; 0 streams every match.
	Limit int
	// After or Before: the page after or before a key (at most one);
	// FID: exactly one feature.
	After, Before, FID *Key
	CRS                OutputCRS
	// Count asks for numberMatched; Links for whether there is more
	// before and after the page.
	Count, Links bool
}

// Feature is one row as it streams: the byte slices are valid only during
// the callback. Geometry is nil for a feature without one.
type Feature struct {
	Key        Key
	ID         []byte
	Geometry   []byte
	Properties []byte
}

// PageInfo is what Stream learned besides the features.
type PageInfo struct {
	Matched  int64 // numberMatched, when asked
	Returned int
	First    Key
	Last     Key
	// HasNext and HasPrev: matching features after the last or before the
	// first (when Links was asked).
	HasNext, HasPrev bool
}

// Extent is a collection's spatial (lon/lat) and temporal extent.
type Extent struct {
	BBox     *[4]float64
	From, To *time.Time
	// OpenEnd: some feature is still in force (the interval is open).
	OpenEnd bool
}

const paramsRow = `(SELECT $1::timestamptz AS t_from, $2::timestamptz AS t_to, $3::boolean AS timed, $4::bigint AS county, ` +
	`$5::text AS level, $6::text AS status, $7::bigint AS zone) p`

const (
	keyAfter  = "($12::bigint IS NULL OR (s.k1 >= $12 AND (s.k1 > $12 OR s.k2 > $13::bigint)))"
	keyExact  = "(s.k1 = $12::bigint AND s.k2 = $13::bigint)"
	keyBefore = "(s.k1 <= $12::bigint AND (s.k1 < $12 OR s.k2 < $13::bigint))"
)

// sourceSQL is a collection's source with its parameter row.
func sourceSQL(id string) (string, error) {
	if _, ok := CollectionByID(id); !ok {
		return "", zoning.Errorf(zoning.ErrNotFound, "no collection %q", id)
	}
	return strings.ReplaceAll(stripComments(query("ogc_src_"+strings.ReplaceAll(id, "-", "_"))), ":params", paramsRow), nil
}

func stripComments(sql string) string {
	lines := strings.Split(sql, "\n")
	out := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// fill puts a source and fragments into a wrapper query; full-line
// comments are dropped first, so that they may name the placeholders.
func fill(tmpl, source string, repl ...string) string {
	s := strings.ReplaceAll(stripComments(tmpl), ":source", stripComments(source))
	for i := 0; i+1 < len(repl); i += 2 {
		s = strings.ReplaceAll(s, repl[i], repl[i+1])
	}
	return s
}

// args are the parameters $1-$11 (source and bbox).
func (q ExportQuery) args() []any {
	var b [4]any
	if q.BBox != nil {
		for i, v := range q.BBox {
			b[i] = v
		}
	}
	return []any{q.From, q.To, q.Timed, q.County, q.Level, q.Status, q.Zone, b[0], b[1], b[2], b[3]}
}

func keyArgs(k *Key) []any {
	if k == nil {
		return []any{nil, nil}
	}
	return []any{k.K1, k.K2}
}

// Stream runs q on collection id: it calls start once (with numberMatched
// when q.Count asks for it) before the first row, then fn with each feature
// in key order as rows arrive. It reads one repeatable-read snapshot, so
// the count, the page and the "more" answers agree. start may be nil.
func (e Export) Stream(ctx context.Context, id string, q ExportQuery, start func(matched int64) error, fn func(Feature) error) (PageInfo, error) {
	var info PageInfo
	src, err := sourceSQL(id)
	if err != nil {
		return info, err
	}
	geo, ok := geojsonExpr[q.CRS]
	if !ok {
		return info, zoning.Errorf(zoning.ErrInvalid, "unsupported output CRS %d", q.CRS)
	}
	tx, err := e.S.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return info, fmt.Errorf("export %s: %w", id, err)
	}
	defer tx.Rollback(context.Background())
	base := q.args()
	// QueryExecModeExec plans each statement with its parameter values (an
	// unnamed statement), so the "no filter" branches fold away and the
	// spatial and key indexes are used.
	mode := pgx.QueryExecModeExec
	if q.Count {
		if err := tx.QueryRow(ctx, fill(query("ogc_count"), src), append([]any{mode}, base...)...).Scan(&info.Matched); err != nil {
			return info, fmt.Errorf("export %s: count: %w", id, err)
		}
	}
	var limit any
	if q.Limit > 0 {
		limit = int64(q.Limit)
	}
	var sql string
	var key *Key
	switch {
	case q.FID != nil:
		sql, key = fill(query("ogc_page"), src, ":geojson", geo, ":keyset", keyExact), q.FID
	case q.Before != nil:
		sql, key = fill(query("ogc_page_before"), src, ":geojson", geo), q.Before
	default:
		sql, key = fill(query("ogc_page"), src, ":geojson", geo, ":keyset", keyAfter), q.After
	}
	args := append(append(append([]any{mode}, base...), keyArgs(key)...), limit)
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return info, fmt.Errorf("export %s: %w", id, err)
	}
	if start != nil {
		if err := start(info.Matched); err != nil {
			rows.Close()
			return info, err
		}
	}
	binKey, described := false, false
	for rows.Next() {
		if !described {
			binKey, described = rows.FieldDescriptions()[0].Format == pgx.BinaryFormatCode, true
		}
		raw := rows.RawValues()
		f := Feature{Key: Key{int8Raw(raw[0], binKey), int8Raw(raw[1], binKey)}, ID: raw[2], Geometry: raw[3], Properties: raw[4]}
		if info.Returned == 0 {
			info.First = f.Key
		}
		info.Last = f.Key
		info.Returned++
		if err := fn(f); err != nil {
			rows.Close()
			return info, err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return info, fmt.Errorf("export %s: %w", id, err)
	}
	if q.Links && info.Returned > 0 {
		for _, side := range []struct {
			cond string
			key  Key
			out  *bool
		}{{keyAfter, info.Last, &info.HasNext}, {keyBefore, info.First, &info.HasPrev}} {
			sql := fill(query("ogc_exists"), src, ":keyset", side.cond)
			a := append(append([]any{mode}, base...), side.key.K1, side.key.K2)
			if err := tx.QueryRow(ctx, sql, a...).Scan(side.out); err != nil {
				return info, fmt.Errorf("export %s: more: %w", id, err)
			}
		}
	}
	return info, tx.Commit(ctx)
}

// int8Raw decodes a bigint column in the binary or the text format.
func int8Raw(b []byte, binary bool) int64 {
	if binary && len(b) == 8 {
		return int64(bin.BigEndian.Uint64(b))
	}
	n, _ := strconv.ParseInt(string(b), 10, 64)
	return n
}

// Extent computes a collection's extent under the filters of q (the bbox
// and paging fields are ignored).
func (e Export) Extent(ctx context.Context, id string, q ExportQuery) (Extent, error) {
	var out Extent
	src, err := sourceSQL(id)
	if err != nil {
		return out, err
	}
	var x0, y0, x1, y1 *float64
	a := q.args()[:7]
	if err := e.S.Pool.QueryRow(ctx, fill(query("ogc_extent"), src), append([]any{pgx.QueryExecModeExec}, a...)...).
		Scan(&x0, &y0, &x1, &y1, &out.From, &out.To, &out.OpenEnd); err != nil {
		return out, fmt.Errorf("extent of %s: %w", id, err)
	}
	if x0 != nil && y0 != nil && x1 != nil && y1 != nil {
		out.BBox = &[4]float64{*x0, *y0, *x1, *y1}
	}
	return out, nil
}

// LookupArea is one row of the national lookup list: a published active
// zone with where it is, its communities, counts and update time.
type LookupArea struct {
	ZoneID          int64       `json:"zone_id"`
	Version         int         `json:"version"`
	Province        string      `json:"province"`
	City            string      `json:"city"`
	County          string      `json:"county"`
	AreaName        string      `json:"area_name"`
	Level           string      `json:"level"`
	Communities     []string    `json:"communities"`
	Buildings       int         `json:"buildings"`
	Units           int         `json:"units"`
	Population      int64       `json:"population"`
	EarliestLifting zoning.Date `json:"earliest_lifting"`
	UpdatedAt       *time.Time  `json:"updated_at"`
}

// LookupList returns the national lookup list of published active zones
// (county 0: all; level "": any).
func (e Export) LookupList(ctx context.Context, county int64, level string) ([]LookupArea, error) {
	rows, err := e.S.Pool.Query(ctx, query("export_lookup"), county, level)
	if err != nil {
		return nil, fmt.Errorf("lookup list: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LookupArea, error) {
		var a LookupArea
		var earliest time.Time
		err := r.Scan(&a.ZoneID, &a.Version, &a.Province, &a.City, &a.County, &a.AreaName, &a.Level, &a.Communities,
			&a.Buildings, &a.Units, &a.Population, &earliest, &a.UpdatedAt)
		a.EarliestLifting = zoning.AsDate(earliest)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("lookup list: %w", err)
	}
	if out == nil {
		out = []LookupArea{}
	}
	return out, nil
}

// AddressRow is one line of the address CSV.
type AddressRow struct {
	ZoneID      int64
	Version     int
	Level, Zone string
	BuildingID  int64
	UnitID      *int64
	District    string
	Street      string
	Community   string
	Compound    string
	Number      string
	Unit        string
	// Name is the building's name; SourceRef where it came from
	// ("OSM way 123", zoning.SourceRef), for buildings without a number.
	Name, SourceRef string
	Lon, Lat        string // 7 decimals
	Since           *time.Time
	EarliestLifting time.Time
}

// Addresses streams every address of the published active zones to fn.
func (e Export) Addresses(ctx context.Context, county int64, level string, fn func(AddressRow) error) error {
	rows, err := e.S.Pool.Query(ctx, query("export_addresses"), county, level)
	if err != nil {
		return fmt.Errorf("address list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a AddressRow
		var source, sourceID string
		if err := rows.Scan(&a.ZoneID, &a.Version, &a.Level, &a.Zone, &a.BuildingID, &a.UnitID, &a.District, &a.Street,
			&a.Community, &a.Compound, &a.Number, &a.Unit, &a.Name, &source, &sourceID, &a.Lon, &a.Lat, &a.Since, &a.EarliestLifting); err != nil {
			return fmt.Errorf("address list: %w", err)
		}
		a.SourceRef = zoning.SourceRef(source, sourceID)
		if err := fn(a); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("address list: %w", err)
	}
	return nil
}
