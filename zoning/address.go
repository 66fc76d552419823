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
	// Name is the building's name, used when it has no number.
	Name string `json:"name,omitempty"`
	// BuildingID tells buildings without number or name apart.
	BuildingID int64 `json:"building_id"`
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
		return cmp.Or(cmp.Compare(a.District, b.District), cmp.Compare(a.Street, b.Street), cmp.Compare(a.Compound, b.Compound),
			compareNumbers(a.Number, b.Number), cmp.Compare(a.Name, b.Name), cmp.Compare(a.BuildingID, b.BuildingID),
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
	number, name string
	id           int64
	whole        bool
	units        []Address
}

func buildingParts(items []Address) []buildingPart {
	var out []buildingPart
	for _, a := range items {
		n := len(out)
		if n == 0 || out[n-1].id != a.BuildingID {
			out = append(out, buildingPart{number: a.Number, name: a.Name, id: a.BuildingID})
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

// FormatAddressesZh writes addresses as the announcements do, grouped by
// district > street > compound: "临河区锦绣街道城建花园小区25-28号楼、73号楼二单元；…".
// Runs of consecutive building numbers become ranges; units of a building
// not wholly in the zone are listed as "73号楼一单元、三单元".
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
			cur = g.district + g.street
		} else {
			cur += "，"
		}
		curKey = key
		cur += g.compound + strings.Join(formatBuildingsZh(buildingParts(g.items)), "、")
	}
	if cur != "" {
		streets = append(streets, cur)
	}
	return strings.Join(streets, "；")
}

func formatBuildingsZh(parts []buildingPart) []string {
	var out []string
	// Whole buildings with numbers: ranges of consecutive numbers.
	var run []int
	flush := func() {
		if len(run) == 0 {
			return
		}
		if len(run) == 1 {
			out = append(out, fmt.Sprintf("%d号楼", run[0]))
		} else {
			out = append(out, fmt.Sprintf("%d-%d号楼", run[0], run[len(run)-1]))
		}
		run = nil
	}
	for _, p := range parts {
		n, err := strconv.Atoi(p.number)
		numbered := err == nil && numberPattern.MatchString(p.number)
		if p.whole && numbered {
			if len(run) > 0 && n == run[len(run)-1]+1 {
				run = append(run, n)
				continue
			}
			flush()
			run = []int{n}
			continue
		}
		flush()
		label := buildingLabelZh(p)
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

func buildingLabelZh(p buildingPart) string {
	switch {
	case p.number != "":
		return p.number + "号楼"
	case p.name != "":
		return p.name
	}
	return fmt.Sprintf("（楼栋编号%d）", p.id)
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
		items := formatBuildingsEn(buildingParts(g.items))
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

func formatBuildingsEn(parts []buildingPart) []string {
	var out []string
	var run []int
	flush := func() {
		switch len(run) {
		case 0:
		case 1:
			out = append(out, fmt.Sprintf("building %d", run[0]))
		default:
			out = append(out, fmt.Sprintf("buildings %d-%d", run[0], run[len(run)-1]))
		}
		run = nil
	}
	for _, p := range parts {
		n, err := strconv.Atoi(p.number)
		numbered := err == nil && numberPattern.MatchString(p.number)
		if p.whole && numbered {
			if len(run) > 0 && n == run[len(run)-1]+1 {
				run = append(run, n)
				continue
			}
			flush()
			run = []int{n}
			continue
		}
		flush()
		label := "building " + p.number
		switch {
		case p.number != "":
		case p.name != "":
			label = p.name
		default:
			label = fmt.Sprintf("building #%d", p.id)
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

// ShortAreaDesc is a short description of a zone for CAP <areaDesc> and
// listings: the first compound (or street) and how many more places.
func ShortAreaDesc(z ZoneText, lang string) string {
	groups := groupAddresses(z.Addresses)
	if len(groups) == 0 {
		return z.Name
	}
	g := groups[0]
	first := g.street + g.compound
	if lang == "en" {
		first = strings.TrimSpace(or(g.streetEn, g.street) + " " + g.compound)
	}
	var items []string
	if lang == "en" {
		items = formatBuildingsEn(buildingParts(g.items))
	} else {
		items = formatBuildingsZh(buildingParts(g.items))
	}
	if len(items) > 0 {
		if lang == "en" {
			first += " " + items[0]
		} else {
			first += items[0]
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
