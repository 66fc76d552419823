package tiles

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/riskzone/riskzone/zoning"
)

// Style names: the public map and the expert map (restricted layers).
const (
	StylePublic = "public"
	StyleExpert = "expert"
)

// sourceName is the name of the service's vector source in its styles.
const sourceName = "riskzone"

// StyleSet is the tile set a style draws from.
func StyleSet(name string) (string, bool) {
	switch name {
	case StylePublic:
		return SetPublic, true
	case StyleExpert:
		return SetExpert, true
	}
	return "", false
}

// Style is a MapLibre style (version 8) drawing a set's layers. The
// service's own layers make the base map (background, water, roads,
// railways, buildings, boundaries) under the overlays (zones; for experts
// also proposals, spread and cases). It uses no glyphs, sprites or other
// outside resources: there are no symbol layers.
//
// With Options.BaseStyleURL set, the external style is fetched (and kept
// for ten minutes) and drawn instead of the service's own base map, with
// the overlays on top; when it cannot be fetched the service's own base map
// is used and the failure logged.
func (s *Service) Style(ctx context.Context, name, baseURL string) ([]byte, error) {
	setName, ok := StyleSet(name)
	if !ok {
		return nil, zoning.Errorf(zoning.ErrNotFound, "no style %q: the styles are %s and %s", clip64(name), StylePublic, StyleExpert)
	}
	expert := setName == SetExpert
	style := map[string]any{
		"version":  8,
		"name":     "riskzone " + name,
		"metadata": map[string]any{"riskzone:tileset": setName},
		"center":   []float64{0, 0},
		"zoom":     2,
	}
	if b, ok, err := s.dataExtent(ctx); err == nil && ok {
		style["center"] = []float64{(b.Min[0] + b.Max[0]) / 2, (b.Min[1] + b.Max[1]) / 2}
		style["zoom"] = 12
	}
	src := map[string]any{"type": "vector", "url": baseURL + "/tiles/" + setName + ".json", "attribution": Attribution}
	var layers []any
	if base := s.baseStyle(ctx); base != nil {
		for k, v := range base {
			switch k {
			case "sources", "layers", "name", "version", "metadata", "center", "zoom":
			default:
				style[k] = v // sprite, glyphs, light, transition...
			}
		}
		// The fetched style is shared: copy what is changed.
		sources := map[string]any{}
		if bs, ok := base["sources"].(map[string]any); ok {
			for k, v := range bs {
				sources[k] = v
			}
		}
		sources[sourceName] = src
		style["sources"] = sources
		if bl, ok := base["layers"].([]any); ok {
			layers = append(layers, bl...)
		}
		layers = append(layers, boundaryLayers()...)
	} else {
		style["sources"] = map[string]any{sourceName: src}
		layers = append(layers, baseLayers()...)
	}
	layers = append(layers, overlayLayers(expert)...)
	style["layers"] = layers
	b, err := json.Marshal(style)
	if err != nil {
		return nil, fmt.Errorf("encode style: %w", err)
	}
	return b, nil
}

func layer(id, typ, srcLayer string, filter any, minZoom int, paint map[string]any) map[string]any {
	l := map[string]any{"id": id, "type": typ, "source": sourceName, "source-layer": srcLayer, "paint": paint}
	if filter != nil {
		l["filter"] = filter
	}
	if minZoom > 0 {
		l["minzoom"] = minZoom
	}
	return l
}

func kindIs(kinds ...any) any {
	return []any{"in", []any{"get", "kind"}, []any{"literal", kinds}}
}

// zoomWidth interpolates a line width between zoom 10 and 18.
func zoomWidth(w10, w18 float64) any {
	return []any{"interpolate", []any{"exponential", 1.5}, []any{"zoom"}, 10, w10, 18, w18}
}

func baseLayers() []any {
	polygon := []any{"==", []any{"geometry-type"}, "Polygon"}
	line := []any{"==", []any{"geometry-type"}, "LineString"}
	out := []any{
		map[string]any{"id": "background", "type": "background", "paint": map[string]any{"background-color": "#f4f2ee"}},
		layer("water", "fill", "barriers", []any{"all", polygon, kindIs("water")}, 0, map[string]any{"fill-color": "#aad3df"}),
		layer("waterways", "line", "barriers", []any{"all", line, kindIs("river", "canal", "stream", "drain")}, 0,
			map[string]any{"line-color": "#7fb5d0", "line-width": zoomWidth(1, 6)}),
		layer("ridges", "line", "barriers", kindIs("ridge", "cliff"), 0,
			map[string]any{"line-color": "#a08a6a", "line-width": 1.5, "line-dasharray": []float64{3, 2}}),
		layer("walls", "line", "barriers", kindIs("wall", "fence"), 0, map[string]any{"line-color": "#b0aaa0", "line-width": 1}),
		layer("roads-minor", "line", "barriers", []any{"all", kindIs("road"), []any{"!", []any{"in", []any{"get", "class"}, []any{"literal", []any{"motorway", "trunk", "primary", "secondary", "tertiary"}}}}}, 0,
			map[string]any{"line-color": "#ffffff", "line-width": zoomWidth(0.5, 10)}),
		layer("roads-secondary", "line", "barriers", []any{"all", kindIs("road"), []any{"in", []any{"get", "class"}, []any{"literal", []any{"secondary", "tertiary"}}}}, 0,
			map[string]any{"line-color": "#fdfbe0", "line-width": zoomWidth(1, 16)}),
		layer("roads-major", "line", "barriers", []any{"all", kindIs("road"), []any{"in", []any{"get", "class"}, []any{"literal", []any{"motorway", "trunk", "primary"}}}}, 0,
			map[string]any{"line-color": "#f9d88a", "line-width": zoomWidth(1.5, 22)}),
		layer("railways", "line", "barriers", kindIs("railway"), 0,
			map[string]any{"line-color": "#8c8c8c", "line-width": 2, "line-dasharray": []float64{4, 3}}),
		layer("buildings", "fill", "buildings", nil, 0, map[string]any{"fill-color": "#ddd6cf", "fill-outline-color": "#c4b9ae"}),
	}
	return append(out, boundaryLayers()...)
}

func boundaryLayers() []any {
	return []any{
		layer("boundaries-community", "line", "admin", []any{"==", []any{"get", "level"}, "community"}, 12,
			map[string]any{"line-color": "#9e9ac8", "line-width": 0.8, "line-dasharray": []float64{1, 2}}),
		layer("boundaries-street", "line", "admin", []any{"==", []any{"get", "level"}, "street"}, 10,
			map[string]any{"line-color": "#807dba", "line-width": 1.2, "line-dasharray": []float64{4, 2}}),
		layer("boundaries-county", "line", "admin", []any{"in", []any{"get", "level"}, []any{"literal", []any{"province", "city", "county"}}}, 0,
			map[string]any{"line-color": "#54278f", "line-width": 2}),
	}
}

// levelColor colours a zone by its level code.
func levelColor() any {
	return []any{"match", []any{"get", "level"}, "high", "#d7301f", "medium", "#fc8d59", "low", "#fdcc8a", "#d7301f"}
}

func overlayLayers(expert bool) []any {
	out := []any{
		layer("zones-fill", "fill", "zones", nil, 0, map[string]any{"fill-color": levelColor(), "fill-opacity": 0.35}),
		layer("zones-line", "line", "zones", nil, 0, map[string]any{"line-color": levelColor(), "line-width": 2}),
	}
	if !expert {
		return out
	}
	return append(out,
		layer("spread", "fill", "spread", nil, 0, map[string]any{
			"fill-color":   []any{"interpolate", []any{"linear"}, []any{"get", "count"}, 1, "#fee5d9", 5, "#fcae91", 20, "#fb6a4a", 50, "#cb181d"},
			"fill-opacity": 0.55, "fill-outline-color": "#a50f15",
		}),
		layer("proposals-fill", "fill", "proposals", nil, 0, map[string]any{"fill-color": "#6a51a3", "fill-opacity": 0.15}),
		layer("proposals-line", "line", "proposals", nil, 0, map[string]any{"line-color": "#6a51a3", "line-width": 2, "line-dasharray": []float64{2, 1}}),
		layer("cases", "circle", "cases", nil, 0, map[string]any{
			"circle-radius":       []any{"interpolate", []any{"linear"}, []any{"zoom"}, 10, 2, 16, 5},
			"circle-color":        []any{"case", []any{"==", []any{"get", "excluded"}, true}, "#969696", "#cb181d"},
			"circle-stroke-color": "#ffffff", "circle-stroke-width": 1,
		}),
	)
}

// baseStyleCache keeps the fetched external base style.
type baseStyleCache struct {
	mu      sync.Mutex
	style   map[string]any
	fetched time.Time
	failed  time.Time
	// badOrigin is the last fetch's ErrBadOrigin, or nil.
	badOrigin error
}

// baseStyle is the external base style, or nil when none is configured or
// it cannot be had (then the failure is logged, at most once a minute).
func (s *Service) baseStyle(ctx context.Context) map[string]any {
	if s.opt.BaseStyleURL == "" {
		return nil
	}
	c := &s.base
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.style != nil && time.Since(c.fetched) < 10*time.Minute {
		return c.style
	}
	if !c.failed.IsZero() && time.Since(c.failed) < time.Minute {
		return c.style // the older copy, or nil
	}
	st, err := s.fetchStyle(ctx, s.opt.BaseStyleURL)
	if err != nil {
		c.failed = time.Now()
		if errors.Is(err, ErrBadOrigin) {
			c.badOrigin = err
		}
		s.log.Warn("tiles: the base style cannot be fetched; drawing the service's own base map", "url", s.opt.BaseStyleURL, "err", err)
		return c.style
	}
	c.style, c.fetched, c.failed, c.badOrigin = st, time.Now(), time.Time{}, nil
	return st
}

// BaseOrigins are the origins (scheme://host[:port]) a map drawing the
// styles loads from besides the service itself: that of Options.BaseStyleURL
// and, once the base style has been fetched, those of its glyphs, sprites
// and sources (TileJSON URLs and tile templates). Pages set them in their
// Content-Security-Policy (connect-src, img-src). Nil without a base style.
// It never fetches: FetchBaseStyle does, when the server starts.
func (s *Service) BaseOrigins() []string {
	if s.opt.BaseStyleURL == "" {
		return nil
	}
	urls := []string{s.opt.BaseStyleURL}
	c := &s.base
	c.mu.Lock()
	st := c.style
	c.mu.Unlock()
	if st != nil {
		urls = append(urls, styleURLs(st)...)
	}
	var out []string
	for _, raw := range urls {
		o, ok, err := OriginOf(raw)
		if !ok || err != nil {
			continue // relative, mapbox://, or (checked when fetched) not an origin
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	slices.Sort(out)
	return out
}

// ErrBadOrigin marks a base style that names a URL whose origin cannot go
// into a Content-Security-Policy.
var ErrBadOrigin = errors.New("not a valid origin")

// originRe is an origin as a CSP source: scheme, host (a name or a
// bracketed IPv6 address), optional port; nothing that could end the
// source or the directive (quotes, spaces, semicolons, commas).
var originRe = regexp.MustCompile(`^https?://([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(:[0-9]{1,5})?$`)

// OriginOf is the origin (scheme://host[:port]) of an http(s) URL; ok is
// false for what a CSP need not allow (relative URLs, mapbox://). An
// http(s) URL whose origin is not a plain scheme, host and port is an
// ErrBadOrigin.
func OriginOf(raw string) (origin string, ok bool, err error) {
	u, perr := url.Parse(raw)
	if perr != nil {
		if strings.HasPrefix(raw, "http://") || strings.HasPrefix(raw, "https://") {
			return "", true, fmt.Errorf("%q: %w", raw, ErrBadOrigin)
		}
		return "", false, nil
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", false, nil
	}
	// Templates ({z}/{x}/{y}, {fontstack}) live in the path, never in the
	// host; the host is lower-cased as browsers compare it.
	o := strings.ToLower(u.Scheme + "://" + u.Host)
	if u.Host == "" || u.User != nil || !originRe.MatchString(o) {
		return "", true, fmt.Errorf("%q: %w", raw, ErrBadOrigin)
	}
	return o, true, nil
}

// checkOrigins refuses a style naming a URL that is not a valid origin.
func checkOrigins(st map[string]any) error {
	for _, raw := range styleURLs(st) {
		if _, _, err := OriginOf(raw); err != nil {
			return err
		}
	}
	return nil
}

// FetchBaseStyle fetches the base style, if one is configured, so that the
// first pages served already allow its origins (BaseOrigins). It answers
// an ErrBadOrigin when the style (or its URL) names something that is not
// a valid origin, for the server to refuse to start; a style that cannot
// be fetched is not an error (the service's own base map is drawn).
func (s *Service) FetchBaseStyle(ctx context.Context) error {
	if s.opt.BaseStyleURL == "" {
		return nil
	}
	if _, _, err := OriginOf(s.opt.BaseStyleURL); err != nil {
		return fmt.Errorf("base style URL: %w", err)
	}
	s.baseStyle(ctx)
	c := &s.base
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.badOrigin
}

// styleURLs are the URLs a style references: glyphs, sprite (a URL or a
// list of {id, url}), and each source's url and tiles.
func styleURLs(st map[string]any) []string {
	var out []string
	str := func(v any) {
		if s, ok := v.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	str(st["glyphs"])
	switch sp := st["sprite"].(type) {
	case string:
		str(sp)
	case []any:
		for _, e := range sp {
			if m, ok := e.(map[string]any); ok {
				str(m["url"])
			}
		}
	}
	srcs, _ := st["sources"].(map[string]any)
	for _, v := range srcs {
		src, _ := v.(map[string]any)
		str(src["url"])
		tl, _ := src["tiles"].([]any)
		for _, t := range tl {
			str(t)
		}
	}
	return out
}

// fetchStyle fetches the style with Options.HTTPClient (the server's
// outbound client: public https addresses only, no redirect followed).
func (s *Service) fetchStyle(ctx context.Context, url string) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	client := s.opt.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", res.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("not a style: %w", err)
	}
	if v, _ := st["version"].(float64); v != 8 {
		return nil, fmt.Errorf("not a MapLibre style of version 8")
	}
	if err := checkOrigins(st); err != nil {
		return nil, fmt.Errorf("the style names %w (CSP origins are scheme://host[:port])", err)
	}
	return st, nil
}
