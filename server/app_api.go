package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// Limits of the app's helper endpoints.
const (
	maxAppBuildingIDs = 5000
	maxSearchResults  = 20
	maxSearchQuery    = 100
)

// appAPIRoutes are the small JSON reads the expert app needs beside the
// lifecycle API: counties for the picker, proposals and runs of a county,
// the barriers on a proposal's boundary, buildings (by id, for the member
// editor and the diff view; by address, for the search box) and the notice
// preview with the CAP and Atom documents a publication would produce.
// All are restricted (no-store): experts, publishers (where they need it)
// and admins.
func (s *Server) appAPIRoutes() {
	staff := s.echo.Group("/api/v1/app", requireRole(zoning.RoleExpert, zoning.RolePublisher))
	staff.GET("/counties", s.appCounties)
	staff.GET("/buildings", s.appBuildings)
	staff.GET("/buildings/:id", s.appBuilding)
	staff.GET("/search", s.appSearch)
	ex := s.echo.Group("/api/v1/app", requireRole(zoning.RoleExpert))
	ex.GET("/proposals", s.appProposals)
	ex.GET("/runs", s.appRuns)
	ex.GET("/proposals/:id/barriers", s.appProposalBarriers)
	pub := s.echo.Group("/api/v1/app", requireRole(zoning.RolePublisher))
	pub.GET("/notice-preview", s.appNoticePreview)
}

// appCounty is a county in the picker.
type appCounty struct {
	ID     int64      `json:"id"`
	Name   string     `json:"name"`
	NameEn string     `json:"name_en"`
	BBox   [4]float64 `json:"bbox"`
}

func (s *Server) appCounties(c echo.Context) error {
	rows, err := s.store.Pool.Query(c.Request().Context(), `SELECT id, name, name_en,
			ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
		FROM (SELECT id, name, name_en, ST_Envelope(geom) AS e FROM admin_areas WHERE level = 'county') a ORDER BY name, id`)
	if err != nil {
		return fmt.Errorf("app counties: %w", err)
	}
	defer rows.Close()
	out := []appCounty{}
	for rows.Next() {
		var a appCounty
		if err := rows.Scan(&a.ID, &a.Name, &a.NameEn, &a.BBox[0], &a.BBox[1], &a.BBox[2], &a.BBox[3]); err != nil {
			return fmt.Errorf("app counties: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("app counties: %w", err)
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"counties": out})
}

// appProposal is a proposal in the review list.
type appProposal struct {
	ID               int64           `json:"id"`
	RunID            int64           `json:"run_id"`
	CountyID         int64           `json:"county_id"`
	Name             string          `json:"name"`
	Level            string          `json:"level"`
	Status           string          `json:"status"`
	Population       int             `json:"population"`
	StaffRequired    int             `json:"staff_required"`
	AreaM2           float64         `json:"area_m2"`
	Buildings        int             `json:"buildings"`
	BuildingIDs      []int64         `json:"building_ids"`
	UnitIDs          []int64         `json:"unit_ids"`
	BoundaryBarriers json.RawMessage `json:"boundary_barriers"`
	Rationale        json.RawMessage `json:"rationale"`
	Geometry         json.RawMessage `json:"geometry"`
	CreatedAt        time.Time       `json:"created_at"`
	CreatedBy        string          `json:"created_by"`
	ZoneID           *int64          `json:"zone_id"`
	DecisionReason   string          `json:"decision_reason"`
	// PopulationEstimated: the population holds estimates (shown "约/est.").
	PopulationEstimated bool `json:"population_estimated"`
	// Workers is the estimated day-time population counted for staff.
	Workers int `json:"workers"`
	// RationaleText is the rationale as sentences in zh and en.
	RationaleText zoning.RationaleText `json:"rationale_text"`
	SupersededBy  []int64              `json:"superseded_by"`
}

// appProposals lists the proposals of a county (?county=, required), of one
// run (?run=) or the latest runs, by status (?status=proposed default,
// accepted, rejected or all), newest first, at most 200.
func (s *Server) appProposals(c echo.Context) error {
	county, err := queryInt(c, "county", 0)
	if err != nil {
		return err
	}
	run, err := queryInt(c, "run", 0)
	if err != nil {
		return err
	}
	if county == 0 && run == 0 {
		return zoning.Errorf(zoning.ErrInvalid, "give ?county=ID or ?run=ID")
	}
	status := c.QueryParam("status")
	switch status {
	case "":
		status = "proposed"
	case "proposed", "accepted", "rejected", "superseded", "all":
	default:
		return zoning.Errorf(zoning.ErrInvalid, "status %q: want proposed, accepted, rejected, superseded or all", status)
	}
	rows, err := s.store.Pool.Query(c.Request().Context(), `SELECT p.id, p.run_id, p.county_id, p.name, p.level, p.status,
			p.population, p.staff_required, p.area_m2, cardinality(p.building_ids), p.building_ids, p.unit_ids, p.boundary_barriers, p.rationale,
			ST_AsGeoJSON(ST_ForcePolygonCCW(p.geom), 6), p.created_at, coalesce(u.username, ''),
			(SELECT min(z.id) FROM zones z WHERE z.proposal_id = p.id), coalesce(p.decision_reason, ''),
			p.population_estimated, p.workers, p.superseded_by
		FROM proposals p LEFT JOIN users u ON u.id = p.created_by
		WHERE ($1 = 0 OR p.county_id = $1) AND ($2 = 0 OR p.run_id = $2) AND ($3 = 'all' OR p.status = $3)
		ORDER BY p.run_id DESC, p.population DESC, p.id LIMIT 200`, county, run, status)
	if err != nil {
		return fmt.Errorf("app proposals: %w", err)
	}
	defer rows.Close()
	out := []appProposal{}
	for rows.Next() {
		var p appProposal
		var geo string
		if err := rows.Scan(&p.ID, &p.RunID, &p.CountyID, &p.Name, &p.Level, &p.Status, &p.Population, &p.StaffRequired,
			&p.AreaM2, &p.Buildings, &p.BuildingIDs, &p.UnitIDs, &p.BoundaryBarriers, &p.Rationale, &geo, &p.CreatedAt, &p.CreatedBy, &p.ZoneID, &p.DecisionReason,
			&p.PopulationEstimated, &p.Workers, &p.SupersededBy); err != nil {
			return fmt.Errorf("app proposals: %w", err)
		}
		p.Geometry = json.RawMessage(geo)
		p.RationaleText = zoning.RationaleTextOf(p.Rationale, len(p.BuildingIDs), len(p.UnitIDs))
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("app proposals: %w", err)
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"proposals": out})
}

// appRuns lists the latest engine runs of a county (?county=, required).
func (s *Server) appRuns(c echo.Context) error {
	county, err := queryInt(c, "county", 0)
	if err != nil {
		return err
	}
	if county == 0 {
		return zoning.Errorf(zoning.ErrInvalid, "county is missing: /api/v1/app/runs?county=ID")
	}
	rows, err := s.store.Pool.Query(c.Request().Context(), `SELECT r.id, r.at, r.created_at, coalesce(u.username, ''), r.params,
			(SELECT count(*) FROM proposals p WHERE p.run_id = r.id),
			(SELECT count(*) FROM proposals p WHERE p.run_id = r.id AND p.status = 'proposed')
		FROM proposal_runs r LEFT JOIN users u ON u.id = r.created_by
		WHERE r.county_id = $1 ORDER BY r.id DESC LIMIT 20`, county)
	if err != nil {
		return fmt.Errorf("app runs: %w", err)
	}
	defer rows.Close()
	type run struct {
		ID        int64           `json:"id"`
		At        time.Time       `json:"at"`
		CreatedAt time.Time       `json:"created_at"`
		CreatedBy string          `json:"created_by"`
		Params    json.RawMessage `json:"params"`
		Proposals int             `json:"proposals"`
		Open      int             `json:"open"`
	}
	out := []run{}
	for rows.Next() {
		var r run
		if err := rows.Scan(&r.ID, &r.At, &r.CreatedAt, &r.CreatedBy, &r.Params, &r.Proposals, &r.Open); err != nil {
			return fmt.Errorf("app runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("app runs: %w", err)
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"runs": out})
}

// appProposalBarriers answers the barriers on a proposal's boundary as a
// FeatureCollection (kind, class, name, shared length), to highlight them.
func (s *Server) appProposalBarriers(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var fc []byte
	err = s.store.Pool.QueryRow(c.Request().Context(), `WITH p AS (SELECT boundary_barriers bb FROM proposals WHERE id = $1),
		refs AS (SELECT (r->>'id')::bigint AS id, (r->>'shared_length_m')::float8 AS len FROM p, jsonb_array_elements(p.bb) r)
		SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
			'type', 'Feature', 'id', b.id, 'geometry', ST_AsGeoJSON(b.geom, 6)::json,
			'properties', json_build_object('kind', b.kind, 'class', b.road_class, 'name', b.name, 'shared_length_m', refs.len))), '[]'))::text
		FROM refs JOIN barriers b ON b.id = refs.id`, id).Scan(&fc)
	if err != nil {
		return fmt.Errorf("barriers of proposal %d: %w", id, err)
	}
	var n int
	if err := s.store.Pool.QueryRow(c.Request().Context(), `SELECT count(*) FROM proposals WHERE id = $1`, id).Scan(&n); err != nil {
		return fmt.Errorf("barriers of proposal %d: %w", id, err)
	}
	if n == 0 {
		return zoning.Errorf(zoning.ErrNotFound, "proposal %d not found", id)
	}
	noStore(c)
	return c.Blob(http.StatusOK, "application/geo+json", fc)
}

// appBuildingSQL selects a building with its address, population, units and
// footprint as a GeoJSON feature (id = building id).
const appBuildingSQL = `SELECT json_build_object('type', 'Feature', 'id', b.id,
		'geometry', ST_AsGeoJSON(b.geom, 6)::json,
		'properties', json_build_object('id', b.id, 'name', b.name, 'kind', b.kind,
			'address', concat_ws(' ', nullif(b.addr_street, ''), nullif(b.addr_compound, ''), nullif(b.addr_number || '号楼', '号楼')),
			'compound', b.addr_compound, 'number', b.addr_number, 'population', b.population,
			'units', (SELECT count(*) FROM units u WHERE u.building_id = b.id), 'county_id', b.county_id,
			'center', json_build_array(round(ST_X(ST_PointOnSurface(b.geom))::numeric, 6), round(ST_Y(ST_PointOnSurface(b.geom))::numeric, 6))))::text
	FROM buildings b`

// appBuilding answers one building as a GeoJSON feature.
func (s *Server) appBuilding(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var f string
	err = s.store.Pool.QueryRow(c.Request().Context(), appBuildingSQL+` WHERE b.id = $1`, id).Scan(&f)
	if err != nil {
		if strings.Contains(err.Error(), "no rows") {
			return zoning.Errorf(zoning.ErrNotFound, "building %d not found", id)
		}
		return fmt.Errorf("building %d: %w", id, err)
	}
	noStore(c)
	return c.Blob(http.StatusOK, "application/geo+json", []byte(f))
}

// appBuildings answers buildings by id (?ids=1,2,3; at most 5000) as a
// FeatureCollection: the diff view draws the added and removed ones.
func (s *Server) appBuildings(c echo.Context) error {
	raw := strings.TrimSpace(c.QueryParam("ids"))
	if raw == "" {
		return zoning.Errorf(zoning.ErrInvalid, "ids is missing: /api/v1/app/buildings?ids=1,2,3")
	}
	parts := strings.Split(raw, ",")
	if len(parts) > maxAppBuildingIDs {
		return zoning.Errorf(zoning.ErrTooLarge, "%d ids: at most %d", len(parts), maxAppBuildingIDs)
	}
	ids := make([]int64, 0, len(parts))
	for _, p := range parts {
		id, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if err != nil || id <= 0 {
			return zoning.Errorf(zoning.ErrInvalid, "ids: %q is not a positive integer", p)
		}
		ids = append(ids, id)
	}
	rows, err := s.store.Pool.Query(c.Request().Context(), appBuildingSQL+` WHERE b.id = ANY ($1::bigint[]) ORDER BY b.id`, ids)
	if err != nil {
		return fmt.Errorf("app buildings: %w", err)
	}
	defer rows.Close()
	feats := []json.RawMessage{}
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return fmt.Errorf("app buildings: %w", err)
		}
		feats = append(feats, json.RawMessage(f))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("app buildings: %w", err)
	}
	noStore(c)
	c.Response().Header().Set(echo.HeaderContentType, "application/geo+json")
	return c.JSON(http.StatusOK, map[string]any{"type": "FeatureCollection", "features": feats})
}

// appSearch finds buildings by address or name (?q=, ?county= optional):
// every word must occur in the building's street, compound, number or name.
func (s *Server) appSearch(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("q"))
	if q == "" {
		return zoning.Errorf(zoning.ErrInvalid, "q is missing: what address do you look for?")
	}
	if len(q) > maxSearchQuery {
		return zoning.Errorf(zoning.ErrInvalid, "q is longer than %d bytes", maxSearchQuery)
	}
	county, err := queryInt(c, "county", 0)
	if err != nil {
		return err
	}
	// "城建花园73号楼" and "城建花园 73" should both find building 73: split
	// letters from digits, drop the building suffix, and match each word.
	norm := strings.NewReplacer("号楼", " ", "号", " ", "栋", " ", "幢", " ").Replace(q)
	var words []string
	for _, w := range strings.Fields(norm) {
		words = append(words, splitDigits(w)...)
	}
	if len(words) == 0 {
		return zoning.Errorf(zoning.ErrInvalid, "q %q has no word to search for", q)
	}
	rows, err := s.store.Pool.Query(c.Request().Context(), appBuildingSQL+`
		WHERE ($1 = 0 OR b.county_id = $1) AND NOT EXISTS (
			SELECT 1 FROM unnest($2::text[]) w
			WHERE NOT (concat_ws(' ', b.addr_street, b.addr_compound, b.name) ILIKE '%' || w || '%' OR b.addr_number = w))
		ORDER BY b.addr_compound, length(b.addr_number), b.addr_number, b.id LIMIT $3`, county, words, maxSearchResults)
	if err != nil {
		return fmt.Errorf("app search: %w", err)
	}
	defer rows.Close()
	feats := []json.RawMessage{}
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return fmt.Errorf("app search: %w", err)
		}
		feats = append(feats, json.RawMessage(f))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("app search: %w", err)
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"type": "FeatureCollection", "features": feats})
}

// splitDigits cuts a word where it changes between digits and other
// characters: "花园73" -> "花园", "73".
func splitDigits(w string) []string {
	var out []string
	var cur []rune
	digit := func(r rune) bool { return r >= '0' && r <= '9' }
	for i, r := range []rune(w) {
		if i > 0 && digit(r) != digit(cur[len(cur)-1]) {
			out = append(out, string(cur))
			cur = cur[:0]
		}
		cur = append(cur, r)
	}
	if len(cur) > 0 {
		out = append(out, string(cur))
	}
	// Escape LIKE wildcards: a word is matched literally.
	for i, s := range out {
		out[i] = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
	}
	return out
}

// appNoticePreview answers the notices publishing a county (?county=)
// would write now, each with its zh/en text, its CAP 1.2 message and the
// Atom entry of the feed; nothing is written.
func (s *Server) appNoticePreview(c echo.Context) error {
	county, err := queryInt(c, "county", 0)
	if err != nil {
		return err
	}
	if county == 0 {
		return zoning.Errorf(zoning.ErrInvalid, "county is missing: /api/v1/app/notice-preview?county=ID")
	}
	base := s.linkBase(c)
	ns := postgis.Notices{S: s.store, Sender: s.cfg.Public.CAPSender, BaseURL: base}
	list, err := ns.PreviewDocuments(c.Request().Context(), zoning.PublishRequest{CountyID: county})
	if zoning.Kind(err) == zoning.ErrConflict {
		list, err = nil, nil // nothing pending
	}
	if err != nil {
		return err
	}
	type preview struct {
		postgis.NoticePreview
		Atom string `json:"atom"`
	}
	out := []preview{}
	for _, n := range list {
		title := n.TitleZh + " / " + n.TitleEn
		if n.Status != zoning.NoticeActual {
			title = "[" + zoning.CAPStatus(n.Status) + "] " + title
		}
		f := zoning.AtomFeed{ID: "urn:riskzone:notices", Title: "风险区域通告 / Risk zone notices", Updated: n.PublishedAt,
			SelfURL: base + "/notices.atom", HTMLURL: base + "/notices", Author: "riskzone", Lang: "zh-CN",
			Entries: []zoning.AtomEntry{{
				ID: "urn:riskzone:notice:" + n.CAPIdentifier, Title: title,
				Summary: fmt.Sprintf("%s (%s) — CAP %s", n.County, n.Kind, n.CAPMsgType), Content: n.BodyZh + "\n\n" + n.BodyEn,
				Published: n.PublishedAt, Updated: n.PublishedAt, HTMLURL: fmt.Sprintf("%s/notices/%d", base, n.ID),
				CAPURL: fmt.Sprintf("%s/notices/%d.cap", base, n.ID), Category: n.Kind,
			}}}
		doc, err := f.Marshal()
		if err != nil {
			return err
		}
		out = append(out, preview{NoticePreview: n, Atom: string(doc)})
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"county_id": county, "notices": out})
}
