package server

import (
	"context"
	"fmt"

	"github.com/paulmach/orb/encoding/wkb"
	"github.com/paulmach/orb/geojson"

	"github.com/riskzone/riskzone/server/lookup"
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// lookupSource loads the lookup index (server/lookup) from the store: the
// published zones, timeline, county outlines and building addresses,
// their geometries decoded to orb.
type lookupSource struct{ ns postgis.Notices }

var _ lookup.Source = lookupSource{}

func (s lookupSource) LayerVersion(ctx context.Context, layer string) (int64, error) {
	return s.ns.LayerVersion(ctx, layer)
}

func (s lookupSource) LoadBuildings(ctx context.Context, each func(lookup.Building)) error {
	return s.ns.BuildingAddresses(ctx, func(b postgis.BuildingAddress) {
		each(lookup.Building{ID: b.BuildingID, District: b.District, Street: b.Street, Compound: b.Compound,
			Number: b.Number, Name: b.Name, Lon: b.Lon, Lat: b.Lat})
	})
}

func (s lookupSource) LoadZones(ctx context.Context) ([]lookup.ZoneRecord, error) {
	zones, err := s.ns.PublicZones(ctx, 0, 0)
	if err != nil {
		return nil, err
	}
	out := make([]lookup.ZoneRecord, 0, len(zones))
	for _, z := range zones {
		g, err := geojson.UnmarshalGeometry(z.Geometry)
		if err != nil {
			return nil, fmt.Errorf("lookup index: zone %d: %w", z.ZoneID, err)
		}
		out = append(out, lookup.ZoneRecord{ZoneID: z.ZoneID, Version: z.Version, CountyID: z.CountyID, Name: z.Name, Level: z.Level,
			LevelZh: z.LevelZh, LevelEn: z.LevelEn, EarliestLifting: z.EarliestLifting, Geometry: g.Geometry(), From: z.Since,
			Active: true, Addresses: z.Addresses})
	}
	return out, nil
}

func (s lookupSource) LoadTimeline(ctx context.Context) ([]lookup.ZoneRecord, error) {
	timeline, err := s.ns.Timeline(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]lookup.ZoneRecord, 0, len(timeline))
	for _, t := range timeline {
		g, err := wkb.Unmarshal(t.WKB)
		if err != nil {
			return nil, fmt.Errorf("lookup index: zone %d version %d: %w", t.ZoneID, t.Version, err)
		}
		r := lookup.ZoneRecord{ZoneID: t.ZoneID, Version: t.Version, CountyID: t.CountyID, Name: t.Name, Level: t.Level,
			EarliestLifting: t.EarliestLifting, Geometry: g, From: t.From, Active: t.Status == zoning.ZoneActive}
		if t.Until != nil {
			r.Until = *t.Until
		}
		out = append(out, r)
	}
	return out, nil
}

func (s lookupSource) LoadCounties(ctx context.Context) ([]lookup.CountyRecord, error) {
	shapes, err := s.ns.CountyShapes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]lookup.CountyRecord, 0, len(shapes))
	for _, c := range shapes {
		g, err := wkb.Unmarshal(c.WKB)
		if err != nil {
			return nil, fmt.Errorf("lookup index: county %d: %w", c.ID, err)
		}
		out = append(out, lookup.CountyRecord{ID: c.ID, Name: c.Name, NameEn: c.NameEn, Geometry: g})
	}
	return out, nil
}
