package lookup

// ZonesAt and ScanZonesAt expose the index's point search, through the
// R-tree and by a scan of every polygon, to the benchmarks of lookup_test.
func ZonesAt(ix *Index, pt [2]float64) []Zone { return ix.zonesAt(pt) }

func ScanZonesAt(ix *Index, pt [2]float64) int {
	hits := 0
	for j := range ix.current {
		if ix.current[j].shape.contains(pt) {
			hits++
		}
	}
	return hits
}
