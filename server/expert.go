package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// maxBulkCases bounds one bulk case import.
const maxBulkCases = 10000

// expertRoutes are the restricted APIs of epidemiologists and the expert
// panel: cases, traces and proposals (role expert; admins pass too).
func (s *Server) expertRoutes() {
	g := s.echo.Group("/api/v1", requireRole(zoning.RoleExpert))
	g.GET("/cases", s.listCases)
	g.POST("/cases", s.createCases)
	g.GET("/cases/:id", s.getCase)
	g.PATCH("/cases/:id", s.updateCase)
	g.GET("/cases/:id/traces", s.listTraces)
	g.POST("/cases/:id/traces", s.addTraces)
	g.POST("/proposals", s.propose)
	g.GET("/proposal-runs/:id", s.getProposalRun)
	s.contactRoutes()
	s.siteRoutes()
	s.lockdownRoutes()
}

// getProposalRun answers a stored engine run as GeoJSON, with the restricted
// rationale and each proposal's current status.
func (s *Server) getProposalRun(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	prop, statuses, err := postgis.Proposals{S: s.store}.Run(c.Request().Context(), id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := zoning.WriteProposalGeoJSON(&buf, prop, true); err != nil {
		return err
	}
	// Replace each draft's "proposed" status by the stored one.
	var fc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &fc); err != nil {
		return fmt.Errorf("re-read proposal GeoJSON: %w", err)
	}
	if feats, ok := fc["features"].([]any); ok {
		for i := range statuses {
			if i < len(feats) {
				if f, ok := feats[i].(map[string]any); ok {
					if props, ok := f["properties"].(map[string]any); ok {
						props["status"] = statuses[i]
					}
				}
			}
		}
	}
	fc["run_id"], fc["county_id"], fc["at"], fc["params"], fc["ignored_cases"] = prop.RunID, prop.CountyID, prop.At, prop.Params, prop.Ignored
	noStore(c)
	c.Response().Header().Set("Content-Type", "application/geo+json")
	return c.JSON(http.StatusOK, fc)
}

func (s *Server) cases() postgis.Cases { return postgis.Cases{S: s.store, Now: s.cfg.Now} }

// pathID reads a positive integer path parameter.
func pathID(c echo.Context, name string) (int64, error) {
	v := c.Param(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, zoning.Errorf(zoning.ErrInvalid, "%s %q: want a positive integer", name, v)
	}
	return id, nil
}

// queryInt reads an optional integer query parameter.
func queryInt(c echo.Context, name string, def int64) (int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, zoning.Errorf(zoning.ErrInvalid, "query parameter %s=%q: want a non-negative integer", name, v)
	}
	return n, nil
}

// decodeJSON decodes a request body strictly: unknown fields, trailing data
// and syntax errors are 400 errors that say where the problem is.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return zoning.Errorf(zoning.ErrInvalid, "the request body is empty: want JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			return zoning.Errorf(zoning.ErrInvalid, "malformed JSON: the body ends early (at byte %d)", len(body))
		case errors.As(err, &se):
			return zoning.Errorf(zoning.ErrInvalid, "malformed JSON at byte %d: %v", se.Offset, se)
		case errors.As(err, &te):
			return zoning.Errorf(zoning.ErrInvalid, "JSON field %q at byte %d: want %s, got %s", te.Field, te.Offset, te.Type, te.Value)
		default:
			return zoning.Errorf(zoning.ErrInvalid, "JSON: %v", err)
		}
	}
	if dec.More() {
		return zoning.Errorf(zoning.ErrInvalid, "unexpected data after the JSON value")
	}
	return nil
}

// decodeBody reads and strictly decodes a JSON body.
func decodeBody(c echo.Context, v any) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	return decodeJSON(body, v)
}

// noStore marks an answer that no shared cache may keep (restricted data).
func noStore(c echo.Context) { c.Response().Header().Set(echo.HeaderCacheControl, "private, no-store") }

func readBody(c echo.Context) ([]byte, error) {
	b, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, he
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, zoning.Errorf(zoning.ErrTooLarge, "the request body is larger than %d bytes", mbe.Limit)
		}
		return nil, fmt.Errorf("read request body: %w", err)
	}
	return b, nil
}

func (s *Server) listCases(c echo.Context) error {
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
	if limit < 1 || limit > 1000 {
		return zoning.Errorf(zoning.ErrInvalid, "limit %d: want 1 to 1000", limit)
	}
	f := postgis.CaseFilter{CountyID: county, AfterID: after, Limit: int(limit), From: c.QueryParam("from"), To: c.QueryParam("to")}
	for name, v := range map[string]string{"from": f.From, "to": f.To} {
		if v != "" {
			if _, err := zoning.ParseDate(name, v); err != nil {
				return err
			}
		}
	}
	list, err := s.cases().List(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if list == nil {
		list = []zoning.Case{}
	}
	res := map[string]any{"cases": list}
	if len(list) == int(limit) {
		res["next"] = fmt.Sprintf("/api/v1/cases?county=%d&after=%d&limit=%d&from=%s&to=%s", county, list[len(list)-1].ID, limit, f.From, f.To)
	}
	noStore(c)
	return c.JSON(http.StatusOK, res)
}

// createCases takes one case or an array of cases as JSON, or a CSV file
// (Content-Type text/csv, county from ?county=). A batch is stored whole or
// not at all.
func (s *Server) createCases(c echo.Context) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	ctype, _, _ := mime.ParseMediaType(c.Request().Header.Get("Content-Type"))
	var batch []zoning.NewCase
	switch ctype {
	case "text/csv":
		county, err := queryInt(c, "county", 0)
		if err != nil {
			return err
		}
		if batch, err = zoning.ParseCasesCSV(bytes.NewReader(body), county, maxBulkCases); err != nil {
			return err
		}
	case "application/json", "":
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) > 0 && trimmed[0] == '[' {
			if err := decodeJSON(body, &batch); err != nil {
				return err
			}
		} else {
			var one zoning.NewCase
			if err := decodeJSON(body, &one); err != nil {
				return err
			}
			batch = []zoning.NewCase{one}
		}
	default:
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: want application/json or text/csv", ctype))
	}
	if len(batch) == 0 {
		return zoning.Errorf(zoning.ErrInvalid, "no cases given")
	}
	if len(batch) > maxBulkCases {
		return zoning.Errorf(zoning.ErrTooLarge, "%d cases in one request: at most %d", len(batch), maxBulkCases)
	}
	ids, err := s.cases().Create(c.Request().Context(), s.auditOrigin(c, "register cases"), batch)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"ids": ids})
}

func (s *Server) getCase(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	cs, err := s.cases().Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, cs)
}

func (s *Server) updateCase(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var u zoning.CaseUpdate
	if err := decodeBody(c, &u); err != nil {
		return err
	}
	cs, err := s.cases().Update(c.Request().Context(), s.auditOrigin(c, u.Reason), id, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cs)
}

func (s *Server) listTraces(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ts, err := s.cases().Traces(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if ts == nil {
		ts = []zoning.Trace{}
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"traces": ts})
}

func (s *Server) addTraces(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var list []zoning.NewTrace
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '[' {
		err = decodeJSON(body, &list)
	} else {
		var one zoning.NewTrace
		err = decodeJSON(body, &one)
		list = []zoning.NewTrace{one}
	}
	if err != nil {
		return err
	}
	ids, err := s.cases().AddTraces(c.Request().Context(), s.auditOrigin(c, "add traces"), id, list)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"ids": ids})
}

// proposeRequest is the body of POST /api/v1/proposals.
type proposeRequest struct {
	CountyID int64           `json:"county_id"`
	At       string          `json:"at"`
	Params   json.RawMessage `json:"params"`
}

// propose runs the engine and answers the proposals as GeoJSON, with the
// restricted rationale (the caller is an expert).
func (s *Server) propose(c echo.Context) error {
	var req proposeRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	now := s.now()
	at := now
	if req.At != "" {
		var err error
		if at, err = time.Parse(time.RFC3339, req.At); err != nil {
			return zoning.Errorf(zoning.ErrInvalid, "at %q: want an RFC 3339 time", req.At)
		}
	}
	params, err := zoning.ParseProposeParams(req.Params)
	if err != nil {
		return err
	}
	p := principal(c)
	var actor *int64
	if p.UserID != 0 {
		actor = &p.UserID
	}
	prop, err := zoning.Propose(c.Request().Context(), postgis.Proposals{S: s.store},
		zoning.ProposeRequest{CountyID: req.CountyID, At: at, Params: params, Now: now}, actor)
	if err != nil {
		return err
	}
	if err := s.store.Audit(c.Request().Context(), s.auditOrigin(c, "run proposal engine").Entry("proposal.run", "proposal_run", strconv.FormatInt(prop.RunID, 10))); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Type", "application/geo+json")
	noStore(c)
	c.Response().Header().Set("Location", fmt.Sprintf("/api/v1/proposal-runs/%d", prop.RunID))
	c.Response().WriteHeader(http.StatusCreated)
	var buf strings.Builder
	if err := zoning.WriteProposalGeoJSON(&buf, prop, true); err != nil {
		return err
	}
	_, err = io.WriteString(c.Response(), buf.String())
	return err
}
