package postgis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
)

// DefaultCAPSender is the CAP <sender> when Notices.Sender is empty.
const DefaultCAPSender = "riskzone@riskzone.invalid"

// Notices is the store of publication (SPEC §2 "Publication", §5): it turns
// the approved, unpublished zone versions of a county into notices, with
// their CAP messages and webhook outbox rows, and reads what the public may
// see.
//
// Publication model. A zone version is public once published_notice_id is
// set; the public map (view public_zone_versions) shows each zone's latest
// published version. Publish gathers the county's pending changes (the
// unpublished versions of its zones; all of them, or those of chosen zones
// with the zones a pending split or merge links to them), refuses when the
// publisher authored one of them (second person), and writes in ONE
// transaction, under the county lock the lifecycle writes take:
//
//   - at most two notices, as the real announcements do: one for the zones
//     lifted (kind lift), then one stating the other changes (an Alert when
//     it is the first notice since the county was last normal). Every CAP
//     Alert or Update carries the whole situation in force after it (all
//     its zones' polygons), so its areas replace those of the messages it
//     references; a lift that leaves zones in force is such an Update. A
//     Cancel only when nothing remains in force (kind normalize: the county
//     returns to normal);
//   - published_notice_id on every published version (actual notices only:
//     a test or exercise notice rehearses all the rest and leaves the public
//     map and the pending changes as they were), notice_zones rows
//     (the latest version of each changed zone), the CAP XML, the outbox
//     rows of the matching subscribers, the audit entry, a bump of the zones
//     and notices layers (NOTIFY riskzone_layers) and NOTIFY riskzone_outbox.
//
// Notices never change afterwards (the database refuses UPDATE and DELETE);
// a correction is a new notice (kind correction, CAP Update) that references
// the old one.
type Notices struct {
	S *Store
	// Now is the clock of publication times; nil means time.Now.
	Now func() time.Time
	// Loc is the time zone notices are written in; nil means zoning.ChinaTime().
	Loc *time.Location
	// Sender is the CAP <sender>; "" means DefaultCAPSender.
	Sender string
	// BaseURL is the public address of the service (https://host), written
	// into CAP <web>; "" leaves <web> out.
	BaseURL string
}

func (n Notices) now() time.Time {
	t := time.Now()
	if n.Now != nil {
		t = n.Now()
	}
	return t.Truncate(time.Microsecond)
}

func (n Notices) loc() *time.Location {
	if n.Loc != nil {
		return n.Loc
	}
	return zoning.ChinaTime()
}

func (n Notices) sender() string {
	if n.Sender != "" {
		return n.Sender
	}
	return DefaultCAPSender
}

// Publish publishes the pending changes of a county (see Notices) and
// returns the notices written, in order.
func (n Notices) Publish(ctx context.Context, origin zoning.Origin, req zoning.PublishRequest) ([]zoning.Notice, error) {
	now := n.now()
	if err := req.Validate(now); err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.Reason) != "" {
		origin.Reason = req.Reason
	} else if origin.Reason == "" {
		origin.Reason = "publish the approved changes"
	}
	rec := &auditRecord{action: "notice.publish", entity: "county", entityID: strconv.FormatInt(req.CountyID, 10)}
	var out []zoning.Notice
	err := Zones{S: n.S, Now: n.Now, Loc: n.Loc}.write(ctx, origin, rec, func(tx pgx.Tx) error {
		ids, err := n.publish(ctx, tx, origin, req, now, rec, true)
		if err != nil {
			return err
		}
		if err := n.announce(ctx, tx, ids); err != nil {
			return err
		}
		out, err = n.getManyQ(ctx, tx, ids)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Preview returns the notices Publish would write now, without writing
// anything (the transaction is rolled back). The second-person rule is not
// applied: anyone who may publish may look.
func (n Notices) Preview(ctx context.Context, req zoning.PublishRequest) ([]zoning.Notice, error) {
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
	return n.getManyQ(ctx, tx, ids)
}

func (n Notices) announce(ctx context.Context, tx pgx.Tx, ids []int64) error {
	if err := bumpLayers(ctx, tx, "zones", "notices"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, OutboxChannel, joinIDs(ids)); err != nil {
		return fmt.Errorf("notify deliveries: %w", err)
	}
	return nil
}

// ---- reading notices -----------------------------------------------------------

// ---- public reads ------------------------------------------------------------
