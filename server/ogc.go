package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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
	// Anonymous items read the public pool under the stream limits
	// (streams.go).
	g.GET("/collections/:id/items", o.items, s.publicStream(streamItems))
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
