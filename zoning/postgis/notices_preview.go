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
		out = append(out, NoticePreview{Notice: nt, CAPXML: doc})
	}
	return out, nil
}
