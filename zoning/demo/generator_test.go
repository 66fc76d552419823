package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math"
	"testing"
	"time"
)

var testToday = time.Date(2022, 11, 20, 0, 0, 0, 0, time.UTC)

// streamDigests hashes every table's COPY stream.
func streamDigests(t testing.TB, opt Options) (map[Table][32]byte, *City) {
	t.Helper()
	c, err := Plan(opt)
	if err != nil {
		t.Fatalf("Plan(%+v): %v", opt, err)
	}
	out := map[Table][32]byte{}
	for _, tb := range Tables() {
		h := sha256.New()
		var lines lineCounter
		if err := c.WriteTable(context.Background(), tb, io.MultiWriter(h, &lines), nil); err != nil {
			t.Fatalf("WriteTable(%s): %v", tb, err)
		}
		if int(lines) != c.Rows(tb) {
			t.Fatalf("%s: wrote %d rows, Rows says %d", tb, lines, c.Rows(tb))
		}
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		out[tb] = sum
	}
	return out, c
}

type lineCounter int

func (l *lineCounter) Write(p []byte) (int, error) {
	*l += lineCounter(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

func TestGeneratedStreamIsDeterministic(t *testing.T) {
	opt := Options{Seed: 42, Buildings: 3000, Today: testToday}
	a, _ := streamDigests(t, opt)
	b, _ := streamDigests(t, opt)
	for _, tb := range Tables() {
		if a[tb] != b[tb] {
			t.Errorf("%s: two runs with the same options differ", tb)
		}
	}
	opt.Seed = 43
	c, _ := streamDigests(t, opt)
	for _, tb := range []Table{Compounds, Buildings, Units, Places, Barriers, Cases, Traces} {
		if a[tb] == c[tb] {
			t.Errorf("%s: seeds 42 and 43 give the same rows", tb)
		}
	}
	// Another today moves the case dates but not the geography.
	opt.Seed, opt.Today = 42, testToday.AddDate(0, 0, 1)
	d, _ := streamDigests(t, opt)
	for _, tb := range []Table{Compounds, Units, Places} {
		if a[tb] != d[tb] {
			t.Errorf("%s: changed with --today", tb)
		}
	}
	if a[Cases] == d[Cases] {
		t.Error("cases did not move with --today")
	}
}

func TestPlanMakesExactlyTheBuildingsAskedFor(t *testing.T) {
	for _, n := range []int{MinBuildings, 777, 5000, 31415} {
		c, err := Plan(Options{Seed: uint64(n), Buildings: n, Today: testToday})
		if err != nil {
			t.Fatalf("Plan(%d): %v", n, err)
		}
		if c.Counts().Buildings != n {
			t.Errorf("Plan(%d) made %d buildings", n, c.Counts().Buildings)
		}
		if u := c.Counts().Units; u < n || u > 6*n {
			t.Errorf("Plan(%d): %d units, want 1-6 per building", n, u)
		}
		want := max(minCaseBuildings, int(math.Round(float64(n)/100)))
		if got := c.CaseBuildings(); got != want {
			t.Errorf("Plan(%d): %d case buildings, want %d", n, got, want)
		}
		s := c.Summary()
		for _, cat := range ExclusionCategories() {
			if s.Excluded[cat] == 0 {
				t.Errorf("Plan(%d): no case excluded as %s", n, cat)
			}
		}
		if s.UnknownSource == 0 {
			t.Errorf("Plan(%d): no case of unknown source", n)
		}
	}
}

func TestPlanRejectsBadOptions(t *testing.T) {
	for _, opt := range []Options{
		{Seed: 1, Buildings: MinBuildings - 1, Today: testToday},
		{Seed: 1, Buildings: MaxBuildings + 1, Today: testToday},
		{Seed: 1, Buildings: 1000},
	} {
		if _, err := Plan(opt); err == nil {
			t.Errorf("Plan(%+v) accepted", opt)
		}
	}
}

// Every building lies inside its compound cell, clear of the river and the
// railway by the margins, and units split it into equal parts: checked in the
// plane against the same exact distance functions, for a county big enough
// to have rotated buildings.
func TestBuildingsStayInsideTheirBlocks(t *testing.T) {
	c, err := Plan(Options{Seed: 5, Buildings: 8000, Today: testToday})
	if err != nil {
		t.Fatal(err)
	}
	var g blockGen
	rotated := 0
	for i := range c.blocks {
		bm := &c.blocks[i]
		if bm.status != blockCompound {
			continue
		}
		cr := c.compoundRect(int(bm.c), int(bm.r))
		out := c.genBlock(&g, bm)
		if len(out.bldgs) != int(bm.n) {
			t.Fatalf("block %d: %d buildings, allotted %d", i, len(out.bldgs), bm.n)
		}
		for j := range out.bldgs {
			b := &out.bldgs[j]
			if b.shape.u.y != 0 {
				rotated++
			}
			e := b.shape.extent()
			if e.minX < cr.minX+compoundMargin || e.maxX > cr.maxX-compoundMargin ||
				e.minY < cr.minY+compoundMargin || e.maxY > cr.maxY-compoundMargin {
				t.Fatalf("building %d (extent %+v) leaves its compound %+v", b.id, e, cr)
			}
			if d := c.river.clearance(e); d < riverMargin {
				t.Fatalf("building %d is %.1f m from the water", b.id, d)
			}
			if d := segRectDist(c.rail[0], c.rail[1], e); d < railMargin {
				t.Fatalf("building %d is %.1f m from the railway", b.id, d)
			}
			if b.units < 1 || b.units > 6 {
				t.Fatalf("building %d has %d units", b.id, b.units)
			}
			var sum int32
			for k := range b.units {
				sum += b.unitPop[k]
			}
			if sum != b.pop {
				t.Fatalf("building %d: units hold %d people, building %d", b.id, sum, b.pop)
			}
		}
	}
	if rotated == 0 {
		t.Fatal("no rotated buildings: the test does not cover them")
	}
}

func TestCOPYTextEscaping(t *testing.T) {
	var buf bytes.Buffer
	rw := newRowWriter(context.Background(), &buf, nil)
	rw.text("a\\b\tc\nd\re")
	rw.null()
	rw.int(-7)
	if err := rw.end(); err != nil {
		t.Fatal(err)
	}
	if err := rw.flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "a\\\\b\\tc\\nd\\re\t\\N\t-7\n"; got != want {
		t.Fatalf("row = %q, want %q", got, want)
	}
}

func TestSegRectDist(t *testing.T) {
	r := rect{0, 0, 10, 10}
	cases := []struct {
		a, b xy
		want float64
	}{
		{xy{-5, 5}, xy{15, 5}, 0},                  // crosses
		{xy{2, 2}, xy{3, 3}, 0},                    // inside
		{xy{-5, 12}, xy{15, 12}, 2},                // above
		{xy{13, 14}, xy{20, 20}, 5},                // off the corner (3, 4, 5)
		{xy{-3, -1}, xy{-1, -3}, 2 * math.Sqrt(2)}, // x+y = -4 from the corner
	}
	for _, tc := range cases {
		if got := segRectDist(tc.a, tc.b, r); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("segRectDist(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestChineseNames(t *testing.T) {
	for n, want := range map[int]string{1: "一", 10: "十", 11: "十一", 20: "二十", 73: "七十三", 105: "一百零五", 110: "一百一十"} {
		if got := cnNumber(n); got != want {
			t.Errorf("cnNumber(%d) = %s, want %s", n, got, want)
		}
	}
	nm := newNamer(1)
	seen := map[string]bool{}
	for i := range len(streetWords) * len(streetQualifiers) {
		zh, _ := nm.street(i)
		if seen[zh] {
			t.Fatalf("street name %s repeats at %d", zh, i)
		}
		seen[zh] = true
	}
	stem, _ := nm.compoundStem(0)
	if stem == "" {
		t.Fatal("empty compound name")
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, n := range []int{100_000} {
		b.Run(fmt.Sprintf("buildings=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c, err := Plan(Options{Seed: 1, Buildings: n, Today: testToday})
				if err != nil {
					b.Fatal(err)
				}
				for _, tb := range []Table{Compounds, Buildings, Units, Places} {
					if err := c.WriteTable(context.Background(), tb, io.Discard, nil); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
