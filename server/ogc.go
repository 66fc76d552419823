package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// OGC API - Features (Part 1 Core, GeoJSON, HTML, OpenAPI 3.0; Part 2 CRS
// by reference) under /ogc, for GDAL's OAPIF driver, QGIS and any other
// client (docs/ogc.md). Collections come from postgis.Collections; the
// restricted ones (cases, traces) exist only for experts and admins: to
// anyone else they are not listed and answer 404. Items stream from the
// database (postgis.Export.Stream) and pages are cut by an opaque keyset
// cursor.

// Media types of the OGC answers.
const (
	mimeGeoJSON    = "application/geo+json"
	mimeOpenAPI    = "application/vnd.oai.openapi+json;version=3.0"
	mimeSchemaJSON = "application/schema+json"
)

// ogcConformance lists only the classes the service really implements.
var ogcConformance = []string{
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
	"http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
}

// ogcItemParams are the query parameters /items accepts; any other is a
// 400 (OGC API - Features /req/core/query-param-unknown).
var ogcItemParams = map[string]bool{
	"limit": true, "bbox": true, "bbox-crs": true, "datetime": true, "crs": true, "cursor": true, "f": true,
	"county": true, "level": true, "status": true,
}

var levelPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// ogcLink is a link of an OGC document.
type ogcLink struct {
	Href  string `json:"href"`
	Rel   string `json:"rel"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

type ogcAPI struct {
	s *Server
}

// ogcRoutes registers /ogc (anonymous; restricted collections need their
// readers' roles: cases and traces experts, zones-current agencies and
// experts).
func (s *Server) ogcRoutes() {
	o := &ogcAPI{s: s}
	g := s.echo.Group("/ogc")
	g.GET("", o.landing)
	g.GET("/", o.landing)
	g.GET("/conformance", o.conformance)
	g.GET("/api", o.openAPI)
	g.GET("/api.html", o.apiDoc)
	g.GET("/collections", o.collections)
	g.GET("/collections/:id", o.collection)
	g.GET("/collections/:id/schema", o.schema)
	g.GET("/collections/:id/items", o.items)
	g.GET("/collections/:id/items/:fid", o.item)
	s.exportRoutes()
}

// base is the absolute address of /ogc.
func (o *ogcAPI) base(c echo.Context) string {
	return o.s.linkBase(c) + "/ogc"
}

// wantsHTML negotiates the format: f=json|html wins, else an Accept header
// that asks for text/html and no JSON (a browser).
func wantsHTML(c echo.Context) (bool, error) {
	switch f := c.QueryParam("f"); f {
	case "json", "geojson":
		return false, nil
	case "html":
		return true, nil
	case "":
		a := c.Request().Header.Get("Accept")
		return strings.Contains(a, "text/html") && !strings.Contains(a, "json"), nil
	default:
		return false, zoning.Errorf(zoning.ErrInvalid, "f=%q: want json or html", f)
	}
}

// visible finds a collection the caller may read; others are 404.
func (o *ogcAPI) visible(c echo.Context, id string) (postgis.Collection, error) {
	coll, ok := postgis.CollectionByID(id)
	if !ok || !mayRead(c, coll) {
		return postgis.Collection{}, zoning.Errorf(zoning.ErrNotFound, "no collection %q: see /ogc/collections", id)
	}
	return coll, nil
}

// mayRead: public collections are for everyone, the others for their
// readers (and admins).
func mayRead(c echo.Context, coll postgis.Collection) bool {
	return !coll.Restricted || (len(coll.Readers) > 0 && principal(c).Is(coll.Readers...))
}

func (o *ogcAPI) visibleAll(c echo.Context) []postgis.Collection {
	var out []postgis.Collection
	for _, coll := range postgis.Collections() {
		if mayRead(c, coll) {
			out = append(out, coll)
		}
	}
	return out
}

// cacheFor sets the cache policy: public answers are cacheable briefly;
// anything a signed-in caller reads (restricted collections may be in it)
// is private.
func cacheFor(c echo.Context, restricted bool) {
	// JSON or HTML is chosen by Accept too: caches must key on it.
	c.Response().Header().Add(echo.HeaderVary, "Accept")
	if restricted || principal(c).Authenticated() {
		noStore(c)
		return
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=30")
}

// answer writes a JSON document, or the HTML page of it.
func (o *ogcAPI) answer(c echo.Context, html bool, mime, title string, doc any) error {
	cacheFor(c, false)
	if html {
		return o.renderHTML(c, title, doc)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode %s: %w", title, err)
	}
	return c.Blob(http.StatusOK, mime, b)
}

func (o *ogcAPI) landing(c echo.Context) error {
	html, err := wantsHTML(c)
	if err != nil {
		return err
	}
	b := o.base(c)
	doc := map[string]any{
		"title":       "riskzone OGC API - Features",
		"description": "Published risk zones, their history, notices, buildings and barriers (SPEC §5 Data out)",
		"links": []ogcLink{
			{Href: b + "?f=json", Rel: "self", Type: "application/json", Title: "this document"},
			{Href: b + "?f=html", Rel: "alternate", Type: "text/html", Title: "this document as HTML"},
			{Href: b + "/api", Rel: "service-desc", Type: mimeOpenAPI, Title: "the API definition (OpenAPI 3.0)"},
			{Href: b + "/api.html", Rel: "service-doc", Type: "text/html", Title: "the API documentation"},
			{Href: b + "/conformance", Rel: "conformance", Type: "application/json", Title: "conformance classes"},
			{Href: b + "/collections", Rel: "data", Type: "application/json", Title: "collections"},
			// The same under the OGC link relation URIs, for clients that look for those.
			{Href: b + "/conformance", Rel: "http://www.opengis.net/def/rel/ogc/1.0/conformance", Type: "application/json", Title: "conformance classes"},
			{Href: b + "/collections", Rel: "http://www.opengis.net/def/rel/ogc/1.0/data", Type: "application/json", Title: "collections"},
		},
	}
	return o.answer(c, html, "application/json", "riskzone OGC API - Features", doc)
}

func (o *ogcAPI) conformance(c echo.Context) error {
	html, err := wantsHTML(c)
	if err != nil {
		return err
	}
	return o.answer(c, html, "application/json", "Conformance", map[string]any{"conformsTo": ogcConformance})
}

// collectionDoc describes a collection with its real extent.
func (o *ogcAPI) collectionDoc(ctx context.Context, b string, coll postgis.Collection) (map[string]any, error) {
	// The extent covers every feature the collection can answer (zones of
	// any status: datetime and status reach lifted ones too).
	ext, err := postgis.Export{S: o.s.store}.Extent(ctx, coll.ID, postgis.ExportQuery{Status: "all"})
	if err != nil {
		return nil, err
	}
	cb := b + "/collections/" + coll.ID
	extent := map[string]any{}
	if ext.BBox != nil {
		extent["spatial"] = map[string]any{"bbox": [][4]float64{*ext.BBox}, "crs": crs84URI}
	}
	if coll.Temporal && ext.From != nil {
		var end any
		if ext.To != nil && !ext.OpenEnd {
			end = ext.To.UTC().Format(time.RFC3339)
		}
		extent["temporal"] = map[string]any{
			"interval": [][2]any{{ext.From.UTC().Format(time.RFC3339), end}},
			"trs":      "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
		}
	}
	doc := map[string]any{
		"id": coll.ID, "title": coll.Title, "description": coll.Description, "itemType": "feature",
		"crs": crsURIs(), "storageCrs": crs84URI,
		"links": []ogcLink{
			{Href: cb + "?f=json", Rel: "self", Type: "application/json", Title: "this collection"},
			{Href: cb + "?f=html", Rel: "alternate", Type: "text/html", Title: "this collection as HTML"},
			{Href: cb + "/items?f=json", Rel: "items", Type: mimeGeoJSON, Title: "the features"},
			{Href: cb + "/items?f=html", Rel: "items", Type: "text/html", Title: "the features as HTML"},
			{Href: cb + "/schema", Rel: "describedby", Type: mimeSchemaJSON, Title: "JSON schema of the feature properties"},
		},
	}
	if len(extent) > 0 {
		doc["extent"] = extent
	}
	return doc, nil
}

func (o *ogcAPI) collections(c echo.Context) error {
	html, err := wantsHTML(c)
	if err != nil {
		return err
	}
	b := o.base(c)
	list := []map[string]any{}
	for _, coll := range o.visibleAll(c) {
		d, err := o.collectionDoc(c.Request().Context(), b, coll)
		if err != nil {
			return err
		}
		list = append(list, d)
	}
	doc := map[string]any{
		"links": []ogcLink{
			{Href: b + "/collections?f=json", Rel: "self", Type: "application/json", Title: "this document"},
			{Href: b + "/collections?f=html", Rel: "alternate", Type: "text/html", Title: "this document as HTML"},
		},
		"collections": list,
		"crs":         crsURIs(),
	}
	return o.answer(c, html, "application/json", "Collections", doc)
}

func (o *ogcAPI) collection(c echo.Context) error {
	html, err := wantsHTML(c)
	if err != nil {
		return err
	}
	coll, err := o.visible(c, c.Param("id"))
	if err != nil {
		return err
	}
	d, err := o.collectionDoc(c.Request().Context(), o.base(c), coll)
	if err != nil {
		return err
	}
	if coll.Restricted {
		noStore(c)
	}
	return o.answer(c, html, "application/json", coll.Title, d)
}

// schema is the JSON Schema of a collection's feature properties
// (describedby).
func (o *ogcAPI) schema(c echo.Context) error {
	coll, err := o.visible(c, c.Param("id"))
	if err != nil {
		return err
	}
	props := map[string]any{}
	var names []string
	for _, p := range coll.Properties {
		names = append(names, p.Name)
		d := map[string]any{"description": p.Description}
		switch p.Type {
		case "array":
			d["type"] = "array"
			d["items"] = map[string]any{"type": p.Items}
		default:
			d["type"] = []string{p.Type, "null"}
		}
		if p.Format != "" {
			d["format"] = p.Format
		}
		props[p.Name] = d
	}
	doc := map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         o.base(c) + "/collections/" + coll.ID + "/schema",
		"title":       coll.Title,
		"description": "Properties of the features of " + coll.ID,
		"type":        "object",
		"properties":  props,
		// Every feature has exactly these properties (null when unknown).
		"required":             names,
		"additionalProperties": false,
	}
	cacheFor(c, coll.Restricted)
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode schema: %w", err)
	}
	return c.Blob(http.StatusOK, mimeSchemaJSON, b)
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
	info, err := postgis.Export{S: o.s.store}.Stream(c.Request().Context(), coll.ID, r.q, start, func(f postgis.Feature) error {
		if n > 0 {
			w.WriteByte(',')
		}
		n++
		return writeFeature(w, coll, f, nil)
	})
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
	info, err := postgis.Export{S: o.s.store}.Stream(c.Request().Context(), r.coll.ID, r.q, nil, func(f postgis.Feature) error {
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
