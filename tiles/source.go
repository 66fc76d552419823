package tiles

import (
	"context"

	"github.com/paulmach/orb"
)

// Source is where the tiles come from: the store of record. tiles depends
// on this interface only (the PostGIS implementation is tiles/pgsource), so
// the package knows nothing of SQL or drivers.
type Source interface {
	// Versions reads the data version of every layer (layer_versions).
	Versions(ctx context.Context) (map[string]int64, error)
	// Region reads the features of a layer whose geometry meets bound (in
	// lon/lat; the zero Bound means the whole layer), together with the
	// layer's version, from one consistent snapshot: the features are
	// exactly the data of that version. Every read is bounded by a
	// statement timeout.
	Region(ctx context.Context, layer string, bound orb.Bound) (Region, error)
	// Extent is the lon/lat box of the service's data (the counties), for
	// TileJSON bounds; ok is false when there is none.
	Extent(ctx context.Context) (b orb.Bound, ok bool, err error)
}

// Watcher tells the service when layers change. Watch blocks until ctx
// ends; it calls changed with every layer's version each time it
// (re)connects and after every change notification, and lost when it loses
// its connection (it then reconnects by itself, with backoff).
type Watcher interface {
	Watch(ctx context.Context, changed func(versions map[string]int64), lost func())
}

// Region is a layer's features in one area as of one version.
type Region struct {
	Version  int64
	Features []Feature
}

// Feature is one feature as a Source reads it.
type Feature struct {
	// ID is the MVT feature id (the row id).
	ID uint64
	// Geometry is in lon/lat (WGS 84). It is nil for spread cells.
	Geometry orb.Geometry
	// Cell is, for the spread layer, the H3 resolution-11 cell of one
	// counted case's residence.
	Cell int64
	// Props are the attributes: string, int64, float64 or bool values.
	Props map[string]any
}
