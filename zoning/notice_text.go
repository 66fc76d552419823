package zoning

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ZoneText is a zone as a notice describes it.
type ZoneText struct {
	ZoneID  int64
	Version int
	Name    string
	Level   string
	Change  string // a NoticeChange, "" for an unchanged zone
	// Via is the change (split or merge) that superseded a zone.
	Via             string
	Addresses       []Address
	Population      int
	ClockStart      Date
	EarliestLifting Date
	// Override marks a zone lifted by an admin override (change
	// override_lift, against the lifting rule), OverrideReason its written
	// reason: such a lift is announced as the command centre's decision,
	// never as meeting the lifting conditions.
	Override       bool
	OverrideReason string
}

// NoticeText is everything the text of a notice is made from. It never
// holds case data: the store fills it from zone versions, addresses and the
// rule set only.
type NoticeText struct {
	Kind        string
	Number      int
	County      string
	CountyEn    string
	Authority   string
	AuthorityEn string
	Rules       RuleSet
	EffectiveAt time.Time
	Loc         *time.Location
	// Current are the zones the public map shows after the notice (all
	// active); Changed are the zones whose change the notice announces
	// (also lifted and superseded ones).
	Current []ZoneText
	Changed []ZoneText
	Note    string
	// CorrectsNumber is the number of the notice a correction corrects.
	CorrectsNumber int
}

var zhDigits = []string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}

// ChineseNumeral writes 1..99 as Chinese numerals (一, 十二, 二十三).
func ChineseNumeral(n int) string {
	switch {
	case n >= 0 && n <= 10:
		return zhDigits[n]
	case n < 20:
		return "十" + zhDigits[n-10]
	case n < 100:
		s := zhDigits[n/10] + "十"
		if n%10 != 0 {
			s += zhDigits[n%10]
		}
		return s
	}
	return strconv.Itoa(n)
}

// zhDate writes a day as 2022年11月21日.
func zhDate(t time.Time) string {
	return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
}

// zhDateTime writes an instant as 2022年11月21日18时 (or 18时30分).
func zhDateTime(t time.Time) string {
	s := zhDate(t) + fmt.Sprintf("%d时", t.Hour())
	if t.Minute() != 0 {
		s += fmt.Sprintf("%d分", t.Minute())
	}
	return s
}

func enDateTime(t time.Time) string {
	_, off := t.Zone()
	return t.Format("15:04 on 2 January 2006") + " (UTC" + offsetString(off) + ")"
}

func offsetString(off int) string {
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return fmt.Sprintf("%s%d", sign, off/3600)
}

// levelName is the Chinese and English name of a level code.
func (t NoticeText) levelName(code string) (string, string) {
	if l, err := t.Rules.Level(code); err == nil {
		return l.NameZh, l.NameEn
	}
	return code, code
}

// Title returns the Chinese and English titles, e.g.
// 临河区新冠肺炎疫情防控指挥部关于调整疫情风险区域的通告（第3号）.
func (t NoticeText) Title() (string, string) {
	var zh, en string
	switch t.Kind {
	case NoticeDesignate:
		zh, en = "关于划定疫情风险区域的通告", "designation of epidemic risk zones"
	case NoticeLift:
		zh, en = "关于解除部分高风险区的通告", "lifting of high-risk zones"
	case NoticeNormalize:
		zh, en = "关于解除全部风险区域、恢复常态化防控的通告", "lifting of all risk zones and return to normal prevention"
	case NoticeCorrection:
		zh, en = "关于更正风险区域通告的通告", "correction of a risk-zone notice"
	default:
		zh, en = "关于调整疫情风险区域的通告", "adjustment of epidemic risk zones"
	}
	authority := t.Authority
	if authority == "" {
		authority = t.County + "新冠肺炎疫情防控指挥部"
	}
	return fmt.Sprintf("%s%s（第%d号）", authority, zh, t.Number),
		fmt.Sprintf("Notice No. %d of the %s on the %s", t.Number, t.authorityEn(), en)
}

func (t NoticeText) authorityEn() string {
	if t.AuthorityEn != "" {
		return t.AuthorityEn
	}
	c := t.CountyEn
	if c == "" {
		c = t.County
	}
	return c + " COVID-19 Prevention and Control Headquarters"
}

func (t NoticeText) loc() *time.Location {
	if t.Loc != nil {
		return t.Loc
	}
	return ChinaTime()
}

// authorityOf is the issuing body's Chinese name.
func authorityOf(t NoticeText) string {
	if t.Authority != "" {
		return t.Authority
	}
	return t.County + "新冠肺炎疫情防控指挥部"
}

// Render returns the Chinese and English bodies. The Chinese body follows
// the real announcements: the issuing body, "经专家研判", the changes, one
// numbered section per level with its count and address list, the low-risk
// remainder, the measures of each level and the effective time.
func (t NoticeText) Render() (string, string) {
	eff := t.EffectiveAt.In(t.loc())
	var zh, en strings.Builder
	authority := t.Authority
	if authority == "" {
		authority = t.County + "新冠肺炎疫情防控指挥部"
	}
	countyEn := t.CountyEn
	if countyEn == "" {
		countyEn = t.County
	}

	// The opening paragraph: why and what changes.
	if t.Kind == NoticeCorrection {
		fmt.Fprintf(&zh, "%s现对第%d号通告作如下更正：%s\n", authority, t.CorrectsNumber, strings.TrimSpace(t.Note))
		fmt.Fprintf(&en, "The %s corrects its Notice No. %d as follows: %s\n", t.authorityEn(), t.CorrectsNumber, strings.TrimSpace(t.Note))
		fmt.Fprintf(&zh, "更正后，自%s起，%s风险区域如下：\n\n", zhDateTime(eff), t.County)
		fmt.Fprintf(&en, "As corrected, from %s the risk zones of %s are:\n\n", enDateTime(eff), countyEn)
	} else {
		fmt.Fprintf(&zh, "根据疫情防控工作需要，经专家研判，%s决定自%s起，%s。",
			authority, zhDateTime(eff), strings.Join(t.changeSummaryZh(), "，"))
		fmt.Fprintf(&en, "Following the needs of epidemic prevention and after expert assessment, the %s has decided that from %s, %s.",
			t.authorityEn(), enDateTime(eff), strings.Join(t.changeSummaryEn(), "; "))
		if t.Kind == NoticeNormalize {
			fmt.Fprintf(&zh, "%s全域恢复常态化防控。", t.County)
			fmt.Fprintf(&en, " The whole of %s returns to normalized prevention.", countyEn)
		} else {
			zh.WriteString("现将有关事项通告如下：")
			en.WriteString(" The details are as follows:")
		}
		zh.WriteString("\n\n")
		en.WriteString("\n\n")
	}

	section := 0
	if t.Kind != NoticeNormalize && t.Kind != NoticeLift {
		// One section per level above the lowest, with a count and the zones.
		levels := t.Rules.Levels
		for i, l := range levels {
			if i == len(levels)-1 {
				break
			}
			var zones []ZoneText
			for _, z := range t.Current {
				if z.Level == l.Code {
					zones = append(zones, z)
				}
			}
			section++
			fmt.Fprintf(&zh, "%s、%s（%d个）\n", ChineseNumeral(section), l.NameZh, len(zones))
			fmt.Fprintf(&en, "%d. %s (%d)\n", section, l.NameEn, len(zones))
			if len(zones) == 0 {
				zh.WriteString("无。\n")
				en.WriteString("None.\n")
			}
			for j, z := range zones {
				markZh, markEn := t.changeMark(z.ZoneID)
				fmt.Fprintf(&zh, "%d. %s（%s最早解除日期：%s）\n", j+1, FormatAddressesZh(z.Addresses), markZh, zhDate(z.EarliestLifting.Time))
				fmt.Fprintf(&en, "%d) %s (%searliest lifting %s)\n", j+1, FormatAddressesEn(z.Addresses), markEn, z.EarliestLifting)
			}
			zh.WriteString("\n")
			en.WriteString("\n")
		}
		// The lowest level: the remainder of the county.
		if len(levels) >= 2 {
			low := levels[len(levels)-1]
			var higher, higherEn []string
			for _, l := range levels[:len(levels)-1] {
				higher = append(higher, l.NameZh)
				higherEn = append(higherEn, strings.ToLower(l.NameEn)+"s")
			}
			section++
			fmt.Fprintf(&zh, "%s、%s\n%s除%s以外的其他区域为%s。\n\n", ChineseNumeral(section), low.NameZh, t.County, strings.Join(higher, "、"), low.NameZh)
			fmt.Fprintf(&en, "%d. %s\nThe rest of %s, outside the %s, is a %s.\n\n", section, low.NameEn, countyEn,
				strings.Join(higherEn, " and "), strings.ToLower(low.NameEn))
		}
	}

	// Zones lifted by this notice: those that met the lifting rule, then
	// those an admin lifted against it (override), each group with its own
	// wording, so that an override is never announced as eligible.
	var lifted, overridden []ZoneText
	for _, z := range t.Changed {
		switch {
		case z.Change != NoticeChangeLifted:
		case z.Override:
			overridden = append(overridden, z)
		default:
			lifted = append(lifted, z)
		}
	}
	if len(lifted)+len(overridden) > 0 {
		section++
		fmt.Fprintf(&zh, "%s、解除管控的区域（%d个）\n", ChineseNumeral(section), len(lifted)+len(overridden))
		fmt.Fprintf(&en, "%d. Zones lifted (%d)\n", section, len(lifted)+len(overridden))
		low := t.Rules.Levels[len(t.Rules.Levels)-1]
		j := 0
		for _, z := range lifted {
			j++
			name, nameEn := t.levelName(z.Level)
			fmt.Fprintf(&zh, "%d. %s（原%s）\n", j, FormatAddressesZh(z.Addresses), name)
			fmt.Fprintf(&en, "%d) %s (formerly a %s)\n", j, FormatAddressesEn(z.Addresses), strings.ToLower(nameEn))
		}
		if len(lifted) > 0 {
			if t.Kind == NoticeNormalize {
				zh.WriteString("以上区域已连续多日无新增感染者，且最后一日区域内全员核酸检测均为阴性，符合解除条件，予以解除。\n")
				en.WriteString("These zones had the required consecutive days without a new infection and a negative screening of all residents on the last day; they are lifted.\n")
			} else {
				fmt.Fprintf(&zh, "以上区域符合解除条件，解除高风险区管控，降为%s。\n", low.NameZh)
				fmt.Fprintf(&en, "These zones meet the lifting conditions and become part of the %s.\n", strings.ToLower(low.NameEn))
			}
		}
		first := j + 1
		for _, z := range overridden {
			j++
			name, nameEn := t.levelName(z.Level)
			fmt.Fprintf(&zh, "%d. %s（原%s；决定理由：%s）\n", j, FormatAddressesZh(z.Addresses), name, z.OverrideReason)
			fmt.Fprintf(&en, "%d) %s (formerly a %s; reason for the decision, as written: %s)\n", j, FormatAddressesEn(z.Addresses),
				strings.ToLower(nameEn), z.OverrideReason)
		}
		if len(overridden) > 0 {
			which, whichEn := "以上区域", "These zones are"
			if len(lifted) > 0 {
				which = fmt.Sprintf("第%d至%d项区域", first, j)
				whichEn = fmt.Sprintf("Zones %d to %d are", first, j)
				if first == j {
					which, whichEn = fmt.Sprintf("第%d项区域", j), fmt.Sprintf("Zone %d is", j)
				}
			}
			fmt.Fprintf(&zh, "%s经%s研究决定解除管控（非依常规解除条件），降为%s，决定理由见各项。\n", which, authorityOf(t), low.NameZh)
			fmt.Fprintf(&en, "%s lifted by decision of the %s, not on the regular lifting conditions (the reason for each decision is given above); the area returns to the %s.\n",
				whichEn, t.authorityEn(), strings.ToLower(low.NameEn))
		}
		if t.Kind != NoticeNormalize {
			fmt.Fprintf(&zh, "其余%d个风险区继续实施原有管控措施。\n", len(t.Current))
			fmt.Fprintf(&en, "The other %d risk zone(s) remain under their measures.\n", len(t.Current))
		}
		zh.WriteString("\n")
		en.WriteString("\n")
	}

	// Measures of each level, from the rule set.
	if t.Kind != NoticeNormalize {
		section++
		fmt.Fprintf(&zh, "%s、管控措施\n", ChineseNumeral(section))
		fmt.Fprintf(&en, "%d. Measures\n", section)
		for _, l := range t.Rules.Levels {
			fmt.Fprintf(&zh, "%s：%s。\n", l.NameZh, strings.TrimRight(l.MeasuresZh, "。"))
			fmt.Fprintf(&en, "%s: %s.\n", l.NameEn, strings.TrimRight(l.MeasuresEn, "."))
		}
		zh.WriteString("\n")
		en.WriteString("\n")
	} else {
		zh.WriteString("请广大群众继续做好个人防护，戴口罩、勤洗手、常通风、少聚集。\n\n")
		en.WriteString("Everyone is asked to keep up personal protection: wear a mask, wash hands, ventilate rooms, avoid gatherings.\n\n")
	}
	if note := strings.TrimSpace(t.Note); note != "" && t.Kind != NoticeCorrection {
		fmt.Fprintf(&zh, "%s\n\n", note)
		fmt.Fprintf(&en, "Note from the publisher (original language): %s\n\n", note)
	}
	fmt.Fprintf(&zh, "本通告自%s起施行。\n\n特此通告。\n\n%s\n%s", zhDateTime(eff), authority, zhDate(eff))
	fmt.Fprintf(&en, "This notice takes effect from %s.\n\n%s\n%s", enDateTime(eff), t.authorityEn(), eff.Format("2 January 2006"))
	return zh.String(), en.String()
}

// changeMark labels a zone of the current list with what this notice
// changed about it ("" for an unchanged zone).
func (t NoticeText) changeMark(zone int64) (string, string) {
	for _, z := range t.Changed {
		if z.ZoneID != zone {
			continue
		}
		switch z.Change {
		case NoticeChangeNew:
			return "本次新增；", "new; "
		case NoticeChangeAdjusted:
			return "本次调整范围；", "redrawn; "
		case NoticeChangeExtended:
			return "因新增感染者重新计时；", "period restarted after a new infection; "
		case NoticeChangeSplitPart:
			return "由原高风险区拆分；", "split from a former zone; "
		case NoticeChangeMerged:
			return "由原高风险区合并；", "merged from former zones; "
		}
	}
	return "", ""
}

// changeSummaryZh states the notice's changes with counts, in Chinese.
func (t NoticeText) changeSummaryZh() []string {
	n := t.countChanges()
	var out []string
	if n[NoticeChangeNew] > 0 {
		out = append(out, fmt.Sprintf("新增%d个高风险区", n[NoticeChangeNew]))
	}
	if n[NoticeChangeAdjusted] > 0 {
		out = append(out, fmt.Sprintf("调整%d个高风险区的范围", n[NoticeChangeAdjusted]))
	}
	if n[NoticeChangeExtended] > 0 {
		out = append(out, fmt.Sprintf("%d个高风险区因区域内新增感染者重新计算管控期限", n[NoticeChangeExtended]))
	}
	if n[NoticeChangeSuperseded] > 0 && n[NoticeChangeSplitPart] > 0 {
		out = append(out, fmt.Sprintf("将%d个高风险区拆分为%d个高风险区（“一区一策”）", t.countSuperseded(NoticeChangeSplitPart), n[NoticeChangeSplitPart]))
	}
	if n[NoticeChangeMerged] > 0 {
		out = append(out, fmt.Sprintf("将%d个高风险区合并为%d个高风险区", t.countSuperseded(NoticeChangeMerged), n[NoticeChangeMerged]))
	}
	if n[NoticeChangeLifted] > 0 {
		out = append(out, fmt.Sprintf("解除%d个高风险区", n[NoticeChangeLifted]))
	}
	if len(out) == 0 {
		out = append(out, "风险区域保持不变")
	}
	return out
}

func (t NoticeText) changeSummaryEn() []string {
	n := t.countChanges()
	var out []string
	if n[NoticeChangeNew] > 0 {
		out = append(out, fmt.Sprintf("%d new high-risk zone(s) are designated", n[NoticeChangeNew]))
	}
	if n[NoticeChangeAdjusted] > 0 {
		out = append(out, fmt.Sprintf("%d high-risk zone(s) are redrawn", n[NoticeChangeAdjusted]))
	}
	if n[NoticeChangeExtended] > 0 {
		out = append(out, fmt.Sprintf("the lockdown period of %d high-risk zone(s) restarts after new infections in them", n[NoticeChangeExtended]))
	}
	if n[NoticeChangeSuperseded] > 0 && n[NoticeChangeSplitPart] > 0 {
		out = append(out, fmt.Sprintf("%d high-risk zone(s) are split into %d zones, each with its own period (\"one zone, one policy\")",
			t.countSuperseded(NoticeChangeSplitPart), n[NoticeChangeSplitPart]))
	}
	if n[NoticeChangeMerged] > 0 {
		out = append(out, fmt.Sprintf("%d high-risk zones are merged into %d", t.countSuperseded(NoticeChangeMerged), n[NoticeChangeMerged]))
	}
	if n[NoticeChangeLifted] > 0 {
		out = append(out, fmt.Sprintf("%d high-risk zone(s) are lifted", n[NoticeChangeLifted]))
	}
	if len(out) == 0 {
		out = append(out, "the risk zones stay as they are")
	}
	return out
}

func (t NoticeText) countChanges() map[string]int {
	n := map[string]int{}
	for _, z := range t.Changed {
		n[z.Change]++
	}
	return n
}

// countSuperseded counts the zones ended by a split (kind
// NoticeChangeSplitPart) or by a merge (NoticeChangeMerged).
func (t NoticeText) countSuperseded(kind string) int {
	via := ChangeSplit
	if kind == NoticeChangeMerged {
		via = ChangeMerge
	}
	n := 0
	for _, z := range t.Changed {
		if z.Change == NoticeChangeSuperseded && z.Via == via {
			n++
		}
	}
	return n
}
