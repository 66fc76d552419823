package server

import (
	"bytes"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/riskzone/riskzone/zoning"
)

// Corrections of published notices need two publishers (SPEC §6): one
// drafts (POST /api/v1/notices/{id}/corrections), another confirms
// (POST /api/v1/notices/corrections/{cid}/confirm), which publishes the
// correction notice. zoning/correction.go has the rule.

func (p *publicSite) correctionRoutes(pub *echo.Group) {
	pub.POST("/:id/corrections", p.draftCorrection)
	pub.GET("/corrections", p.pendingCorrections)
	pub.POST("/corrections/:cid/confirm", p.confirmCorrection)
	pub.POST("/corrections/:cid/withdraw", p.withdrawCorrection)
}

// draftCorrection stores a correction for a second publisher to confirm.
func (p *publicSite) draftCorrection(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req zoning.CorrectionRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	d, err := p.notices(c).DraftCorrection(c.Request().Context(), p.s.auditOrigin(c, req.Reason), id, req)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusCreated, map[string]any{"correction": d})
}

// pendingCorrections lists the drafts that wait for a second publisher.
func (p *publicSite) pendingCorrections(c echo.Context) error {
	county, err := queryInt(c, "county", 0)
	if err != nil {
		return err
	}
	out, err := p.notices(c).PendingCorrections(c.Request().Context(), county)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"corrections": out})
}

// confirmCorrection publishes a drafted correction (a second publisher).
func (p *publicSite) confirmCorrection(c echo.Context) error {
	cid, dec, err := correctionDecision(c)
	if err != nil {
		return err
	}
	n, err := p.notices(c).ConfirmCorrection(c.Request().Context(), p.s.auditOrigin(c, dec.Reason), cid, dec)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusCreated, n)
}

// withdrawCorrection withdraws a pending draft.
func (p *publicSite) withdrawCorrection(c echo.Context) error {
	cid, dec, err := correctionDecision(c)
	if err != nil {
		return err
	}
	d, err := p.notices(c).WithdrawCorrection(c.Request().Context(), p.s.auditOrigin(c, dec.Reason), cid, dec)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"correction": d})
}

// correctionDecision reads the correction id and the optional body
// {"reason": …} of a confirm or withdraw.
func correctionDecision(c echo.Context) (int64, zoning.CorrectionDecision, error) {
	var dec zoning.CorrectionDecision
	cid, err := pathID(c, "cid")
	if err != nil {
		return 0, dec, err
	}
	body, err := readBody(c)
	if err != nil {
		return 0, dec, err
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeJSON(body, &dec); err != nil {
			return 0, dec, err
		}
	}
	return cid, dec, nil
}
