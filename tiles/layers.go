package tiles

// Layer is one vector tile layer: what it shows, who may see it and at
// which zooms. Layers are fixed at build time (Catalog); nothing about them
// comes from requests.
type Layer struct {
	// Name is the MVT layer name and the path segment of its tiles.
	Name string
	// Description is shown in TileJSON.
	Description string
	// Restricted layers carry health data or drafts: only experts (and
	// admins) may read them, and they are never cached by shared caches.
	Restricted bool
	// MinZoom is the first zoom with features; shallower tiles are empty
	// (204). It keeps low-zoom tiles small: buildings start at z13.
	MinZoom uint8
	// MaxZoom is the deepest zoom with new detail (TileJSON maxzoom). Deeper
	// tiles, to MaxZoom of the service, are still rendered on request.
	MaxZoom uint8
	// RegionZoom is the zoom of the regions the layer is loaded by: one
	// query per region, held in memory for the layer version. It is never
	// deeper than MinZoom, so that every tile lies within one region; 0 loads
	// the whole layer at once.
	RegionZoom uint8
	// Simplify turns on Douglas-Peucker simplification (one tile unit) of
	// lines and rings; buildings are small and simple and skip it.
	Simplify bool
	// Fields are the attributes, name to description (TileJSON
	// vector_layers). Every feature also has an MVT feature id.
	Fields map[string]string

	index int
}

// MaxFeaturesPerTile bounds the features of one layer in one tile. Zoom
// ranges per layer and per kind (buildings from z13, minor roads from z13,
// communities from z12) keep real tiles far below it; should a tile still
// exceed it, the features beyond are dropped (those furthest east: the
// choice is stable) and the drop is logged.
const MaxFeaturesPerTile = 20000

// Catalog lists every layer, newly built (callers may not share or change
// them). Public layers carry published, non-health data only: zones come
// from the public_zone_versions view, and no public layer has an attribute
// derived from cases.
func Catalog() []*Layer {
	layers := []*Layer{
		{
			Name: "admin", Description: "Administrative areas: province, city, county from z5, streets from z10, communities from z12",
			MinZoom: 5, MaxZoom: 16, RegionZoom: 0, Simplify: true,
			Fields: map[string]string{"level": "province, city, county, street or community", "name": "Chinese name"},
		},
		{
			Name: "barriers", Description: "Roads, rivers, railways, ridges and water: water, rivers, railways and major roads from z8, secondary and tertiary roads from z11, the rest from z13",
			MinZoom: 8, MaxZoom: 16, RegionZoom: 8, Simplify: true,
			Fields: map[string]string{"kind": "road, river, canal, stream, drain, railway, ridge, cliff, water, wall or fence", "class": "road class (roads only)"},
		},
		{
			Name: "buildings", Description: "Building footprints, from z13",
			MinZoom: 13, MaxZoom: 16, RegionZoom: 12,
			Fields: map[string]string{"kind": "residential, commercial, office, public, industrial or other"},
		},
		{
			Name: "zones", Description: "Published active risk zones (public_zone_versions); the feature id is the zone id",
			MinZoom: 5, MaxZoom: 16, RegionZoom: 0, Simplify: true,
			Fields: map[string]string{
				"level": "risk level code (high, medium, low)", "name": "zone name",
				"since": "date (China time) the published version took effect", "lift": "earliest possible lifting date: clock start + the rule set's clean days",
			},
		},
		{
			Name: "proposals", Description: "Zone proposals awaiting a decision (restricted)", Restricted: true,
			MinZoom: 8, MaxZoom: 16, RegionZoom: 0, Simplify: true,
			Fields: map[string]string{"level": "proposed level", "run": "proposal run id", "population": "residents", "staff": "staff required"},
		},
		{
			Name: "spread", Description: "H3 cells with counted cases (restricted): resolution 7 to z11, 8 at z12-13, 9 at z14-15, 10 from z16", Restricted: true,
			MinZoom: 6, MaxZoom: 16, RegionZoom: 0,
			Fields: map[string]string{"count": "counted (not excluded) cases with a residence in the cell", "res": "H3 resolution", "cell": "H3 cell index (hex)"},
		},
		{
			Name: "cases", Description: "Case residences (restricted); the feature id is the case id", Restricted: true,
			MinZoom: 10, MaxZoom: 16, RegionZoom: 0,
			Fields: map[string]string{"kind": "confirmed or asymptomatic", "reported": "report date", "excluded": "true when excluded from zoning"},
		},
	}
	for i, l := range layers {
		l.index = i
	}
	return layers
}

// Set is what one tile URL serves: a single layer, or a named combination
// of layers drawn together (public, expert).
type Set struct {
	// Name is the path segment: a layer name, "public" or "expert".
	Name string
	// Description is shown in TileJSON.
	Description string
	// Layers in drawing order.
	Layers []*Layer
	// Restricted when any layer is.
	Restricted bool

	index int
}

// Public layer set names.
const (
	SetPublic = "public"
	SetExpert = "expert"
)

// Sets are every tile set the service answers over the catalog: each layer
// on its own, then the combinations.
func Sets(catalog []*Layer) []*Set {
	var sets []*Set
	for _, l := range catalog {
		sets = append(sets, &Set{Name: l.Name, Description: l.Description, Layers: []*Layer{l}, Restricted: l.Restricted})
	}
	var public, expert []*Layer
	for _, l := range catalog {
		if !l.Restricted {
			public = append(public, l)
		}
		expert = append(expert, l)
	}
	sets = append(sets,
		&Set{Name: SetPublic, Description: "riskzone public map: administrative areas, barriers, buildings and published zones", Layers: public},
		&Set{Name: SetExpert, Description: "riskzone expert map: the public layers with proposals, case spread and cases (restricted)", Layers: expert, Restricted: true},
	)
	for i, s := range sets {
		s.index = i
	}
	return sets
}

// barrierMinZoom is the first zoom at which a barrier shows.
func barrierMinZoom(kind, class string) uint8 {
	switch kind {
	case "water", "river", "railway":
		return 8
	case "canal", "ridge":
		return 11
	case "road":
		switch class {
		case "motorway", "trunk", "primary":
			return 8
		case "secondary", "tertiary":
			return 11
		}
		return 13
	case "wall", "fence":
		return 15
	}
	return 13
}

// adminMinZoom is the first zoom at which an administrative area shows.
func adminMinZoom(level string) uint8 {
	switch level {
	case "street":
		return 10
	case "community":
		return 12
	}
	return 5
}

// spreadResolution is the H3 resolution of the spread layer at zoom z.
func spreadResolution(z uint8) int {
	switch {
	case z <= 11:
		return 7
	case z <= 13:
		return 8
	case z <= 15:
		return 9
	}
	return 10
}
