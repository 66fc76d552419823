package zoning

import (
	"strings"
	"testing"
	"time"
)

// A lift by an admin override is announced as the command centre's decision
// with its written reason, in both languages, and never as meeting the
// lifting conditions or as all tested negative; an eligible lift beside it
// keeps its own wording.
func TestNoticeTextOverrideLift(t *testing.T) {
	eff := time.Date(2022, 11, 26, 10, 0, 0, 0, time.UTC)
	reason := "病例经复核为既往感染，指挥部决定提前解除"
	over := ZoneText{ZoneID: 2, Version: 3, Level: "high", Change: NoticeChangeLifted, Override: true, OverrideReason: reason,
		Addresses: []Address{bld(5, "幸福家园小区", "5")}}
	fine := ZoneText{ZoneID: 1, Version: 2, Level: "high", Change: NoticeChangeLifted, Addresses: []Address{bld(28, "城建花园小区", "28")}}
	still := ZoneText{ZoneID: 3, Version: 1, Level: "high", Addresses: []Address{bld(30, "城建花园小区", "30")}}
	never := []string{"符合解除条件", "检测均为阴性", "meet the lifting conditions", "negative screening", "eligible", "all tested"}
	for _, tc := range []struct {
		name    string
		kind    string
		changed []ZoneText
		current []ZoneText
	}{
		{"lift, override only", NoticeLift, []ZoneText{over}, []ZoneText{still}},
		{"normalize, override only", NoticeNormalize, []ZoneText{over}, nil},
	} {
		nt := NoticeText{Kind: tc.kind, Number: 4, County: "临河区", CountyEn: "Linhe District", Rules: testRules(), EffectiveAt: eff,
			Changed: tc.changed, Current: tc.current}
		zh, en := nt.Render()
		for _, w := range never {
			if strings.Contains(zh, w) || strings.Contains(en, w) {
				t.Errorf("%s: the notice says %q of an override:\n%s\n%s", tc.name, w, zh, en)
			}
		}
		for _, w := range []string{"经临河区新冠肺炎疫情防控指挥部研究决定解除管控（非依常规解除条件）", "决定理由：" + reason, "幸福家园小区5号楼"} {
			if !strings.Contains(zh, w) {
				t.Errorf("%s: zh lacks %q:\n%s", tc.name, w, zh)
			}
		}
		for _, w := range []string{"lifted by decision of the Linhe District COVID-19 Prevention and Control Headquarters",
			"reason for the decision, as written: " + reason} {
			if !strings.Contains(en, w) {
				t.Errorf("%s: en lacks %q:\n%s", tc.name, w, en)
			}
		}
	}
	// Both kinds in one notice: each with its own wording and numbering.
	nt := NoticeText{Kind: NoticeLift, Number: 5, County: "临河区", CountyEn: "Linhe District", Rules: testRules(), EffectiveAt: eff,
		Changed: []ZoneText{over, fine}, Current: []ZoneText{still}}
	zh, en := nt.Render()
	for _, w := range []string{"解除管控的区域（2个）\n1. 临河区建设街道城建花园小区28号楼（原高风险区）\n以上区域符合解除条件",
		"2. 临河区建设街道幸福家园小区5号楼（原高风险区；决定理由：" + reason + "）\n第2项区域经临河区新冠肺炎疫情防控指挥部研究决定解除管控", "其余1个风险区"} {
		if !strings.Contains(zh, w) {
			t.Errorf("mixed lift: zh lacks %q:\n%s", w, zh)
		}
	}
	for _, w := range []string{"These zones meet the lifting conditions", "Zone 2 is lifted by decision", "The other 1 risk zone(s)"} {
		if !strings.Contains(en, w) {
			t.Errorf("mixed lift: en lacks %q:\n%s", w, en)
		}
	}
}
