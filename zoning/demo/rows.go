package demo

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/paulmach/orb"

	"github.com/riskzone/riskzone/geo"
)

// Table is one table the demo fills. Tables load in the order of their values
// so that every foreign key points at rows already loaded.
type Table int

// The tables, in load order.
const (
	AdminAreas Table = iota
	Compounds
	Buildings
	Units
	Places
	Barriers
	Cases
	Traces
	numTables
)

var tableInfo = [numTables]struct{ name, columns string }{
	AdminAreas: {"admin_areas", "id, parent_id, level, code, name, name_en, rule_set_id, authority, geom, source, source_id, created_at, updated_at"},
	Compounds:  {"compounds", "id, community_id, name, geom, source, source_id"},
	Buildings: {"buildings", "id, county_id, community_id, compound_id, kind, name, addr_district, addr_street, addr_community, " +
		"addr_compound, addr_number, floors, population, population_derived, units_derived, h3_r11, geom, source, source_id, updated_at"},
	Units:    {"units", "id, building_id, number, name, floors, population, population_derived, derived, geom"},
	Places:   {"places", "id, name, kind, building_id, enclosed, poorly_ventilated, geom, source, source_id"},
	Barriers: {"barriers", "id, kind, road_class, name, geom, source, source_id, updated_at"},
	Cases: {"cases", "id, case_no, county_id, kind, report_date, onset_date, residence_unit_id, residence_building_id, " +
		"residence_point, residence_address, residence_snap_m, source_known, h3_r11, exclusion_category, " +
		"exclusion_assessment, excluded_by, excluded_at, created_by, created_at, updated_at"},
	Traces: {"traces", "id, case_id, place_id, building_id, point, activity, starts_at, ends_at, enclosed, h3_r11, note, created_at"},
}

// Tables lists the tables the demo fills, in load order.
func Tables() []Table {
	ts := make([]Table, numTables)
	for i := range ts {
		ts[i] = Table(i)
	}
	return ts
}

// String is the table's name in the schema.
func (t Table) String() string {
	if t < 0 || t >= numTables {
		return "table(" + strconv.Itoa(int(t)) + ")"
	}
	return tableInfo[t].name
}

// CopySQL is the COPY statement that reads WriteTable's output.
func (t Table) CopySQL() string {
	return "COPY " + tableInfo[t].name + " (" + tableInfo[t].columns + ") FROM STDIN"
}

// Rows is the number of rows WriteTable writes for t.
func (c *City) Rows(t Table) int {
	n := c.counts
	return [numTables]int{n.AdminAreas, n.Compounds, n.Buildings, n.Units, n.Places, n.Barriers, n.Cases, n.Traces}[t]
}

// Source is the value of the source column of every demo row.
const Source = "demo"

// srid of every geometry.
const srid = 4326

// WriteTable writes the rows of table t to w in PostgreSQL's COPY text format
// with the columns of t.CopySQL(), geometry as hex EWKB. progress, if not nil,
// is called with the number of rows written since its last call. The output
// depends only on the City's Options.
func (c *City) WriteTable(ctx context.Context, t Table, w io.Writer, progress func(rows int)) error {
	rw := newRowWriter(ctx, w, progress)
	var err error
	switch t {
	case AdminAreas:
		err = c.writeAdmin(rw)
	case Compounds:
		err = c.writeCompounds(rw)
	case Buildings:
		err = c.writeBuildings(rw)
	case Units:
		err = c.writeUnits(rw)
	case Places:
		err = c.writePlaces(rw)
	case Barriers:
		err = c.writeBarriers(rw)
	case Cases:
		err = c.writeCases(rw)
	case Traces:
		err = c.writeTraces(rw)
	default:
		err = fmt.Errorf("unknown table %d", t)
	}
	if err == nil {
		err = rw.flush()
	}
	if err != nil {
		return fmt.Errorf("write %s rows: %w", t, err)
	}
	return nil
}

// stamp is the fixed creation and update time of the geography rows: today's
// date at midnight UTC. It never comes from the clock.
func (c *City) stamp() time.Time { return c.today }

func (c *City) writeAdmin(rw *rowWriter) error {
	p := c.plane
	row := func(id, parent int64, level, code string, name word, authority string, r rect) error {
		rw.int(id)
		rw.id(parent)
		rw.text(level)
		rw.text(code)
		rw.text(name.zh)
		rw.text(name.en)
		rw.null() // rule_set_id: NULL is the default rule set
		rw.text(authority)
		if err := rw.polygon(rw.rectRing(p, r)); err != nil {
			return err
		}
		rw.text(Source)
		rw.null()
		rw.time(c.stamp())
		rw.time(c.stamp())
		return rw.end()
	}
	cty := c.county
	if err := row(1, 0, "province", provinceCode, provinceName, "", cty.inset(-150e3, -150e3, -150e3, -150e3)); err != nil {
		return err
	}
	if err := row(2, 1, "city", cityCode, cityName, "", cty.inset(-20e3, -20e3, -20e3, -20e3)); err != nil {
		return err
	}
	if err := row(3, 2, "county", countyCode, countyName, countyAuthority, cty); err != nil {
		return err
	}
	streetDigits := "%03d"
	if c.streets > 999 {
		streetDigits = "%04d"
	}
	for s := range c.streets {
		zh, en := c.names.street(s)
		code := countyCode + fmt.Sprintf(streetDigits, s+1) + "000"
		if err := row(c.streetID(s), 3, "street", code, word{zh, en}, "", c.streetRect(s)); err != nil {
			return err
		}
	}
	// Communities: invert commIndex to find each one's cell.
	cells := make([]int32, c.comms)
	for cell, ci := range c.commIndex {
		cells[ci] = int32(cell)
	}
	nth, last := 0, int32(-1)
	for ci := range c.comms {
		s := c.streetOf[ci]
		if s != last {
			nth, last = 0, s
		}
		nth++
		zh, en := c.names.community(ci)
		code := countyCode + fmt.Sprintf(streetDigits, s+1) + fmt.Sprintf("%03d", nth)
		cc, rc := int(cells[ci])%c.commCols, int(cells[ci])/c.commCols
		if err := row(c.communityID(ci), c.streetID(int(s)), "community", code, word{zh, en}, "", c.communityRect(cc, rc)); err != nil {
			return err
		}
	}
	return nil
}

// Admin area ids: 1 province, 2 city, 3 county, then streets, then communities.
const countyID = 3

func (c *City) streetID(s int) int64     { return 4 + int64(s) }
func (c *City) communityID(ci int) int64 { return 4 + int64(c.streets) + int64(ci) }

func (c *City) writeCompounds(rw *rowWriter) error {
	var pcg blockGen
	for i := range c.blocks {
		bm := &c.blocks[i]
		if bm.status != blockCompound {
			continue
		}
		h := drawHeader(c.blockRNG(&pcg.pcg, bm.c, bm.r))
		rw.int(int64(bm.compound))
		rw.int(c.communityID(int(bm.community)))
		rw.text(c.compoundName(bm, h))
		if err := rw.polygon(rw.rectRing(c.plane, c.compoundRect(int(bm.c), int(bm.r)))); err != nil {
			return err
		}
		rw.text(Source)
		rw.null()
		if err := rw.end(); err != nil {
			return err
		}
	}
	return nil
}

// sides projects the split points of b's two long sides: s[k] on the side
// from corner (-,-) to (+,-), t[k] on the side from (-,+) to (+,+). Unit k is
// s[k], s[k+1], t[k+1], t[k]; the building is s[0..n] then t[n..0], so the
// units and the building share every vertex bit for bit.
func (c *City) sides(b *bldg, s, t []orb.Point) ([]orb.Point, []orb.Point) {
	sh := b.shape
	a0, a1 := sh.corner(-1, -1), sh.corner(1, -1)
	d0, d1 := sh.corner(-1, 1), sh.corner(1, 1)
	s, t = s[:0], t[:0]
	for k := 0; k <= b.units; k++ {
		p, q := lerp(a0, a1, k, b.units), lerp(d0, d1, k, b.units)
		s = append(s, c.plane.LonLat(p.x, p.y))
		t = append(t, c.plane.LonLat(q.x, q.y))
	}
	return s, t
}

// streetNames caches the names of the current street and community while a
// pass walks blocks in load order.
type streetNames struct {
	street, comm       int32
	streetZh, commZh   string
	haveStreet, haveCm bool
}

func (n *streetNames) of(c *City, bm *blockMeta) (street, comm string) {
	if !n.haveStreet || n.street != bm.street {
		n.street, n.haveStreet = bm.street, true
		n.streetZh, _ = c.names.street(int(bm.street))
	}
	if !n.haveCm || n.comm != bm.community {
		n.comm, n.haveCm = bm.community, true
		n.commZh, _ = c.names.community(int(bm.community))
	}
	return n.streetZh, n.commZh
}

func (c *City) writeBuildings(rw *rowWriter) error {
	var g blockGen
	var names streetNames
	var s, t []orb.Point
	var nameBuf []byte
	for i := range c.blocks {
		bm := &c.blocks[i]
		if bm.status != blockCompound {
			continue
		}
		out := c.genBlock(&g, bm)
		street, comm := names.of(c, bm)
		for j := range out.bldgs {
			b := &out.bldgs[j]
			s, t = c.sides(b, s, t)
			centre := c.plane.LonLat(b.shape.c.x, b.shape.c.y)
			cell, err := geo.CellR11(centre[0], centre[1])
			if err != nil {
				return fmt.Errorf("building %d: %w", b.id, err)
			}
			rw.int(b.id)
			rw.int(countyID)
			rw.int(c.communityID(int(bm.community)))
			rw.int(int64(bm.compound))
			rw.text(b.kind)
			if b.place != placeNone && b.kind != "residential" {
				rw.text(b.placeName)
			} else {
				nameBuf = append(append(append(nameBuf[:0], out.compound...), itoa(b.number)...), "号楼"...)
				rw.text(string(nameBuf))
			}
			rw.text(countyName.zh)
			rw.text(street)
			rw.text(comm)
			rw.text(out.compound)
			rw.int(int64(b.number))
			rw.int(int64(b.floors))
			rw.int(int64(b.pop))
			rw.bool(false)
			rw.bool(false)
			rw.int(cell)
			rw.ring = append(rw.ring[:0], s...)
			for k := len(t) - 1; k >= 0; k-- {
				rw.ring = append(rw.ring, t[k])
			}
			rw.ring = append(rw.ring, s[0])
			if err := rw.polygon(rw.ring); err != nil {
				return err
			}
			rw.text(Source)
			rw.null()
			rw.time(c.stamp())
			if err := rw.end(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *City) writeUnits(rw *rowWriter) error {
	var g blockGen
	var s, t []orb.Point
	for i := range c.blocks {
		bm := &c.blocks[i]
		if bm.status != blockCompound {
			continue
		}
		out := c.genBlock(&g, bm)
		for j := range out.bldgs {
			b := &out.bldgs[j]
			s, t = c.sides(b, s, t)
			for k := range b.units {
				rw.int(b.firstUnit + int64(k))
				rw.int(b.id)
				rw.int(int64(k + 1))
				rw.text(unitNames[k+1])
				rw.int(int64(b.floors))
				rw.int(int64(b.unitPop[k]))
				rw.bool(false)
				rw.bool(false)
				rw.ring = append(rw.ring[:0], s[k], s[k+1], t[k+1], t[k], s[k])
				if err := rw.polygon(rw.ring); err != nil {
					return err
				}
				if err := rw.end(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (c *City) writePlaces(rw *rowWriter) error {
	var g blockGen
	for i := range c.blocks {
		bm := &c.blocks[i]
		if bm.status != blockCompound || bm.places == 0 {
			continue
		}
		out := c.genBlock(&g, bm)
		for j := range out.bldgs {
			b := &out.bldgs[j]
			if b.place == placeNone {
				continue
			}
			rw.int(b.placeID)
			rw.text(b.placeName)
			rw.text(placeKindNames[b.place])
			rw.int(b.id)
			rw.bool(b.enclosed)
			rw.bool(b.poorVent)
			if err := rw.geom(c.plane.LonLat(b.shape.c.x, b.shape.c.y)); err != nil {
				return err
			}
			rw.text(Source)
			rw.null()
			if err := rw.end(); err != nil {
				return err
			}
		}
	}
	return nil
}
