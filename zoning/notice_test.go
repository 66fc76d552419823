package zoning

import (
	"strings"
	"testing"
	"time"
)

func testRules() RuleSet {
	return RuleSet{ID: "2022-11", CleanDays: 5, StaffRatio: 10, DefaultLevel: "high", Levels: []Level{
		{Code: "high", NameZh: "高风险区", NameEn: "High-risk zone", MeasuresZh: "封控，足不出户、上门服务", MeasuresEn: "Lockdown: stay at home, services delivered to the door"},
		{Code: "low", NameZh: "低风险区", NameEn: "Low-risk zone", MeasuresZh: "个人防护，避免聚集", MeasuresEn: "Personal protection, no gatherings"},
	}}
}

func bld(id int64, compound, number string) Address {
	return Address{District: "临河区", DistrictEn: "Linhe District", Street: "建设街道", StreetEn: "Jianshe Subdistrict", Compound: compound, Number: number, BuildingID: id}
}

func unit(id int64, compound, number string, n int, name string) Address {
	a := bld(id, compound, number)
	a.UnitNumber, a.Unit = n, name
	return a
}

// Address lists read like the announcements: grouped by district > street
// > compound, consecutive building numbers as ranges, units of a building
// not wholly in the zone by name.
func TestFormatAddresses(t *testing.T) {
	addrs := []Address{
		bld(28, "城建花园小区", "28"), bld(25, "城建花园小区", "25"), bld(26, "城建花园小区", "26"), bld(27, "城建花园小区", "27"),
		unit(73, "城建花园小区", "73", 2, "二单元"), bld(30, "城建花园小区", "30"),
		bld(5, "幸福家园小区", "5"),
		{District: "临河区", Street: "和平街道", Compound: "锦绣小区", Number: "3", BuildingID: 90},
		unit(91, "锦绣小区", "7", 1, "一单元"), unit(91, "锦绣小区", "7", 3, "三单元"),
	}
	addrs[8].Street, addrs[9].Street = "和平街道", "和平街道"
	addrs[8].StreetEn, addrs[9].StreetEn = "", ""
	zh := FormatAddressesZh(addrs)
	want := "临河区和平街道锦绣小区3号楼、7号楼一单元、三单元；临河区建设街道城建花园小区25-28号楼、30号楼、73号楼二单元，幸福家园小区5号楼"
	if zh != want {
		t.Errorf("zh\n got %s\nwant %s", zh, want)
	}
	en := FormatAddressesEn(addrs)
	for _, w := range []string{"城建花园小区 buildings 25-28, building 30, building 73 unit 2", "锦绣小区 building 3, building 7 units 1, 3", "Jianshe Subdistrict, Linhe District"} {
		if !strings.Contains(en, w) {
			t.Errorf("en %q lacks %q", en, w)
		}
	}
	if d := ShortAreaDesc(ZoneText{Addresses: addrs[:4]}, "zh"); d != "建设街道城建花园小区25-28号楼" {
		t.Errorf("short desc %q", d)
	}
}

// The notice text: issuing body, expert assessment, numbered sections per
// level with counts, the low-risk remainder, measures, effective time; and
// nothing of a zone's clock reason (which may name a case).
func TestNoticeText(t *testing.T) {
	eff := time.Date(2022, 11, 21, 10, 0, 0, 0, time.UTC) // 18:00 in China
	z1 := ZoneText{ZoneID: 1, Version: 1, Name: "A", Level: "high", Addresses: []Address{unit(73, "城建花园小区", "73", 2, "二单元")},
		EarliestLifting: MakeDate(2022, 11, 26)}
	z2 := ZoneText{ZoneID: 2, Version: 2, Name: "B", Level: "high", Addresses: []Address{bld(25, "城建花园小区", "25"), bld(26, "城建花园小区", "26")},
		EarliestLifting: MakeDate(2022, 11, 27)}
	nt := NoticeText{Kind: NoticeAdjust, Number: 3, County: "临河区", CountyEn: "Linhe District", Authority: "临河区新冠肺炎疫情防控指挥部",
		Rules: testRules(), EffectiveAt: eff, Current: []ZoneText{z1, z2}}
	c1, c2 := z1, z2
	c1.Change, c2.Change = NoticeChangeNew, NoticeChangeAdjusted
	nt.Changed = []ZoneText{c1, c2}
	title, titleEn := nt.Title()
	if title != "临河区新冠肺炎疫情防控指挥部关于调整疫情风险区域的通告（第3号）" || !strings.Contains(titleEn, "Notice No. 3") {
		t.Errorf("titles %q / %q", title, titleEn)
	}
	zh, en := nt.Render()
	for _, w := range []string{"经专家研判", "自2022年11月21日18时起", "新增1个高风险区", "调整1个高风险区的范围", "一、高风险区（2个）",
		"1. 临河区建设街道城建花园小区73号楼二单元（本次新增；最早解除日期：2022年11月26日）", "城建花园小区25-26号楼",
		"二、低风险区", "临河区除高风险区以外的其他区域为低风险区。", "三、管控措施", "高风险区：封控，足不出户、上门服务。", "特此通告。"} {
		if !strings.Contains(zh, w) {
			t.Errorf("zh body lacks %q:\n%s", w, zh)
		}
	}
	for _, w := range []string{"after expert assessment", "1. High-risk zone (2)", "building 73 unit 2", "is a low-risk zone", "18:00 on 21 November 2022 (UTC+8)"} {
		if !strings.Contains(en, w) {
			t.Errorf("en body lacks %q:\n%s", w, en)
		}
	}
	// Lifting the last zone: the county returns to normal.
	lift := NoticeText{Kind: NoticeNormalize, Number: 4, County: "临河区", Rules: testRules(), EffectiveAt: eff,
		Changed: []ZoneText{{ZoneID: 1, Level: "high", Change: NoticeChangeLifted, Addresses: z1.Addresses}}}
	zh, _ = lift.Render()
	for _, w := range []string{"解除1个高风险区", "临河区全域恢复常态化防控", "一、解除管控的区域（1个）"} {
		if !strings.Contains(zh, w) {
			t.Errorf("normalize body lacks %q:\n%s", w, zh)
		}
	}
	if strings.Contains(zh, "高风险区（") {
		t.Errorf("a return to normal lists no zones:\n%s", zh)
	}
}

func TestClassifyPending(t *testing.T) {
	v := func(n int, status, change string) PendingVersion {
		return PendingVersion{Version: n, Status: status, Change: change}
	}
	cases := []struct {
		name string
		p    PendingZone
		want string
	}{
		{"new", PendingZone{Versions: []PendingVersion{v(1, ZoneActive, ChangeDesignate)}}, NoticeChangeNew},
		{"new then adjusted", PendingZone{Versions: []PendingVersion{v(1, ZoneActive, ChangeDesignate), v(2, ZoneActive, ChangeAdjust)}}, NoticeChangeNew},
		{"never public, lifted", PendingZone{Versions: []PendingVersion{v(1, ZoneActive, ChangeDesignate), v(2, ZoneLifted, ChangeLift)}}, ""},
		{"adjusted", PendingZone{PublicStatus: ZoneActive, PublicVersion: 1, Versions: []PendingVersion{v(2, ZoneActive, ChangeAdjust)}}, NoticeChangeAdjusted},
		{"extended", PendingZone{PublicStatus: ZoneActive, PublicVersion: 1, Versions: []PendingVersion{v(2, ZoneActive, ChangeExtend)}}, NoticeChangeExtended},
		{"lifted", PendingZone{PublicStatus: ZoneActive, PublicVersion: 1, Versions: []PendingVersion{v(2, ZoneLifted, ChangeLift)}}, NoticeChangeLifted},
		{"split parent", PendingZone{PublicStatus: ZoneActive, PublicVersion: 1, Versions: []PendingVersion{v(2, ZoneSuperseded, ChangeSplit)}}, NoticeChangeSuperseded},
		{"split part", PendingZone{ParentZoneIDs: []int64{7}, Versions: []PendingVersion{v(1, ZoneActive, ChangeSplit)}}, NoticeChangeSplitPart},
		{"part of a never-public parent", PendingZone{ParentZoneIDs: []int64{8}, Versions: []PendingVersion{v(1, ZoneActive, ChangeSplit)}}, NoticeChangeNew},
		{"merged", PendingZone{ParentZoneIDs: []int64{7, 9}, Versions: []PendingVersion{v(1, ZoneActive, ChangeMerge)}}, NoticeChangeMerged},
	}
	for _, c := range cases {
		if got := c.p.Classify(map[int64]bool{7: true}); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if k := NoticeKindOf([]string{NoticeChangeNew, NoticeChangeSplitPart, NoticeChangeSuperseded}); k != NoticeSplit {
		t.Errorf("kind %s", k)
	}
}

func TestPublishRequestValidate(t *testing.T) {
	now := time.Now()
	past := now.Add(-time.Hour)
	for _, r := range []PublishRequest{{}, {CountyID: 1, Status: "draft"}, {CountyID: 1, ZoneIDs: []int64{1, 1}}, {CountyID: 1, EffectiveAt: &past},
		{CountyID: 1, Note: "a\x00b"}} {
		if err := r.Validate(now); Kind(err) != ErrInvalid {
			t.Errorf("%+v: %v, want invalid", r, err)
		}
	}
	r := PublishRequest{CountyID: 1}
	if err := r.Validate(now); err != nil || r.Status != NoticeActual {
		t.Errorf("defaults: %v %+v", err, r)
	}
}
