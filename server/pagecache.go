package server

import (
	"bytes"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

// The public pages (county, zone, notices, feeds, embed) are what a city
// opens when a notice goes out; the county page alone reads every zone's
// address list. They are rendered once and served from memory until the
// published data changes: every NOTIFY riskzone_layers (the listener of the
// lookup index, lookup.go) starts a new generation, and an entry lives at
// most pageTTL besides (pages show countdowns, and a notification missed
// across a reconnect must not keep a page old). The cache is used only while
// that listener runs (Start); without it every request renders.

const (
	pageTTL = 5 * time.Second
	// pageCacheBytes caps the cache; when full it starts over.
	pageCacheBytes = 32 << 20
	// pageMaxBytes is the largest page kept.
	pageMaxBytes = 4 << 20
)

type pageEntry struct {
	gen    uint64
	at     time.Time
	header http.Header
	body   []byte
}

type pageCache struct {
	live atomic.Bool   // the layer listener runs
	gen  atomic.Uint64 // bumped on every change notification
	hits atomic.Int64

	mu    sync.Mutex
	pages map[string]*pageEntry
	bytes int
	// rendering holds the keys being rendered: concurrent misses of a key
	// wait for the one render rather than each reading the database.
	rendering map[string]chan struct{}
}

// claim returns nil when the caller is to render key, else a channel that
// closes when the render under way ends.
func (pc *pageCache) claim(key string) chan struct{} {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if ch, ok := pc.rendering[key]; ok {
		return ch
	}
	if pc.rendering == nil {
		pc.rendering = map[string]chan struct{}{}
	}
	pc.rendering[key] = make(chan struct{})
	return nil
}

func (pc *pageCache) release(key string) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if ch, ok := pc.rendering[key]; ok {
		close(ch)
		delete(pc.rendering, key)
	}
}

// bump starts a new generation: every page is rendered afresh.
func (pc *pageCache) bump() { pc.gen.Add(1) }

func (pc *pageCache) get(key string, gen uint64, now time.Time) *pageEntry {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	e := pc.pages[key]
	if e == nil || e.gen != gen || now.Sub(e.at) >= pageTTL {
		return nil
	}
	return e
}

func (pc *pageCache) put(key string, e *pageEntry) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.pages == nil || pc.bytes+len(e.body) > pageCacheBytes {
		pc.pages, pc.bytes = map[string]*pageEntry{}, 0
	}
	if old := pc.pages[key]; old != nil {
		pc.bytes -= len(old.body)
	}
	pc.pages[key] = e
	pc.bytes += len(e.body)
}

var cacheHit = []string{"hit"}

// pageHeaders are not kept with a page: they belong to one answer.
var pageHeaders = map[string]bool{"Date": true, "Content-Length": true, "X-Request-Id": true, "X-Riskzone-Stale": true}

// teeWriter keeps a copy of what a page handler writes.
type teeWriter struct {
	http.ResponseWriter
	buf      bytes.Buffer
	overflow bool
}

func (t *teeWriter) Write(b []byte) (int, error) {
	if !t.overflow {
		if t.buf.Len()+len(b) > pageMaxBytes {
			t.overflow = true
			t.buf = bytes.Buffer{}
		} else {
			t.buf.Write(b)
		}
	}
	return t.ResponseWriter.Write(b)
}

// cached is the route middleware of the cached public pages: GET answers
// 200 are kept per host and request URI (the language is in the query).
func (p *publicSite) cached(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		pc := &p.pages
		r := c.Request()
		if !pc.live.Load() || r.Method != http.MethodGet {
			return next(c)
		}
		key := r.Host + " " + r.URL.RequestURI()
		gen := pc.gen.Load()
		now := time.Now()
		e := pc.get(key, gen, now)
		if e == nil {
			if wait := pc.claim(key); wait != nil {
				select {
				case <-wait:
				case <-r.Context().Done():
					return r.Context().Err()
				}
				e = pc.get(key, gen, now)
			} else {
				defer pc.release(key)
			}
		}
		if e != nil {
			pc.hits.Add(1)
			h := c.Response().Header()
			for k, v := range e.header {
				h[k] = v
			}
			h["X-Riskzone-Cache"] = cacheHit
			return c.Blob(http.StatusOK, e.header.Get(echo.HeaderContentType), e.body)
		}
		res := c.Response()
		tee := &teeWriter{ResponseWriter: res.Writer}
		res.Writer = tee
		err := next(c)
		res.Writer = tee.ResponseWriter
		if err != nil || res.Status != http.StatusOK || tee.overflow {
			return err
		}
		hdr := http.Header{}
		for k, v := range res.Header() {
			if !pageHeaders[k] {
				hdr[k] = v
			}
		}
		pc.put(key, &pageEntry{gen: gen, at: now, header: hdr, body: tee.buf.Bytes()})
		return nil
	}
}
