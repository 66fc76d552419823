package server

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

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

func (s *Server) appCounties(c echo.Context) error {
	out, err := s.store.AppCounties(c.Request().Context())
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"counties": out})
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
	out, err := s.store.AppProposals(c.Request().Context(), county, run, status)
	if err != nil {
		return err
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
	out, err := s.store.AppRuns(c.Request().Context(), county)
	if err != nil {
		return err
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
	fc, err := s.store.ProposalBarriers(c.Request().Context(), id)
	if err != nil {
		return err
	}
	noStore(c)
	return c.Blob(http.StatusOK, "application/geo+json", fc)
}

// appBuilding answers one building as a GeoJSON feature.
func (s *Server) appBuilding(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	f, err := s.store.AppBuilding(c.Request().Context(), id)
	if err != nil {
		return err
	}
	noStore(c)
	return c.Blob(http.StatusOK, "application/geo+json", f)
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
	feats, err := s.store.AppBuildings(c.Request().Context(), ids)
	if err != nil {
		return err
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
	feats, err := s.store.SearchBuildings(c.Request().Context(), county, words, maxSearchResults)
	if err != nil {
		return err
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
