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
	return parseCSV(r, csvTable{known: CaseCSVColumns, required: []string{"case_no", "kind", "report_date"}, max: maxRows, what: "cases"},
		func(row csvRow) (NewCase, error) {
			c := NewCase{CaseNo: row.get("case_no"), CountyID: county, Kind: row.get("kind"), ReportDate: row.get("report_date"),
				OnsetDate: row.get("onset_date")}
			var err error
			if v := row.get("county_id"); v != "" {
				if c.CountyID, err = strconv.ParseInt(v, 10, 64); err != nil {
					return c, row.bad("county_id", err)
				}
			}
			if err := residenceFromCSV(row, &c.Residence); err != nil {
				return c, err
			}
			if v := row.get("source_known"); v != "" {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return c, row.bad("source_known", err)
				}
				c.SourceKnown = &b
			}
			if v := row.get("exclusion_category"); v != "" {
				c.Exclusion = &Exclusion{Category: v, Assessment: row.get("exclusion_assessment")}
			}
			return c, nil
		})
}

// csvTable says what a CSV file must hold: its known and required
// columns, at most max rows, of what (a plural noun for errors).
type csvTable struct {
	known, required []string
	max             int
	what            string
}

// csvRow is one record of a CSV file, with its line for errors.
type csvRow struct {
	rec  []string
	line int
	col  map[string]int
}

// get reads a named column ("" when the file lacks it).
func (r csvRow) get(name string) string {
	if i, ok := r.col[name]; ok && i < len(r.rec) {
		return strings.TrimSpace(r.rec[i])
	}
	return ""
}

// bad is the error of a value of a column.
func (r csvRow) bad(name string, err error) error {
	return Errorf(ErrInvalid, "CSV line %d, column %s: %v", r.line, name, err)
}

// parseCSV reads a CSV file with a header row of t's columns (in any
// order) and makes one T of each record with row. Errors name the line and
// column; more than t.max records is ErrTooLarge; none is ErrInvalid.
func parseCSV[T any](r io.Reader, t csvTable, row func(csvRow) (T, error)) ([]T, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, Errorf(ErrInvalid, "CSV is empty: want a header row (%s)", strings.Join(t.known, ","))
	}
	if err != nil {
		return nil, Errorf(ErrInvalid, "CSV header: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !slices.Contains(t.known, h) {
			return nil, Errorf(ErrInvalid, "CSV column %d %q: unknown (known: %s)", i+1, h, strings.Join(t.known, ","))
		}
		col[h] = i
	}
	for _, need := range t.required {
		if _, ok := col[need]; !ok {
			return nil, Errorf(ErrInvalid, "CSV: column %s is missing", need)
		}
	}
	var out []T
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
		if len(out) >= t.max {
			return nil, Errorf(ErrTooLarge, "CSV has more than %d rows", t.max)
		}
		v, err := row(csvRow{rec: rec, line: line, col: col})
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, Errorf(ErrInvalid, "CSV has a header but no %s", t.what)
	}
	return out, nil
}

// residenceFromCSV fills the residence columns address, unit_id,
// building_id, lon and lat of a record.
func residenceFromCSV(row csvRow, r *Residence) error {
	r.Address = row.get("address")
	for _, f := range []struct {
		name string
		dst  **int64
	}{{"unit_id", &r.UnitID}, {"building_id", &r.BuildingID}} {
		if v := row.get(f.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return row.bad(f.name, err)
			}
			*f.dst = &n
		}
	}
	for _, f := range []struct {
		name string
		dst  **float64
	}{{"lon", &r.Lon}, {"lat", &r.Lat}} {
		if v := row.get(f.name); v != "" {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return row.bad(f.name, err)
			}
			*f.dst = &x
		}
	}
	return nil
}
