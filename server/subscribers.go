package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// subscriberRoutes is the admin API of webhook subscribers (agencies):
//
//	POST   /api/v1/admin/subscribers      {name, url, secret?, county_ids?} → 201, the secret shown once
//	GET    /api/v1/admin/subscribers      every subscriber, with delivery counts by state
//	GET    /api/v1/admin/subscribers/:id
//	PATCH  /api/v1/admin/subscribers/:id  {"active": false|true}
//	DELETE /api/v1/admin/subscribers/:id  disables (rows stay for the record)
func (s *Server) subscriberRoutes() {
	g := s.echo.Group("/api/v1/admin/subscribers", requireRole(zoning.RoleAdmin))
	g.POST("", s.createSubscriber)
	g.GET("", s.listSubscribers)
	g.GET("/:id", s.getSubscriber)
	g.PATCH("/:id", s.patchSubscriber)
	g.DELETE("/:id", s.disableSubscriber)
}

func (s *Server) outbox() postgis.Outbox { return postgis.Outbox{S: s.store} }

// subscriberCreated is the answer of a creation: the only time the secret
// is shown.
type subscriberCreated struct {
	zoning.Subscriber
	Secret string `json:"secret"`
}

func (s *Server) createSubscriber(c echo.Context) error {
	var ns zoning.NewSubscriber
	if err := decodeBody(c, &ns); err != nil {
		return err
	}
	sub, secret, err := s.outbox().CreateSubscriber(c.Request().Context(), s.auditOrigin(c, "register a webhook subscriber"), ns)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusCreated, subscriberCreated{Subscriber: sub, Secret: secret})
}

func (s *Server) listSubscribers(c echo.Context) error {
	list, err := s.outbox().Subscribers(c.Request().Context())
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"subscribers": list})
}

func (s *Server) getSubscriber(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	sub, err := s.outbox().Subscriber(c.Request().Context(), id)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, sub)
}

func (s *Server) patchSubscriber(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req struct {
		Active *bool `json:"active"`
	}
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	if req.Active == nil {
		return zoning.Errorf(zoning.ErrInvalid, "active is missing: send {\"active\": false} to disable or true to enable")
	}
	sub, err := s.outbox().SetSubscriberActive(c.Request().Context(), s.auditOrigin(c, "change a webhook subscriber"), id, *req.Active)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sub)
}

func (s *Server) disableSubscriber(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	sub, err := s.outbox().SetSubscriberActive(c.Request().Context(), s.auditOrigin(c, "disable a webhook subscriber"), id, false)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sub)
}
