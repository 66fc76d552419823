package lookup

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/riskzone/riskzone/zoning"
)

// The address query parser: a Chinese or Latin address as people type it
// ("临河区建设街道城建花园小区73号楼二单元", "im pardiel 16") parsed into
// a place, a building number and a unit, and the key forms the index
// finds places, numbers and names by.

var (
	fullWidth   = strings.NewReplacer("０", "0", "１", "1", "２", "2", "３", "3", "４", "4", "５", "5", "６", "6", "７", "7", "８", "8", "９", "9", "－", "-", "＃", "#")
	addrPattern = regexp.MustCompile(`^(.*?)(\d+[a-z]?)(?:号楼|号|栋|幢|座|#)?(?:(\d+|[一二三四五六七八九十]+)单元)?(?:.*)?$`)
)

func sortLongestFirst(keys []string) {
	slices.SortFunc(keys, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
}

// compoundKey resolves the place part of a query to a compound name of
// keys: a candidate equal to a key, else the longest key the place
// contains, else a key containing the place (when it is long enough).
func compoundKey(place string, has func(string) bool, keys []string) string {
	for _, cand := range placeCandidates(place) {
		if has(cand) {
			return cand
		}
	}
	for _, k := range keys {
		if strings.Contains(place, k) {
			return k
		}
	}
	if len([]rune(place)) >= 3 {
		for _, k := range keys {
			if strings.Contains(k, place) {
				return k
			}
		}
	}
	return ""
}

// normalizeCompound is the key form of a place, number or name: full-width
// digits made ASCII, spaces dropped, Latin letters in lower case (people
// type "im pardiel 16" for Im Pardiel 16).
func normalizeCompound(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(fullWidth.Replace(s)), ""))
}

// placeKey is the key a numbered address is found by: its compound, else
// its street (a house number on a street, as OSM's addr:street +
// addr:housenumber); "" for a building without number.
func placeKey(a zoning.Address) string {
	if a.Number == "" {
		return ""
	}
	if a.Compound != "" {
		return normalizeCompound(a.Compound)
	}
	return normalizeCompound(a.Street)
}

// nameKey is the key a building is found by its name: named buildings
// outside compounds (in a compound the number finds it, and the demo
// city's names only repeat compound and number).
func nameKey(a zoning.Address) string {
	if a.Compound != "" || a.Name == "" {
		return ""
	}
	return normalizeCompound(a.Name)
}

// minNameKey is the shortest name a query may contain rather than equal
// (a short name such as "Post" would match too many queries).
const minNameKey = 4

// findName resolves a normalised query to a name key: the query itself,
// else the longest key of at least minNameKey runes it contains.
func findName(q string, has func(string) bool, keys []string) string {
	if q == "" {
		return ""
	}
	if has(q) {
		return q
	}
	for _, k := range keys {
		if len([]rune(k)) >= minNameKey && strings.Contains(q, k) {
			return k
		}
	}
	return ""
}

// parsedAddress is an address query: a compound part, a building number and
// a unit number (0: none).
type parsedAddress struct {
	place  string
	number string
	unit   int
}

func parseAddress(q string) parsedAddress {
	s := normalizeCompound(q)
	m := addrPattern.FindStringSubmatch(s)
	if m == nil {
		return parsedAddress{place: s}
	}
	p := parsedAddress{place: m[1], number: strings.TrimLeft(m[2], "0")}
	if m[3] != "" {
		if n, err := strconv.Atoi(m[3]); err == nil {
			p.unit = n
		} else {
			p.unit = chineseSmall(m[3])
		}
	}
	return p
}

func chineseSmall(s string) int {
	for n := 1; n <= 99; n++ {
		if zoning.ChineseNumeral(n) == s {
			return n
		}
	}
	return 0
}

// placeCandidates are the compound names a query's place part may mean:
// itself, and what follows its last street, community, township or county
// word (people type "临河区建设街道城建花园小区").
func placeCandidates(place string) []string {
	out := []string{place}
	add := func(s string) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, sep := range []string{"街道", "社区", "镇", "乡"} {
		if i := strings.LastIndex(place, sep); i >= 0 {
			add(place[i+len(sep):])
		}
	}
	for _, sep := range []string{"区", "县", "市"} {
		if i := strings.Index(place, sep); i >= 0 && !strings.HasSuffix(place[:i+len(sep)], "小区") {
			add(place[i+len(sep):])
		}
	}
	return out
}
