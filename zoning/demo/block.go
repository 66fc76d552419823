package demo

import (
	"math"
	"math/rand/v2"
)

// placeKind is the kind of activity place a building hosts.
type placeKind uint8

const (
	placeNone placeKind = iota
	placeMarket
	placeRestaurant
	placeGym
	placeOffice
	placeSchool
)

var placeKindNames = [...]string{"", "market", "restaurant", "gym", "office", "school"}

// activity is the trace activity (schema CHECK list) for a visit to a place.
var placeActivity = [...]string{"other", "shopping", "dining", "leisure", "work", "school"}

var placeSuffixes = [...][]string{
	placeMarket:     {"农贸市场", "生鲜超市", "综合市场"},
	placeRestaurant: {"酒家", "饭店", "面馆", "火锅店", "烧烤店", "快餐店"},
	placeGym:        {"健身中心", "游泳馆", "羽毛球馆"},
	placeOffice:     {"大厦", "商务中心", "科技大厦"},
	placeSchool:     {"小学", "中学", "实验学校"},
}

// bldg is one generated building of a block.
type bldg struct {
	id        int64
	firstUnit int64
	number    int // address number in its compound (号楼)
	kind      string
	floors    int
	units     int
	unitPop   [6]int32
	pop       int32
	shape     box

	place     placeKind
	placeID   int64
	placeName string
	enclosed  bool
	poorVent  bool
}

// blockOut is one generated block.
type blockOut struct {
	meta     *blockMeta
	compound string // compound name, e.g. 城建花园小区
	bldgs    []bldg
}

// blockGen holds the reusable state of block generation so that a pass over
// a million buildings does not allocate per block.
type blockGen struct {
	pcg rand.PCG
	out blockOut
}

// slotDraws are the random numbers drawn for every cell of a block, used or
// not, so that the stream (and so every later block) is the same whichever
// cells get a building.
type slotDraws [10]float64

// genBlock generates the buildings of compound block bm. It draws the same
// numbers in the same order every time, so every pass sees the same block.
func (c *City) genBlock(g *blockGen, bm *blockMeta) *blockOut {
	out := &g.out
	out.meta = bm
	out.bldgs = out.bldgs[:0]
	rng := c.blockRNG(&g.pcg, bm.c, bm.r)
	h := drawHeader(rng)
	out.compound = c.compoundName(bm, h)
	usable, nx, ny := c.cells(bm)
	cw, ch := usable.w()/float64(nx), usable.h()/float64(ny)
	slots := int(bm.slots)
	used := int(bm.n)
	k := 0 // buildings made so far
	for j := 0; j < slots; j++ {
		var d slotDraws
		for i := range d {
			d[i] = rng.Float64()
		}
		// Spread the used cells evenly over the block.
		if (j+1)*used/slots == j*used/slots {
			continue
		}
		// Cells are numbered west to east, north to south.
		cx, cy := j%nx, j/nx
		cell := rect{
			usable.minX + float64(cx)*cw, usable.maxY - float64(cy+1)*ch,
			usable.minX + float64(cx+1)*cw, usable.maxY - float64(cy)*ch,
		}
		out.bldgs = append(out.bldgs, bldg{})
		b := &out.bldgs[len(out.bldgs)-1]
		b.id = int64(bm.firstBuilding) + int64(k)
		b.number = k + 1
		c.shapeBuilding(b, bm.layout, h, k, cell, &d)
		if b.place != placeNone {
			sfx := placeSuffixes[b.place]
			p := compoundPrefixes[(int(bm.compound)*7+k*13)%len(compoundPrefixes)]
			if k == 0 && bm.layout == layoutSchool {
				b.placeName = out.compound
			} else {
				b.placeName = p + sfx[int(d[9]*float64(len(sfx)))]
			}
		}
		k++
	}
	// Number units and places in building order.
	unit, place := int64(bm.firstUnit), int64(bm.firstPlace)
	for i := range out.bldgs {
		b := &out.bldgs[i]
		b.firstUnit = unit
		unit += int64(b.units)
		if b.place != placeNone {
			b.placeID = place
			place++
		}
	}
	return out
}

// compoundName names the compound of block bm: 城建花园小区 for flats,
// 城建商业广场 for shops and offices, 城建实验学校 for a school.
func (c *City) compoundName(bm *blockMeta, h blockHeader) string {
	stem, prefix := c.names.compoundStem(int(bm.compound - 1))
	switch bm.layout {
	case layoutCommercial:
		return prefix + "商业广场"
	case layoutSchool:
		return prefix + placeSuffixes[placeSchool][int(h.layoutDraw*1e6)%3]
	default:
		return stem + "小区"
	}
}

// pick returns the index of weights that draw u falls into.
func pick(u float64, weights ...float64) int {
	for i, w := range weights {
		if u < w {
			return i
		}
		u -= w
	}
	return len(weights) - 1
}

// shapeBuilding turns the draws of a used cell into building b: its kind,
// size, units, floors, population and place. k is the building's position
// among the block's buildings.
func (c *City) shapeBuilding(b *bldg, layout blockLayout, h blockHeader, k int, cell rect, d *slotDraws) {
	var unitW, depth float64
	angle := 0.0
	hh := 0 // households per floor per unit; 0 for non-residential buildings
	b.kind = "residential"
	switch layout {
	case layoutSlabs, layoutRotated:
		b.units = 1 + pick(d[0], 0.05, 0.2, 0.3, 0.25, 0.12, 0.08)
		unitW = 12 + 2.5*d[1]
		depth = 10.5 + 2.5*d[2]
		b.floors = [...]int{5, 6, 6, 6, 6, 7, 11, 11, 18, 26}[int(d[3]*10)]
		hh = 2
		if layout == layoutRotated {
			angle = h.angle
		}
	case layoutTowers:
		b.units = 1 + pick(d[0], 0.3, 0.5, 0.2)
		unitW = [...]float64{20, 14, 13}[b.units-1] + 4*d[1]
		depth = 16 + 4*d[2]
		b.floors = [...]int{18, 24, 26, 28, 32, 33}[int(d[3]*6)]
		hh = 2 + int(d[4]*2)
	case layoutCommercial:
		switch k {
		case 0:
			b.place = placeMarket
		case 1:
			b.place = placeRestaurant
		case 2:
			b.place = placeGym
		case 3:
			b.place = placeOffice
		default:
			b.place = [...]placeKind{placeRestaurant, placeOffice, placeGym, placeMarket}[pick(d[0], 0.35, 0.3, 0.15, 0.2)]
		}
		b.kind = "commercial"
		switch b.place {
		case placeMarket:
			b.units, unitW, depth = 2, 26+4*d[1], 30+6*d[2]
			b.floors = 1 + int(d[3]*2)
			b.enclosed, b.poorVent = true, d[5] < 0.7
		case placeRestaurant:
			b.units, unitW, depth = 1, 16+6*d[1], 12+4*d[2]
			b.floors = 2 + int(d[3]*2)
			b.enclosed, b.poorVent = true, d[5] < 0.45
		case placeGym:
			b.units, unitW, depth = 2, 12+3*d[1], 18+4*d[2]
			b.floors = 2 + int(d[3]*3)
			b.enclosed, b.poorVent = true, d[5] < 0.5
		case placeOffice:
			b.kind = "office"
			b.units, unitW, depth = 2+int(d[1]*3), 14+d[2], 18+4*d[4]
			b.floors = 12 + int(d[3]*19)
			b.enclosed, b.poorVent = true, d[5] < 0.2
		}
	case layoutSchool:
		b.kind = "public"
		b.units, unitW, depth = 2+int(d[0]*3), 12.5, 13+2*d[2]
		b.floors = 3 + int(d[3]*3)
		if k == 0 {
			b.place = placeSchool
			b.units = 4
			b.enclosed, b.poorVent = d[5] < 0.6, d[6] < 0.15
		}
	}
	if hh > 0 && k == 0 && h.restaurant {
		b.place = placeRestaurant
		b.enclosed, b.poorVent = true, d[5] < 0.45
	}

	// Fit the footprint in its cell, rotated: drop units, then shrink.
	room := cell.inset(cellMargin, cellMargin, cellMargin, cellMargin)
	u := xy{math.Cos(angle), math.Sin(angle)}
	fits := func() bool {
		e := box{u: u, length: float64(b.units) * unitW, depth: depth}.extent()
		return e.w() <= room.w() && e.h() <= room.h()
	}
	for !fits() && b.units > 1 {
		b.units--
	}
	for !fits() {
		unitW *= 0.9
		depth *= 0.9
	}
	e := box{u: u, length: float64(b.units) * unitW, depth: depth}.extent()
	slackX, slackY := room.w()-e.w(), room.h()-e.h()
	b.shape = box{
		c: xy{
			room.minX + e.w()/2 + slackX*d[7],
			room.minY + e.h()/2 + slackY*d[8],
		},
		u:      u,
		length: float64(b.units) * unitW,
		depth:  depth,
	}
	// Population: floors × households per floor × persons per household, per unit.
	b.pop = 0
	for i := range b.units {
		// One bit of a draw per unit: 2 or 3 persons per household.
		persons := 2 + int(d[6]*64)>>i&1
		b.unitPop[i] = int32(b.floors * hh * persons)
		b.pop += b.unitPop[i]
	}
}
