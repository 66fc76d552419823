package server

import (
	"cmp"
	"context"
	"errors"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/tiles"
	"github.com/riskzone/riskzone/tiles/pgsource"
	"github.com/riskzone/riskzone/zoning"
)

// TileConfig configures the vector tiles, TileJSON and styles (docs/tiles.md).
// The zero value serves with a 256 MiB tile cache and no external base map.
type TileConfig struct {
	tiles.Options
	// StatementTimeout bounds every query a tile makes (default 5 s).
	StatementTimeout time.Duration
	// PublicURL is the service's external base URL (scheme and host, e.g.
	// https://map.example.gov.cn) written into TileJSON and style links. When
	// empty they are built from the request's Host and X-Forwarded-Proto,
	// which is fine behind a proxy that sets them and no shared cache; set it
	// when a CDN caches TileJSON, so that no request can choose the links.
	PublicURL string
}

// Cache lifetimes (seconds) of the tile endpoints; see docs/tiles.md.
const (
	// shortMaxAge is for answers that change when data does: unversioned
	// tiles, tiles asked with a stale ?v=, TileJSON.
	shortMaxAge = 5
	// styleMaxAge is for styles, which change only with a deployment.
	styleMaxAge = 300
)

// tileRoute is the route of a tile, also the metrics label of tiles
// answered before routing (fastTile, the fast listener).
const tileRoute = "/tiles/:set/:z/:x/:y"

// mvtContentType is the media type of Mapbox Vector Tiles.
const mvtContentType = "application/vnd.mapbox-vector-tile"

// tileHandlers serve /tiles and /styles. The header values are made once:
// the warm path of a tile is a cache lookup and a write.
type tileHandlers struct {
	s         *Server
	svc       *tiles.Service
	publicURL string
	allowed   echo.HandlerFunc // returns nil when the principal may read restricted sets, else the 401/403 error

	immutable, short, private, styleCache []string
	mvt, vary, anyOrigin, gzip            []string

	hits, others atomic.Int64 // tiles answered by fastTile, and by tile
}

// tileRoutes registers the vector tiles, TileJSON and styles (issue 7):
//
//	GET /tiles/{set}/{z}/{x}/{y}.mvt[?v=TAG]  MVT 2.1 tile; 204 when empty
//	GET /tiles/{set}.json                     TileJSON 3.0.0 with versioned tile URLs
//	GET /styles/{public|expert}.json          MapLibre style
//
// A set is a layer (zones, buildings, barriers, admin; restricted:
// proposals, spread, cases) or a combination (public; restricted: expert).
// The listener that learns of layer changes starts with the server, and so
// does a summary log line of tiles served (once a minute).
//
// Warm public tiles are answered by fastTile, before routing and the
// middleware chain; see there.
func (s *Server) tileRoutes() {
	cfg := s.cfg.Tiles
	src := pgsource.New(s.store.Pool, pgsource.Options{StatementTimeout: cfg.StatementTimeout}, s.log)
	if cfg.Options.HTTPClient == nil {
		cfg.Options.HTTPClient = s.out.client(10 * time.Second)
	}
	h := &tileHandlers{
		s: s, svc: tiles.New(src, cfg.Options, s.log), publicURL: tiles.TrimBaseURL(cmp.Or(cfg.PublicURL, s.cfg.Public.BaseURL)),
		allowed:    requireRole(zoning.RoleExpert)(func(echo.Context) error { return nil }),
		immutable:  []string{"public, max-age=31536000, immutable"},
		short:      []string{"public, max-age=" + strconv.Itoa(shortMaxAge)},
		private:    []string{"private, no-store"},
		styleCache: []string{"public, max-age=" + strconv.Itoa(styleMaxAge)},
		mvt:        []string{mvtContentType},
		vary:       []string{"Accept-Encoding"},
		anyOrigin:  []string{"*"},
		gzip:       []string{"gzip"},
	}
	s.tileSvc = h.svc
	s.tileH = h
	s.onStart(h.svc.Run)
	s.onStart(h.report)
	if cfg.BaseStyleURL != "" {
		s.onStart(func(ctx context.Context) {
			if err := h.svc.FetchBaseStyle(ctx); err != nil {
				s.log.Error("tiles: base style refused", "err", err)
			}
		})
	}
	s.echo.Pre(h.fastTile)
	get := []string{http.MethodGet, http.MethodHead}
	s.echo.Match(get, tileRoute, h.tile)
	s.echo.Match(get, "/tiles/:file", h.tileJSON)
	s.echo.Match(get, "/styles/:file", h.style)
}

// tile answers one tile. Checks run in the order of the path: the format
// and z/x/y (400), the set (404), then the role for restricted sets
// (401/403). See docs/tiles.md for the caching rules.
func (h *tileHandlers) tile(c echo.Context) error {
	ys, ok := strings.CutSuffix(c.Param("y"), ".mvt")
	if !ok {
		return zoning.Errorf(zoning.ErrNotFound, "tiles are served as /tiles/{layer}/{z}/{x}/{y}.mvt")
	}
	t, err := tiles.ParseTileID(c.Param("z"), c.Param("x"), ys)
	if err != nil {
		return err
	}
	set, err := h.svc.LookupSet(c.Param("set"))
	if err != nil {
		return err
	}
	hdr := c.Response().Header()
	if set.Restricted {
		hdr["Cache-Control"] = h.private
		if err := h.allowed(c); err != nil {
			return err
		}
	}
	v := c.QueryParam("v")
	if !validTag(v) {
		return zoning.Errorf(zoning.ErrInvalid, "v %q is not a version tag: take tile URLs from /tiles/%s.json", clipParam(v), set.Name)
	}
	ctx := c.Request().Context()
	inm := c.Request().Header.Get("If-None-Match")
	if inm != "" && !set.Restricted && v == "" {
		// Revalidation of an unversioned URL: answered from the versions
		// alone, nothing is rendered.
		tag, err := h.svc.Tag(ctx, set)
		if err != nil {
			return h.tileError(c, err)
		}
		if etag := `"` + set.Name + "." + tag; etagMatches(inm, etag+`"`) || etagMatches(inm, etag+`.gz"`) {
			hdr["Cache-Control"] = h.short
			hdr["Vary"] = h.vary
			hdr["Access-Control-Allow-Origin"] = h.anyOrigin
			hdr["Etag"] = []string{etag + `"`}
			return c.NoContent(http.StatusNotModified)
		}
	}
	tl, err := h.svc.Tile(ctx, set, t)
	if err != nil {
		return h.tileError(c, err)
	}
	h.others.Add(1)
	if !set.Restricted && inm != "" && (etagMatches(inm, tl.ETag) || etagMatches(inm, tl.GzipETag)) {
		h.publicHeaders(hdr, tl, v)
		hdr["Etag"] = []string{tl.ETag}
		return c.NoContent(http.StatusNotModified)
	}
	return h.writeTile(c, set, tl, v)
}

// fastTile answers public tiles that are in the cache for the current
// versions, ahead of routing and of the middleware chain (request id,
// request log, body limit, authentication): the warm path is then a map
// lookup and a write, which is what lets a replica keep up when a notice
// sends a city to the map. Such answers have no log line each; report logs
// how many there were. Anything else — another path, a restricted set, a
// miss, a revalidation (If-None-Match), a request with credentials, input
// that is not plainly valid — goes on to the routes, unchanged.
func (h *tileHandlers) fastTile(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if (r.Method != http.MethodGet && r.Method != http.MethodHead) ||
			len(r.Header["Authorization"]) > 0 || len(r.Header["If-None-Match"]) > 0 {
			return next(c)
		}
		set, tl, v, ok := h.cachedPublic(r.URL.Path, r.URL.RawQuery)
		if !ok {
			return next(c)
		}
		h.hits.Add(1)
		return h.writeTile(c, set, tl, v)
	}
}

// cachedPublic finds the answer to a warm public tile request: path
// /tiles/{set}/{z}/{x}/{y}.mvt of a public set, a query that is empty or a
// valid v=TAG, and the tile in the cache for the current versions. ok is
// false for anything else (which the routes answer). It also serves the
// fast listener (fast_listener.go).
func (h *tileHandlers) cachedPublic(path, rawQuery string) (set *tiles.Set, tl *tiles.Tile, v string, ok bool) {
	rest, ok := strings.CutPrefix(path, "/tiles/")
	if !ok {
		return nil, nil, "", false
	}
	setName, rest, ok1 := strings.Cut(rest, "/")
	zs, rest, ok2 := strings.Cut(rest, "/")
	xs, file, ok3 := strings.Cut(rest, "/")
	ys, ok4 := strings.CutSuffix(file, ".mvt")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, nil, "", false
	}
	set, ok = h.svc.Set(setName)
	if !ok || set.Restricted {
		return nil, nil, "", false
	}
	t, err := tiles.ParseTileID(zs, xs, ys)
	if err != nil {
		return nil, nil, "", false
	}
	if rawQuery != "" {
		tag, ok := strings.CutPrefix(rawQuery, "v=")
		if !ok || tag == "" || !validTag(tag) {
			return nil, nil, "", false
		}
		v = tag
	}
	tl, ok = h.svc.Cached(set, t)
	if !ok {
		return nil, nil, "", false
	}
	return set, tl, v, true
}

// cacheControl is the Cache-Control of a public tile answered for ?v=v.
func (h *tileHandlers) cacheControl(tl *tiles.Tile, v string) []string {
	if v != "" && v == tl.Tag {
		return h.immutable
	}
	// Unversioned, or a ?v= that is not the data served (an old TileJSON,
	// or one from a replica a moment ahead): current data, briefly
	// cacheable, never immutable.
	return h.short
}

// publicHeaders are the caching headers of a public tile answered for ?v=v.
func (h *tileHandlers) publicHeaders(hdr http.Header, tl *tiles.Tile, v string) {
	hdr["Cache-Control"] = h.cacheControl(tl, v)
	hdr["Vary"] = h.vary
	hdr["Access-Control-Allow-Origin"] = h.anyOrigin
}

// writeTile writes a tile: 204 when empty, gzip when the client takes it.
func (h *tileHandlers) writeTile(c echo.Context, set *tiles.Set, tl *tiles.Tile, v string) error {
	hdr := c.Response().Header()
	gz := tl.Body != nil && acceptsGzip(c.Request().Header.Get("Accept-Encoding"))
	body, etag, length := tl.Encoding(gz)
	if set.Restricted {
		hdr["Cache-Control"] = h.private
	} else {
		h.publicHeaders(hdr, tl, v)
		hdr["Etag"] = etag
	}
	if tl.Body == nil {
		c.Response().WriteHeader(http.StatusNoContent)
		return nil
	}
	if gz {
		hdr["Content-Encoding"] = h.gzip
	}
	hdr["Content-Type"] = h.mvt
	hdr["Content-Length"] = length
	c.Response().WriteHeader(http.StatusOK)
	_, err := c.Response().Write(body)
	return err
}

// report logs once a minute how many tiles were served, and what the
// caches hold, when anything was served.
func (h *tileHandlers) report(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		hits, others := h.hits.Swap(0), h.others.Swap(0)
		if hits+others == 0 {
			continue
		}
		n, b, regions, rb := h.svc.CacheStats()
		h.s.log.Info("tiles served", "cache_hits", hits, "other", others, "cached_tiles", n, "cache_bytes", b,
			"regions", regions, "region_bytes", rb)
	}
}

// tileJSON answers /tiles/{set}.json.
func (h *tileHandlers) tileJSON(c echo.Context) error {
	name, ok := strings.CutSuffix(c.Param("file"), ".json")
	if !ok {
		return zoning.Errorf(zoning.ErrNotFound, "TileJSON is served as /tiles/{layer}.json")
	}
	set, err := h.svc.LookupSet(name)
	if err != nil {
		return err
	}
	hdr := c.Response().Header()
	if set.Restricted {
		hdr["Cache-Control"] = h.private
		if err := h.allowed(c); err != nil {
			return err
		}
	} else {
		hdr["Cache-Control"] = h.short
		hdr["Access-Control-Allow-Origin"] = h.anyOrigin
	}
	b, err := h.svc.TileJSON(c.Request().Context(), set, h.baseURL(c))
	if err != nil {
		return h.tileError(c, err)
	}
	return h.writeJSON(c, b, set.Restricted)
}

// style answers /styles/{public|expert}.json.
func (h *tileHandlers) style(c echo.Context) error {
	name, ok := strings.CutSuffix(c.Param("file"), ".json")
	if !ok {
		return zoning.Errorf(zoning.ErrNotFound, "styles are served as /styles/public.json and /styles/expert.json")
	}
	setName, ok := tiles.StyleSet(name)
	if !ok {
		return zoning.Errorf(zoning.ErrNotFound, "no style %q: the styles are public and expert", clipParam(name))
	}
	set, err := h.svc.LookupSet(setName)
	if err != nil {
		return err
	}
	hdr := c.Response().Header()
	if set.Restricted {
		hdr["Cache-Control"] = h.private
		if err := h.allowed(c); err != nil {
			return err
		}
	} else {
		hdr["Cache-Control"] = h.styleCache
		hdr["Access-Control-Allow-Origin"] = h.anyOrigin
	}
	b, err := h.svc.Style(c.Request().Context(), name, h.baseURL(c))
	if err != nil {
		return h.tileError(c, err)
	}
	return h.writeJSON(c, b, set.Restricted)
}

// writeJSON writes a document with an ETag of its bytes (public only).
func (h *tileHandlers) writeJSON(c echo.Context, b []byte, restricted bool) error {
	if !restricted {
		f := fnv.New64a()
		f.Write(b)
		etag := `"` + strconv.FormatUint(f.Sum64(), 36) + `"`
		c.Response().Header().Set("ETag", etag)
		if etagMatches(c.Request().Header.Get("If-None-Match"), etag) {
			return c.NoContent(http.StatusNotModified)
		}
	}
	return c.JSONBlob(http.StatusOK, b)
}

// baseURL is where links in TileJSON and styles point.
func (h *tileHandlers) baseURL(c echo.Context) string {
	if h.publicURL != "" {
		return h.publicURL
	}
	return h.s.linkBase(c)
}

// tileError maps a failure to render: a query over its statement timeout
// is answered 503 with Retry-After (the database is overloaded; the error
// body is written here because the server's error writer words every 5xx
// as an internal error); anything else stays an internal error, logged and
// answered without its cause.
func (h *tileHandlers) tileError(c echo.Context, err error) error {
	if errors.Is(err, tiles.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		h.s.log.Warn("tiles: tile query timed out", "path", c.Path(), "err", err)
		c.Response().Header().Set("Retry-After", "1")
		return c.JSON(http.StatusServiceUnavailable, ErrorBody{Error: ErrorDetail{
			Code: codeOf(http.StatusServiceUnavailable), Message: "the map is busy: retry in a moment"}})
	}
	return err
}

// validTag accepts an empty v or a version tag: digits, joined by "-".
func validTag(v string) bool {
	if len(v) > 200 {
		return false
	}
	for i := 0; i < len(v); i++ {
		ch := v[i]
		if (ch < '0' || ch > '9') && (ch != '-' || i == 0 || i == len(v)-1 || v[i-1] == '-') {
			return false
		}
	}
	return true
}

// etagMatches implements If-None-Match: a list of entity tags, or "*"
// (weak comparison, as RFC 9110 asks for If-None-Match).
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reads Accept-Encoding: gzip unless given q=0.
func acceptsGzip(ae string) bool {
	for ae != "" {
		var part string
		part, ae, _ = strings.Cut(ae, ",")
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

func clipParam(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
