package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/riskzone/riskzone/geo"
)

// cst is China Standard Time; case and trace times are local times.
var cst = time.FixedZone("CST", 8*3600)

// Outbreak shape.
const (
	caseBuildingShare = 0.01 // of all buildings
	minCaseBuildings  = 10
	attackShare       = 0.25 // of the residential buildings inside a cluster's disc
	minClusterRadius  = 250.0
	outbreakDays      = 10 // cases are reported in the 10 days before today
)

// clusterShares are the shares of the case buildings in each cluster; the
// rest are sporadic cases anywhere in the county.
var clusterShares = [...]float64{0.5, 0.35}

// exclusionCategories are the five exclusion categories of §一(四), in the
// schema's spelling.
var exclusionCategories = [...]string{
	"centralized_quarantine", "home_quarantine", "closed_loop_work",
	"post_discharge_positive", "inbound_past_infection",
}

// ExclusionCategories returns the five exclusion categories of §一(四) in the
// schema's spelling; the demo has cases in each.
func ExclusionCategories() []string { return slices.Clone(exclusionCategories[:]) }

var exclusionAssessments = [...]string{
	"该病例为集中隔离点隔离人员，隔离期间核酸检测发现，经专家组评估无社会面传播风险。",
	"该病例为居家隔离人员，居家隔离期间核酸检测发现，隔离期间未外出，经专家组评估无社会面传播风险。",
	"该病例为高风险岗位闭环作业人员，闭环管理期间检测发现，经专家组评估无社会面传播风险。",
	"该病例为既往感染者出院后复阳，经专家组评估无社会面传播风险。",
	"该病例为入境人员，Ct值≥35，经专家组研判为既往感染，无社会面传播风险。",
}

// Cluster is a neighbourhood where the demo outbreak concentrates.
type Cluster struct {
	Lon, Lat      float64 // centre
	RadiusM       float64 // radius of the disc holding its case buildings
	CaseBuildings int
}

type caseRec struct {
	confirmed   bool
	day         int // report date as days after today (-10..-1)
	onset       int // days before the report date; -1 for none
	buildingID  int64
	unitID      int64
	seq         int // generation order, to break ties
	cluster     int // 0, 1, or -1 for sporadic
	address     string
	sourceKnown bool
	h3          int64
	exclusion   int // index into ExclusionCategories, -1 for none
	pool        []placeRef
	hot         []placeRef
}

type traceRec struct {
	caseID     int64
	placeID    int64
	buildingID int64
	activity   string
	start, end time.Time
	enclosed   bool
	h3         int64
}

type placeRef struct {
	id, buildingID int64
	kind           placeKind
	enclosed       bool
	h3             int64
}

type outbreak struct {
	clusters      []Cluster
	caseBuildings int
	cases         []caseRec
	traces        []traceRec
}

// Clusters returns the two neighbourhoods of the outbreak.
func (c *City) Clusters() []Cluster { return slices.Clone(c.outbreak.clusters) }

// CaseBuildings is the number of buildings with at least one case.
func (c *City) CaseBuildings() int { return c.outbreak.caseBuildings }

// caseBuilding is a building chosen to have cases.
type caseBuilding struct {
	block   int32 // index into City.blocks
	idx     int32 // building index in its block
	cluster int
}

// planOutbreak picks the case buildings, cases, exclusions and traces. It
// holds them in memory: they are about 1.5% of the buildings' count in small
// records.
func (c *City) planOutbreak() error {
	rng := rand.New(rand.NewPCG(c.opt.Seed, 0x6f7574627265616b)) // "outbreak"
	blockAt := make([]int32, c.cols*c.rows)
	var homes []int32 // compound blocks with flats
	for i := range c.blocks {
		bm := &c.blocks[i]
		blockAt[int(bm.r)*c.cols+int(bm.c)] = int32(i)
		if bm.status == blockCompound && bm.layout <= layoutRotated {
			homes = append(homes, int32(i))
		}
	}
	if len(homes) == 0 {
		return fmt.Errorf("demo county has no blocks of flats")
	}
	target := max(minCaseBuildings, int(math.Round(float64(c.opt.Buildings)*caseBuildingShare)))
	density := float64(c.opt.Buildings) / (c.county.w() * c.county.h())
	var g blockGen
	chosen := map[int64]bool{}
	var picked []caseBuilding
	var centres []xy
	var radii []float64
	ob := &c.outbreak

	// blocksNear calls fn for every block whose rectangle comes within r of p.
	blocksNear := func(p xy, r float64, fn func(bi int32)) {
		c0 := max(0, int(math.Floor((p.x-r-c.county.minX)/blockW)))
		c1 := min(c.cols-1, int(math.Floor((p.x+r-c.county.minX)/blockW)))
		r0 := max(0, int(math.Floor((c.county.maxY-(p.y+r))/blockH)))
		r1 := min(c.rows-1, int(math.Floor((c.county.maxY-(p.y-r))/blockH)))
		for row := r0; row <= r1; row++ {
			for col := c0; col <= c1; col++ {
				if pointRectDist(p, c.blockRect(col, row)) <= r {
					fn(blockAt[row*c.cols+col])
				}
			}
		}
	}

	for k, share := range clusterShares {
		want := max(1, int(math.Round(float64(target)*share)))
		radius := math.Max(minClusterRadius, math.Sqrt(float64(want)/attackShare/(density*math.Pi)))
		// A centre on a block of flats, inside the county by most of the
		// radius, and clear of the other cluster.
		var centre xy
		for try := 0; ; try++ {
			bm := &c.blocks[homes[rng.IntN(len(homes))]]
			p := c.compoundRect(int(bm.c), int(bm.r)).centre()
			inside := math.Min(math.Min(p.x-c.county.minX, c.county.maxX-p.x), math.Min(p.y-c.county.minY, c.county.maxY-p.y))
			apart := true
			for i, q := range centres {
				apart = apart && math.Hypot(p.x-q.x, p.y-q.y) > radius+radii[i]+300
			}
			if try >= 400 || (inside >= 0.8*radius && apart) || (try >= 200 && apart) {
				centre = p
				break
			}
		}
		var cands []caseBuilding
		blocksNear(centre, radius, func(bi int32) {
			bm := &c.blocks[bi]
			if bm.status != blockCompound {
				return
			}
			out := c.genBlock(&g, bm)
			for j := range out.bldgs {
				b := &out.bldgs[j]
				if b.pop > 0 && !chosen[b.id] && math.Hypot(b.shape.c.x-centre.x, b.shape.c.y-centre.y) <= radius {
					cands = append(cands, caseBuilding{block: bi, idx: int32(j), cluster: k})
				}
			}
		})
		rng.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
		cands = cands[:min(want, len(cands))]
		for _, cb := range cands {
			out := c.genBlock(&g, &c.blocks[cb.block])
			chosen[out.bldgs[cb.idx].id] = true
		}
		picked = append(picked, cands...)
		centres = append(centres, centre)
		radii = append(radii, radius)
		ll := c.plane.LonLat(centre.x, centre.y)
		ob.clusters = append(ob.clusters, Cluster{Lon: ll[0], Lat: ll[1], RadiusM: radius, CaseBuildings: len(cands)})
	}
	// Sporadic cases anywhere else.
	for tries := 0; len(picked) < target && tries < 100*target; tries++ {
		bi := homes[rng.IntN(len(homes))]
		bm := &c.blocks[bi]
		out := c.genBlock(&g, bm)
		j := rng.IntN(len(out.bldgs))
		b := &out.bldgs[j]
		near := false
		for i, q := range centres {
			near = near || math.Hypot(b.shape.c.x-q.x, b.shape.c.y-q.y) <= radii[i]+200
		}
		if b.pop == 0 || chosen[b.id] || near {
			continue
		}
		chosen[b.id] = true
		picked = append(picked, caseBuilding{block: bi, idx: int32(j), cluster: -1})
	}
	ob.caseBuildings = len(picked)

	// Places for the traces: those around each cluster, with a few hot spots
	// (enclosed, poorly ventilated) that many cases visit.
	pools := make([][]placeRef, len(centres))
	hots := make([][]placeRef, len(centres))
	for k, p := range centres {
		blocksNear(p, radii[k]+600, func(bi int32) {
			pools[k] = c.appendPlaces(pools[k], &g, bi)
		})
		pools[k] = c.somePlaces(pools[k], &g, rng)
		for _, pr := range pools[k] {
			if pr.enclosed && (pr.kind == placeMarket || pr.kind == placeGym || pr.kind == placeRestaurant) {
				hots[k] = append(hots[k], pr)
			}
		}
		rng.Shuffle(len(hots[k]), func(i, j int) { hots[k][i], hots[k][j] = hots[k][j], hots[k][i] })
		hots[k] = hots[k][:min(3, len(hots[k]))]
	}

	// Cases: 1-3 per building, mostly in one household.
	seq := 0
	for _, cb := range picked {
		bm := &c.blocks[cb.block]
		out := c.genBlock(&g, bm)
		b := &out.bldgs[cb.idx]
		street, _ := c.names.street(int(bm.street))
		comm, _ := c.names.community(int(bm.community))
		n := 1 + pick(rng.Float64(), 0.6, 0.3, 0.1)
		unit := rng.IntN(b.units)
		var day int
		switch cb.cluster {
		case 0:
			day = -outbreakDays + int(outbreakDays*math.Sqrt(rng.Float64()))
		case 1:
			day = -6 + int(6*math.Sqrt(rng.Float64()))
		default:
			day = -outbreakDays + rng.IntN(outbreakDays)
		}
		var pool, hot []placeRef
		if cb.cluster >= 0 {
			pool, hot = pools[cb.cluster], hots[cb.cluster]
		} else {
			p := b.shape.c
			blocksNear(p, 3*blockW, func(bi int32) { pool = c.appendPlaces(pool, &g, bi) })
			pool = c.somePlaces(pool, &g, rng)
			out = c.genBlock(&g, bm) // appendPlaces reused the generator
			b = &out.bldgs[cb.idx]
		}
		for m := range n {
			if m > 0 {
				day = min(-1, day+rng.IntN(3))
				if rng.Float64() < 0.2 {
					unit = rng.IntN(b.units)
				}
			}
			ux := b.shape.length*(float64(unit)+0.5)/float64(b.units) - b.shape.length/2
			ll := c.plane.LonLat(b.shape.c.x+b.shape.u.x*ux, b.shape.c.y+b.shape.u.y*ux)
			cell, err := geo.CellR11(ll[0], ll[1])
			if err != nil {
				return fmt.Errorf("demo case residence: %w", err)
			}
			cr := caseRec{
				confirmed:  rng.Float64() < 0.35,
				day:        day,
				onset:      -1,
				buildingID: b.id,
				unitID:     b.firstUnit + int64(unit),
				seq:        seq,
				cluster:    cb.cluster,
				address: countyName.zh + street + comm + out.compound + itoa(b.number) + "号楼" +
					unitNames[unit+1],
				sourceKnown: true,
				h3:          cell,
				exclusion:   -1,
				pool:        pool,
				hot:         hot,
			}
			if cr.confirmed {
				cr.onset = rng.IntN(3)
			}
			if u := rng.Float64(); (cb.cluster == 0 && u < 0.06) || (cb.cluster == 1 && u < 0.2) || (cb.cluster < 0 && u < 0.35) {
				cr.sourceKnown = false
			}
			ob.cases = append(ob.cases, cr)
			seq++
		}
	}
	if len(ob.cases) < len(exclusionCategories)+1 {
		return fmt.Errorf("demo outbreak has only %d cases", len(ob.cases))
	}
	slices.SortFunc(ob.cases, func(a, b caseRec) int {
		if a.day != b.day {
			return a.day - b.day
		}
		if a.buildingID != b.buildingID {
			return int(a.buildingID - b.buildingID)
		}
		return a.seq - b.seq
	})
	// Exclusions: about 4% of cases, at least one in each category. An
	// excluded case was found in quarantine or the like: its source is known.
	ex := max(len(exclusionCategories), int(math.Round(0.04*float64(len(ob.cases)))))
	perm := rng.Perm(len(ob.cases))
	for i, ci := range perm[:ex] {
		cat := i
		if i >= len(exclusionCategories) {
			cat = rng.IntN(len(exclusionCategories))
		}
		ob.cases[ci].exclusion = cat
		ob.cases[ci].sourceKnown = true
	}
	unknown := false
	for i := range ob.cases {
		unknown = unknown || !ob.cases[i].sourceKnown
	}
	if !unknown {
		for i := range ob.cases {
			if ob.cases[i].exclusion < 0 {
				ob.cases[i].sourceKnown = false
				break
			}
		}
	}
	// Traces: 1-3 visits per case in the four days before its report.
	for i := range ob.cases {
		cr := &ob.cases[i]
		if len(cr.pool) == 0 {
			return fmt.Errorf("demo county has no places for case traces")
		}
		n := 1 + pick(rng.Float64(), 0.4, 0.4, 0.2)
		first := len(ob.traces)
		for t := range n {
			var p placeRef
			if t == 0 && len(cr.hot) > 0 && rng.Float64() < 0.6 {
				p = cr.hot[rng.IntN(len(cr.hot))]
			} else {
				p = cr.pool[rng.IntN(len(cr.pool))]
			}
			day := c.today.AddDate(0, 0, cr.day-1-rng.IntN(4))
			start, minutes := visitTime(rng, p.kind)
			st := time.Date(day.Year(), day.Month(), day.Day(), 0, start, 0, 0, cst)
			ob.traces = append(ob.traces, traceRec{
				caseID:     int64(i + 1),
				placeID:    p.id,
				buildingID: p.buildingID,
				activity:   placeActivity[p.kind],
				start:      st,
				end:        st.Add(time.Duration(minutes) * time.Minute),
				enclosed:   p.enclosed,
				h3:         p.h3,
			})
		}
		ts := ob.traces[first:]
		slices.SortStableFunc(ts, func(a, b traceRec) int { return a.start.Compare(b.start) })
		cr.pool, cr.hot = nil, nil
	}
	c.counts.Cases = len(ob.cases)
	c.counts.Traces = len(ob.traces)
	return nil
}

// visitTime returns the start of a visit (minutes after local midnight) and
// its length in minutes, by the kind of place.
func visitTime(rng *rand.Rand, k placeKind) (start, minutes int) {
	q := func(from, to int) int { return from + 15*rng.IntN((to-from)/15+1) } // quarter hours
	switch k {
	case placeOffice:
		return q(8*60, 9*60+45), q(6*60, 9*60)
	case placeSchool:
		return q(7*60+30, 8*60+15), q(5*60, 8*60)
	case placeRestaurant:
		if rng.IntN(2) == 0 {
			return q(11*60, 13*60), q(40, 120)
		}
		return q(17*60+30, 19*60+30), q(40, 120)
	case placeGym:
		return q(9*60, 19*60+45), q(45, 150)
	default:
		return q(8*60, 18*60+45), q(20, 90)
	}
}

// appendPlaces appends the places of block bi to ps.
func (c *City) appendPlaces(ps []placeRef, g *blockGen, bi int32) []placeRef {
	bm := &c.blocks[bi]
	if bm.status != blockCompound || bm.places == 0 {
		return ps
	}
	out := c.genBlock(g, bm)
	for j := range out.bldgs {
		b := &out.bldgs[j]
		if b.place == placeNone {
			continue
		}
		ll := c.plane.LonLat(b.shape.c.x, b.shape.c.y)
		cell, err := geo.CellR11(ll[0], ll[1])
		if err != nil {
			cell = 0 // cannot happen inside the county; leave the cell empty
		}
		ps = append(ps, placeRef{id: b.placeID, buildingID: b.id, kind: b.place, enclosed: b.enclosed, h3: cell})
	}
	return ps
}

// blockOfPlace returns the index of the block holding place id (a linear
// scan: it is only needed when a case has no place nearby).
func (c *City) blockOfPlace(id int64) int32 {
	for i := range c.blocks {
		bm := &c.blocks[i]
		if bm.status == blockCompound && int64(bm.firstPlace) <= id && id < int64(bm.firstPlace)+int64(bm.places) {
			return int32(i)
		}
	}
	return 0
}

// somePlaces returns ps, or when it is empty the places of the block of a
// random place, so that every case has somewhere to have been.
func (c *City) somePlaces(ps []placeRef, g *blockGen, rng *rand.Rand) []placeRef {
	if len(ps) > 0 || c.counts.Places == 0 {
		return ps
	}
	return c.appendPlaces(ps, g, c.blockOfPlace(1+rng.Int64N(int64(c.counts.Places))))
}
