package zoning

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Reason is a rule of a rationale with the numbers behind it: the machine
// rule id (as in Rationale.Rules), its code without numbers and the numbers
// (cases, units, buildings, days, visits, places).
type Reason struct {
	Rule    string         `json:"rule"`
	Code    string         `json:"code"`
	Numbers map[string]int `json:"numbers,omitempty"`
}

// RationaleText is a rationale as sentences for people, one list per
// language.
type RationaleText struct {
	Zh []string `json:"zh"`
	En []string `json:"en"`
}

// Sentences returns the sentences in lang ("zh" or "en"; anything else is
// Chinese, the product's first language).
func (t RationaleText) Sentences(lang string) []string {
	if strings.HasPrefix(strings.ToLower(lang), "en") {
		return t.En
	}
	return t.Zh
}

var (
	ruleUnits     = regexp.MustCompile(`^cases_in_(\d{1,6})_units$`)
	ruleBuildings = regexp.MustCompile(`^cases_in_(\d{1,6})_buildings_within_(\d{1,6})_days$`)
	rulePlace     = regexp.MustCompile(`^place_(\d{1,6})_(cases|visits)$`)
)

// ParseRule reads a rule id of the engine ("cases_in_2_units",
// "place_32_visits", "cases_in_3_buildings_within_3_days", ...) into its
// code and numbers. An id it does not know keeps the id as its code.
func ParseRule(rule string) Reason {
	r := Reason{Rule: rule, Code: rule}
	num := func(s string) int { n, _ := strconv.Atoi(s); return n }
	if m := ruleUnits.FindStringSubmatch(rule); m != nil {
		r.Code, r.Numbers = "cases_in_units", map[string]int{"units": num(m[1])}
	} else if m := ruleBuildings.FindStringSubmatch(rule); m != nil {
		r.Code, r.Numbers = "cases_in_buildings", map[string]int{"buildings": num(m[1]), "days": num(m[2])}
	} else if m := rulePlace.FindStringSubmatch(rule); m != nil {
		r.Code, r.Numbers = "place_"+m[2], map[string]int{m[2]: num(m[1])}
	}
	return r
}

// levelNames are the enlargement levels in words.
var levelNames = map[string][2]string{
	LevelBuilding:    {"病例楼栋", "the case buildings"},
	LevelNearby:      {"邻近楼栋", "the nearby buildings"},
	LevelCompound:    {"小区", "the compound"},
	LevelFineBlock:   {"小街区（支路、街巷、围墙、水系围合）", "the fine block (closed by local roads, lanes, walls and water)"},
	LevelCoarseBlock: {"大街区（干道、河流、铁路、山脊围合）", "the coarse block (closed by main roads, rivers, railways and ridges)"},
}

func levelName(l string, en bool) string {
	n, ok := levelNames[l]
	if !ok {
		return l
	}
	if en {
		return n[1]
	}
	return n[0]
}

// thousands writes n with thousands separators (English).
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func areaZh(m2 float64) string {
	if m2 >= 10_000 {
		return strconv.FormatFloat(math.Round(m2/1000)/10, 'f', -1, 64) + "万平方米"
	}
	return strconv.Itoa(int(math.Round(m2))) + "平方米"
}

func areaEn(m2 float64) string {
	if m2 >= 1_000_000 {
		return strconv.FormatFloat(math.Round(m2/10_000)/100, 'f', -1, 64) + " km²"
	}
	return thousands(int(math.Round(m2))) + " m²"
}

func ratioText(r float64) string { return strconv.FormatFloat(math.Round(r*10)/10, 'f', -1, 64) }

// RenderRationale writes the sentences of a rationale in Chinese and
// English: what the zone holds, each rule with its numbers, and for each
// enlarged cluster the level used and why each finer or coarser level was
// refused, with the numbers against the bounds.
func RenderRationale(r Rationale) RationaleText {
	var t RationaleText
	add := func(zh, en string) {
		t.Zh = append(t.Zh, zh)
		t.En = append(t.En, en)
	}
	for _, rs := range r.Reasons {
		n := rs.Numbers
		switch rs.Code {
		case "summary":
			add(fmt.Sprintf("本区涉及%d例计入病例、%d栋楼、%d个单元、%d个高风险场所。", n["cases"], n["buildings"], n["units"], n["places"]),
				fmt.Sprintf("The zone holds %d counted cases, %d buildings, %d units and %d high-risk places.", n["cases"], n["buildings"], n["units"], n["places"]))
		case "residence_unit":
			add("病例住址所在单元划为高风险区。", "The units where cases live are high-risk.")
		case "residence_unit_unknown":
			add("有病例住址单元不明，整栋楼划为高风险区。", "A case's unit is unknown, so the whole building is high-risk.")
		case "cases_in_units":
			add(fmt.Sprintf("同一楼栋%d个单元有病例，整栋楼划为高风险区。", n["units"]),
				fmt.Sprintf("Cases live in %d units of one building, so the whole building is high-risk.", n["units"]))
		case "place_cases":
			add(fmt.Sprintf("密闭或通风不良场所有%d例病例到访。", n["cases"]),
				fmt.Sprintf("%d cases visited an enclosed or poorly ventilated place.", n["cases"]))
		case "place_visits":
			add(fmt.Sprintf("密闭或通风不良场所被病例到访%d次。", n["visits"]),
				fmt.Sprintf("Cases made %d visits to an enclosed or poorly ventilated place.", n["visits"]))
		case "place_long_stay":
			add("病例在密闭或通风不良场所停留时间较长。", "A case stayed long in an enclosed or poorly ventilated place.")
		case "cases_in_buildings":
			add(fmt.Sprintf("%d天内%d栋楼出现病例，存在社区传播风险。", n["days"], n["buildings"]),
				fmt.Sprintf("Cases in %d buildings within %d days show community spread.", n["buildings"], n["days"]))
		case "case_of_unknown_source":
			add("有感染来源不明的病例，存在社区传播风险。", "A case of unknown source shows a risk of community spread.")
		case "spread_cluster_blocks", "spread_cluster_compound", "spread_cluster_nearby", "spread_cluster_buildings":
			// Said with the enlargement below.
		default:
			add("规则："+rs.Rule+"。", "Rule: "+rs.Rule+".")
		}
	}
	for _, e := range r.Enlargements {
		renderEnlargement(e, add)
	}
	return t
}

func renderEnlargement(e Enlargement, add func(zh, en string)) {
	b := e.Bounds
	for _, tr := range e.Tried {
		if tr.Accepted {
			continue
		}
		var zh, en []string
		for _, why := range tr.Refused {
			switch why {
			case RefusedNotHeld:
				if tr.Areas == 0 {
					zh = append(zh, "病例楼栋不在任何"+levelName(tr.Level, false)+"内")
					en = append(en, "no such area holds the case buildings")
				} else {
					zh = append(zh, fmt.Sprintf("有%d栋病例楼栋不在其内", tr.Outside))
					en = append(en, fmt.Sprintf("%d case buildings lie outside it", tr.Outside))
				}
			case RefusedCountyEdge:
				zh = append(zh, fmt.Sprintf("其边界%d%%为区县边界、未被障碍物围合（上限%d%%）", int(math.Round(tr.EdgeShare*100)), int(math.Round(b.MaxEdgeShare*100))))
				en = append(en, fmt.Sprintf("%d%% of its boundary is the county edge, not closed by barriers (bound %d%%)", int(math.Round(tr.EdgeShare*100)), int(math.Round(b.MaxEdgeShare*100))))
			case RefusedResidents:
				zh = append(zh, fmt.Sprintf("居民%d人，超过上限%d人", tr.Residents, b.MaxResidents))
				en = append(en, fmt.Sprintf("%s residents, above the bound of %s", thousands(tr.Residents), thousands(b.MaxResidents)))
			case RefusedArea:
				zh = append(zh, fmt.Sprintf("面积%s，超过上限%s", areaZh(tr.AreaM2), areaZh(b.MaxAreaM2)))
				en = append(en, fmt.Sprintf("%s, above the bound of %s", areaEn(tr.AreaM2), areaEn(b.MaxAreaM2)))
			case RefusedRatio:
				zh = append(zh, fmt.Sprintf("居民为病例楼栋居民的%s倍，超过上限%s倍", ratioText(tr.Ratio), ratioText(b.MaxRatio)))
				en = append(en, fmt.Sprintf("%s times the residents of the case buildings, above the bound of %s", ratioText(tr.Ratio), ratioText(b.MaxRatio)))
			}
		}
		add(fmt.Sprintf("聚集%d未按%s扩大：%s。", e.ClusterID, levelName(tr.Level, false), strings.Join(zh, "；")),
			fmt.Sprintf("Cluster %d was not enlarged to %s: %s.", e.ClusterID, levelName(tr.Level, true), strings.Join(en, "; ")))
	}
	r := ratio(e.Residents, e.SeedResidents)
	switch {
	case e.ByExpert:
		add(fmt.Sprintf("聚集%d由专家调整为按%s划定：%d栋病例楼栋，居民%d人，面积%s，为病例楼栋居民的%s倍。", e.ClusterID, levelName(e.Level, false), e.SeedBuildings, e.Residents, areaZh(e.AreaM2), ratioText(r)),
			fmt.Sprintf("Cluster %d was set by an expert to %s: %d case buildings, %s residents, %s, %s times the residents of the case buildings.", e.ClusterID, levelName(e.Level, true), e.SeedBuildings, thousands(e.Residents), areaEn(e.AreaM2), ratioText(r)))
	case e.Fallback && e.Level == LevelBuilding:
		add(fmt.Sprintf("聚集%d在任何一级（含%d米内的邻近楼栋）都无法在上限内划定（%d栋病例楼栋共有居民%d人），只划定病例所在单元和楼栋。请专家决定是否扩大。", e.ClusterID, int(math.Round(b.FallbackDistanceM)), e.SeedBuildings, e.SeedResidents),
			fmt.Sprintf("Cluster %d fits no level within the bounds, not even the buildings within %d m (its %d case buildings hold %s residents), so only the units and buildings of its cases are proposed. The expert decides whether to enlarge it.", e.ClusterID, int(math.Round(b.FallbackDistanceM)), e.SeedBuildings, thousands(e.SeedResidents)))
	case e.Fallback:
		add(fmt.Sprintf("聚集%d在任何一级都无法在上限内划定，采用有界兜底：%d栋病例楼栋及其%d米内、不跨越道路等障碍物的楼栋，居民%d人。请专家决定是否扩大或缩小。", e.ClusterID, e.SeedBuildings, int(math.Round(b.FallbackDistanceM)), e.Residents),
			fmt.Sprintf("Cluster %d fits no level within the bounds, so it takes the bounded fallback: its %d case buildings and the buildings within %d m that no road or other barrier separates from them, %s residents. The expert decides whether to enlarge or shrink it.", e.ClusterID, e.SeedBuildings, int(math.Round(b.FallbackDistanceM)), thousands(e.Residents)))
	default:
		add(fmt.Sprintf("聚集%d按%s扩大：%d栋病例楼栋，居民%d人，面积%s，为病例楼栋居民的%s倍（上限%d人、%s、%s倍）。", e.ClusterID, levelName(e.Level, false), e.SeedBuildings, e.Residents, areaZh(e.AreaM2), ratioText(r), b.MaxResidents, areaZh(b.MaxAreaM2), ratioText(b.MaxRatio)),
			fmt.Sprintf("Cluster %d was enlarged to %s: %d case buildings, %s residents, %s, %s times the residents of the case buildings (bounds %s residents, %s, %s times).", e.ClusterID, levelName(e.Level, true), e.SeedBuildings, thousands(e.Residents), areaEn(e.AreaM2), ratioText(r), thousands(b.MaxResidents), areaEn(b.MaxAreaM2), ratioText(b.MaxRatio)))
	}
}

// RationaleTextOf is the sentences of a stored rationale: its own text, or
// for a rationale stored before sentences were kept, the sentences of its
// rules. A rationale that does not decode has no sentences.
func RationaleTextOf(raw []byte, buildings, units int) RationaleText {
	var r Rationale
	if len(raw) == 0 || json.Unmarshal(raw, &r) != nil {
		return RationaleText{Zh: []string{}, En: []string{}}
	}
	if r.Text != nil {
		return *r.Text
	}
	Describe(&r, buildings, units)
	return *r.Text
}
