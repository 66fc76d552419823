package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// ogcItemParams are the query parameters /items accepts; any other is a
// 400 (OGC API - Features /req/core/query-param-unknown).
var ogcItemParams = map[string]bool{
	"limit": true, "bbox": true, "bbox-crs": true, "datetime": true, "crs": true, "cursor": true, "f": true,
	"county": true, "level": true, "status": true,
}

// itemsRequest is a parsed /items request.
type itemsRequest struct {
	coll postgis.Collection
	q    postgis.ExportQuery
	crs  crsInfo
	html bool
}

// parseItems reads and checks every parameter of /items; bad input is a
// 400 naming the parameter.
func (o *ogcAPI) parseItems(c echo.Context, coll postgis.Collection) (itemsRequest, error) {
	r := itemsRequest{coll: coll}
	qp := c.QueryParams()
	for name, vs := range qp {
		if !ogcItemParams[name] {
			return r, zoning.Errorf(zoning.ErrInvalid, "unknown query parameter %q: /items takes limit, bbox, bbox-crs, datetime, crs, cursor, f, county, level, status", name)
		}
		if len(vs) > 1 {
			return r, zoning.Errorf(zoning.ErrInvalid, "query parameter %q is given %d times", name, len(vs))
		}
	}
	var err error
	if r.html, err = wantsHTML(c); err != nil {
		return r, err
	}
	if r.q.Limit, err = parseLimit(qp.Get("limit")); err != nil {
		return r, err
	}
	if r.crs, err = parseCRS("crs", qp.Get("crs")); err != nil {
		return r, err
	}
	r.q.CRS = r.crs.CRS
	bboxCRS, err := parseCRS("bbox-crs", qp.Get("bbox-crs"))
	if err != nil {
		return r, err
	}
	if qp.Get("bbox-crs") != "" && qp.Get("bbox") == "" {
		return r, zoning.Errorf(zoning.ErrInvalid, "bbox-crs is given without bbox")
	}
	if r.q.BBox, err = parseBBox(qp.Get("bbox"), bboxCRS); err != nil {
		return r, err
	}
	span, err := parseDatetime(qp.Get("datetime"))
	if err != nil {
		return r, err
	}
	// A timeless collection (buildings, barriers) ignores datetime.
	if span != nil && coll.Temporal {
		r.q.Timed, r.q.From, r.q.To = true, span.From, span.To
	}
	if err := filterParams(c, &r.q); err != nil {
		return r, err
	}
	if cur := qp.Get("cursor"); cur != "" {
		before, k, err := decodeCursor(cur)
		if err != nil {
			return r, err
		}
		if before {
			r.q.Before = &k
		} else {
			r.q.After = &k
		}
	}
	return r, nil
}

// filterParams reads county, level and status (zones).
func filterParams(c echo.Context, q *postgis.ExportQuery) error {
	county, err := queryInt(c, "county", 0)
	if err != nil {
		return err
	}
	q.County = county
	if lv := c.QueryParam("level"); lv != "" {
		if !levelPattern.MatchString(lv) {
			return zoning.Errorf(zoning.ErrInvalid, "level %q: want a level code such as high or low", lv)
		}
		q.Level = lv
	}
	switch st := c.QueryParam("status"); st {
	case "", "active", "lifted", "superseded", "all":
		q.Status = st
	default:
		return zoning.Errorf(zoning.ErrInvalid, "status %q: want active, lifted, superseded or all", st)
	}
	return nil
}

// pageURL is the request's URL with cursor replaced (every other parameter
// kept), absolute.
func (o *ogcAPI) pageURL(c echo.Context, path string, cursor string, f string) string {
	q := c.Request().URL.Query()
	q.Del("cursor")
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if f != "" {
		q.Set("f", f)
	}
	u := o.base(c) + path
	if enc := q.Encode(); enc != "" {
		u += "?" + enc
	}
	return u
}

func (o *ogcAPI) items(c echo.Context) error {
	coll, err := o.visible(c, c.Param("id"))
	if err != nil {
		return err
	}
	r, err := o.parseItems(c, coll)
	if err != nil {
		return err
	}
	r.q.Count, r.q.Links = true, true
	path := "/collections/" + coll.ID + "/items"
	if r.html {
		return o.itemsHTML(c, r, path)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, mimeGeoJSON)
	h.Set("Content-Crs", "<"+r.crs.URI+">")
	cacheFor(c, coll.Restricted)
	w := bufio.NewWriterSize(c.Response(), 64<<10)
	n := 0
	start := func(matched int64) error {
		c.Response().WriteHeader(http.StatusOK)
		_, err := fmt.Fprintf(w, `{"type":"FeatureCollection","numberMatched":%d,"features":[`, matched)
		return err
	}
	info, err := postgis.Export{S: o.s.streamStore(c)}.Stream(c.Request().Context(), coll.ID, r.q, start, o.featureList(c, w, coll, streamItems, &n))
	if err != nil {
		return o.streamFailed(c, err)
	}
	links := []ogcLink{
		{Href: o.pageURL(c, path, c.QueryParam("cursor"), "json"), Rel: "self", Type: mimeGeoJSON, Title: "this page"},
		{Href: o.pageURL(c, path, c.QueryParam("cursor"), "html"), Rel: "alternate", Type: "text/html", Title: "this page as HTML"},
		{Href: o.base(c) + "/collections/" + coll.ID, Rel: "collection", Type: "application/json", Title: coll.Title},
	}
	if info.HasNext {
		links = append(links, ogcLink{Href: o.pageURL(c, path, encodeCursor(false, info.Last), ""), Rel: "next", Type: mimeGeoJSON, Title: "next page"})
	}
	if info.HasPrev {
		links = append(links, ogcLink{Href: o.pageURL(c, path, encodeCursor(true, info.First), ""), Rel: "prev", Type: mimeGeoJSON, Title: "previous page"})
	} else if info.Returned == 0 && c.QueryParam("cursor") != "" {
		links = append(links, ogcLink{Href: o.pageURL(c, path, "", ""), Rel: "prev", Type: mimeGeoJSON, Title: "first page"})
	}
	lb, err := json.Marshal(links)
	if err != nil {
		return o.streamFailed(c, fmt.Errorf("encode links: %w", err))
	}
	fmt.Fprintf(w, `],"numberReturned":%d,"timeStamp":%q,"links":%s}`, info.Returned, time.Now().UTC().Format(time.RFC3339), lb)
	if err := w.Flush(); err != nil {
		return o.streamFailed(c, err)
	}
	return nil
}

// streamFailed handles an error of a streamed answer: before the first
// byte it is an ordinary error answer; after, the connection is cut so the
// client sees a broken transfer, never a short document that looks whole.
func (o *ogcAPI) streamFailed(c echo.Context, err error) error {
	if !c.Response().Committed {
		h := c.Response().Header()
		h.Del("Content-Crs")
		h.Del(echo.HeaderContentType)
		h.Del(echo.HeaderContentDisposition)
		return err
	}
	if c.Request().Context().Err() == nil {
		o.s.log.Error("export stream failed", "path", c.Path(), "err", err)
	}
	panic(http.ErrAbortHandler)
}

// writeFeature writes one GeoJSON feature; extra members (e.g. links) are
// appended raw.
// featureList writes each feature of a stream as an element of a JSON
// array, counting them in n; once the first is out, the stream of kind is
// held (streams.go, for the tests that hold slow readers).
func (o *ogcAPI) featureList(c echo.Context, w *bufio.Writer, coll postgis.Collection, kind string, n *int) func(postgis.Feature) error {
	return func(f postgis.Feature) error {
		if *n > 0 {
			w.WriteByte(',')
		}
		*n++
		if err := writeFeature(w, coll, f, nil); err != nil {
			return err
		}
		if *n == 1 {
			o.s.streamHeld(c, kind, func() { w.Flush() })
		}
		return nil
	}
}

func writeFeature(w *bufio.Writer, coll postgis.Collection, f postgis.Feature, extra []byte) error {
	w.WriteString(`{"type":"Feature","id":`)
	if coll.StringID {
		w.WriteByte('"')
		w.Write(f.ID)
		w.WriteByte('"')
	} else {
		w.Write(f.ID)
	}
	w.WriteString(`,"geometry":`)
	if f.Geometry == nil {
		w.WriteString("null")
	} else {
		w.Write(f.Geometry)
	}
	w.WriteString(`,"properties":`)
	w.Write(f.Properties)
	w.Write(extra)
	_, err := w.WriteString("}")
	return err
}

func (o *ogcAPI) item(c echo.Context) error {
	coll, err := o.visible(c, c.Param("id"))
	if err != nil {
		return err
	}
	for name := range c.QueryParams() {
		if name != "f" && name != "crs" {
			return zoning.Errorf(zoning.ErrInvalid, "unknown query parameter %q: a feature takes f and crs", name)
		}
	}
	html, err := wantsHTML(c)
	if err != nil {
		return err
	}
	crs, err := parseCRS("crs", c.QueryParam("crs"))
	if err != nil {
		return err
	}
	fid := c.Param("fid")
	key, err := parseFID(coll, fid)
	if err != nil {
		return err
	}
	q := postgis.ExportQuery{FID: &key, CRS: crs.CRS, Status: "all"}
	var buf strings.Builder
	bw := bufio.NewWriter(&buf)
	b := o.base(c) + "/collections/" + coll.ID
	self := b + "/items/" + url.PathEscape(fid)
	links, _ := json.Marshal([]ogcLink{
		{Href: self + "?f=json", Rel: "self", Type: mimeGeoJSON, Title: "this feature"},
		{Href: self + "?f=html", Rel: "alternate", Type: "text/html", Title: "this feature as HTML"},
		{Href: b, Rel: "collection", Type: "application/json", Title: coll.Title},
	})
	info, err := postgis.Export{S: o.s.store}.Stream(c.Request().Context(), coll.ID, q, nil, func(f postgis.Feature) error {
		return writeFeature(bw, coll, f, append([]byte(`,"links":`), links...))
	})
	if err != nil {
		return err
	}
	if info.Returned == 0 {
		return zoning.Errorf(zoning.ErrNotFound, "collection %s has no feature %q", coll.ID, fid)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	cacheFor(c, coll.Restricted)
	if html {
		var doc map[string]any
		if err := json.Unmarshal([]byte(buf.String()), &doc); err != nil {
			return fmt.Errorf("re-read feature: %w", err)
		}
		return o.renderHTML(c, coll.Title+" "+fid, doc)
	}
	c.Response().Header().Set("Content-Crs", "<"+crs.URI+">")
	return c.Blob(http.StatusOK, mimeGeoJSON, []byte(buf.String()))
}

// itemsHTML renders a page of items as an HTML table (at most limit rows).
func (o *ogcAPI) itemsHTML(c echo.Context, r itemsRequest, path string) error {
	var feats []map[string]any
	info, err := postgis.Export{S: o.s.streamStore(c)}.Stream(c.Request().Context(), r.coll.ID, r.q, nil, func(f postgis.Feature) error {
		var props map[string]any
		if err := json.Unmarshal(f.Properties, &props); err != nil {
			return fmt.Errorf("re-read properties: %w", err)
		}
		id := string(f.ID)
		props["id"] = id
		feats = append(feats, props)
		return nil
	})
	if err != nil {
		return err
	}
	var links []ogcLink
	if info.HasPrev {
		links = append(links, ogcLink{Href: o.pageURL(c, path, encodeCursor(true, info.First), "html"), Rel: "prev"})
	}
	if info.HasNext {
		links = append(links, ogcLink{Href: o.pageURL(c, path, encodeCursor(false, info.Last), "html"), Rel: "next"})
	}
	links = append(links, ogcLink{Href: o.pageURL(c, path, c.QueryParam("cursor"), "json"), Rel: "alternate", Type: mimeGeoJSON})
	cacheFor(c, r.coll.Restricted)
	return o.renderItemsHTML(c, r.coll, info.Matched, feats, links)
}
