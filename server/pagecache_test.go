package server

import (
	"net/http"
	"net/http/httptest"
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
