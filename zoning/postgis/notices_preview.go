package postgis

import (
	"context"
	"fmt"

	"github.com/riskzone/riskzone/zoning"
)

// NoticePreview is a notice Publish would write now, with the CAP message it
// would carry (the identifier's random suffix and the sent time differ at
// the real publication).
type NoticePreview struct {
	zoning.Notice
	CAPXML string `json:"cap_xml"`
	// Figures are the population and staff of the notice's zone versions,
	// for the publisher to check before publishing (the notice text does
	// not print them).
	Figures []ZoneFigures `json:"figures"`
}

// ZoneFigures are the numbers of a zone version. PopulationEstimated: the
// population is (partly) the importer's estimate, not a count, and the app
// shows it as "约 / est.".
type ZoneFigures struct {
	ZoneID              int64 `json:"zone_id"`
	Version             int   `json:"version"`
	Population          int   `json:"population"`
	StaffRequired       int   `json:"staff_required"`
	PopulationEstimated bool  `json:"population_estimated"`
}

// PreviewDocuments is Preview with each notice's CAP message, for the expert
// app's publish dialog. Nothing is written: the transaction is rolled back.
func (n Notices) PreviewDocuments(ctx context.Context, req zoning.PublishRequest) ([]NoticePreview, error) {
	now := n.now()
	if err := req.Validate(now); err != nil {
		return nil, err
	}
	tx, err := n.S.Pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx)
	ids, err := n.publish(ctx, tx, zoning.Origin{}, req, now, &auditRecord{}, false)
	if err != nil {
		return nil, err
	}
	list, err := n.getManyQ(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]NoticePreview, 0, len(list))
	for _, nt := range list {
		var doc string
		if err := tx.QueryRow(ctx, `SELECT cap_xml FROM notices WHERE id = $1`, nt.ID).Scan(&doc); err != nil {
			return nil, fmt.Errorf("preview CAP of notice %d: %w", nt.ID, err)
		}
		figs, err := zoneFigures(ctx, tx, nt.Zones)
		if err != nil {
			return nil, fmt.Errorf("preview figures of notice %d: %w", nt.ID, err)
		}
		out = append(out, NoticePreview{Notice: nt, CAPXML: doc, Figures: figs})
	}
	return out, nil
}

// zoneFigures reads the figures of the zone versions a notice lists.
func zoneFigures(ctx context.Context, q querier, zones []zoning.NoticeZone) ([]ZoneFigures, error) {
	out := []ZoneFigures{}
	if len(zones) == 0 {
		return out, nil
	}
	refs := make([]zoneRef, len(zones))
	for i, z := range zones {
		refs[i] = zoneRef{id: z.ZoneID, version: z.Version}
	}
	ids, versions := splitRefs(refs)
	rows, err := q.Query(ctx, query("notice_preview_figures"), ids, versions)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var f ZoneFigures
		if err := rows.Scan(&f.ZoneID, &f.Version, &f.Population, &f.StaffRequired, &f.PopulationEstimated); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
