package server

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPI is the service-desc: an OpenAPI 3.0 document of /ogc, built from
// the same constants the handlers use (limit default and maximum, CRSs,
// collections visible to the caller).
func (o *ogcAPI) openAPI(c echo.Context) error {
	b, err := json.Marshal(o.openAPIDoc(c))
	if err != nil {
		return fmt.Errorf("encode OpenAPI: %w", err)
	}
	cacheFor(c, false)
	return c.Blob(http.StatusOK, mimeOpenAPI, b)
}

// Security schemes of the document: the OGC API is anonymous; a restricted
// collection is read with an API token (Authorization: Bearer) or the
// session cookie of a signed-in user, by a role that may read it.
const (
	secAPIToken = "apiToken"
	secSession  = "session"
)

// Security requirements of the operations: security [] for anyone; an
// optional login (an empty requirement, or a scheme) where a signed-in
// caller sees more; a scheme where only a login is answered.
var (
	securityPublic   = []map[string][]string{}
	securityOptional = []map[string][]string{{}, {secAPIToken: {}}, {secSession: {}}}
	securityLogin    = []map[string][]string{{secAPIToken: {}}, {secSession: {}}}
)

// openAPISecuritySchemes are the document's components.securitySchemes.
func openAPISecuritySchemes() map[string]any {
	return map[string]any{
		secAPIToken: map[string]any{"type": "http", "scheme": "bearer",
			"description": "an API token (riskzone token add, or the expert app), sent as Authorization: Bearer TOKEN; a bad token is answered 401"},
		secSession: map[string]any{"type": "apiKey", "in": "cookie", "name": sessionCookieName,
			"description": "the session cookie of a signed-in user (POST /api/v1/login)"},
	}
}

func (o *ogcAPI) openAPIDoc(c echo.Context) map[string]any {
	// Public collections share the templated paths (security []); each
	// restricted collection the caller may read has paths of its own that
	// need a login (anyone else is answered 404, as for an unknown id).
	var ids []string
	var restricted []string
	for _, coll := range o.visibleAll(c) {
		if coll.Restricted {
			restricted = append(restricted, coll.ID)
			continue
		}
		ids = append(ids, coll.ID)
	}
	str := map[string]any{"type": "string"}
	fParam := map[string]any{"name": "f", "in": "query", "required": false, "description": "format: json (default) or html",
		"schema": map[string]any{"type": "string", "enum": []string{"json", "html"}}}
	collParam := map[string]any{"name": "collectionId", "in": "path", "required": true, "description": "collection id",
		"schema": map[string]any{"type": "string", "enum": ids}}
	crsParam := map[string]any{"name": "crs", "in": "query", "required": false, "description": "output CRS (default CRS84)",
		"schema": map[string]any{"type": "string", "format": "uri", "enum": crsURIs(), "default": crs84URI}}
	featureParam := map[string]any{"name": "featureId", "in": "path", "required": true, "description": "feature id", "schema": str}
	itemParams := []map[string]any{
		{"name": "limit", "in": "query", "required": false, "style": "form", "explode": false,
			"description": fmt.Sprintf("features per page: default %d, at most %d", ogcLimitDefault, ogcLimitMax),
			"schema":      map[string]any{"type": "integer", "minimum": 1, "maximum": ogcLimitMax, "default": ogcLimitDefault}},
		{"name": "bbox", "in": "query", "required": false, "style": "form", "explode": false,
			"description": "minx,miny,maxx,maxy (4 numbers, or 6 with heights) in bbox-crs (default CRS84); features that intersect it",
			"schema":      map[string]any{"type": "array", "minItems": 4, "maxItems": 6, "items": map[string]any{"type": "number"}}},
		{"name": "bbox-crs", "in": "query", "required": false, "description": "CRS of bbox (default CRS84)",
			"schema": map[string]any{"type": "string", "format": "uri", "enum": crsURIs(), "default": crs84URI}},
		{"name": "datetime", "in": "query", "required": false, "style": "form", "explode": false,
			"description": "an RFC 3339 instant or date, or an interval a/b with .. for an open end: features in force then (ignored by timeless collections)",
			"schema":      str},
		crsParam,
		{"name": "cursor", "in": "query", "required": false, "description": "opaque page position: follow the next and prev links", "schema": str},
		{"name": "county", "in": "query", "required": false, "description": "county (admin area id)", "schema": map[string]any{"type": "integer", "minimum": 0}},
		{"name": "level", "in": "query", "required": false, "description": "zone level code (zones, zone-versions)", "schema": str},
		{"name": "status", "in": "query", "required": false, "description": "zone status (zones: default active)",
			"schema": map[string]any{"type": "string", "enum": []string{"active", "lifted", "superseded", "all"}}},
		fParam,
	}
	errResp := map[string]any{"description": "bad request, or not found: a JSON error body", "content": map[string]any{
		"application/json": map[string]any{"schema": map[string]any{"type": "object", "properties": map[string]any{
			"error": map[string]any{"type": "object", "properties": map[string]any{"code": str, "message": str}}}}}}}
	ok := func(desc, mime string) map[string]any {
		return map[string]any{
			"200": map[string]any{"description": desc, "content": map[string]any{mime: map[string]any{"schema": map[string]any{"type": "object"}}, "text/html": map[string]any{"schema": str}}},
			"400": errResp, "404": errResp,
		}
	}
	// streamed adds what an anonymous stream may answer besides
	// (server/streams.go): too many streams at once, or a query past the
	// public pool's statement_timeout.
	streamed := func(r map[string]any) map[string]any {
		r["429"] = map[string]any{"description": "too many public streams at once (per kind or per address); retry after Retry-After seconds", "content": errResp["content"]}
		r["503"] = map[string]any{"description": "the query took longer than the public statement timeout; retry later or page with a smaller limit", "content": errResp["content"]}
		return r
	}
	// login answers what a restricted operation may answer besides.
	login := func(r map[string]any) map[string]any {
		out := map[string]any{"401": map[string]any{"description": "the API token or the session is not valid (expired, revoked or unknown)",
			"content": errResp["content"]}}
		for k, v := range r {
			out[k] = v
		}
		return out
	}
	get := func(id, summary string, security []map[string][]string, params []map[string]any, responses map[string]any) map[string]any {
		op := map[string]any{"operationId": id, "summary": summary, "responses": responses, "security": security}
		if len(params) > 0 {
			op["parameters"] = params
		}
		return map[string]any{"get": op}
	}
	with := func(first []map[string]any, rest ...map[string]any) []map[string]any {
		return append(append([]map[string]any{}, first...), rest...)
	}
	paths := map[string]any{
		"/":            get("getLandingPage", "landing page", securityPublic, []map[string]any{fParam}, ok("landing page", "application/json")),
		"/conformance": get("getConformance", "conformance classes", securityPublic, []map[string]any{fParam}, ok("conformance", "application/json")),
		"/api": get("getAPI", "this OpenAPI document (a signed-in caller also finds the restricted collections it may read)",
			securityOptional, nil, login(ok("OpenAPI 3.0", mimeOpenAPI))),
		"/collections": get("getCollections", "the collections, with extent and CRSs (a signed-in caller also finds the restricted collections it may read)",
			securityOptional, []map[string]any{fParam}, login(ok("collections", "application/json"))),
		"/collections/{collectionId}": get("describeCollection", "one collection", securityPublic, []map[string]any{collParam, fParam},
			ok("collection", "application/json")),
		"/collections/{collectionId}/schema": get("getSchema", "JSON schema of the feature properties", securityPublic, []map[string]any{collParam},
			ok("JSON schema", mimeSchemaJSON)),
		"/collections/{collectionId}/items": get("getFeatures", "features, a page at a time (keyset cursor)", securityPublic,
			with([]map[string]any{collParam}, itemParams...),
			streamed(ok("a GeoJSON FeatureCollection with numberMatched, numberReturned and next/prev links", mimeGeoJSON))),
		"/collections/{collectionId}/items/{featureId}": get("getFeature", "one feature", securityPublic,
			[]map[string]any{collParam, featureParam, crsParam, fParam}, ok("a GeoJSON Feature", mimeGeoJSON)),
	}
	for _, id := range restricted {
		p := "/collections/" + id
		paths[p] = get("describeCollection-"+id, "the restricted collection "+id, securityLogin, []map[string]any{fParam},
			login(ok("collection", "application/json")))
		paths[p+"/schema"] = get("getSchema-"+id, "JSON schema of the feature properties of "+id, securityLogin, nil,
			login(ok("JSON schema", mimeSchemaJSON)))
		paths[p+"/items"] = get("getFeatures-"+id, "features of "+id+", a page at a time (keyset cursor)", securityLogin, itemParams,
			login(ok("a GeoJSON FeatureCollection with numberMatched, numberReturned and next/prev links", mimeGeoJSON)))
		paths[p+"/items/{featureId}"] = get("getFeature-"+id, "one feature of "+id, securityLogin,
			[]map[string]any{featureParam, crsParam, fParam}, login(ok("a GeoJSON Feature", mimeGeoJSON)))
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "riskzone OGC API - Features", "version": "1.0.0",
			"description": "Published risk zones, zone history, notices, buildings and barriers. OGC API - Features Part 1 (core, GeoJSON, HTML, OpenAPI 3.0) and Part 2 (CRS by reference)."},
		"servers":    []map[string]any{{"url": o.base(c)}},
		"paths":      paths,
		"components": map[string]any{"securitySchemes": openAPISecuritySchemes()},
	}
}
