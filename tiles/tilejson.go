package tiles

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/paulmach/orb"
)

// Attribution is shown on maps drawn from the service's tiles.
const Attribution = "riskzone"

// TileJSON is a TileJSON 3.0.0 document.
type TileJSON struct {
	TileJSON     string        `json:"tilejson"`
	Name         string        `json:"name"`
	Description  string        `json:"description"`
	Version      string        `json:"version"`
	Attribution  string        `json:"attribution"`
	Scheme       string        `json:"scheme"`
	Tiles        []string      `json:"tiles"`
	MinZoom      uint8         `json:"minzoom"`
	MaxZoom      uint8         `json:"maxzoom"`
	Bounds       [4]float64    `json:"bounds"`
	Center       [3]float64    `json:"center"`
	VectorLayers []VectorLayer `json:"vector_layers"`
}

// VectorLayer describes one layer of a vector TileJSON.
type VectorLayer struct {
	ID          string            `json:"id"`
	Description string            `json:"description"`
	MinZoom     uint8             `json:"minzoom"`
	MaxZoom     uint8             `json:"maxzoom"`
	Fields      map[string]string `json:"fields"`
}

// TileJSON describes a set for clients: its tile URL carries the current
// version tag (?v=), so a tile URL names immutable content. baseURL is the
// service's external address without a trailing slash (scheme and host).
func (s *Service) TileJSON(ctx context.Context, set *Set, baseURL string) ([]byte, error) {
	tag, err := s.Tag(ctx, set)
	if err != nil {
		return nil, err
	}
	bound, ok, err := s.dataExtent(ctx)
	if err != nil {
		return nil, err
	}
	tj := TileJSON{
		TileJSON: "3.0.0", Name: "riskzone " + set.Name, Description: set.Description, Version: "1.0.0",
		Attribution: Attribution, Scheme: "xyz",
		Tiles:   []string{baseURL + "/tiles/" + set.Name + "/{z}/{x}/{y}.mvt?v=" + tag},
		MinZoom: MaxZoom,
		Bounds:  [4]float64{-180, -maxLat, 180, maxLat},
		Center:  [3]float64{0, 0, 2},
	}
	for _, l := range set.Layers {
		tj.MinZoom = min(tj.MinZoom, l.MinZoom)
		tj.MaxZoom = max(tj.MaxZoom, l.MaxZoom)
		tj.VectorLayers = append(tj.VectorLayers, VectorLayer{ID: l.Name, Description: l.Description, MinZoom: l.MinZoom, MaxZoom: l.MaxZoom, Fields: l.Fields})
	}
	if ok {
		r := func(v float64) float64 { return math.Round(v*1e6) / 1e6 }
		tj.Bounds = [4]float64{r(bound.Min[0]), r(bound.Min[1]), r(bound.Max[0]), r(bound.Max[1])}
		tj.Center = [3]float64{r((bound.Min[0] + bound.Max[0]) / 2), r((bound.Min[1] + bound.Max[1]) / 2), 12}
	}
	b, err := json.Marshal(tj)
	if err != nil {
		return nil, fmt.Errorf("encode TileJSON: %w", err)
	}
	return b, nil
}

// dataExtent is the extent of the data, read once per admin version.
func (s *Service) dataExtent(ctx context.Context) (orb.Bound, bool, error) {
	st, err := s.currentVersions(ctx)
	if err != nil {
		return orb.Bound{}, false, err
	}
	adminVersion := st.v[s.byName["admin"].Layers[0].index]
	s.extentMu.Lock()
	defer s.extentMu.Unlock()
	if s.extent.set && s.extent.version == adminVersion {
		return s.extent.bound, s.extent.ok, nil
	}
	b, ok, err := s.src.Extent(ctx)
	if err != nil {
		return orb.Bound{}, false, fmt.Errorf("read data extent: %w", err)
	}
	s.extent = extentState{version: adminVersion, bound: b, ok: ok, set: true}
	return b, ok, nil
}

// gzipper compresses tile bodies, reusing compressors (each holds about a
// megabyte of state).
type gzipper struct{ pool sync.Pool }

func (g *gzipper) compress(b []byte) []byte {
	w, _ := g.pool.Get().(*gzip.Writer)
	var buf bytes.Buffer
	buf.Grow(len(b)/2 + 64)
	if w == nil {
		w, _ = gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	} else {
		w.Reset(&buf)
	}
	_, _ = w.Write(b) // a bytes.Buffer does not fail
	_ = w.Close()
	g.pool.Put(w)
	return buf.Bytes()
}

// TrimBaseURL normalises a base URL: no trailing slash.
func TrimBaseURL(u string) string { return strings.TrimRight(u, "/") }
