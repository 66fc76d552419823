package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/server/lookup"
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// parseLookup reads a lookup from the request's query parameters.
func parseLookup(c echo.Context, now time.Time) (lookup.Query, error) {
	return lookup.ParseQuery(c.QueryParam, now)
}

// lookupAPI is GET /api/v1/public/lookup?lon=&lat= or ?q=address, with
// &days=N or &since=T for the history ("was this place in a zone?").
func (p *publicSite) lookupAPI(c echo.Context) error {
	now := time.Now()
	lq, err := parseLookup(c, now)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ix, err := p.currentIndex(ctx)
	if err != nil {
		return err
	}
	return writeLookup(c, ix.Answer(lq, now))
}

// lookupResult is one place on the lookup page.
type lookupResult struct {
	Place       string
	Zones       []lookup.Zone
	County      *lookup.County
	CountyZoned bool
	Past        []lookup.PastZone
}

type lookupPageData struct {
	Q, LL   string
	Days    int
	Asked   bool
	Error   string
	Results []lookupResult
}

// lookupPage is the HTML form of the lookup: no JavaScript, no location
// permission.
func (p *publicSite) lookupPage(c echo.Context) error {
	d := lookupPageData{Q: c.QueryParam("q"), LL: c.QueryParam("ll")}
	pg := p.newPage(c, "", &d)
	pg.Title = pg.T("lookup.title")
	if c.QueryParam("days") == "" {
		c.QueryParams().Del("days")
	}
	if d.Q == "" && d.LL == "" {
		return p.render(c, http.StatusOK, "lookup", pg)
	}
	d.Asked = true
	now := time.Now()
	lq, err := parseLookup(c, now)
	if err != nil {
		d.Error, d.Asked = zoning.Message(err), false
		return p.render(c, http.StatusBadRequest, "lookup", pg)
	}
	d.Days = lq.Days
	ctx := c.Request().Context()
	ix, err := p.currentIndex(ctx)
	if err != nil {
		return err
	}
	a := ix.Answer(lq, now)
	if lq.HasPoint {
		r := lookupResult{Place: fmt.Sprintf("%.6f, %.6f", lq.Point[0], lq.Point[1]), Zones: a.Zones, County: a.County, Past: a.Past}
		if a.County != nil {
			r.CountyZoned = a.County.Zoned
		}
		d.Results = append(d.Results, r)
	}
	for _, m := range a.Matches {
		r := lookupResult{Place: m.Address, Zones: m.Zones, County: m.County, Past: m.Past}
		if m.County != nil {
			r.CountyZoned = m.County.Zoned
		}
		d.Results = append(d.Results, r)
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "private, no-store")
	return p.render(c, http.StatusOK, "lookup", pg)
}

// changesAPI is GET /api/v1/public/changes?since=T: the zone changes
// published after T, oldest first, from the published version history;
// next_since continues the list.
func (p *publicSite) changesAPI(c echo.Context) error {
	s := c.QueryParam("since")
	if s == "" {
		return zoning.Errorf(zoning.ErrInvalid, "since is missing: /api/v1/public/changes?since=2022-11-20T00:00:00+08:00")
	}
	since, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return zoning.Errorf(zoning.ErrInvalid, "since=%q: want an RFC 3339 time", s)
	}
	limit, err := queryInt(c, "limit", 500)
	if err != nil {
		return err
	}
	if limit < 1 || limit > 5000 {
		return zoning.Errorf(zoning.ErrInvalid, "limit %d: want 1 to 5000", limit)
	}
	changes, err := postgis.Notices{S: p.s.store}.Changes(c.Request().Context(), since, int(limit))
	if err != nil {
		return err
	}
	next := s
	if n := len(changes); n > 0 {
		next = changes[n-1].PublishedAt.Format(time.RFC3339Nano)
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=10")
	return c.JSON(http.StatusOK, map[string]any{"since": s, "changes": changes, "next_since": next, "complete": len(changes) < int(limit)})
}
