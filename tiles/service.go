// Package tiles serves riskzone's map: Mapbox Vector Tiles (MVT 2.1) per
// layer and per layer set, TileJSON 3.0 and MapLibre styles, with a
// versioned in-memory tile cache.
//
// Tiles are rendered in Go from regions held in memory: each layer is read
// from the Source one region at a time (a tile at the layer's RegionZoom,
// one indexed query bounded by a statement timeout) and kept for the layer's
// data version. A tile is then a scan of its region, clipping, simplifying
// and encoding with github.com/paulmach/orb/encoding/mvt; docs/tiles.md has
// the measurements that chose this over one ST_AsMVT query per tile.
//
// Every layer has a data version (layer_versions) that every write bumps
// and announces with NOTIFY riskzone_layers. The service keeps the versions
// it knows, learns changes from a Watcher within a second, and keys both
// caches by version, so nothing is ever invalidated by guesswork: a new
// version is a new key, and entries of old versions are purged.
package tiles

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"golang.org/x/sync/singleflight"

	"github.com/riskzone/riskzone/zoning"
)

// Options configure the tile service; the zero value is usable.
type Options struct {
	// CacheBytes caps the rendered tiles kept in memory (default 256 MiB).
	CacheBytes int64
	// NoCache renders every tile on every request (regions stay in memory):
	// for measuring the cold path.
	NoCache bool
	// RegionBytes caps the layer regions kept in memory (default 1 GiB).
	RegionBytes int64
	// RenderConcurrency bounds the tiles rendered at once (default
	// GOMAXPROCS): more would only queue on the cores.
	RenderConcurrency int
	// LoadTimeout bounds the reading of one region, beside the statement
	// timeout of the source (default 30 s).
	LoadTimeout time.Duration
	// VersionTTL is how long known versions are trusted while no Watcher
	// connection is up (before Run, or while it reconnects): then versions
	// are re-read at most this often (default 1 s).
	VersionTTL time.Duration
	// BaseStyleURL, when set, is an external MapLibre style drawn under the
	// service's overlays instead of its own base map (see Style).
	BaseStyleURL string
	// HTTPClient fetches the base style; nil is http.DefaultClient. The
	// server sets its outbound client (no private address, no redirect).
	HTTPClient *http.Client
}

func (o *Options) defaults() {
	if o.CacheBytes == 0 {
		o.CacheBytes = 256 << 20
	}
	if o.RegionBytes == 0 {
		o.RegionBytes = 1 << 30
	}
	if o.RenderConcurrency <= 0 {
		o.RenderConcurrency = runtime.GOMAXPROCS(0)
	}
	if o.LoadTimeout <= 0 {
		o.LoadTimeout = 30 * time.Second
	}
	if o.VersionTTL <= 0 {
		o.VersionTTL = time.Second
	}
}

// Service renders and caches tiles. It is safe for concurrent use.
type Service struct {
	src    Source
	opt    Options
	log    *slog.Logger
	layers []*Layer
	sets   []*Set
	byName map[string]*Set

	versions  atomic.Pointer[versionState]
	versionMu sync.Mutex // serialises writers of versions
	watching  atomic.Bool
	// readFailedAt is when a version read last failed (unix nanoseconds):
	// while the database is down, known versions are served without asking
	// it again for VersionTTL.
	readFailedAt atomic.Int64

	// hits and misses count tile lookups answered from the cache and
	// rendered (for the cache hit ratio in metrics).
	hits, misses atomic.Int64

	tiles   *sizedCache[tileKey, *Tile]
	regions *sizedCache[regionKey, *region]
	flight  singleflight.Group // tiles, regions and version reads in flight
	sem     chan struct{}
	zipper  gzipper

	extentMu sync.Mutex
	extent   extentState
	base     baseStyleCache
}

// versionState is the data version of every layer (by layer index), as
// known at readAt, with each set's versions and tag worked out ahead so
// that the warm path only reads them.
type versionState struct {
	v      []int64
	readAt time.Time
	sets   []setVersions // by set index
}

type setVersions struct {
	vers []int64
	tag  string
	hash uint64
}

func (s *Service) newVersionState(v []int64, readAt time.Time) *versionState {
	st := &versionState{v: v, readAt: readAt, sets: make([]setVersions, len(s.sets))}
	for i, set := range s.sets {
		vers := setVersionsOf(set, v)
		tag := tagOf(set, vers)
		st.sets[i] = setVersions{vers: vers, tag: tag, hash: hashTag(tag)}
	}
	return st
}

type extentState struct {
	version int64 // of the admin layer
	bound   orb.Bound
	ok      bool
	set     bool
}

type tileKey struct {
	set  uint8
	z    uint8
	x, y uint32
	tag  uint64 // hash of the versions the tile was rendered from
}

type regionKey struct {
	layer   uint8
	z       uint8
	x, y    uint32
	version int64
}

// Tile is a rendered tile: the MVT bytes (nil for an empty tile) and the
// versions it shows. Its header values are made once, so that answering
// it from the cache allocates nothing.
type Tile struct {
	// Body is the MVT tile, nil when the tile has no feature.
	Body []byte
	// Tag names the data versions the tile was rendered from: the layer's
	// version, or for a set the versions of its layers joined by "-". It is
	// the v of the tile's versioned URL.
	Tag string
	// ETag is the strong entity tag of the tile (quoted).
	ETag string
	// GzipETag is the entity tag of the gzip encoding.
	GzipETag string

	vers   []int64 // versions by set layer
	zipper *gzipper
	etagH  []string
	lenH   []string

	gzOnce sync.Once
	gz     []byte
	gzETag []string
	gzLenH []string
}

func newTile(body []byte, setName, tag string, vers []int64, zipper *gzipper) *Tile {
	t := &Tile{Body: body, Tag: tag, ETag: `"` + setName + "." + tag + `"`, GzipETag: `"` + setName + "." + tag + `.gz"`, vers: vers, zipper: zipper}
	t.etagH = []string{t.ETag}
	t.lenH = []string{strconv.Itoa(len(body))}
	return t
}

// Gzipped is the body compressed with gzip, made on first use.
func (t *Tile) Gzipped() []byte {
	t.gzOnce.Do(func() {
		t.gz = t.zipper.compress(t.Body)
		t.gzETag = []string{t.GzipETag}
		t.gzLenH = []string{strconv.Itoa(len(t.gz))}
	})
	return t.gz
}

// Encoding is the body in gzip or as is, with the values of its ETag and
// Content-Length headers (shared: callers must not change them).
func (t *Tile) Encoding(gzipped bool) (body []byte, etag, length []string) {
	if gzipped {
		return t.Gzipped(), t.gzETag, t.gzLenH
	}
	return t.Body, t.etagH, t.lenH
}

// New makes a tile service over src.
func New(src Source, opt Options, log *slog.Logger) *Service {
	opt.defaults()
	s := &Service{src: src, opt: opt, log: log, layers: Catalog(), byName: map[string]*Set{}}
	s.sets = Sets(s.layers)
	for _, set := range s.sets {
		s.byName[set.Name] = set
	}
	tileCap := opt.CacheBytes
	if opt.NoCache {
		tileCap = 0
	}
	s.tiles = newSizedCache[tileKey, *Tile](tileCap, 16, func(k tileKey) uint64 {
		return uint64(k.x)*0x9E3779B97F4A7C15 ^ uint64(k.y)*0xC2B2AE3D27D4EB4F ^ uint64(k.z)
	})
	s.regions = newSizedCache[regionKey, *region](opt.RegionBytes, 4, func(k regionKey) uint64 {
		return uint64(k.x)*31 + uint64(k.y)*17 + uint64(k.layer)
	})
	s.sem = make(chan struct{}, opt.RenderConcurrency)
	return s
}

// Set is the tile set of a name (a layer, "public" or "expert").
func (s *Service) Set(name string) (*Set, bool) {
	set, ok := s.byName[name]
	return set, ok
}

// Run keeps the known versions current with the source's Watcher until ctx
// ends. Without a Watcher (or while it reconnects) versions are re-read on
// demand, at most once per VersionTTL.
func (s *Service) Run(ctx context.Context) {
	w, ok := s.src.(Watcher)
	if !ok {
		return
	}
	w.Watch(ctx, func(v map[string]int64) {
		s.setVersions(v, false)
		s.watching.Store(true)
	}, func() {
		s.watching.Store(false)
	})
	s.watching.Store(false)
}

// currentVersions are the versions to serve now.
func (s *Service) currentVersions(ctx context.Context) (*versionState, error) {
	st := s.versions.Load()
	if st != nil && (s.watching.Load() || time.Since(st.readAt) < s.opt.VersionTTL ||
		time.Since(time.Unix(0, s.readFailedAt.Load())) < s.opt.VersionTTL) {
		return st, nil
	}
	_, err, _ := s.flight.Do("versions", func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		v, err := s.src.Versions(ctx)
		if err != nil {
			s.readFailedAt.Store(time.Now().UnixNano())
			return nil, err
		}
		s.setVersions(v, false)
		return nil, nil
	})
	if err != nil {
		if st != nil {
			// Serve what we know rather than fail the map; say so.
			s.log.Warn("tiles: re-reading layer versions failed; serving the versions known", "err", err)
			return st, nil
		}
		return nil, fmt.Errorf("read layer versions: %w", err)
	}
	return s.versions.Load(), nil
}

// setVersions records versions (all layers from a read, or some layers
// learnt from a region); onlyNewer keeps a known version that is newer.
// Cached tiles and regions of older versions are purged.
func (s *Service) setVersions(v map[string]int64, onlyNewer bool) {
	s.versionMu.Lock()
	defer s.versionMu.Unlock()
	old := s.versions.Load()
	next := make([]int64, len(s.layers))
	if old != nil {
		copy(next, old.v)
	}
	changed := make([]bool, len(s.layers))
	anyChanged := false
	for i, l := range s.layers {
		nv, ok := v[l.Name]
		if !ok || nv == next[i] || (onlyNewer && nv < next[i]) {
			continue
		}
		next[i] = nv
		if old != nil {
			changed[i] = true
			anyChanged = true
		}
	}
	readAt := time.Now()
	if onlyNewer && old != nil {
		readAt = old.readAt
	}
	s.versions.Store(s.newVersionState(next, readAt))
	if !anyChanged {
		return
	}
	s.log.Debug("tiles: layer versions changed", "versions", v)
	s.tiles.DeleteFunc(func(k tileKey, t *Tile) bool {
		for i, l := range s.sets[k.set].Layers {
			if changed[l.index] && t.vers[i] < next[l.index] {
				return true
			}
		}
		return false
	})
	s.regions.DeleteFunc(func(k regionKey, _ *region) bool {
		return changed[k.layer] && k.version < next[k.layer]
	})
}

// tag is the versions of a set's layers as its URL shows them.
func tagOf(set *Set, vers []int64) string {
	if len(set.Layers) == 1 {
		return strconv.FormatInt(vers[0], 10)
	}
	var b strings.Builder
	for i, v := range vers {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(strconv.FormatInt(v, 10))
	}
	return b.String()
}

func hashTag(tag string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(tag))
	return h.Sum64()
}

// setVersionsOf picks the versions of a set's layers out of all versions.
func setVersionsOf(set *Set, all []int64) []int64 {
	out := make([]int64, len(set.Layers))
	for i, l := range set.Layers {
		out[i] = all[l.index]
	}
	return out
}

// Tag is the current version tag of a set (the v of its tile URLs).
func (s *Service) Tag(ctx context.Context, set *Set) (string, error) {
	st, err := s.currentVersions(ctx)
	if err != nil {
		return "", err
	}
	return st.sets[set.index].tag, nil
}

// Cached returns the tile of a set from the cache, when it is there for
// the versions known to be current; it never reads the database or
// renders. It is the whole warm path.
func (s *Service) Cached(set *Set, t TileID) (*Tile, bool) {
	st := s.versions.Load()
	if st == nil || (!s.watching.Load() && time.Since(st.readAt) >= s.opt.VersionTTL) {
		return nil, false
	}
	sv := &st.sets[set.index]
	tl, ok := s.tiles.Get(tileKey{set: uint8(set.index), z: t.Z, x: t.X, y: t.Y, tag: sv.hash})
	if !ok || tl.Tag != sv.tag {
		return nil, false
	}
	s.hits.Add(1)
	return tl, true
}

// Tile returns a tile of a set: the cached one for the current versions, or
// a new rendering. Concurrent requests for one missing tile render it once.
func (s *Service) Tile(ctx context.Context, set *Set, t TileID) (*Tile, error) {
	st, err := s.currentVersions(ctx)
	if err != nil {
		return nil, err
	}
	sv := &st.sets[set.index]
	vers, tag := sv.vers, sv.tag
	key := tileKey{set: uint8(set.index), z: t.Z, x: t.X, y: t.Y, tag: sv.hash}
	if tl, ok := s.tiles.Get(key); ok && tl.Tag == tag {
		s.hits.Add(1)
		return tl, nil
	}
	s.misses.Add(1)
	v, err, _ := s.flight.Do("tile/"+set.Name+"/"+t.String()+"/"+tag, func() (any, error) {
		if tl, ok := s.tiles.Get(key); ok && tl.Tag == tag {
			return tl, nil
		}
		tl, err := s.render(context.WithoutCancel(ctx), set, t, vers)
		if err != nil {
			return nil, err
		}
		size := int64(len(tl.Body)) + int64(len(tl.Body))/2 + 256 // the gzip copy counted ahead
		s.tiles.Put(tileKey{set: key.set, z: t.Z, x: t.X, y: t.Y, tag: hashTag(tl.Tag)}, tl, size)
		return tl, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Tile), nil
}

// render draws one tile of a set from the regions of its layers. Regions
// are read first; only the drawing holds one of the RenderConcurrency
// slots, so a slow read does not keep the cores idle.
func (s *Service) render(ctx context.Context, set *Set, t TileID, vers []int64) (*Tile, error) {
	used := slices.Clone(vers)
	regs := make([]*region, len(set.Layers))
	for i, l := range set.Layers {
		if t.Z < l.MinZoom {
			continue
		}
		reg, err := s.region(ctx, l, vers[i], t.Parent(l.RegionZoom))
		if err != nil {
			return nil, err
		}
		regs[i] = reg
		used[i] = reg.version
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.sem }()
	frame := newTileFrame(t)
	var layers mvt.Layers
	for i, l := range set.Layers {
		if regs[i] == nil {
			continue
		}
		ml, dropped := renderLayer(l, regs[i], &frame)
		if dropped > 0 {
			s.log.Warn("tiles: features over the per-tile limit dropped", "layer", l.Name, "tile", t.String(), "dropped", dropped)
		}
		if ml != nil {
			layers = append(layers, ml)
		}
	}
	body, err := encodeTile(layers)
	if err != nil {
		return nil, err
	}
	return newTile(body, set.Name, tagOf(set, used), used, &s.zipper), nil
}

// region returns a layer's region tile rt as of version ver, reading it
// from the source when it is not in memory. A region read at a newer
// version than asked teaches the service that version.
func (s *Service) region(ctx context.Context, l *Layer, ver int64, rt TileID) (*region, error) {
	k := regionKey{layer: uint8(l.index), z: rt.Z, x: rt.X, y: rt.Y, version: ver}
	if r, ok := s.regions.Get(k); ok {
		return r, nil
	}
	v, err, _ := s.flight.Do("region/"+l.Name+"/"+rt.String()+"/"+strconv.FormatInt(ver, 10), func() (any, error) {
		if r, ok := s.regions.Get(k); ok {
			return r, nil
		}
		ctx, cancel := context.WithTimeout(ctx, s.opt.LoadTimeout)
		defer cancel()
		var bound orb.Bound // zero: the whole layer
		if rt.Z > 0 {
			bound = rt.LonLatBound(Buffer)
		}
		start := time.Now()
		data, err := s.src.Region(ctx, l.Name, bound)
		if err != nil {
			return nil, fmt.Errorf("read %s region %s: %w", l.Name, rt, err)
		}
		reg, err := buildRegion(l, data)
		if err != nil {
			return nil, err
		}
		s.log.Debug("tiles: region loaded", "layer", l.Name, "region", rt.String(), "version", data.Version,
			"features", len(reg.feats), "ms", time.Since(start).Milliseconds())
		s.regions.Put(regionKey{layer: k.layer, z: rt.Z, x: rt.X, y: rt.Y, version: data.Version}, reg, reg.bytes)
		if data.Version > ver {
			s.setVersions(map[string]int64{l.Name: data.Version}, true)
		}
		return reg, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*region), nil
}

// CacheStats reports the tiles and regions in memory and their bytes.
func (s *Service) CacheStats() (tiles int, tileBytes int64, regions int, regionBytes int64) {
	tiles, tileBytes = s.tiles.Stats()
	regions, regionBytes = s.regions.Stats()
	return
}

// CacheCounts reports how many tile lookups were answered from the cache
// (hits) and how many had to render or wait for a rendering (misses) since
// the service started.
func (s *Service) CacheCounts() (hits, misses int64) {
	return s.hits.Load(), s.misses.Load()
}

// ErrTimeout marks a read that ran over its statement timeout: the
// database is overloaded, and the request may be retried shortly.
var ErrTimeout = errors.New("tile query timed out")

// LookupSet resolves a set name into the set or a zoning.ErrNotFound error
// that lists the names there are.
func (s *Service) LookupSet(name string) (*Set, error) {
	if set, ok := s.byName[name]; ok {
		return set, nil
	}
	names := make([]string, len(s.sets))
	for i, set := range s.sets {
		names[i] = set.Name
	}
	return nil, zoning.Errorf(zoning.ErrNotFound, "no tile layer %q: the layers are %s", clip64(name), strings.Join(names, ", "))
}

// clip64 shortens what a client sent before it goes into a message.
func clip64(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
