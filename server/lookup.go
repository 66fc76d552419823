package server

import (
	"context"
	"time"

	"github.com/riskzone/riskzone/server/lookup"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// The public lookup is answered from the in-memory index of server/lookup,
// never from the database on the hot path. The index is
// loaded from the store (lookup_store.go) and rebuilt whole when the zones
// layer version moves: on NOTIFY riskzone_layers, and by polling
// layer_versions every PublicConfig.LookupPoll as a fallback (a replica
// that missed a notification catches up within one poll).

// currentIndex returns the index, building it on first use when the
// background worker has not (yet) done so.
func (p *publicSite) currentIndex(ctx context.Context) (*lookup.Index, error) {
	if ix := p.index.Load(); ix != nil {
		return ix, nil
	}
	p.buildMu.Lock()
	defer p.buildMu.Unlock()
	if ix := p.index.Load(); ix != nil {
		return ix, nil
	}
	ix, err := lookup.Build(ctx, lookupSource{postgis.Notices{S: p.s.store}}, nil)
	if err != nil {
		return nil, err
	}
	p.index.Store(ix)
	return ix, nil
}

// rebuildIndex builds a new index when the zones layer moved past the
// current one's version (force: always).
func (p *publicSite) rebuildIndex(ctx context.Context, force bool) error {
	ns := postgis.Notices{S: p.s.store}
	if cur := p.index.Load(); cur != nil && !force {
		v, err := ns.LayerVersion(ctx, "zones")
		if err != nil {
			return err
		}
		if v == cur.Version() {
			return nil
		}
	}
	p.buildMu.Lock()
	defer p.buildMu.Unlock()
	start := time.Now()
	ix, err := lookup.Build(ctx, lookupSource{ns}, p.index.Load())
	if err != nil {
		return err
	}
	p.index.Store(ix)
	zones, timeline := ix.Len()
	p.s.log.Debug("lookup index rebuilt", "zones_version", ix.Version(), "zones", zones, "timeline", timeline,
		"ms", time.Since(start).Milliseconds())
	return nil
}

// runIndex keeps the index current until ctx ends: LISTEN riskzone_layers
// on a connection of its own, and a poll of layer_versions.
func (p *publicSite) runIndex(ctx context.Context) {
	if err := p.rebuildIndex(ctx, true); err != nil && ctx.Err() == nil {
		p.s.log.Warn("lookup index", "err", err)
	}
	wake := make(chan struct{}, 1)
	go listen(ctx, p.s, postgis.LayersChannel, wake)
	p.pages.live.Store(true)
	defer p.pages.live.Store(false)
	tick := time.NewTicker(p.cfg.LookupPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-wake:
			p.pages.bump() // published data changed: render the pages afresh
		}
		if err := p.rebuildIndex(ctx, false); err != nil && ctx.Err() == nil {
			p.s.log.Warn("lookup index", "err", err)
		}
	}
}
