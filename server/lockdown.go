package server

import (
	"bytes"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// Compound lockdown (zoning/lockdown.go): a compound's entrances, open or
// closed and staffed; experts (and admins) only.

func (s *Server) lockdownRoutes() {
	g := s.echo.Group("/api/v1", requireRole(zoning.RoleExpert))
	g.GET("/compounds/:id/lockdown", s.getLockdown)
	g.POST("/compounds/:id/entrances", s.addEntrance)
	g.POST("/compounds/:id/entrances/adopt", s.adoptEntrances)
	g.PATCH("/entrances/:id", s.editEntrance)
	g.GET("/zones/:id/compounds", s.zoneCompounds)
}

func (s *Server) lockdowns() postgis.Lockdowns { return postgis.Lockdowns{S: s.store} }

func (s *Server) getLockdown(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	l, err := s.lockdowns().Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, l)
}

func (s *Server) addEntrance(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var e zoning.NewEntrance
	if err := decodeBody(c, &e); err != nil {
		return err
	}
	l, err := s.lockdowns().AddEntrance(c.Request().Context(), s.auditOrigin(c, e.Reason), id, e)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusCreated, l)
}

func (s *Server) adoptEntrances(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var r struct {
		Reason string `json:"reason"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeJSON(body, &r); err != nil {
			return err
		}
	}
	l, err := s.lockdowns().AdoptEntrances(c.Request().Context(), s.auditOrigin(c, r.Reason), id)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, l)
}

func (s *Server) editEntrance(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var x zoning.EntranceEdit
	if err := decodeBody(c, &x); err != nil {
		return err
	}
	l, err := s.lockdowns().EditEntrance(c.Request().Context(), s.auditOrigin(c, x.Reason), id, x)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, l)
}

// zoneCompounds answers the compounds of a zone as a lockdown sees them.
func (s *Server) zoneCompounds(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.lockdowns().OfZone(c.Request().Context(), id)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"zone_id": id, "compounds": out})
}
