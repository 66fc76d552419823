package zoning

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseCasesCSV: any CSV answers cases that pass validation, or an
// ErrInvalid naming the problem; never a panic, never more rows than asked.
func FuzzParseCasesCSV(f *testing.F) {
	f.Add("case_no,kind,report_date,building_id\nC1,confirmed,2022-11-20,12\n")
	f.Add("\ufeffcase_no,kind,report_date,lon,lat,source_known\nC2,asymptomatic,2022-11-21,116.4,39.9,false\n")
	f.Add("case_no,kind,report_date,unit_id,exclusion_category,exclusion_assessment\nC3,confirmed,2022-11-20,5,home_quarantine,assessed\n")
	f.Add("case_no,kind\nC4,confirmed\n")
	f.Add("case_no,kind,report_date,address\n\"C5\",confirmed,2022-02-30,\"城建花园小区73号楼二单元\"\n")
	f.Add("")
	f.Add("case_no,kind,report_date,lon,lat\nC6,confirmed,2022-11-20,NaN,1e309\n")
	f.Fuzz(func(t *testing.T, s string) {
		const max = 50
		cases, err := ParseCasesCSV(strings.NewReader(s), 7, max)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v is not a bad-input error", err)
			}
			return
		}
		if len(cases) > max {
			t.Fatalf("%d cases from a CSV limited to %d rows", len(cases), max)
		}
	})
}
