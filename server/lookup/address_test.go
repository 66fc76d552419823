package lookup

import (
	"slices"
	"testing"
)

func TestParseAddress(t *testing.T) {
	for q, want := range map[string]parsedAddress{
		"城建花园小区73号楼二单元":     {place: "城建花园小区", number: "73", unit: 2},
		"临河区建设街道城建花园小区73号楼": {place: "临河区建设街道城建花园小区", number: "73"},
		"城建花园小区 ７３ 栋 3单元":   {place: "城建花园小区", number: "73", unit: 3},
		"城建花园小区":            {place: "城建花园小区"},
	} {
		if got := parseAddress(q); got != want {
			t.Errorf("parseAddress(%q) = %+v, want %+v", q, got, want)
		}
	}
	if c := placeCandidates("临河区建设街道城建花园小区"); !slices.Contains(c, "城建花园小区") {
		t.Errorf("candidates %v", c)
	}
}
