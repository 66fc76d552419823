package zoning

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Address is one member of a zone: a whole building (Unit empty) or one
// unit of a building, with the parts the notice lists.
type Address struct {
	District   string `json:"district"`
	DistrictEn string `json:"district_en,omitempty"`
	Street     string `json:"street"`
	StreetEn   string `json:"street_en,omitempty"`
	Compound   string `json:"compound"`
	// Number is the building number ("73" of 73号楼), or "" when unknown.
	Number string `json:"number"`
	// Name is the building's name (OSM name or addr:housename), used when
	// it has no number and beside a house number on a street.
	Name string `json:"name,omitempty"`
	// BuildingID tells buildings without number or name apart.
	BuildingID int64 `json:"building_id"`
	// Ref is where the building came from ("OSM way 123"), written for a
	// building without number or name so a field team can find it.
	Ref string `json:"ref,omitempty"`
	// UnitNumber and Unit name a unit (二单元); 0 and "" for a whole building.
	UnitNumber int    `json:"unit_number,omitempty"`
	Unit       string `json:"unit,omitempty"`
}

var numberPattern = regexp.MustCompile(`^[0-9]+$`)

// group keys addresses district > street > compound, in first-seen order
// after sorting.
type addrGroup struct {
	district, districtEn, street, streetEn, compound string
	items                                            []Address
}

func groupAddresses(addrs []Address) []addrGroup {
	sorted := slices.Clone(addrs)
	slices.SortStableFunc(sorted, func(a, b Address) int {
		// Numbered buildings first, then named ones, the unnamed last.
		return cmp.Or(cmp.Compare(a.District, b.District), cmp.Compare(a.Street, b.Street), cmp.Compare(a.Compound, b.Compound),
			cmpBool(a.Number == "", b.Number == ""), compareNumbers(a.Number, b.Number),
			cmpBool(a.Name == "", b.Name == ""), cmp.Compare(a.Name, b.Name), cmp.Compare(a.BuildingID, b.BuildingID),
			cmp.Compare(a.UnitNumber, b.UnitNumber))
	})
	var out []addrGroup
	for _, a := range sorted {
		n := len(out)
		if n == 0 || out[n-1].district != a.District || out[n-1].street != a.Street || out[n-1].compound != a.Compound {
			out = append(out, addrGroup{district: a.District, districtEn: a.DistrictEn, street: a.Street, streetEn: a.StreetEn, compound: a.Compound})
			n++
		}
		out[n-1].items = append(out[n-1].items, a)
	}
	return out
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// compareNumbers orders building numbers numerically when both are numbers.
func compareNumbers(a, b string) int {
	if numberPattern.MatchString(a) && numberPattern.MatchString(b) {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return cmp.Compare(x, y)
	}
	return cmp.Compare(a, b)
}

// buildingPart is a whole building or the units of one building.
type buildingPart struct {
	number, name, ref string
	id                int64
	whole             bool
	units             []Address
}

func buildingParts(items []Address) []buildingPart {
	var out []buildingPart
	for _, a := range items {
		n := len(out)
		if n == 0 || out[n-1].id != a.BuildingID {
			out = append(out, buildingPart{number: a.Number, name: a.Name, ref: a.Ref, id: a.BuildingID})
			n++
		}
		if a.UnitNumber == 0 && a.Unit == "" {
			out[n-1].whole = true
		} else {
			out[n-1].units = append(out[n-1].units, a)
		}
	}
	return out
}

// A number is a building number of a compound (73号楼, "building 73") when
// the group has a compound, else a house number on its street (Im Pardiel
// 16号, "no. 16"): addr:housenumber without a compound numbers the street.
// Only a numbered building without a name joins a range: a name beside a
// house number is written with it ("32号（Kunstmuseum Liechtenstein）"). In
// a compound the name is left out, as the demo's names repeat the number.

// FormatAddressesZh writes addresses as the announcements do, grouped by
// district > street > compound: "临河区锦绣街道城建花园小区25-28号楼、73号楼二单元；…".
// Runs of consecutive building numbers become ranges; units of a building
// not wholly in the zone are listed as "73号楼一单元、三单元". A building with
// no number and no name is "无名楼栋（OSM way 123）".
func FormatAddressesZh(addrs []Address) string {
	var streets []string
	var cur, curKey string
	for _, g := range groupAddresses(addrs) {
		key := g.district + "\x00" + g.street
		if key != curKey && cur != "" {
			streets = append(streets, cur)
			cur = ""
		}
		if cur == "" {
			cur = joinZh(g.district, g.street)
		} else {
			cur += "，"
		}
		curKey = key
		cur = joinZh(cur, joinZh(g.compound, strings.Join(formatBuildingsZh(buildingParts(g.items), g.compound == ""), "、")))
	}
	if cur != "" {
		streets = append(streets, cur)
	}
	return strings.Join(streets, "；")
}

// joinZh joins two parts of a Chinese address, with a space between Latin
// letters or digits ("Im Pardiel 16号") and nothing between Chinese ones.
func joinZh(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	if latin(a[len(a)-1]) && latin(b[0]) {
		return a + " " + b
	}
	return a + b
}

func latin(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// numbered reports whether a part joins a range of numbers.
func (p buildingPart) numbered(house bool) (int, bool) {
	if !p.whole || !numberPattern.MatchString(p.number) || (house && p.name != "") {
		return 0, false
	}
	n, err := strconv.Atoi(p.number)
	return n, err == nil
}

func formatBuildingsZh(parts []buildingPart, house bool) []string {
	suffix := "号楼"
	if house {
		suffix = "号"
	}
	var out []string
	// Whole buildings with numbers: ranges of consecutive numbers.
	var run []int
	flush := func() {
		if len(run) == 0 {
			return
		}
		if len(run) == 1 {
			out = append(out, fmt.Sprintf("%d%s", run[0], suffix))
		} else {
			out = append(out, fmt.Sprintf("%d-%d%s", run[0], run[len(run)-1], suffix))
		}
		run = nil
	}
	for _, p := range parts {
		if n, ok := p.numbered(house); ok {
			if len(run) > 0 && n == run[len(run)-1]+1 {
				run = append(run, n)
				continue
			}
			flush()
			run = []int{n}
			continue
		}
		flush()
		label := buildingLabelZh(p, house)
		if p.whole {
			out = append(out, label)
			continue
		}
		var units []string
		for _, u := range p.units {
			units = append(units, unitLabelZh(u))
		}
		out = append(out, label+strings.Join(units, "、"))
	}
	flush()
	return out
}

func buildingLabelZh(p buildingPart, house bool) string {
	switch {
	case p.number != "" && !house:
		return p.number + "号楼"
	case p.number != "" && p.name != "":
		return p.number + "号（" + p.name + "）"
	case p.number != "":
		return p.number + "号"
	case p.name != "":
		return p.name
	case p.ref != "":
		return "无名楼栋（" + p.ref + "）"
	}
	return fmt.Sprintf("无名楼栋（编号%d）", p.id)
}

func unitLabelZh(u Address) string {
	if u.Unit != "" {
		return u.Unit
	}
	return ChineseNumeral(u.UnitNumber) + "单元"
}

// FormatAddressesEn is the English rendering of FormatAddressesZh. Place
// names without an English name stay in Chinese, as the address is written.
func FormatAddressesEn(addrs []Address) string {
	var streets []string
	var cur, curKey string
	for _, g := range groupAddresses(addrs) {
		key := g.district + "\x00" + g.street
		if key != curKey && cur != "" {
			streets = append(streets, cur)
			cur = ""
		}
		if cur == "" {
			var place []string
			if s := or(g.streetEn, g.street); s != "" {
				place = append(place, s)
			}
			if d := or(g.districtEn, g.district); d != "" {
				place = append(place, d)
			}
			cur = strings.Join(place, ", ")
			if cur != "" {
				cur += ": "
			}
		} else {
			cur += "; "
		}
		curKey = key
		items := formatBuildingsEn(buildingParts(g.items), g.compound == "")
		if g.compound != "" {
			cur += g.compound + " "
		}
		cur += strings.Join(items, ", ")
	}
	if cur != "" {
		streets = append(streets, cur)
	}
	return strings.Join(streets, " / ")
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func formatBuildingsEn(parts []buildingPart, house bool) []string {
	one, many := "building", "buildings"
	if house {
		one, many = "no.", "nos."
	}
	var out []string
	var run []int
	flush := func() {
		switch len(run) {
		case 0:
		case 1:
			out = append(out, fmt.Sprintf("%s %d", one, run[0]))
		default:
			out = append(out, fmt.Sprintf("%s %d-%d", many, run[0], run[len(run)-1]))
		}
		run = nil
	}
	for _, p := range parts {
		if n, ok := p.numbered(house); ok {
			if len(run) > 0 && n == run[len(run)-1]+1 {
				run = append(run, n)
				continue
			}
			flush()
			run = []int{n}
			continue
		}
		flush()
		var label string
		switch {
		case p.number != "" && house && p.name != "":
			label = fmt.Sprintf("%s %s (%s)", one, p.number, p.name)
		case p.number != "":
			label = one + " " + p.number
		case p.name != "":
			label = p.name
		case p.ref != "":
			label = "unnamed building (" + p.ref + ")"
		default:
			label = fmt.Sprintf("unnamed building (no. %d)", p.id)
		}
		if p.whole {
			out = append(out, label)
			continue
		}
		var units []string
		for _, u := range p.units {
			units = append(units, strconv.Itoa(u.UnitNumber))
		}
		word := "unit"
		if len(units) > 1 {
			word = "units"
		}
		out = append(out, fmt.Sprintf("%s %s %s", label, word, strings.Join(units, ", ")))
	}
	flush()
	return out
}

// SourceRef is how a field team finds a building in its source: "OSM way
// 123" for an element of an OpenStreetMap import (source ids "n123",
// "w123", "r123"), else "source id"; "" when the building has no source id.
func SourceRef(source, sourceID string) string {
	if sourceID == "" {
		return ""
	}
	if m := osmIDPattern.FindStringSubmatch(sourceID); m != nil && strings.Contains(strings.ToLower(source), "osm") {
		kind := map[string]string{"n": "node", "w": "way", "r": "relation"}[m[1]]
		return "OSM " + kind + " " + m[2]
	}
	if source == "" {
		return sourceID
	}
	return source + " " + sourceID
}

var osmIDPattern = regexp.MustCompile(`^([nwr])([0-9]+)$`)

// ShortAreaDesc is a short description of a zone for CAP <areaDesc> and
// listings: the first compound (or street) and how many more places.
func ShortAreaDesc(z ZoneText, lang string) string {
	groups := groupAddresses(z.Addresses)
	if len(groups) == 0 {
		return z.Name
	}
	g := groups[0]
	first := joinZh(g.street, g.compound)
	if lang == "en" {
		first = strings.TrimSpace(or(g.streetEn, g.street) + " " + g.compound)
	}
	var items []string
	if lang == "en" {
		items = formatBuildingsEn(buildingParts(g.items), g.compound == "")
	} else {
		items = formatBuildingsZh(buildingParts(g.items), g.compound == "")
	}
	if len(items) > 0 {
		if lang == "en" {
			first += " " + items[0]
		} else {
			first = joinZh(first, items[0])
		}
	}
	more := len(items) - 1
	for _, o := range groups[1:] {
		more += len(buildingParts(o.items))
	}
	if more > 0 {
		if lang == "en" {
			return fmt.Sprintf("%s and %d more", first, more)
		}
		return first + "等"
	}
	return first
}
