package zoning

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteProposalGeoJSON writes a proposal as an RFC 7946 FeatureCollection:
// one feature per draft (level, population, staff, area, members, boundary
// barriers; the rationale only when restricted is true) and one feature for
// the low-risk remainder.
func WriteProposalGeoJSON(w io.Writer, p Proposal, restricted bool) error {
	type feature struct {
		Type       string          `json:"type"`
		ID         string          `json:"id"`
		Geometry   json.RawMessage `json:"geometry"`
		Properties map[string]any  `json:"properties"`
	}
	fc := struct {
		Type     string    `json:"type"`
		Features []feature `json:"features"`
	}{Type: "FeatureCollection", Features: []feature{}}
	for i, d := range p.Drafts {
		props := map[string]any{
			"kind":                 "proposal",
			"key":                  d.Key,
			"name":                 d.Name,
			"level":                d.Level,
			"status":               "proposed",
			"population":           d.Population,
			"staff_required":       d.StaffRequired,
			"area_m2":              d.AreaM2,
			"building_ids":         d.BuildingIDs,
			"unit_ids":             d.UnitIDs,
			"boundary_barriers":    d.BoundaryBarriers,
			"enlarged":             d.Rationale.Enlarged,
			"boundary_on_barriers": d.Rationale.BoundaryOnBarriers,
			"population_estimated": d.PopulationEstimated,
			"workers":              d.Workers,
		}
		if i < len(p.IDs) {
			props["proposal_id"] = p.IDs[i]
		}
		if restricted {
			props["rationale"] = d.Rationale
			text := d.Rationale.Text
			if text == nil {
				r := d.Rationale
				Describe(&r, len(d.BuildingIDs), len(d.UnitIDs))
				text = r.Text
			}
			props["rationale_text"] = text
		}
		fc.Features = append(fc.Features, feature{Type: "Feature", ID: d.Key, Geometry: d.GeoJSON, Properties: props})
	}
	if len(p.LowRisk) > 0 {
		fc.Features = append(fc.Features, feature{Type: "Feature", ID: fmt.Sprintf("low-risk-%d", p.CountyID), Geometry: p.LowRisk,
			Properties: map[string]any{"kind": "low_risk_remainder", "level": "low", "county_id": p.CountyID}})
	}
	enc := json.NewEncoder(w)
	if err := enc.Encode(fc); err != nil {
		return fmt.Errorf("write GeoJSON: %w", err)
	}
	return nil
}
