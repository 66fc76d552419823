package zoning

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Publication (SPEC §2 "Publication", §5 "Notices out"). A publisher turns
// the approved but unpublished changes of one county into notices: public,
// immutable texts in Chinese and English, each with one OASIS CAP 1.2
// message. The rules that need no database live here: request checks, the
// classification of a county's pending changes, and the notice text. The
// store (postgis.Notices) applies them in one transaction.

// Notice kinds (notices.kind).
const (
	NoticeDesignate  = "designate"  // new high-risk zones only
	NoticeAdjust     = "adjust"     // zones redrawn (and possibly new ones)
	NoticeExtend     = "extend"     // zone clocks moved by new infections
	NoticeSplit      = "split"      // a zone split into parts
	NoticeMerge      = "merge"      // zones merged
	NoticeLift       = "lift"       // some zones lifted, others remain
	NoticeNormalize  = "normalize"  // the last zones lifted: the county is back to normal
	NoticeCorrection = "correction" // corrects an earlier notice
)

// Notice statuses (notices.status), mapped to CAP <status>.
const (
	NoticeActual   = "actual"
	NoticeExercise = "exercise"
	NoticeTest     = "test"
)

// CAP message types (notices.cap_msg_type).
const (
	CAPAlert  = "Alert"
	CAPUpdate = "Update"
	CAPCancel = "Cancel"
)

// Limits of publishing requests.
const (
	MaxNoticeNote      = 2000 // bytes of a publisher's note
	MaxPublishZones    = 500  // zones named in one publish request
	maxEffectiveFuture = 30 * 24 * time.Hour
)

// CAPStatus is the CAP <status> of a notice status.
func CAPStatus(status string) string {
	switch status {
	case NoticeExercise:
		return "Exercise"
	case NoticeTest:
		return "Test"
	}
	return "Actual"
}

// PublishRequest publishes the pending changes of one county. With ZoneIDs
// empty every pending change of the county is published; otherwise only the
// changes of the zones named, together with the zones linked to them by a
// pending split or merge (a part is never public without the end of its
// parent, nor a merged zone without the end of the zones it replaced).
type PublishRequest struct {
	CountyID int64   `json:"county_id"`
	ZoneIDs  []int64 `json:"zone_ids,omitempty"`
	// Status is actual (default), exercise or test: CAP <status> end to end.
	Status string `json:"status,omitempty"`
	// EffectiveAt is when the notice takes effect; default the publication
	// time. It may not be earlier than the publication (CAP: effective is
	// never before sent).
	EffectiveAt *time.Time `json:"effective_at,omitempty"`
	// Note is a paragraph the publisher adds to the notice (plain text).
	Note   string `json:"note,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Validate checks the request before anything is read.
func (r *PublishRequest) Validate(now time.Time) error {
	if r.CountyID <= 0 {
		return Errorf(ErrInvalid, "county_id is missing: want the id of the county whose changes you publish")
	}
	switch r.Status {
	case "":
		r.Status = NoticeActual
	case NoticeActual, NoticeExercise, NoticeTest:
	default:
		return Errorf(ErrInvalid, "status %q: want actual, exercise or test", r.Status)
	}
	if len(r.ZoneIDs) > MaxPublishZones {
		return Errorf(ErrTooLarge, "%d zones in one publish request: at most %d", len(r.ZoneIDs), MaxPublishZones)
	}
	seen := map[int64]bool{}
	for _, id := range r.ZoneIDs {
		if id <= 0 {
			return Errorf(ErrInvalid, "zone_ids: %d is not a positive number", id)
		}
		if seen[id] {
			return Errorf(ErrInvalid, "zone_ids: zone %d is given twice", id)
		}
		seen[id] = true
	}
	if err := checkNote(r.Note); err != nil {
		return err
	}
	if len(r.Reason) > MaxReasonLength {
		return Errorf(ErrInvalid, "reason is longer than %d bytes", MaxReasonLength)
	}
	return checkEffective(r.EffectiveAt, now)
}

// CorrectionRequest corrects a published notice: a new notice (kind
// correction, CAP Update) that references the old one and states the
// current situation again with the publisher's correction note.
type CorrectionRequest struct {
	Note        string     `json:"note"`
	EffectiveAt *time.Time `json:"effective_at,omitempty"`
	Reason      string     `json:"reason,omitempty"`
}

// Validate checks the request.
func (r CorrectionRequest) Validate(now time.Time) error {
	if strings.TrimSpace(r.Note) == "" {
		return Errorf(ErrInvalid, "note is missing: say what the correction corrects")
	}
	if err := checkNote(r.Note); err != nil {
		return err
	}
	return checkEffective(r.EffectiveAt, now)
}

func checkNote(n string) error {
	if len(n) > MaxNoticeNote {
		return Errorf(ErrInvalid, "note is longer than %d bytes", MaxNoticeNote)
	}
	if !utf8.ValidString(n) {
		return Errorf(ErrInvalid, "note is not valid UTF-8")
	}
	for _, r := range n {
		if r < 0x20 && r != '\n' && r != '\t' {
			return Errorf(ErrInvalid, "note holds control characters: want plain text")
		}
	}
	return nil
}

func checkEffective(t *time.Time, now time.Time) error {
	if t == nil {
		return nil
	}
	if t.Before(now.Add(-time.Minute)) {
		return Errorf(ErrInvalid, "effective_at %s is before the publication: a notice takes effect when it is published or later",
			t.UTC().Format(time.RFC3339))
	}
	if t.After(now.Add(maxEffectiveFuture)) {
		return Errorf(ErrInvalid, "effective_at %s is more than 30 days ahead", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// Notice is a published notice as the public sees it.
type Notice struct {
	ID            int64     `json:"id"`
	CountyID      int64     `json:"county_id"`
	County        string    `json:"county"`
	CountyEn      string    `json:"county_en"`
	Number        int       `json:"number"`
	Kind          string    `json:"kind"`
	Status        string    `json:"status"`
	TitleZh       string    `json:"title_zh"`
	TitleEn       string    `json:"title_en"`
	BodyZh        string    `json:"body_zh"`
	BodyEn        string    `json:"body_en"`
	EffectiveAt   time.Time `json:"effective_at"`
	PublishedAt   time.Time `json:"published_at"`
	References    *int64    `json:"references_notice_id"`
	CAPIdentifier string    `json:"cap_identifier"`
	CAPMsgType    string    `json:"cap_msg_type"`
	// Zones are the zone versions the notice changed.
	Zones []NoticeZone `json:"zones"`
}

// NoticeZone is a zone version a notice published, and what happened to the
// zone (a NoticeChange).
type NoticeZone struct {
	ZoneID  int64  `json:"zone_id"`
	Version int    `json:"version"`
	Name    string `json:"name"`
	Level   string `json:"level"`
	Status  string `json:"status"`
	Change  string `json:"change"`
}

// Changes of a zone as a notice states them (NoticeZone.Change), relative to
// what the public saw before.
const (
	NoticeChangeNew        = "new"        // designated (first public version)
	NoticeChangeAdjusted   = "adjusted"   // redrawn or members changed
	NoticeChangeExtended   = "extended"   // clock moved by a new infection
	NoticeChangeSplitPart  = "split_part" // a part of a split zone
	NoticeChangeMerged     = "merged"     // the zone made by a merge
	NoticeChangeSuperseded = "superseded" // ended by a split or merge
	NoticeChangeLifted     = "lifted"     // lifted: back to low risk
)

// PendingVersion is an unpublished zone version as the classifier sees it.
type PendingVersion struct {
	Version int
	Status  string
	Change  string
}

// PendingZone is a zone with unpublished versions: what the public saw last
// (PublicStatus "" when the zone was never public) and the versions since.
type PendingZone struct {
	ZoneID        int64
	ParentZoneIDs []int64
	PublicVersion int
	PublicStatus  string
	Versions      []PendingVersion // ascending
}

// Latest is the newest pending version.
func (p PendingZone) Latest() PendingVersion { return p.Versions[len(p.Versions)-1] }

// Classify says what publishing the zone's pending versions tells the
// public (a NoticeChange), or "" when the zone's changes stay internal:
// a zone that was never public and is no longer active (designated and
// lifted, or split, before any publication) is never announced.
func (p PendingZone) Classify(publicParents map[int64]bool) string {
	if len(p.Versions) == 0 {
		return ""
	}
	last := p.Latest()
	if p.PublicStatus == "" {
		if last.Status != ZoneActive {
			return ""
		}
		first := p.Versions[0]
		anyParentPublic := false
		for _, id := range p.ParentZoneIDs {
			anyParentPublic = anyParentPublic || publicParents[id]
		}
		switch {
		case first.Version == 1 && first.Change == ChangeSplit && anyParentPublic:
			return NoticeChangeSplitPart
		case first.Version == 1 && first.Change == ChangeMerge && anyParentPublic:
			return NoticeChangeMerged
		}
		return NoticeChangeNew
	}
	if p.PublicStatus != ZoneActive {
		return "" // a lifted or superseded zone does not change again
	}
	switch last.Status {
	case ZoneLifted:
		return NoticeChangeLifted
	case ZoneSuperseded:
		return NoticeChangeSuperseded
	}
	for _, v := range p.Versions {
		if v.Change == ChangeAdjust {
			return NoticeChangeAdjusted
		}
	}
	return NoticeChangeExtended
}

// NoticeKindOf is the kind of a notice stating the given zone changes: the
// most structural change wins (split, merge, adjust, extend, designate).
func NoticeKindOf(changes []string) string {
	has := func(c string) bool { return slices.Contains(changes, c) }
	switch {
	case has(NoticeChangeSplitPart):
		return NoticeSplit
	case has(NoticeChangeMerged):
		return NoticeMerge
	case has(NoticeChangeAdjusted):
		return NoticeAdjust
	case has(NoticeChangeExtended):
		return NoticeExtend
	case has(NoticeChangeNew):
		return NoticeDesignate
	case has(NoticeChangeSuperseded):
		return NoticeAdjust
	}
	return NoticeLift
}

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

	// Zones lifted by this notice.
	var lifted []ZoneText
	for _, z := range t.Changed {
		if z.Change == NoticeChangeLifted {
			lifted = append(lifted, z)
		}
	}
	if len(lifted) > 0 {
		section++
		fmt.Fprintf(&zh, "%s、解除管控的区域（%d个）\n", ChineseNumeral(section), len(lifted))
		fmt.Fprintf(&en, "%d. Zones lifted (%d)\n", section, len(lifted))
		for j, z := range lifted {
			name, nameEn := t.levelName(z.Level)
			fmt.Fprintf(&zh, "%d. %s（原%s）\n", j+1, FormatAddressesZh(z.Addresses), name)
			fmt.Fprintf(&en, "%d) %s (formerly a %s)\n", j+1, FormatAddressesEn(z.Addresses), strings.ToLower(nameEn))
		}
		low := t.Rules.Levels[len(t.Rules.Levels)-1]
		if t.Kind == NoticeNormalize {
			zh.WriteString("以上区域已连续多日无新增感染者，且最后一日区域内全员核酸检测均为阴性，符合解除条件，予以解除。\n\n")
			en.WriteString("These zones had the required consecutive days without a new infection and a negative screening of all residents on the last day; they are lifted.\n\n")
		} else {
			fmt.Fprintf(&zh, "以上区域符合解除条件，解除高风险区管控，降为%s。其余%d个风险区继续实施原有管控措施。\n\n", low.NameZh, len(t.Current))
			fmt.Fprintf(&en, "These zones meet the lifting conditions and become part of the %s. The other %d risk zone(s) remain under their measures.\n\n",
				strings.ToLower(low.NameEn), len(t.Current))
		}
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

// ---- addresses ---------------------------------------------------------------

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

// ---- what the public reads -------------------------------------------------

// NoticeSummary is a notice in a list.
type NoticeSummary struct {
	ID            int64     `json:"id"`
	CountyID      int64     `json:"county_id"`
	County        string    `json:"county"`
	Number        int       `json:"number"`
	Kind          string    `json:"kind"`
	Status        string    `json:"status"`
	TitleZh       string    `json:"title_zh"`
	TitleEn       string    `json:"title_en"`
	EffectiveAt   time.Time `json:"effective_at"`
	PublishedAt   time.Time `json:"published_at"`
	CAPIdentifier string    `json:"cap_identifier"`
	CAPMsgType    string    `json:"cap_msg_type"`
}

// LevelCount is how many public zones of a level a county has.
type LevelCount struct {
	Level      string `json:"level"`
	NameZh     string `json:"name_zh"`
	NameEn     string `json:"name_en"`
	Zones      int    `json:"zones"`
	Population int    `json:"population"`
}

// PublicCounty is a county's current public situation.
type PublicCounty struct {
	ID        int64        `json:"id"`
	Name      string       `json:"name"`
	NameEn    string       `json:"name_en"`
	Authority string       `json:"authority"`
	Rules     RuleSet      `json:"-"`
	BBox      [4]float64   `json:"bbox"`
	Levels    []LevelCount `json:"levels"`
	// Zoned is true while the county has at least one public zone (and so a
	// low-risk remainder).
	Zoned      bool           `json:"zoned"`
	LastNotice *NoticeSummary `json:"last_notice"`
}

// PublicZone is a zone as the public sees it: its latest published version.
type PublicZone struct {
	ZoneText
	CountyID int64  `json:"county_id"`
	County   string `json:"county"`
	CountyEn string `json:"county_en"`
	Status   string `json:"status"`
	LevelZh  string `json:"level_zh"`
	LevelEn  string `json:"level_en"`
	// MeasuresZh and MeasuresEn are the level's measures from the rule set.
	MeasuresZh string `json:"measures_zh"`
	MeasuresEn string `json:"measures_en"`
	// Since is when the zone's first notice took effect.
	Since    time.Time  `json:"since"`
	BBox     [4]float64 `json:"bbox"`
	Geometry []byte     `json:"-"`
	// Notices are the notices that published versions of the zone, oldest first.
	Notices []NoticeSummary `json:"notices"`
}

// PublicChange is one zone change a notice made, for "what is new since T?".
type PublicChange struct {
	NoticeID    int64      `json:"notice_id"`
	Kind        string     `json:"notice_kind"`
	Status      string     `json:"notice_status"`
	PublishedAt time.Time  `json:"published_at"`
	EffectiveAt time.Time  `json:"effective_at"`
	ZoneID      int64      `json:"zone_id"`
	Version     int        `json:"version"`
	CountyID    int64      `json:"county_id"`
	Name        string     `json:"name"`
	Level       string     `json:"level"`
	ZoneStatus  string     `json:"zone_status"`
	BBox        [4]float64 `json:"bbox"`
}

// TimelineEntry is a published zone version with the span during which the
// public map showed it: from its notice's effective time until the next
// notice of the zone took effect (Until nil while it is the latest).
type TimelineEntry struct {
	ZoneID          int64
	Version         int
	CountyID        int64
	Name            string
	Level           string
	Status          string
	NoticeID        int64
	From            time.Time
	Until           *time.Time
	EarliestLifting Date
	// WKB is the geometry (MultiPolygon, lon/lat).
	WKB []byte
}

// ---- webhook subscribers -----------------------------------------------------

// Subscriber is an agency receiving notices by signed webhook. The secret
// is shown once, when the subscriber is created.
type Subscriber struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	URL          string    `json:"url"`
	CountyIDs    []int64   `json:"county_ids"`
	Active       bool      `json:"active"`
	SecretPrefix string    `json:"secret_prefix"`
	CreatedAt    time.Time `json:"created_at"`
	// Deliveries counts the subscriber's outbox rows by state.
	Deliveries map[string]int `json:"deliveries,omitempty"`
}

// NewSubscriber registers a subscriber. Secret is generated when empty.
type NewSubscriber struct {
	Name      string  `json:"name"`
	URL       string  `json:"url"`
	Secret    string  `json:"secret,omitempty"`
	CountyIDs []int64 `json:"county_ids,omitempty"`
}

// Validate checks the subscriber.
func (s NewSubscriber) Validate() error {
	if strings.TrimSpace(s.Name) == "" || len(s.Name) > 200 {
		return Errorf(ErrInvalid, "name: want 1 to 200 bytes")
	}
	u := strings.TrimSpace(s.URL)
	if !(strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")) || len(u) > 2000 || strings.ContainsAny(u, " \t\r\n") {
		return Errorf(ErrInvalid, "url %q: want an http:// or https:// URL", s.URL)
	}
	if rest := u[strings.Index(u, "//")+2:]; rest == "" || rest[0] == '/' {
		return Errorf(ErrInvalid, "url %q: the host is missing", s.URL)
	}
	if s.Secret != "" && (len(s.Secret) < 16 || len(s.Secret) > 200) {
		return Errorf(ErrInvalid, "secret: want 16 to 200 bytes (or leave it out to have one generated)")
	}
	if len(s.CountyIDs) > 1000 {
		return Errorf(ErrTooLarge, "%d counties: at most 1000", len(s.CountyIDs))
	}
	for _, id := range s.CountyIDs {
		if id <= 0 {
			return Errorf(ErrInvalid, "county_ids: %d is not a positive number", id)
		}
	}
	return nil
}
