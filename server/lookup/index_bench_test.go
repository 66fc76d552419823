package lookup_test

import (
	"fmt"
	"testing"

	"github.com/riskzone/riskzone/server/lookup"
	"github.com/riskzone/riskzone/server/lookup/lookuptest"
)

// BenchmarkLookupIndex: point lookups in the in-memory index beside a naive
// scan of every polygon (go test -run '^$' -bench LookupIndex ./server/lookup/).
func BenchmarkLookupIndex(b *testing.B) {
	for _, n := range []int{1000, 102400} {
		ix := lookuptest.Grid(b, n)
		b.ResetTimer()
		pts := make([][2]float64, 1024)
		for i := range pts {
			pts[i] = lookuptest.GridCenter(n, (i*7919)%n)
		}
		b.Run(fmt.Sprintf("rtree/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if len(lookup.ZonesAt(ix, pts[i%len(pts)])) != 1 {
					b.Fatal("miss")
				}
			}
		})
		b.Run(fmt.Sprintf("naive/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if lookup.ScanZonesAt(ix, pts[i%len(pts)]) != 1 {
					b.Fatal("miss")
				}
			}
		})
	}
}
