package demo

import (
	"fmt"
	"time"

	"github.com/paulmach/orb"
)

// barrier is one barrier line or polygon in the plane.
type barrier struct {
	kind, class, name string
	pts               []xy
	polygon           bool
}

// eachBarrier calls fn for every barrier in load order: north-south roads,
// east-west roads, the river and its water surface, the railway, the ridge.
func (c *City) eachBarrier(fn func(b barrier) error) error {
	// Local roads run from arterial to arterial and stop at the park.
	roads := func(n, across int, ew bool) error {
		for i := 0; i <= n; i++ {
			class := roadClass(i, n)
			var name string
			switch class {
			case "primary":
				name = arterialName(i, ew)
			case "secondary":
				name = secondaryName(i/secondaryEvery, ew)
			default:
				name = localName(i, ew)
			}
			at := func(j int) xy {
				if ew {
					return xy{c.gridX(j), c.gridY(i)}
				}
				return xy{c.gridX(i), c.gridY(j)}
			}
			if class != "residential" {
				if err := fn(barrier{kind: "road", class: class, name: name, pts: []xy{at(0), at(across)}}); err != nil {
					return err
				}
				continue
			}
			// Edges j (from grid line j to j+1) inside the park are paths, not roads.
			inPark := func(j int) bool {
				if ew {
					return i == c.park.rc*communitySpan+1 && j/communitySpan == c.park.cc
				}
				return i == c.park.cc*communitySpan+1 && j/communitySpan == c.park.rc
			}
			for j0 := 0; j0 < across; j0 += streetSpan {
				j1 := min(j0+streetSpan, across)
				start := -1
				for j := j0; j <= j1; j++ {
					if j < j1 && !inPark(j) {
						if start < 0 {
							start = j
						}
						continue
					}
					if start >= 0 {
						if err := fn(barrier{kind: "road", class: class, name: name, pts: []xy{at(start), at(j)}}); err != nil {
							return err
						}
						start = -1
					}
				}
			}
		}
		return nil
	}
	if err := roads(c.cols, c.rows, false); err != nil {
		return err
	}
	if err := roads(c.rows, c.cols, true); err != nil {
		return err
	}
	if err := fn(barrier{kind: "river", name: "清水河", pts: c.river.centre}); err != nil {
		return err
	}
	if err := fn(barrier{kind: "water", name: "清水河", pts: c.river.surface(), polygon: true}); err != nil {
		return err
	}
	if err := fn(barrier{kind: "railway", name: "示范铁路", pts: c.rail[:]}); err != nil {
		return err
	}
	return fn(barrier{kind: "ridge", name: "凤凰山", pts: c.park.ridge})
}

func (c *City) barrierCount() int {
	n := 0
	_ = c.eachBarrier(func(barrier) error { n++; return nil })
	return n
}

func (c *City) writeBarriers(rw *rowWriter) error {
	id := int64(0)
	return c.eachBarrier(func(b barrier) error {
		id++
		rw.int(id)
		rw.text(b.kind)
		if b.class != "" {
			rw.text(b.class)
		} else {
			rw.null()
		}
		rw.text(b.name)
		rw.line = rw.line[:0]
		for _, p := range b.pts {
			rw.line = append(rw.line, c.plane.LonLat(p.x, p.y))
		}
		var err error
		if b.polygon {
			err = rw.geom(orb.Polygon{orb.Ring(rw.line)})
		} else {
			err = rw.geom(rw.line)
		}
		if err != nil {
			return err
		}
		rw.text(Source)
		rw.null()
		rw.time(c.stamp())
		return rw.end()
	})
}

// caseTime is local time on the day `day` days after today.
func (c *City) caseTime(day, hour int) time.Time {
	d := c.today.AddDate(0, 0, day)
	return time.Date(d.Year(), d.Month(), d.Day(), hour, 0, 0, 0, cst)
}

func (c *City) writeCases(rw *rowWriter) error {
	year := c.today.Year()
	for i := range c.outbreak.cases {
		cr := &c.outbreak.cases[i]
		id := int64(i + 1)
		rw.int(id)
		rw.text(fmt.Sprintf("C%d-%06d", year, id))
		rw.int(countyID)
		if cr.confirmed {
			rw.text("confirmed")
		} else {
			rw.text("asymptomatic")
		}
		report := c.today.AddDate(0, 0, cr.day)
		rw.date(report)
		if cr.onset >= 0 {
			rw.date(report.AddDate(0, 0, -cr.onset))
		} else {
			rw.null()
		}
		rw.int(cr.unitID)
		rw.int(cr.buildingID)
		rw.null() // residence_point: the unit is known
		rw.text(cr.address)
		rw.null() // residence_snap_m
		rw.bool(cr.sourceKnown)
		rw.int(cr.h3)
		created := c.caseTime(cr.day, 20)
		updated := created
		if cr.exclusion >= 0 {
			excluded := c.caseTime(cr.day, 22)
			rw.text(exclusionCategories[cr.exclusion])
			rw.text(exclusionAssessments[cr.exclusion])
			rw.null() // excluded_by: the demo has no users
			rw.time(excluded)
			updated = excluded
		} else {
			rw.null()
			rw.null()
			rw.null()
			rw.null()
		}
		rw.null() // created_by
		rw.time(created)
		rw.time(updated)
		if err := rw.end(); err != nil {
			return err
		}
	}
	return nil
}

func (c *City) writeTraces(rw *rowWriter) error {
	for i := range c.outbreak.traces {
		tr := &c.outbreak.traces[i]
		rw.int(int64(i + 1))
		rw.int(tr.caseID)
		rw.int(tr.placeID)
		rw.int(tr.buildingID)
		rw.null() // point: the place is known
		rw.text(tr.activity)
		rw.time(tr.start)
		rw.time(tr.end)
		rw.bool(tr.enclosed)
		rw.id(tr.h3)
		rw.text("")
		rw.time(c.caseTime(c.outbreak.cases[tr.caseID-1].day, 20))
		if err := rw.end(); err != nil {
			return err
		}
	}
	return nil
}
