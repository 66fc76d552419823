package server

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/zoning"
)

// Feeds (SPEC §5 "Notices out"): the Atom feed of notices and each
// notice's CAP 1.2 message, served exactly as stored at publication.

// feedSize bounds the Atom feed.
const feedSize = 100

// atomFeed is /notices.atom (RFC 4287): the notices of every county's open
// CAP chain and of the last 30 days, newest first; each entry links its
// page and its CAP message.
func (p *publicSite) atomFeed(c echo.Context) error {
	ns := p.notices(c)
	list, err := ns.Feed(c.Request().Context(), feedSize)
	if err != nil {
		return err
	}
	base := p.baseURL(c)
	f := zoning.AtomFeed{
		ID:       "urn:riskzone:notices",
		Title:    "风险区域通告 / Risk zone notices",
		Subtitle: "Notices of epidemic risk zones, each with its OASIS CAP 1.2 message",
		Updated:  time.Unix(0, 0).UTC(),
		SelfURL:  base + "/notices.atom",
		HTMLURL:  base + "/notices",
		Author:   "riskzone",
		Lang:     "zh-CN",
	}
	for _, n := range list {
		if n.PublishedAt.After(f.Updated) {
			f.Updated = n.PublishedAt
		}
		title := n.TitleZh + " / " + n.TitleEn
		if n.Status != zoning.NoticeActual {
			title = "[" + zoning.CAPStatus(n.Status) + "] " + title
		}
		f.Entries = append(f.Entries, zoning.AtomEntry{
			ID:        "urn:riskzone:notice:" + n.CAPIdentifier,
			Title:     title,
			Summary:   fmt.Sprintf("%s (%s) — CAP %s", n.County, n.Kind, n.CAPMsgType),
			Content:   n.BodyZh + "\n\n" + n.BodyEn,
			Published: n.PublishedAt,
			Updated:   n.PublishedAt,
			HTMLURL:   fmt.Sprintf("%s/notices/%d", base, n.ID),
			CAPURL:    fmt.Sprintf("%s/notices/%d.cap", base, n.ID),
			Category:  n.Kind,
		})
	}
	doc, err := f.Marshal()
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=60")
	c.Response().Header().Set("X-Content-Type-Options", "nosniff")
	return c.Blob(http.StatusOK, "application/atom+xml; charset=utf-8", doc)
}

// capFile is /notices/{id}.cap: the CAP message as published, byte for
// byte; it never changes, so it is cacheable for ever.
func (p *publicSite) capFile(c echo.Context, raw string) error {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return zoning.Errorf(zoning.ErrNotFound, "notice %q not found", raw)
	}
	doc, at, err := p.notices(c).CAPXML(c.Request().Context(), id)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	etag := fmt.Sprintf(`"cap-%d"`, id)
	h.Set("ETag", etag)
	h.Set(echo.HeaderCacheControl, "public, max-age=31536000, immutable")
	h.Set(echo.HeaderLastModified, at.UTC().Format(http.TimeFormat))
	h.Set("X-Content-Type-Options", "nosniff")
	if c.Request().Header.Get("If-None-Match") == etag {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, "application/cap+xml; charset=utf-8", []byte(doc))
}

// noticeEntry is a notice of the catch-up list with its page and CAP file.
type noticeEntry struct {
	zoning.Notice
	Links map[string]string `json:"links"`
}

// noticesSinceAPI is GET /api/v1/public/notices?since_id=N[&county=C][&limit=L]:
// the notices after notice N, oldest first (at most L, default 50, at most
// postgis.MaxNoticesPage), each with its CAP identifier, message type and
// links; next_since_id continues the list, more says whether it should. An
// agency back from an outage asks with the last notice id it has and pages
// until more is false. Notices are public data: anyone may ask.
func (p *publicSite) noticesSinceAPI(c echo.Context) error {
	raw := c.QueryParam("since_id")
	if raw == "" {
		return zoning.Errorf(zoning.ErrInvalid, "since_id is missing: /api/v1/public/notices?since_id=N, N the last notice id you have (0 for all)")
	}
	since, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || since < 0 {
		return zoning.Errorf(zoning.ErrInvalid, "since_id=%q: want a notice id (a non-negative integer)", raw)
	}
	county, err := queryInt(c, "county", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", 50)
	if err != nil {
		return err
	}
	list, more, err := p.notices(c).NoticesSince(c.Request().Context(), county, since, int(limit))
	if err != nil {
		return err
	}
	base := p.baseURL(c)
	out := make([]noticeEntry, len(list))
	next := since
	for i, n := range list {
		out[i] = noticeEntry{Notice: n, Links: map[string]string{
			"html": fmt.Sprintf("%s/notices/%d", base, n.ID), "cap": fmt.Sprintf("%s/notices/%d.cap", base, n.ID)}}
		next = n.ID
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=10")
	return c.JSON(http.StatusOK, map[string]any{"since_id": since, "notices": out, "next_since_id": next, "more": more})
}
