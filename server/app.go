package server

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

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
	gz := middleware.GzipWithConfig(middleware.GzipConfig{Level: 5})
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
