package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// zoneRoutes are the expert panel's zone lifecycle API (SPEC §4): deciding
// proposals, editing, splitting, merging, screening and lifting zones, and
// their history. Every route needs the expert role (admins pass too); writes
// by cookie sessions need the CSRF token (csrfProtect).
//
// Optimistic concurrency: GET /zones/:id answers an ETag "z<id>-v<version>".
// An edit says which version it changes with If-Match (that ETag) or a
// "version" field; a stale version is answered 409 Conflict with
// current_version and etag in the body (and the current ETag header).
//
// A lift the rule does not allow is answered 409 Conflict: the request is
// well formed, but the zone's state refuses it; the message lists the rules
// not met (also at GET /zones/:id/lifting). Refusals are audited.
func (s *Server) zoneRoutes() {
	g := s.echo.Group("/api/v1", requireRole(zoning.RoleExpert))
	g.GET("/proposals/:id", s.getProposal)
	g.POST("/proposals/:id/approve", s.approveProposal)
	g.POST("/proposals/:id/reject", s.rejectProposal)
	g.POST("/proposals/:id/enlarge", s.stepProposal(true))
	g.POST("/proposals/:id/shrink", s.stepProposal(false))
	g.GET("/zones", s.listZones)
	g.POST("/zones/merge", s.mergeZones)
	g.GET("/zones/:id", s.getZone)
	g.GET("/zones/:id/versions", s.listZoneVersions)
	g.GET("/zones/:id/versions/:version", s.getZoneVersion)
	g.GET("/zones/:id/diff", s.diffZone)
	g.PUT("/zones/:id/geometry", s.replaceZoneGeometry)
	g.PATCH("/zones/:id/members", s.editZoneMembers)
	g.POST("/zones/:id/split", s.splitZone)
	g.GET("/zones/:id/screenings", s.listScreenings)
	g.POST("/zones/:id/screenings", s.addScreening)
	g.GET("/zones/:id/lifting", s.zoneLifting)
	g.POST("/zones/:id/lift", s.liftZone)
	g.GET("/counties/:id/status", s.countyStatus)
}

func (s *Server) zones() postgis.Zones { return postgis.Zones{S: s.store, Now: s.cfg.Now} }

// now is the server's clock (Config.Now).
func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// conflictBody answers a stale version: the error and where the zone is now.
type conflictBody struct {
	Error          ErrorDetail `json:"error"`
	ZoneID         int64       `json:"zone_id"`
	CurrentVersion int         `json:"current_version"`
	Status         string      `json:"status"`
	ETag           string      `json:"etag"`
}

// zoneWriteError answers a stale version with its conflict body; any other
// error goes to the server's error handler.
func zoneWriteError(c echo.Context, err error) error {
	var stale *zoning.StaleVersionError
	if !errors.As(err, &stale) {
		return err
	}
	etag := zoning.VersionETag(stale.ZoneID, stale.Current)
	c.Response().Header().Set(echo.HeaderCacheControl, "private, no-store")
	c.Response().Header().Set("ETag", etag)
	return c.JSON(http.StatusConflict, conflictBody{Error: ErrorDetail{Code: codeOf(http.StatusConflict), Message: zoning.Message(err)},
		ZoneID: stale.ZoneID, CurrentVersion: stale.Current, Status: stale.Status, ETag: etag})
}

// editVersion is the version an edit names: the If-Match header or the
// body's version field (0 when neither is given; both must then agree).
func editVersion(c echo.Context, id int64, body int) (int, error) {
	h := c.Request().Header.Get("If-Match")
	if h == "" {
		return body, nil
	}
	v, err := zoning.ParseIfMatch(h, id)
	if err != nil {
		return 0, err
	}
	if body != 0 && body != v {
		return 0, zoning.Errorf(zoning.ErrInvalid, "If-Match names version %d but the body says version %d", v, body)
	}
	return v, nil
}

// writeZone answers a zone with its ETag.
func writeZone(c echo.Context, status int, z zoning.Zone) error {
	noStore(c)
	c.Response().Header().Set("ETag", z.ETag())
	if status == http.StatusCreated {
		c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/api/v1/zones/%d", z.ID))
	}
	return c.JSON(status, z)
}

func (s *Server) getProposal(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	p, err := s.zones().Proposal(c.Request().Context(), id)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, p)
}

// approveProposal makes an active zone of a proposal: 201 with the zone.
// The approver must not be the proposer (403).
func (s *Server) approveProposal(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req zoning.ApproveRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	z, err := s.zones().Approve(c.Request().Context(), s.auditOrigin(c, req.Reason), id, req)
	if err != nil {
		return err
	}
	return writeZone(c, http.StatusCreated, z)
}

func (s *Server) rejectProposal(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req zoning.RejectRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	p, err := s.zones().Reject(c.Request().Context(), s.auditOrigin(c, req.Reason), id, req)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, p)
}

// stepProposal is an expert's "enlarge one level" (up) or "shrink one
// level": 200 with the new proposals that supersede the old one
// ({"proposals": [...], "superseded": id}); 409 when the proposal is decided
// or has no level above or below (nothing changes, the refusal is audited).
// The body is empty or {"reason": "..."} for the audit.
func (s *Server) stepProposal(up bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		var req struct {
			Reason string `json:"reason"`
		}
		body, err := readBody(c)
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(body)) > 0 {
			if err := decodeJSON(body, &req); err != nil {
				return err
			}
		}
		reason := req.Reason
		if reason == "" {
			reason = "shrink one level"
			if up {
				reason = "enlarge one level"
			}
		}
		ps, err := s.zones().StepProposal(c.Request().Context(), s.auditOrigin(c, reason), id, up)
		if err != nil {
			return err
		}
		noStore(c)
		return c.JSON(http.StatusOK, map[string]any{"proposals": ps, "superseded": id})
	}
}

// listZones answers zones as an RFC 7946 FeatureCollection: the current
// versions (?status=active|lifted|superseded|all, default active) or, with
// ?at=RFC3339, the active versions valid at that instant. ?county= filters.
func (s *Server) listZones(c echo.Context) error {
	county, err := queryInt(c, "county", 0)
	if err != nil {
		return err
	}
	f := zoning.ZoneFilter{CountyID: county, Status: c.QueryParam("status")}
	if at := c.QueryParam("at"); at != "" {
		// An unencoded "+08:00" arrives as " 08:00": read it as meant.
		if f.At, err = time.Parse(time.RFC3339Nano, strings.Replace(at, " ", "+", 1)); err != nil {
			return zoning.Errorf(zoning.ErrInvalid, "at %q: want an RFC 3339 time such as 2022-11-25T08:00:00+08:00", at)
		}
	}
	vs, err := s.zones().List(c.Request().Context(), f)
	if err != nil {
		return err
	}
	type feature struct {
		Type       string          `json:"type"`
		ID         string          `json:"id"`
		Geometry   json.RawMessage `json:"geometry"`
		Properties map[string]any  `json:"properties"`
	}
	fc := struct {
		Type     string    `json:"type"`
		At       string    `json:"at,omitempty"`
		Features []feature `json:"features"`
	}{Type: "FeatureCollection", Features: make([]feature, 0, len(vs))}
	if !f.At.IsZero() {
		fc.At = f.At.UTC().Format(time.RFC3339Nano)
	}
	for _, v := range vs {
		props, err := versionProperties(v)
		if err != nil {
			return err
		}
		fc.Features = append(fc.Features, feature{Type: "Feature", ID: fmt.Sprintf("z%d-v%d", v.ZoneID, v.Version), Geometry: v.Geometry, Properties: props})
	}
	noStore(c)
	c.Response().Header().Set(echo.HeaderContentType, "application/geo+json")
	c.Response().WriteHeader(http.StatusOK)
	return json.NewEncoder(c.Response()).Encode(fc)
}

// versionProperties is a version's JSON without its geometry.
func versionProperties(v zoning.ZoneVersion) (map[string]any, error) {
	v.Geometry = json.RawMessage("null")
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode zone %d version %d: %w", v.ZoneID, v.Version, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("encode zone %d version %d: %w", v.ZoneID, v.Version, err)
	}
	delete(m, "geometry")
	return m, nil
}

// getZone answers a zone with its current version and ETag; If-None-Match
// with the current ETag answers 304.
func (s *Server) getZone(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	z, err := s.zones().Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if inm := c.Request().Header.Get("If-None-Match"); inm != "" && strings.TrimPrefix(strings.TrimSpace(inm), "W/") == z.ETag() {
		c.Response().Header().Set("ETag", z.ETag())
		c.Response().Header().Set(echo.HeaderCacheControl, "private, no-cache")
		return c.NoContent(http.StatusNotModified)
	}
	c.Response().Header().Set("ETag", z.ETag())
	c.Response().Header().Set(echo.HeaderCacheControl, "private, no-cache")
	return c.JSON(http.StatusOK, z)
}

func (s *Server) listZoneVersions(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	vs, err := s.zones().Versions(c.Request().Context(), id)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"zone_id": id, "versions": vs})
}

func versionParam(c echo.Context, name string) (int, error) {
	v, err := strconv.Atoi(c.Param(name))
	if err != nil || v < 1 {
		return 0, zoning.Errorf(zoning.ErrInvalid, "version %q: want a positive integer", c.Param(name))
	}
	return v, nil
}

func (s *Server) getZoneVersion(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	v, err := versionParam(c, "version")
	if err != nil {
		return err
	}
	zv, err := s.zones().Version(c.Request().Context(), id, v)
	if err != nil {
		return err
	}
	// A version never changes once closed; the current one may be closed later.
	c.Response().Header().Set("ETag", zoning.VersionETag(id, v))
	noStore(c)
	return c.JSON(http.StatusOK, zv)
}

// diffZone compares two versions (?from=&to=; to defaults to the current
// version, from to the one before to).
func (s *Server) diffZone(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	to, err := queryInt(c, "to", 0)
	if err != nil {
		return err
	}
	from, err := queryInt(c, "from", 0)
	if err != nil {
		return err
	}
	if to == 0 {
		z, err := s.zones().Get(ctx, id)
		if err != nil {
			return err
		}
		to = int64(z.CurrentVersion)
	}
	if from == 0 {
		from = to - 1
	}
	if from < 1 || to < 1 || from > 1<<30 || to > 1<<30 {
		return zoning.Errorf(zoning.ErrInvalid, "from %d, to %d: want two versions, e.g. ?from=1&to=2", from, to)
	}
	d, err := s.zones().Diff(ctx, id, int(from), int(to))
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, d)
}

func (s *Server) replaceZoneGeometry(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req zoning.GeometryEdit
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	if req.Version, err = editVersion(c, id, req.Version); err != nil {
		return err
	}
	z, err := s.zones().ReplaceGeometry(c.Request().Context(), s.auditOrigin(c, req.Reason), id, req)
	if err != nil {
		return zoneWriteError(c, err)
	}
	return writeZone(c, http.StatusOK, z)
}

func (s *Server) editZoneMembers(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req zoning.MembersEdit
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	if req.Version, err = editVersion(c, id, req.Version); err != nil {
		return err
	}
	z, err := s.zones().EditMembers(c.Request().Context(), s.auditOrigin(c, req.Reason), id, req)
	if err != nil {
		return zoneWriteError(c, err)
	}
	return writeZone(c, http.StatusOK, z)
}

// splitZone answers 201 with the parts.
func (s *Server) splitZone(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req zoning.SplitRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	if req.Version, err = editVersion(c, id, req.Version); err != nil {
		return err
	}
	parts, err := s.zones().Split(c.Request().Context(), s.auditOrigin(c, req.Reason), id, req)
	if err != nil {
		return zoneWriteError(c, err)
	}
	noStore(c)
	return c.JSON(http.StatusCreated, map[string]any{"parent_zone_id": id, "zones": parts})
}

// mergeZones answers 201 with the merged zone; each zone is named with the
// version the caller merges.
func (s *Server) mergeZones(c echo.Context) error {
	var req zoning.MergeRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	z, err := s.zones().Merge(c.Request().Context(), s.auditOrigin(c, req.Reason), req)
	if err != nil {
		return zoneWriteError(c, err)
	}
	return writeZone(c, http.StatusCreated, z)
}

func (s *Server) listScreenings(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	list, err := s.zones().Screenings(c.Request().Context(), id)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"zone_id": id, "screenings": list})
}

// addScreening records a round: 201 with the round and the lifting status
// after it.
func (s *Server) addScreening(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req zoning.NewScreening
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	round, err := s.zones().AddScreening(ctx, s.auditOrigin(c, "record a screening round"), id, req)
	if err != nil {
		return err
	}
	ls, err := s.zones().Lifting(ctx, id)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusCreated, map[string]any{"screening": round, "lifting": ls})
}

func (s *Server) zoneLifting(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ls, err := s.zones().Lifting(c.Request().Context(), id)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, ls)
}

// liftZone lifts an eligible zone; an ineligible one is refused 409 with the
// reasons, unless an admin overrides with a written reason.
func (s *Server) liftZone(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req zoning.LiftRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	if req.Version, err = editVersion(c, id, req.Version); err != nil {
		return err
	}
	z, err := s.zones().Lift(c.Request().Context(), s.auditOrigin(c, req.Reason), id, req)
	if err != nil {
		return zoneWriteError(c, err)
	}
	return writeZone(c, http.StatusOK, z)
}

func (s *Server) countyStatus(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	st, err := s.zones().CountyStatus(c.Request().Context(), id)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, st)
}
