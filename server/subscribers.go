package server

import (
	"fmt"
	"net/http"
	"strings"

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
//	GET    /api/v1/admin/subscribers/:id/deliveries?state=&before=&limit=
//	                                      its outbox rows, newest first
//	POST   /api/v1/admin/subscribers/:id/deliveries/:delivery/redeliver {reason?}
//	                                      a dead delivery again: same key and body;
//	                                      409 unless dead, 404 for an unknown one
//	POST   /api/v1/admin/subscribers/:id/requeue {since_id, reason?}
//	                                      every notice after since_id it has not
//	                                      received (dead rows again, missing rows created)
//
// Redeliveries and re-queues are audited with the admin's name (refusals too).
func (s *Server) subscriberRoutes() {
	g := s.echo.Group("/api/v1/admin/subscribers", requireRole(zoning.RoleAdmin))
	g.POST("", s.createSubscriber)
	g.GET("", s.listSubscribers)
	g.GET("/:id", s.getSubscriber)
	g.PATCH("/:id", s.patchSubscriber)
	g.DELETE("/:id", s.disableSubscriber)
	g.GET("/:id/deliveries", s.listDeliveries)
	g.POST("/:id/deliveries/:delivery/redeliver", s.redeliver)
	g.POST("/:id/requeue", s.requeue)
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
	if err := ns.Validate(); err != nil {
		return err
	}
	// https unless the allowlist names the receiver (or --insecure-dev);
	// where the name resolves is checked at each delivery's dial.
	if err := s.out.checkURL(ns.URL); err != nil {
		return zoning.Errorf(zoning.ErrInvalid, "%v", err)
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

func (s *Server) listDeliveries(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	before, err := queryInt(c, "before", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", 100)
	if err != nil {
		return err
	}
	if limit < 1 || limit > 500 {
		return zoning.Errorf(zoning.ErrInvalid, "limit %d: want 1 to 500", limit)
	}
	list, err := s.outbox().Deliveries(c.Request().Context(), id, postgis.DeliveryFilter{State: c.QueryParam("state"), Before: before, Limit: int(limit)})
	if err != nil {
		return err
	}
	noStore(c)
	next := int64(0)
	if len(list) == int(limit) {
		next = list[len(list)-1].ID
	}
	return c.JSON(http.StatusOK, map[string]any{"deliveries": list, "next_before": next})
}

// optionalReason reads an optional {"reason": "..."} body.
func optionalReason(c echo.Context, def string) (string, error) {
	body, err := readBody(c)
	if err != nil {
		return "", err
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return def, nil
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(body, &req); err != nil {
		return "", err
	}
	if strings.TrimSpace(req.Reason) == "" {
		return def, nil
	}
	return req.Reason, nil
}

func (s *Server) redeliver(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	delivery, err := pathID(c, "delivery")
	if err != nil {
		return err
	}
	reason, err := optionalReason(c, "redeliver a dead webhook delivery")
	if err != nil {
		return err
	}
	d, err := s.outbox().Redeliver(c.Request().Context(), s.auditOrigin(c, reason), id, delivery)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, d)
}

func (s *Server) requeue(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req struct {
		SinceID *int64 `json:"since_id"`
		Reason  string `json:"reason"`
	}
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	if req.SinceID == nil {
		return zoning.Errorf(zoning.ErrInvalid, "since_id is missing: send {\"since_id\": N}, the last notice the agency has (0 for all)")
	}
	reason := req.Reason
	if strings.TrimSpace(reason) == "" {
		reason = fmt.Sprintf("queue again the notices since %d", *req.SinceID)
	}
	res, err := s.outbox().Requeue(c.Request().Context(), s.auditOrigin(c, reason), id, *req.SinceID)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, res)
}
