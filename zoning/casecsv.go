package zoning

import (
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
)

// CaseCSVColumns are the columns of the case CSV format, in any order; only
// case_no, kind, report_date and one residence column are required.
var CaseCSVColumns = []string{"case_no", "county_id", "kind", "report_date", "onset_date", "unit_id", "building_id",
	"address", "lon", "lat", "source_known", "exclusion_category", "exclusion_assessment"}

// ParseCasesCSV reads cases from CSV with a header row. county is used when
// the file has no county_id column. Errors name the line and column.
func ParseCasesCSV(r io.Reader, county int64, maxRows int) ([]NewCase, error) {
	cr, get, err := openCSV(r, CaseCSVColumns, "case_no", "kind", "report_date")
	if err != nil {
		return nil, err
	}
	var out []NewCase
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, Errorf(ErrInvalid, "CSV: %v", err)
		}
		// After a failed Read the record is empty and FieldPos would panic.
		line, _ := cr.FieldPos(0)
		if len(out) >= maxRows {
			return nil, Errorf(ErrTooLarge, "CSV has more than %d rows", maxRows)
		}
		c := NewCase{CaseNo: get(rec, "case_no"), CountyID: county, Kind: get(rec, "kind"), ReportDate: get(rec, "report_date"),
			OnsetDate: get(rec, "onset_date")}
		bad := func(name string, err error) error {
			return Errorf(ErrInvalid, "CSV line %d, column %s: %v", line, name, err)
		}
		if v := get(rec, "county_id"); v != "" {
			if c.CountyID, err = strconv.ParseInt(v, 10, 64); err != nil {
				return nil, bad("county_id", err)
			}
		}
		if err := residenceFromCSV(rec, get, bad, &c.Residence); err != nil {
			return nil, err
		}
		if v := get(rec, "source_known"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, bad("source_known", err)
			}
			c.SourceKnown = &b
		}
		if v := get(rec, "exclusion_category"); v != "" {
			c.Exclusion = &Exclusion{Category: v, Assessment: get(rec, "exclusion_assessment")}
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, Errorf(ErrInvalid, "CSV has a header but no cases")
	}
	return out, nil
}

// csvGet reads a named column of a record ("" when the file lacks it).
type csvGet func(rec []string, name string) string

// openCSV reads the header row of a CSV file whose columns are known (in
// any order) and required; it answers the reader and a column getter.
func openCSV(r io.Reader, known []string, required ...string) (*csv.Reader, csvGet, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, Errorf(ErrInvalid, "CSV is empty: want a header row (%s)", strings.Join(known, ","))
	}
	if err != nil {
		return nil, nil, Errorf(ErrInvalid, "CSV header: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !slices.Contains(known, h) {
			return nil, nil, Errorf(ErrInvalid, "CSV column %d %q: unknown (known: %s)", i+1, h, strings.Join(known, ","))
		}
		col[h] = i
	}
	for _, need := range required {
		if _, ok := col[need]; !ok {
			return nil, nil, Errorf(ErrInvalid, "CSV: column %s is missing", need)
		}
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	return cr, get, nil
}

// residenceFromCSV fills the residence columns address, unit_id,
// building_id, lon and lat of a record.
func residenceFromCSV(rec []string, get csvGet, bad func(string, error) error, r *Residence) error {
	r.Address = get(rec, "address")
	for _, f := range []struct {
		name string
		dst  **int64
	}{{"unit_id", &r.UnitID}, {"building_id", &r.BuildingID}} {
		if v := get(rec, f.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return bad(f.name, err)
			}
			*f.dst = &n
		}
	}
	for _, f := range []struct {
		name string
		dst  **float64
	}{{"lon", &r.Lon}, {"lat", &r.Lat}} {
		if v := get(rec, f.name); v != "" {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return bad(f.name, err)
			}
			*f.dst = &x
		}
	}
	return nil
}
