// Package demo generates a deterministic demo county (示范省 > 示范市 > 临河区) and
// loads it into PostGIS with COPY: streets (街道), communities (社区), compounds
// (小区), buildings with units and populations, a road network, a river with its
// water surface, a railway, a ridge in a park, activity places, and an outbreak
// with cases, traces and exclusions.
//
// The same Options give byte-identical rows, ids included. The generator keeps
// only small per-block metadata in memory (a few bytes per 300 × 240 m block)
// and regenerates each block's buildings from a random stream seeded by the
// block's position whenever a table needs them, so a county of a million
// buildings streams into the database in flat memory.
//
// Guarantees, by construction (and checked by the tests against PostGIS):
//   - buildings never meet roads, the river line or water surface, the railway
//     or the ridge: roads run on the block grid lines and every building keeps a
//     setback from them; blocks near the river or railway (distance computed
//     exactly between the block's rectangle and the line segments) stay empty;
//   - buildings never overlap: each lies inside its own cell of its block;
//   - a building's units split it along its long axis into equal rectangles
//     whose vertices are the building's own vertices, so the units cover the
//     building exactly and touch only along shared edges;
//   - building population is the sum of its units' populations.
package demo

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/riskzone/riskzone/geo"
	"github.com/riskzone/riskzone/zoning"
)

// Limits of Options.Buildings.
const (
	MinBuildings = 100
	MaxBuildings = 5_000_000
)

// The county is laid out around this centre (in Shandong, near Jinan).
const (
	centreLon = 117.0
	centreLat = 36.65
)

// Layout constants, in metres.
const (
	blockW         = 300.0 // between north-south road centre lines
	blockH         = 240.0 // between east-west road centre lines
	communitySpan  = 2     // a community is 2 × 2 blocks, bounded by secondary roads or arterials
	streetSpan     = 8     // a street is 8 × 8 blocks, bounded by arterials
	arterialEvery  = 4     // every 4th grid line is an arterial (about 1 km apart)
	secondaryEvery = 2     // every other grid line is at least a secondary road

	insetPrimary   = 24.0 // road centre line to compound edge, by road class
	insetSecondary = 16.0
	insetLocal     = 9.0
	compoundMargin = 4.0 // compound edge to the cells that hold buildings
	cellMargin     = 4.0 // cell edge to building: buildings are at least 8 m apart

	riverHalfWidth = 30.0 // the water surface is 60 m wide
	riverStep      = 40.0 // spacing of the river's vertices along x
	riverMargin    = 15.0 // least distance from a compound to the water surface
	railMargin     = 25.0 // least distance from a compound to the railway
	parkMargin     = 80.0 // least distance from the park to the river and railway
)

// Options configure one demo county.
type Options struct {
	// Seed picks the county: the same seed gives the same data.
	Seed uint64
	// Buildings is the exact number of buildings to generate.
	Buildings int
	// Today anchors case dates: cases are reported in the 10 days before it.
	// Only its UTC calendar date is used.
	Today time.Time
	// Replace deletes the demo data already in the database before loading.
	Replace bool
	// Actor is who loads it, for the audit log; the zero value is the
	// command line (zoning.CLI()).
	Actor zoning.Principal
}

// actor is the audited actor of the load.
func (o Options) actor() zoning.Principal {
	if o.Actor.Via == "" {
		return zoning.CLI()
	}
	return o.Actor
}

func (o Options) validate() error {
	if o.Buildings < MinBuildings || o.Buildings > MaxBuildings {
		return fmt.Errorf("buildings %d: want %d to %d", o.Buildings, MinBuildings, MaxBuildings)
	}
	if o.Today.IsZero() {
		return errors.New("today is not set")
	}
	return nil
}

// blockStatus says what occupies a block.
type blockStatus uint8

const (
	blockCompound blockStatus = iota // a compound with buildings
	blockPark                        // the ridge park
	blockRiver                       // too close to the river: riverside green
	blockRail                        // too close to the railway: rail corridor
	blockUnused                      // no building was allotted to it
)

// blockLayout is the kind of compound on a block.
type blockLayout uint8

const (
	layoutSlabs      blockLayout = iota // rows of slab blocks of flats
	layoutTowers                        // point towers
	layoutRotated                       // slabs turned 10-30 degrees
	layoutCommercial                    // market, restaurants, gym, offices
	layoutSchool                        // a school
)

// cell sizes per layout: width and height of the cell holding one building.
var layoutCell = [...]xy{
	layoutSlabs:      {88, 34},
	layoutTowers:     {52, 50},
	layoutRotated:    {88, 42},
	layoutCommercial: {66, 66},
	layoutSchool:     {88, 66},
}

// blockMeta is all the generator keeps per block.
type blockMeta struct {
	c, r          int32 // grid position: column from the west, row from the north
	street        int32 // street index (0-based, load order)
	community     int32 // community index
	status        blockStatus
	layout        blockLayout
	slots         uint8 // buildings the layout has room for
	n             uint8 // buildings allotted
	compound      int32 // compound id, 0 for none
	firstBuilding int32 // id of the first building
	firstUnit     int32
	firstPlace    int32
	places        uint8
}

// City is the plan of one demo county.
type City struct {
	opt   Options
	today time.Time // UTC midnight of Options.Today
	plane geo.LocalPlane
	names namer

	cols, rows int  // blocks
	county     rect // the county in the plane
	streetCols int  // streets per row
	commCols   int  // communities per row
	streets    int
	comms      int
	commIndex  []int32 // community index by (row/2)*commCols + col/2
	streetOf   []int32 // street index by community index

	river river
	rail  [2]xy
	park  struct {
		cc, rc int  // community cell
		area   rect // the park between its bounding roads
		ridge  []xy
	}

	blocks []blockMeta // in load order: street by street, community by community

	counts     Counts
	population int64
	outbreak   outbreak
}

// Counts are the rows of each table in the demo county.
type Counts struct {
	AdminAreas int
	Compounds  int
	Buildings  int
	Units      int
	Places     int
	Barriers   int
	Cases      int
	Traces     int
}

// Counts returns the number of rows of each table.
func (c *City) Counts() Counts { return c.counts }

// Population is the resident population of the county.
func (c *City) Population() int64 { return c.population }

// Plan lays out the county for opt. It is deterministic and fast (it does not
// build geometry); the rows are produced later by WriteTable.
func Plan(opt Options) (*City, error) {
	if err := opt.validate(); err != nil {
		return nil, fmt.Errorf("demo options: %w", err)
	}
	plane, err := geo.NewLocalPlane(centreLon, centreLat)
	if err != nil {
		return nil, fmt.Errorf("demo projection: %w", err)
	}
	y, m, d := opt.Today.UTC().Date()
	// A first guess of the grid from the average capacity of a block; grown
	// until the blocks have room for every building.
	side := int(math.Ceil(math.Sqrt(float64(opt.Buildings) / 12.5)))
	cols, rows := max(8, side+side%2), max(8, side+side%2)
	for {
		c := &City{
			opt:   opt,
			today: time.Date(y, m, d, 0, 0, 0, 0, time.UTC),
			plane: plane,
			names: newNamer(opt.Seed),
		}
		room, err := c.layout(cols, rows)
		if err != nil {
			return nil, err
		}
		if room >= opt.Buildings {
			if err := c.allot(room); err != nil {
				return nil, err
			}
			if err := c.planOutbreak(); err != nil {
				return nil, err
			}
			c.counts.Barriers = c.barrierCount()
			return c, nil
		}
		if cols <= rows {
			cols += 2
		} else {
			rows += 2
		}
	}
}

// layout places the grid, river, railway and park, classifies every block
// and returns the number of buildings the blocks have room for.
func (c *City) layout(cols, rows int) (int, error) {
	c.cols, c.rows = cols, rows
	w, h := float64(cols)*blockW, float64(rows)*blockH
	c.county = rect{-w / 2, -h / 2, w / 2, h / 2}
	c.commCols = cols / communitySpan
	commRows := rows / communitySpan
	c.streetCols = (cols + streetSpan - 1) / streetSpan
	streetRows := (rows + streetSpan - 1) / streetSpan
	c.streets = c.streetCols * streetRows

	rng := rand.New(rand.NewPCG(c.opt.Seed, 0x6c696e6865)) // "linhe"
	c.river = newRiver(rng, c.county)
	xa := c.county.minX + w*(0.62+0.16*rng.Float64())
	xb := xa + w*(rng.Float64()-0.5)*0.16
	c.rail = [2]xy{{xa, c.county.maxY}, {xb, c.county.minY}}
	c.placePark(rng, commRows)

	// Communities and blocks in load order.
	c.commIndex = make([]int32, c.commCols*commRows)
	c.streetOf = c.streetOf[:0]
	c.blocks = make([]blockMeta, 0, cols*rows)
	per := streetSpan / communitySpan
	room := 0
	var hasShop, hasSchool bool
	for sr := 0; sr < streetRows; sr++ {
		for sc := 0; sc < c.streetCols; sc++ {
			s := int32(sr*c.streetCols + sc)
			for rc := sr * per; rc < min((sr+1)*per, commRows); rc++ {
				for cc := sc * per; cc < min((sc+1)*per, c.commCols); cc++ {
					ci := int32(len(c.streetOf))
					c.commIndex[rc*c.commCols+cc] = ci
					c.streetOf = append(c.streetOf, s)
					for dr := 0; dr < communitySpan; dr++ {
						for dc := 0; dc < communitySpan; dc++ {
							bm := blockMeta{c: int32(cc*communitySpan + dc), r: int32(rc*communitySpan + dr), street: s, community: ci}
							c.classify(&bm)
							if bm.status == blockCompound {
								hasShop = hasShop || bm.layout == layoutCommercial
								hasSchool = hasSchool || bm.layout == layoutSchool
								room += int(bm.slots)
							}
							c.blocks = append(c.blocks, bm)
						}
					}
				}
			}
		}
	}
	c.comms = len(c.streetOf)
	// Small counties may draw no shops or no school: convert two blocks so that
	// every kind of place exists.
	var compoundBlocks []int
	for i := range c.blocks {
		if c.blocks[i].status == blockCompound {
			compoundBlocks = append(compoundBlocks, i)
		}
	}
	if len(compoundBlocks) < 3 {
		return 0, nil // too small: grow the grid
	}
	force := func(i int, l blockLayout) {
		b := &c.blocks[i]
		room -= int(b.slots)
		b.layout = l
		b.slots = uint8(c.slotCount(b))
		room += int(b.slots)
	}
	if !hasShop {
		force(compoundBlocks[len(compoundBlocks)/3], layoutCommercial)
	}
	if !hasSchool {
		force(compoundBlocks[2*len(compoundBlocks)/3], layoutSchool)
	}
	return room, nil
}

// gridX is the x of north-south grid line i; gridY the y of east-west line j
// (line 0 is the north edge). Both are exact in float64.
func (c *City) gridX(i int) float64 { return c.county.minX + float64(i)*blockW }
func (c *City) gridY(j int) float64 { return c.county.maxY - float64(j)*blockH }

// roadClass of grid line i out of n: the county edges and every 4th line are
// arterials, every other line a secondary road, the rest local roads. Streets
// are bounded by arterials, communities by secondary roads or arterials, and
// local roads run between the blocks of a community.
func roadClass(i, n int) string {
	switch {
	case i == 0 || i == n || i%arterialEvery == 0:
		return "primary"
	case i%secondaryEvery == 0:
		return "secondary"
	default:
		return "residential"
	}
}

func roadInset(class string) float64 {
	switch class {
	case "primary":
		return insetPrimary
	case "secondary":
		return insetSecondary
	default:
		return insetLocal
	}
}

// blockRect is the block between its road centre lines.
func (c *City) blockRect(col, row int) rect {
	return rect{c.gridX(col), c.gridY(row + 1), c.gridX(col + 1), c.gridY(row)}
}

// compoundRect is the block inside its roads' setbacks: the compound outline.
func (c *City) compoundRect(col, row int) rect {
	return c.blockRect(col, row).inset(
		roadInset(roadClass(col, c.cols)), roadInset(roadClass(row+1, c.rows)),
		roadInset(roadClass(col+1, c.cols)), roadInset(roadClass(row, c.rows)))
}

func (c *City) communityRect(cc, rc int) rect {
	return rect{c.gridX(cc * communitySpan), c.gridY((rc + 1) * communitySpan), c.gridX((cc + 1) * communitySpan), c.gridY(rc * communitySpan)}
}

func (c *City) streetRect(s int) rect {
	sc, sr := s%c.streetCols, s/c.streetCols
	return rect{
		c.gridX(sc * streetSpan), c.gridY(min((sr+1)*streetSpan, c.rows)),
		c.gridX(min((sc+1)*streetSpan, c.cols)), c.gridY(sr * streetSpan),
	}
}

func (c *City) inPark(col, row int) bool {
	return col/communitySpan == c.park.cc && row/communitySpan == c.park.rc
}

// placePark picks a community away from the river and railway (and off the
// county edge when the county is large enough) for the ridge park.
func (c *City) placePark(rng *rand.Rand, commRows int) {
	type cand struct{ cc, rc int }
	pick := func(interior bool, margin float64) (cand, bool) {
		var cs []cand
		for rc := 0; rc < commRows; rc++ {
			for cc := 0; cc < c.commCols; cc++ {
				if interior && (cc == 0 || rc == 0 || cc == c.commCols-1 || rc == commRows-1) {
					continue
				}
				r := c.communityRect(cc, rc)
				if c.river.clearance(r) < margin || segRectDist(c.rail[0], c.rail[1], r) < margin {
					continue
				}
				cs = append(cs, cand{cc, rc})
			}
		}
		if len(cs) == 0 {
			return cand{}, false
		}
		return cs[rng.IntN(len(cs))], true
	}
	p, ok := pick(true, parkMargin)
	if !ok {
		p, ok = pick(false, parkMargin)
	}
	if !ok {
		p, _ = pick(false, math.Inf(-1))
	}
	c.park.cc, c.park.rc = p.cc, p.rc
	r := c.communityRect(p.cc, p.rc)
	c.park.area = r.inset(roadInset(roadClass(p.cc*communitySpan, c.cols)), roadInset(roadClass((p.rc+1)*communitySpan, c.rows)),
		roadInset(roadClass((p.cc+1)*communitySpan, c.cols)), roadInset(roadClass(p.rc*communitySpan, c.rows)))
	// A ridge winding west to east across the park, 40 m inside its edges.
	in := c.park.area.inset(40, 40, 40, 40)
	const n = 7
	c.park.ridge = make([]xy, n)
	for i := range n {
		t := float64(i) / (n - 1)
		c.park.ridge[i] = xy{
			in.minX + t*in.w(),
			in.centre().y + (rng.Float64()-0.5)*0.6*in.h(),
		}
	}
}

// blockRNG returns the random stream of block (col, row); every pass over the
// block draws the same numbers from it in the same order.
func (c *City) blockRNG(pcg *rand.PCG, col, row int32) *rand.Rand {
	pcg.Seed(c.opt.Seed^0x9e3779b97f4a7c15, uint64(uint32(col))<<32|uint64(uint32(row)))
	return rand.New(pcg)
}

// blockHeader holds the draws made once per block, before its slots.
type blockHeader struct {
	layoutDraw float64
	angle      float64 // rotation of layoutRotated, radians
	restaurant bool    // a ground-floor restaurant in the first building
}

func drawHeader(rng *rand.Rand) blockHeader {
	h := blockHeader{layoutDraw: rng.Float64()}
	a := (10 + 20*rng.Float64()) * math.Pi / 180
	if rng.IntN(2) == 0 {
		a = -a
	}
	h.angle = a
	h.restaurant = rng.Float64() < 0.15
	return h
}

func layoutOf(draw float64) blockLayout {
	switch {
	case draw < 0.07:
		return layoutCommercial
	case draw < 0.10:
		return layoutSchool
	case draw < 0.60:
		return layoutSlabs
	case draw < 0.78:
		return layoutTowers
	default:
		return layoutRotated
	}
}

// classify decides what occupies block bm and, for a compound, its layout
// and room.
func (c *City) classify(bm *blockMeta) {
	col, row := int(bm.c), int(bm.r)
	switch r := c.compoundRect(col, row); {
	case c.inPark(col, row):
		bm.status = blockPark
		return
	case c.river.clearance(r) < riverMargin:
		bm.status = blockRiver
		return
	case segRectDist(c.rail[0], c.rail[1], r) < railMargin:
		bm.status = blockRail
		return
	}
	var pcg rand.PCG
	h := drawHeader(c.blockRNG(&pcg, bm.c, bm.r))
	bm.status = blockCompound
	bm.layout = layoutOf(h.layoutDraw)
	bm.slots = uint8(c.slotCount(bm))
}

// cells returns the grid of building cells of a compound block: the usable
// rectangle and the number of cells across and down.
func (c *City) cells(bm *blockMeta) (usable rect, nx, ny int) {
	usable = c.compoundRect(int(bm.c), int(bm.r)).inset(compoundMargin, compoundMargin, compoundMargin, compoundMargin)
	cs := layoutCell[bm.layout]
	nx = max(1, int(usable.w()/cs.x))
	ny = max(1, int(usable.h()/cs.y))
	return usable, nx, ny
}

func (c *City) slotCount(bm *blockMeta) int {
	_, nx, ny := c.cells(bm)
	return min(nx*ny, 250)
}

// allot shares the buildings out over the compound blocks in proportion to
// their room (so every compound is about equally full) and numbers blocks,
// compounds, buildings, units and places.
func (c *City) allot(room int) error {
	n := int64(c.opt.Buildings)
	var g blockGen
	var before int64 // room of the blocks before this one
	var comp, bld, unit, place int32
	for i := range c.blocks {
		bm := &c.blocks[i]
		if bm.status != blockCompound {
			continue
		}
		take := (before+int64(bm.slots))*n/int64(room) - before*n/int64(room)
		before += int64(bm.slots)
		if take == 0 {
			bm.status = blockUnused
			continue
		}
		comp++
		bm.n = uint8(take)
		bm.compound = comp
		bm.firstBuilding, bm.firstUnit, bm.firstPlace = bld+1, unit+1, place+1
		out := c.genBlock(&g, bm)
		for j := range out.bldgs {
			b := &out.bldgs[j]
			unit += int32(b.units)
			c.population += int64(b.pop)
			if b.place != placeNone {
				place++
			}
		}
		bld += int32(len(out.bldgs))
		bm.places = uint8(place - bm.firstPlace + 1)
		if math.MaxInt32-unit < 1000 {
			return fmt.Errorf("demo county too large: more than %d units", math.MaxInt32)
		}
	}
	if int(bld) != c.opt.Buildings {
		return fmt.Errorf("demo layout allotted %d buildings, want %d", bld, c.opt.Buildings)
	}
	c.counts.AdminAreas = 3 + c.streets + c.comms
	c.counts.Compounds = int(comp)
	c.counts.Buildings = int(bld)
	c.counts.Units = int(unit)
	c.counts.Places = int(place)
	return nil
}
