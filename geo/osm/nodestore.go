package osm

import (
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// coordScale is the fixed-point scale of stored coordinates: OSM keeps lon/lat
// to 7 decimals, so an int32 holds them exactly.
const coordScale = 1e7

// missing marks a node whose location has not been seen (yet). It is outside
// the range of valid latitudes (±90e7).
const missing = math.MinInt32

// nodeStore maps the ids of the nodes that wanted ways need to their
// locations. It holds only those nodes: 16 bytes each (a sorted id and two
// fixed-point coordinates), so a city of a million buildings (about five
// million nodes) takes about 80 MB whatever the size of the rest of the file.
//
// It is built in two steps: need collects ids while the ways are scanned,
// seal sorts them and allocates the coordinates, and then set and get work by
// binary search over the sorted ids. After seal, lookups are safe from
// several goroutines; set is not.
type nodeStore struct {
	ids    []int64
	lon    []int32
	lat    []int32
	sealed bool
}

// need records that the location of node id is wanted.
func (s *nodeStore) need(id int64) {
	s.ids = append(s.ids, id)
}

// seal sorts and deduplicates the wanted ids and makes room for their
// locations. The growth slack of the id slice is given back.
func (s *nodeStore) seal() {
	slices.Sort(s.ids)
	s.ids = slices.Compact(s.ids)
	s.ids = slices.Clip(s.ids)
	s.lon = make([]int32, len(s.ids))
	s.lat = make([]int32, len(s.ids))
	for i := range s.lat {
		s.lat[i] = missing
	}
	s.sealed = true
}

// index returns the position of id in the store, or -1.
func (s *nodeStore) index(id int64) int {
	i, found := slices.BinarySearch(s.ids, id)
	if !found {
		return -1
	}
	return i
}

// wanted reports whether the location of node id is needed.
func (s *nodeStore) wanted(id int64) bool { return s.index(id) >= 0 }

// set stores the location of the node at index i.
func (s *nodeStore) set(i int, lon, lat float64) {
	s.lon[i] = int32(math.Round(lon * coordScale))
	s.lat[i] = int32(math.Round(lat * coordScale))
}

// get returns the location of node id, and false when it is not stored or
// its node was not in the file.
func (s *nodeStore) get(id int64) (orb.Point, bool) {
	i := s.index(id)
	if i < 0 || s.lat[i] == missing {
		return orb.Point{}, false
	}
	return orb.Point{float64(s.lon[i]) / coordScale, float64(s.lat[i]) / coordScale}, true
}

// len is the number of stored (wanted) nodes.
func (s *nodeStore) len() int { return len(s.ids) }

// bytes is the memory held by the store.
func (s *nodeStore) bytes() int64 {
	return int64(cap(s.ids))*8 + int64(cap(s.lon))*4 + int64(cap(s.lat))*4
}
