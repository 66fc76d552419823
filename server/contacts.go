package server

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// Close and secondary contacts and their closed loop (zoning/contacts.go):
// restricted like cases, for experts (and admins). Nothing here is public.

func (s *Server) contactRoutes() {
	g := s.echo.Group("/api/v1/contacts", requireRole(zoning.RoleExpert))
	g.GET("", s.listContacts)
	g.POST("", s.createContacts)
	g.GET("/:id", s.getContact)
	g.POST("/:id/steps", s.recordContactStep)
	g.GET("/overdue-count", s.overdueCount)
}

// overdueCount is the app's badge: overdue closed-loop steps not yet done.
func (s *Server) overdueCount(c echo.Context) error {
	county, err := queryInt(c, "county", 0)
	if err != nil {
		return err
	}
	n, err := s.contacts().OverdueCount(c.Request().Context(), county)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"county_id": county, "overdue": n})
}

func (s *Server) contacts() postgis.Contacts { return postgis.Contacts{S: s.store, Now: s.cfg.Now} }

// createContacts registers one contact, a JSON array, or a CSV list
// (Content-Type text/csv, ?county=): all or none.
func (s *Server) createContacts(c echo.Context) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ctype, _, _ := mime.ParseMediaType(c.Request().Header.Get("Content-Type"))
	var batch []zoning.NewContact
	switch ctype {
	case "text/csv":
		county, err := queryInt(c, "county", 0)
		if err != nil {
			return err
		}
		loc, err := s.contacts().Location(ctx, county)
		if err != nil {
			return err
		}
		if batch, err = zoning.ParseContactsCSV(bytes.NewReader(body), county, loc, postgis.MaxContactsBatch); err != nil {
			return err
		}
	case "application/json", "":
		if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '[' {
			if err := decodeJSON(body, &batch); err != nil {
				return err
			}
		} else {
			var one zoning.NewContact
			if err := decodeJSON(body, &one); err != nil {
				return err
			}
			batch = []zoning.NewContact{one}
		}
	default:
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: want application/json or text/csv", ctype))
	}
	out, err := s.contacts().Create(ctx, s.auditOrigin(c, "register contacts"), batch)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusCreated, map[string]any{"contacts": out})
}

// listContacts lists contacts of a county by id; ?overdue=true keeps those
// with a closed-loop step past its limit.
func (s *Server) listContacts(c echo.Context) error {
	county, err := queryInt(c, "county", 0)
	if err != nil {
		return err
	}
	after, err := queryInt(c, "after", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", 100)
	if err != nil {
		return err
	}
	overdue := false
	if v := c.QueryParam("overdue"); v != "" {
		if overdue, err = strconv.ParseBool(v); err != nil {
			return zoning.Errorf(zoning.ErrInvalid, "overdue %q: want true or false", v)
		}
	}
	list, err := s.contacts().List(c.Request().Context(), postgis.ContactFilter{CountyID: county, Overdue: overdue, AfterID: after, Limit: int(limit)})
	if err != nil {
		return err
	}
	noStore(c)
	res := map[string]any{"contacts": list}
	if len(list) == int(limit) {
		res["next"] = fmt.Sprintf("/api/v1/contacts?county=%d&overdue=%t&after=%d&limit=%d", county, overdue, list[len(list)-1].ID, limit)
	}
	return c.JSON(http.StatusOK, res)
}

func (s *Server) getContact(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.contacts().Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, out)
}

// recordContactStep records one of the four steps, in order.
func (s *Server) recordContactStep(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var r zoning.StepRecord
	if err := decodeBody(c, &r); err != nil {
		return err
	}
	out, err := s.contacts().RecordStep(c.Request().Context(), s.auditOrigin(c, r.Reason), id, r)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, out)
}
