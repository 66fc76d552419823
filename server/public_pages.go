package server

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// The public pages (SPEC §5 "Public pages"): server-rendered, no login,
// Chinese by default and English with ?lang=en. They read zones through
// public_zone_versions (postgis.Notices) and never touch case data.

// home lists every county's current situation.
func (p *publicSite) home(c echo.Context) error {
	counties, err := p.notices(c).PublicCounties(c.Request().Context(), 0)
	if err != nil {
		return err
	}
	pg := p.newPage(c, "", counties)
	pg.Title = pg.T("home.title")
	return p.render(c, http.StatusOK, "home", pg)
}

// countyData is the county page.
type countyData struct {
	County  zoning.PublicCounty
	Zones   []zoning.PublicZone
	Snippet string
}

// countyPage shows a county's zones with addresses, dates, the map and the
// embed snippet.
func (p *publicSite) countyPage(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return p.pageError(c, err)
	}
	ctx := c.Request().Context()
	ns := p.notices(c)
	counties, err := ns.PublicCounties(ctx, id)
	if err != nil {
		return err
	}
	if len(counties) == 0 {
		return p.pageError(c, zoning.Errorf(zoning.ErrNotFound, "county %d not found", id))
	}
	zones, err := ns.PublicZones(ctx, id, 0)
	if err != nil {
		return err
	}
	d := countyData{County: counties[0], Zones: zones}
	pg := p.newPage(c, "", &d)
	lang := ""
	if pg.En {
		lang = "&lang=en"
	}
	title := counties[0].Name + " 风险区地图"
	if pg.En {
		title = counties[0].NameEn + " risk zone map"
	}
	d.Snippet = fmt.Sprintf(`<iframe src="%s/embed?county=%d%s" title="%s" width="100%%" height="480" style="border:0" loading="lazy"></iframe>`,
		p.baseURL(c), id, lang, html.EscapeString(title))
	pg.Title = pick(pg.En, counties[0].Name, counties[0].NameEn)
	return p.render(c, http.StatusOK, "county", pg)
}

func pick(en bool, zh, enText string) string {
	if en && enText != "" {
		return enText
	}
	return zh
}

// zonePage shows one zone: addresses, measures, since, the earliest lifting
// date with a countdown, and its notices.
func (p *publicSite) zonePage(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return p.pageError(c, err)
	}
	zones, err := p.notices(c).PublicZones(c.Request().Context(), 0, id)
	if err != nil {
		return p.pageError(c, err)
	}
	z := zones[0]
	pg := p.newPage(c, "", z)
	pg.Title = pick(pg.En, z.LevelZh, z.LevelEn) + " · " + z.Name
	return p.render(c, http.StatusOK, "zone", pg)
}

type noticesData struct {
	Notices []zoning.NoticeSummary
	Older   string
}

// noticesPage is the notice archive, newest first, with keyset pages.
func (p *publicSite) noticesPage(c echo.Context) error {
	county, err := queryInt(c, "county", 0)
	if err != nil {
		return p.pageError(c, err)
	}
	before, err := queryInt(c, "before", 0)
	if err != nil {
		return p.pageError(c, err)
	}
	const size = 50
	list, err := p.notices(c).List(c.Request().Context(), postgis.NoticeFilter{CountyID: county, Before: before, Limit: size})
	if err != nil {
		return err
	}
	d := noticesData{Notices: list}
	if len(list) == size {
		d.Older = fmt.Sprintf("/notices?before=%d", list[len(list)-1].ID)
		if county > 0 {
			d.Older += fmt.Sprintf("&county=%d", county)
		}
	}
	pg := p.newPage(c, "", d)
	pg.Title = pg.T("notices.title")
	return p.render(c, http.StatusOK, "notices", pg)
}

// noticePage is a notice's permalink, /notices/{id}; /notices/{id}.cap is
// its CAP message.
func (p *publicSite) noticePage(c echo.Context) error {
	raw := c.Param("id")
	if strings.HasSuffix(raw, ".cap") {
		return p.capFile(c, strings.TrimSuffix(raw, ".cap"))
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return p.pageError(c, zoning.Errorf(zoning.ErrNotFound, "notice %q not found", raw))
	}
	n, err := p.notices(c).Get(c.Request().Context(), id)
	if err != nil {
		return p.pageError(c, err)
	}
	pg := p.newPage(c, "", n)
	pg.Title = pick(pg.En, n.TitleZh, n.TitleEn)
	// A notice never changes: cache it long.
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=3600")
	return p.render(c, http.StatusOK, "notice", pg)
}

type embedData struct {
	County zoning.PublicCounty
	High   int
}

// embedPage is the embeddable map of a county, for iframes on news and
// government sites: frame-ancestors from PublicConfig.FrameAncestors.
func (p *publicSite) embedPage(c echo.Context) error {
	id, err := queryInt(c, "county", 0)
	if err != nil {
		return err
	}
	if id == 0 {
		return zoning.Errorf(zoning.ErrInvalid, "county is missing: /embed?county=ID")
	}
	counties, err := p.notices(c).PublicCounties(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if len(counties) == 0 {
		return zoning.Errorf(zoning.ErrNotFound, "county %d not found", id)
	}
	d := embedData{County: counties[0]}
	for _, l := range d.County.Levels {
		d.High += l.Zones
	}
	pg := p.newPage(c, "", d)
	pg.Title = pick(pg.En, d.County.Name+"风险区地图", d.County.NameEn+" risk zone map")
	var buf strings.Builder
	if err := p.tmpl.ExecuteTemplate(&buf, "embed", pg); err != nil {
		return fmt.Errorf("render embed: %w", err)
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", p.s.mapCSP("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "+
		"worker-src 'self' blob:; child-src blob:; connect-src 'self'; base-uri 'self'; form-action 'none'; frame-ancestors "+
		strings.Join(p.cfg.FrameAncestors, " ")))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set(echo.HeaderCacheControl, "public, max-age=60")
	return c.HTML(http.StatusOK, buf.String())
}

// zonesGeoJSON is the public zones of a county (or all) as GeoJSON (RFC
// 7946), for the embed map when the public style has no zone layer.
func (p *publicSite) zonesGeoJSON(c echo.Context) error {
	county, err := queryInt(c, "county", 0)
	if err != nil {
		return err
	}
	zones, err := p.notices(c).PublicZones(c.Request().Context(), county, 0)
	if err != nil {
		return err
	}
	type feature struct {
		Type       string          `json:"type"`
		ID         int64           `json:"id"`
		Geometry   json.RawMessage `json:"geometry"`
		Properties map[string]any  `json:"properties"`
	}
	fc := struct {
		Type     string    `json:"type"`
		Features []feature `json:"features"`
	}{Type: "FeatureCollection", Features: []feature{}}
	for _, z := range zones {
		fc.Features = append(fc.Features, feature{Type: "Feature", ID: z.ZoneID, Geometry: json.RawMessage(z.Geometry),
			Properties: map[string]any{"zone_id": z.ZoneID, "version": z.Version, "county_id": z.CountyID, "name": z.Name,
				"level": z.Level, "level_zh": z.LevelZh, "level_en": z.LevelEn, "earliest_lifting": z.EarliestLifting,
				"since": z.Since}})
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=30")
	c.Response().Header().Set(echo.HeaderContentType, "application/geo+json")
	return json.NewEncoder(c.Response()).Encode(fc)
}

// ---- publishing API (publisher) ----------------------------------------------

// publish publishes the pending changes of a county: 201 with the notices.
func (p *publicSite) publish(c echo.Context) error {
	var req zoning.PublishRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	out, err := p.notices(c).Publish(c.Request().Context(), p.s.auditOrigin(c, req.Reason), req)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "private, no-store")
	return c.JSON(http.StatusCreated, map[string]any{"notices": out})
}

// pending previews what publishing a county would write now.
func (p *publicSite) pending(c echo.Context) error {
	county, err := queryInt(c, "county", 0)
	if err != nil {
		return err
	}
	if county == 0 {
		return zoning.Errorf(zoning.ErrInvalid, "county is missing: /api/v1/notices/pending?county=ID")
	}
	out, err := p.notices(c).Pending(c.Request().Context(), county)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "private, no-store")
	return c.JSON(http.StatusOK, map[string]any{"county_id": county, "notices": out})
}
