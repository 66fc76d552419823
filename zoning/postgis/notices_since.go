package postgis

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
)

// MaxNoticesPage bounds a page of NoticesSince.
const MaxNoticesPage = 200

// NoticesSince returns the notices after notice id sinceID (of one county,
// or every county for 0), oldest first, at most limit, and whether more
// follow: an agency's catch-up after an outage, paging by the last id it
// has. Notice ids commit in order (writeNotice), so a page never skips a
// notice that commits later with a smaller id. Notices are public; test
// and exercise notices are in the list with their status, as webhooks
// send them.
func (n Notices) NoticesSince(ctx context.Context, county, sinceID int64, limit int) ([]zoning.Notice, bool, error) {
	if sinceID < 0 {
		return nil, false, zoning.Errorf(zoning.ErrInvalid, "since_id %d: want a notice id, or 0 for the first notices", sinceID)
	}
	if limit < 1 || limit > MaxNoticesPage {
		return nil, false, zoning.Errorf(zoning.ErrInvalid, "limit %d: want 1 to %d", limit, MaxNoticesPage)
	}
	rows, err := n.S.Pool.Query(ctx, `SELECT id FROM notices WHERE id > $1 AND ($2::bigint = 0 OR county_id = $2) ORDER BY id LIMIT $3`,
		sinceID, county, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("notices since %d: %w", sinceID, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, false, fmt.Errorf("notices since %d: %w", sinceID, err)
	}
	more := len(ids) > limit
	if more {
		ids = ids[:limit]
	}
	out, err := n.getMany(ctx, ids)
	if err != nil {
		return nil, false, err
	}
	if out == nil {
		out = []zoning.Notice{}
	}
	return out, more, nil
}
