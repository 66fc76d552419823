package server

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// Quarantine sites and the placement of contacts in them
// (zoning/sites.go): experts (and admins) only; nothing here is public.

func (s *Server) siteRoutes() {
	g := s.echo.Group("/api/v1", requireRole(zoning.RoleExpert))
	g.GET("/quarantine-sites", s.listSites)
	g.POST("/quarantine-sites", s.putSites)
	g.PATCH("/quarantine-sites/:id", s.editSite)
	g.POST("/quarantine-sites/assign", s.assignSites)
	g.PUT("/contacts/:id/site", s.placeContact)
	g.GET("/zones/:id/quarantine", s.quarantineNeed("zone"))
	g.GET("/proposals/:id/quarantine", s.quarantineNeed("proposal"))
}

// quarantineNeed answers what a zone or proposal asks of the sites.
func (s *Server) quarantineNeed(kind string) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		q, err := s.sites().QuarantineNeed(c.Request().Context(), kind, id)
		if err != nil {
			return err
		}
		noStore(c)
		return c.JSON(http.StatusOK, q)
	}
}

func (s *Server) sites() postgis.Sites { return postgis.Sites{S: s.store} }

// listSites answers a county's sites with the rooms standard.
func (s *Server) listSites(c echo.Context) error {
	county, err := queryInt(c, "county", 0)
	if err != nil {
		return err
	}
	if county <= 0 {
		return zoning.Errorf(zoning.ErrInvalid, "county is missing: /api/v1/quarantine-sites?county=ID")
	}
	sum, list, err := s.sites().Overview(c.Request().Context(), county)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"summary": sum, "sites": list})
}

// putSites registers or updates sites: JSON (one or an array), a GeoJSON
// FeatureCollection of points (application/geo+json) or CSV (?county=).
func (s *Server) putSites(c echo.Context) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	county, err := queryInt(c, "county", 0)
	if err != nil {
		return err
	}
	ctype, _, _ := mime.ParseMediaType(c.Request().Header.Get("Content-Type"))
	var list []zoning.NewSite
	switch ctype {
	case "text/csv":
		list, err = zoning.ParseSitesCSV(bytes.NewReader(body), county, postgis.MaxSitesBatch)
	case "application/geo+json":
		list, err = zoning.ParseSitesGeoJSON(body, county, postgis.MaxSitesBatch)
	case "application/json", "":
		if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '[' {
			err = decodeJSON(body, &list)
		} else {
			var one zoning.NewSite
			err = decodeJSON(body, &one)
			list = []zoning.NewSite{one}
		}
	default:
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: want application/json, application/geo+json or text/csv", ctype))
	}
	if err != nil {
		return err
	}
	out, err := s.sites().Put(c.Request().Context(), s.auditOrigin(c, "register quarantine sites"), list)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"sites": out})
}

func (s *Server) editSite(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var e zoning.SiteEdit
	if err := decodeBody(c, &e); err != nil {
		return err
	}
	out, err := s.sites().Edit(c.Request().Context(), s.auditOrigin(c, e.Reason), id, e)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, out)
}

// assignRequest names the county whose waiting contacts get sites.
type assignRequest struct {
	CountyID int64  `json:"county_id"`
	Reason   string `json:"reason,omitempty"`
}

func (s *Server) assignSites(c echo.Context) error {
	var r assignRequest
	if err := decodeBody(c, &r); err != nil {
		return err
	}
	if r.CountyID <= 0 {
		return zoning.Errorf(zoning.ErrInvalid, "county_id is missing")
	}
	out, err := s.sites().Assign(c.Request().Context(), s.auditOrigin(c, r.Reason), r.CountyID)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, out)
}

// placeRequest puts a contact into a site by hand (site_id 0: out of any).
type placeRequest struct {
	SiteID *int64 `json:"site_id"`
	Reason string `json:"reason"`
}

func (s *Server) placeContact(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var r placeRequest
	if err := decodeBody(c, &r); err != nil {
		return err
	}
	if r.SiteID == nil || *r.SiteID < 0 {
		return zoning.Errorf(zoning.ErrInvalid, "site_id is missing: a site's id, or 0 to take the contact out of its site")
	}
	out, err := s.sites().Place(c.Request().Context(), s.auditOrigin(c, r.Reason), id, *r.SiteID, r.Reason)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, out)
}
