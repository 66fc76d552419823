// Package lookuptest builds lookup indexes from plain data for tests: a
// Static source and a grid of square zones (fixed layout, no randomness).
package lookuptest

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/paulmach/orb"

	"github.com/riskzone/riskzone/server/lookup"
)

// Static is a lookup.Source of plain data.
type Static struct {
	// Versions are the layer versions ("zones", "buildings"); absent: 0.
	Versions  map[string]int64
	Zones     []lookup.ZoneRecord
	Timeline  []lookup.ZoneRecord
	Counties  []lookup.CountyRecord
	Buildings []lookup.Building
}

// LayerVersion implements lookup.Source.
func (s Static) LayerVersion(_ context.Context, layer string) (int64, error) {
	return s.Versions[layer], nil
}

// LoadBuildings implements lookup.Source.
func (s Static) LoadBuildings(_ context.Context, each func(lookup.Building)) error {
	for _, b := range s.Buildings {
		each(b)
	}
	return nil
}

// LoadZones implements lookup.Source.
func (s Static) LoadZones(context.Context) ([]lookup.ZoneRecord, error) { return s.Zones, nil }

// LoadTimeline implements lookup.Source.
func (s Static) LoadTimeline(context.Context) ([]lookup.ZoneRecord, error) { return s.Timeline, nil }

// LoadCounties implements lookup.Source.
func (s Static) LoadCounties(context.Context) ([]lookup.CountyRecord, error) { return s.Counties, nil }

// GridZones are n square public zones on a grid: zone i+1 (Z<i+1>, level
// high) is the square of side 0.0008° at 116 + (i mod side)·0.001,
// 36 + (i div side)·0.001, side = ⌈√n⌉.
func GridZones(n int) []lookup.ZoneRecord {
	side := int(math.Ceil(math.Sqrt(float64(n))))
	out := make([]lookup.ZoneRecord, 0, n)
	for i := 0; i < n; i++ {
		x, y := 116.0+float64(i%side)*0.001, 36.0+float64(i/side)*0.001
		r := orb.Ring{{x, y}, {x + 0.0008, y}, {x + 0.0008, y + 0.0008}, {x, y + 0.0008}, {x, y}}
		out = append(out, lookup.ZoneRecord{ZoneID: int64(i + 1), Version: 1, Name: fmt.Sprintf("Z%d", i+1), Level: "high",
			Geometry: orb.Polygon{r}, Active: true})
	}
	return out
}

// GridCenter is a point inside zone i+1 of GridZones(n).
func GridCenter(n, i int) [2]float64 {
	side := int(math.Ceil(math.Sqrt(float64(n))))
	return [2]float64{116.0 + float64(i%side)*0.001 + 0.0004, 36.0 + float64(i/side)*0.001 + 0.0004}
}

// Grid is the index of GridZones(n).
func Grid(tb testing.TB, n int) *lookup.Index {
	tb.Helper()
	return Index(tb, Static{Zones: GridZones(n)})
}

// Index builds the index of src, failing the test on an error.
func Index(tb testing.TB, src lookup.Source) *lookup.Index {
	tb.Helper()
	ix, err := lookup.Build(context.Background(), src, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return ix
}
