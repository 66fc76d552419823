package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/zoning"
)

// ruleSetRoutes: the rule sets (SPEC §2 "Rules are data") and their
// assignment to counties. Listing is for staff (experts, publishers,
// admins); assigning is for admins, with a reason, audited (action
// county.rule_set, refusals too). An assignment is refused with 409 while
// the county has active zones of a level the new rule set does not have.
func (s *Server) ruleSetRoutes() {
	s.echo.GET("/api/v1/rule-sets", s.listRuleSets, requireRole(zoning.RoleExpert, zoning.RolePublisher))
	s.echo.PUT("/api/v1/counties/:id/rule-set", s.setCountyRuleSet, requireRole(zoning.RoleAdmin))
}

func (s *Server) listRuleSets(c echo.Context) error {
	list, err := s.store.RuleSets(c.Request().Context())
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"rule_sets": list})
}

// setCountyRuleSet answers the county's rule set as written.
func (s *Server) setCountyRuleSet(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req zoning.RuleSetAssignment
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	out, err := s.zones().SetCountyRuleSet(c.Request().Context(), s.auditOrigin(c, req.Reason), id, req)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, out)
}
