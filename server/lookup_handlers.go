package server

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// lookupAnswer is the answer of GET /api/v1/public/lookup.
type lookupAnswer struct {
	Lon          *float64       `json:"lon,omitempty"`
	Lat          *float64       `json:"lat,omitempty"`
	Query        string         `json:"q,omitempty"`
	Since        string         `json:"since,omitempty"`
	InZone       bool           `json:"in_zone"`
	Zones        []lookupZone   `json:"zones"`
	County       *lookupCounty  `json:"county"`
	Past         []pastZone     `json:"past,omitempty"`
	WasInZone    *bool          `json:"was_in_zone,omitempty"`
	Matches      []addressMatch `json:"matches,omitempty"`
	IndexVersion int64          `json:"index_version"`
}

// lookupQuery is a parsed lookup request.
type lookupQuery struct {
	hasPoint bool
	pt       [2]float64
	q        string
	since    time.Time // zero: no history asked
	days     int
}

func parseLookup(c echo.Context, now time.Time) (lookupQuery, error) {
	return parseLookupQuery(c.QueryParam, now)
}

// parseLookupQuery reads a lookup from its query parameters (param answers
// the first value of a name, "" when absent): the routes and the lookup
// listener (lookup_listener.go) share it.
func parseLookupQuery(param func(string) string, now time.Time) (lookupQuery, error) {
	var lq lookupQuery
	lonS, latS := param("lon"), param("lat")
	if ll := strings.TrimSpace(param("ll")); ll != "" && lonS == "" && latS == "" {
		a, b, ok := strings.Cut(strings.NewReplacer("，", ",", " ", ",").Replace(ll), ",")
		if !ok {
			return lq, zoning.Errorf(zoning.ErrInvalid, "ll %q: want longitude,latitude", ll)
		}
		lonS, latS = strings.TrimSpace(a), strings.TrimSpace(b)
	}
	lq.q = strings.TrimSpace(param("q"))
	if len(lq.q) > 200 {
		return lq, zoning.Errorf(zoning.ErrInvalid, "q is longer than 200 bytes")
	}
	switch {
	case lonS != "" || latS != "":
		lon, err1 := strconv.ParseFloat(lonS, 64)
		lat, err2 := strconv.ParseFloat(latS, 64)
		if err1 != nil || err2 != nil || !lonLatOK(lon, lat) {
			return lq, zoning.Errorf(zoning.ErrInvalid, "lon=%q lat=%q: want a longitude in [-180, 180] and a latitude in [-90, 90]", lonS, latS)
		}
		lq.hasPoint, lq.pt = true, [2]float64{lon, lat}
	case lq.q == "":
		return lq, zoning.Errorf(zoning.ErrInvalid, "give lon and lat, or q (an address such as 城建花园小区73号楼二单元)")
	}
	if d := param("days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > maxLookupDays {
			return lq, zoning.Errorf(zoning.ErrInvalid, "days=%q: want 1 to %d", d, maxLookupDays)
		}
		lq.days, lq.since = n, now.AddDate(0, 0, -n)
	}
	if s := param("since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return lq, zoning.Errorf(zoning.ErrInvalid, "since=%q: want an RFC 3339 time, e.g. 2022-11-20T00:00:00+08:00", s)
		}
		if t.After(now) || now.Sub(t) > maxLookupDays*24*time.Hour {
			return lq, zoning.Errorf(zoning.ErrInvalid, "since=%q: want a time in the last %d days", s, maxLookupDays)
		}
		lq.since = t
	}
	return lq, nil
}

// answer resolves a lookup against the index alone: zones, counties,
// timeline and the address book; the database is not asked.
func (ix *lookupIndex) answer(lq lookupQuery, now time.Time) lookupAnswer {
	a := lookupAnswer{IndexVersion: ix.version, Zones: []lookupZone{}}
	if !lq.since.IsZero() {
		a.Since = lq.since.In(zoning.ChinaTime()).Format(time.RFC3339)
	}
	if lq.hasPoint {
		lon, lat := lq.pt[0], lq.pt[1]
		a.Lon, a.Lat = &lon, &lat
		if z := ix.zonesAt(lq.pt); z != nil {
			a.Zones = z
		}
		a.InZone = len(a.Zones) > 0
		a.County = ix.countyAt(lq.pt)
		if !lq.since.IsZero() {
			a.Past = ix.pastAt(lq.pt, lq.since, now)
			was := len(a.Past) > 0
			a.WasInZone = &was
		}
		return a
	}
	a.Query = lq.q
	pa := parseAddress(lq.q)
	nq := normalizeCompound(lq.q)
	a.Matches = ix.indexAddress(pa, nq)
	if len(a.Matches) == 0 && ix.buildings != nil {
		// Not a zoned building: find it in the address book, then its zones.
		for _, b := range ix.buildings.find(pa, nq) {
			lon, lat := b.lon, b.lat
			m := addressMatch{Address: ix.buildings.label(b), BuildingID: b.id, Lon: &lon, Lat: &lat, Zones: []lookupZone{}}
			pt := [2]float64{lon, lat}
			if z := ix.zonesAt(pt); z != nil {
				m.Zones, m.InZone = z, true
			}
			m.County = ix.countyAt(pt)
			a.Matches = append(a.Matches, m)
		}
	}
	for i := range a.Matches {
		m := &a.Matches[i]
		if m.County == nil || m.Lon == nil {
			continue
		}
		if !lq.since.IsZero() {
			m.Past = ix.pastAt([2]float64{*m.Lon, *m.Lat}, lq.since, now)
		}
	}
	for _, m := range a.Matches {
		if m.InZone {
			a.InZone = true
			a.Zones = append(a.Zones, m.Zones...)
		}
	}
	if a.Matches == nil {
		a.Matches = []addressMatch{}
	}
	return a
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
	return writeLookup(c, ix.answer(lq, now))
}

// lookupResult is one place on the lookup page.
type lookupResult struct {
	Place       string
	Zones       []lookupZone
	County      *lookupCounty
	CountyZoned bool
	Past        []pastZone
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
	d.Days = lq.days
	ctx := c.Request().Context()
	ix, err := p.currentIndex(ctx)
	if err != nil {
		return err
	}
	a := ix.answer(lq, now)
	if lq.hasPoint {
		r := lookupResult{Place: fmt.Sprintf("%.6f, %.6f", lq.pt[0], lq.pt[1]), Zones: a.Zones, County: a.County, Past: a.Past}
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
