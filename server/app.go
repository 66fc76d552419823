package server

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/riskzone/riskzone/web"
	"github.com/riskzone/riskzone/zoning"
)

// appCSP is the Content-Security-Policy of the expert app: everything from
// the service itself; MapLibre runs its workers from blob: URLs; inline
// styles because MapLibre and terra-draw set element styles.
const appCSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; " +
	"worker-src 'self' blob:; child-src blob:; connect-src 'self'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'"

// appRoutes serves the expert web app (web/app, built by Vite into
// web/dist/app) under /app/ and its JSON helpers under /api/v1/app
// (server/app_api.go). Hashed assets (/app/assets/*) are cached for a year;
// any other path under /app/ that is not a file is a client route and gets
// index.html, never cached, so that a deployment is picked up at once.
func (s *Server) appRoutes() {
	// Files of the build are sent gzipped from memory (appGzip); the
	// middleware compresses the rest (index.html for client routes).
	gz := middleware.GzipWithConfig(middleware.GzipConfig{Level: 5, Skipper: func(c echo.Context) bool {
		ext := path.Ext(c.Request().URL.Path)
		return ext != "" && ext != ".html"
	}})
	get := []string{http.MethodGet, http.MethodHead}
	s.echo.Match(get, "/app", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/app/") })
	s.echo.Match(get, "/app/*", s.appFile, gz)
	s.appAPIRoutes()
}

// appFS is the built app, or nil when web/dist/app was not built.
func appFS() fs.FS {
	sub, err := fs.Sub(web.Dist(), "app")
	if err != nil {
		return nil
	}
	if _, err := fs.Stat(sub, "index.html"); err != nil {
		return nil
	}
	return sub
}

func (s *Server) appFile(c echo.Context) error {
	fsys := appFS()
	if fsys == nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "the expert app is not built into this binary: run make web, then rebuild")
	}
	name := strings.TrimPrefix(path.Clean("/"+c.Param("*")), "/")
	h := c.Response().Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if name != "" && name != "index.html" {
		if st, err := fs.Stat(fsys, name); err == nil && !st.IsDir() {
			if strings.HasPrefix(name, "assets/") {
				// Vite names every asset by its content hash.
				h.Set(echo.HeaderCacheControl, "public, max-age=31536000, immutable")
			} else {
				h.Set(echo.HeaderCacheControl, "public, max-age=300")
			}
			if compressible(name) {
				h.Add("Vary", "Accept-Encoding")
				if acceptsGzip(c.Request().Header.Get("Accept-Encoding")) {
					gz, err := appGzip(fsys, name)
					if err != nil {
						return err
					}
					h.Set("Content-Encoding", "gzip")
					if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
						h.Set(echo.HeaderContentType, ct)
					}
					h.Set(echo.HeaderContentLength, strconv.Itoa(len(gz)))
					c.Response().WriteHeader(http.StatusOK)
					if c.Request().Method == http.MethodHead {
						return nil
					}
					_, err = c.Response().Write(gz)
					return err
				}
			}
			http.ServeFileFS(c.Response(), c.Request(), fsys, name)
			return nil
		}
		if strings.HasPrefix(name, "assets/") || path.Ext(name) != "" {
			return zoning.Errorf(zoning.ErrNotFound, "no file %s in the expert app", name)
		}
	}
	// A client route (or the start page): the app's index.html.
	b, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		return err
	}
	h.Set(echo.HeaderCacheControl, "no-cache")
	h.Set("Content-Security-Policy", s.mapCSP(appCSP))
	h.Set("Referrer-Policy", "same-origin")
	return c.HTMLBlob(http.StatusOK, b)
}

// appGzipped holds the gzip of each file of the embedded app that was
// asked for, made once: the files never change in a binary, and a notice
// day brings many first visits (the bundle is 1.3 MB, 0.35 MB gzipped;
// compressing it per request costs tens of milliseconds of CPU each).
var appGzipped sync.Map // name -> []byte

// appGzip is the gzip of a file of the app, from memory after the first
// time.
func appGzip(fsys fs.FS, name string) ([]byte, error) {
	if b, ok := appGzipped.Load(name); ok {
		return b.([]byte), nil
	}
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("read %s of the app: %w", name, err)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("gzip %s: %w", name, err)
	}
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("gzip %s: %w", name, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip %s: %w", name, err)
	}
	b, _ := appGzipped.LoadOrStore(name, buf.Bytes())
	return b.([]byte), nil
}

// compressible reports whether a file of the app is text worth gzipping.
func compressible(name string) bool {
	switch path.Ext(name) {
	case ".js", ".mjs", ".css", ".html", ".json", ".svg", ".map", ".txt", ".xml":
		return true
	}
	return false
}
