package server

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// Concurrent misses of one page render it once; a new generation renders
// again; without the listener (not live) nothing is kept.
func TestPageCacheRendersOnce(t *testing.T) {
	p := &publicSite{}
	var renders atomic.Int64
	e := echo.New()
	e.GET("/counties/:id", func(c echo.Context) error {
		renders.Add(1)
		time.Sleep(50 * time.Millisecond) // a slow page
		return c.HTML(http.StatusOK, "<p>county "+c.Param("id")+"</p>")
	}, p.cached)
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w
	}
	get("/counties/1")
	get("/counties/1")
	if renders.Load() != 2 {
		t.Fatalf("not live: %d renders, want one per request", renders.Load())
	}
	p.pages.live.Store(true)
	renders.Store(0)
	var wg sync.WaitGroup
	bodies := make([]string, 20)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := get("/counties/7")
			if w.Code != http.StatusOK {
				t.Errorf("status %d", w.Code)
			}
			bodies[i] = w.Body.String()
		}()
	}
	wg.Wait()
	if renders.Load() != 1 {
		t.Fatalf("20 concurrent requests rendered %d times, want 1", renders.Load())
	}
	for _, b := range bodies {
		if b != "<p>county 7</p>" {
			t.Fatalf("body %q", b)
		}
	}
	if w := get("/counties/7"); w.Header().Get("X-Riskzone-Cache") != "hit" || renders.Load() != 1 {
		t.Fatalf("a later request rendered again (%d) or was not a hit", renders.Load())
	}
	p.pages.bump()
	if get("/counties/7"); renders.Load() != 2 {
		t.Fatalf("a new generation did not render again: %d", renders.Load())
	}
	if get("/counties/8"); renders.Load() != 3 {
		t.Fatalf("another page shares the entry: %d", renders.Load())
	}
}

// The cache never holds more than pageCacheBytes of pages, however many
// are put in; a page over pageMaxBytes is answered whole but not kept, and
// one of exactly pageMaxBytes is.
func TestPageCacheCap(t *testing.T) {
	p := &publicSite{}
	p.pages.live.Store(true)
	var renders atomic.Int64
	e := echo.New()
	e.GET("/pages/:id", func(c echo.Context) error {
		renders.Add(1)
		size, err := strconv.Atoi(c.QueryParam("size"))
		if err != nil {
			return err
		}
		// Written in pieces, as templates write.
		body := bytes.Repeat([]byte("x"), size)
		c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
		c.Response().WriteHeader(http.StatusOK)
		for len(body) > 0 {
			n := min(len(body), 64<<10)
			if _, err := c.Response().Write(body[:n]); err != nil {
				return err
			}
			body = body[n:]
		}
		return nil
	}, p.cached)
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d", path, w.Code)
		}
		return w
	}
	held := func() (int, int) {
		p.pages.mu.Lock()
		defer p.pages.mu.Unlock()
		sum := 0
		for _, pe := range p.pages.pages {
			sum += len(pe.body)
		}
		if sum != p.pages.bytes {
			t.Fatalf("the cache counts %d bytes but holds %d", p.pages.bytes, sum)
		}
		return p.pages.bytes, len(p.pages.pages)
	}

	// Three times the cap in 3 MiB pages: the count stays at or under it.
	const page = 3 << 20
	peak := 0
	for i := range 3 * pageCacheBytes / page {
		path := fmt.Sprintf("/pages/%d?size=%d", i, page)
		if w := get(path); w.Body.Len() != page {
			t.Fatalf("%s: %d bytes answered", path, w.Body.Len())
		}
		n, _ := held()
		if n > pageCacheBytes {
			t.Fatalf("after %d pages the cache holds %d bytes, over its cap of %d", i+1, n, pageCacheBytes)
		}
		peak = max(peak, n)
	}
	if peak < pageCacheBytes-page {
		t.Fatalf("the cache never held more than %d bytes: the test did not reach the cap", peak)
	}
	// The last page is still kept (a hit, no render).
	before := renders.Load()
	last := fmt.Sprintf("/pages/%d?size=%d", 3*pageCacheBytes/page-1, page)
	if w := get(last); w.Header().Get("X-Riskzone-Cache") != "hit" || renders.Load() != before {
		t.Fatalf("the newest page was not kept")
	}

	// Over the per-page maximum: answered whole, never kept.
	big := fmt.Sprintf("/pages/big?size=%d", pageMaxBytes+1)
	for range 2 {
		before := renders.Load()
		w := get(big)
		if w.Body.Len() != pageMaxBytes+1 || w.Header().Get("X-Riskzone-Cache") == "hit" || renders.Load() != before+1 {
			t.Fatalf("a page over %d bytes: %d bytes answered, cache %q, %d renders", pageMaxBytes, w.Body.Len(), w.Header().Get("X-Riskzone-Cache"), renders.Load()-before)
		}
		p.pages.mu.Lock()
		_, kept := p.pages.pages[httptest.NewRequest(http.MethodGet, big, nil).Host+" "+big]
		p.pages.mu.Unlock()
		if kept {
			t.Fatalf("a page over %d bytes was kept", pageMaxBytes)
		}
		if n, _ := held(); n > pageCacheBytes {
			t.Fatalf("the cache holds %d bytes, over its cap", n)
		}
	}
	// Exactly the maximum is kept.
	edge := fmt.Sprintf("/pages/edge?size=%d", pageMaxBytes)
	get(edge)
	if w := get(edge); w.Header().Get("X-Riskzone-Cache") != "hit" || w.Body.Len() != pageMaxBytes {
		t.Fatalf("a page of exactly %d bytes was not kept", pageMaxBytes)
	}
}
