package zoning

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// ContactCSVColumns are the columns of the contact CSV format, in any
// order: the disease-control list as a command centre receives it. A close
// contact names case_no, a secondary one via_contact_no (a contact of the
// same file or one registered before); identified_at is RFC 3339 or
// "YYYY-MM-DD HH:MM" in the county's time (loc).
var ContactCSVColumns = []string{"contact_no", "county_id", "kind", "case_no", "via_contact_no", "identified_at",
	"last_exposure_date", "unit_id", "building_id", "address", "lon", "lat"}

// ParseContactsCSV reads contacts from CSV with a header row. county is
// used when the file has no county_id column; loc is the county's clock
// for identification times written without an offset. Errors name the
// line and column.
func ParseContactsCSV(r io.Reader, county int64, loc *time.Location, maxRows int) ([]NewContact, error) {
	return parseCSV(r, csvTable{known: ContactCSVColumns, required: []string{"contact_no", "kind", "identified_at"}, max: maxRows, what: "contacts"},
		func(row csvRow) (NewContact, error) {
			c := NewContact{ContactNo: row.get("contact_no"), CountyID: county, Kind: row.get("kind"), CaseNo: row.get("case_no"),
				ViaContactNo: row.get("via_contact_no"), LastExposure: row.get("last_exposure_date")}
			var err error
			if v := row.get("county_id"); v != "" {
				if c.CountyID, err = strconv.ParseInt(v, 10, 64); err != nil {
					return c, row.bad("county_id", err)
				}
			}
			if c.IdentifiedAt, err = parseLocalTime(row.get("identified_at"), loc); err != nil {
				return c, row.bad("identified_at", err)
			}
			return c, residenceFromCSV(row, &c.Residence)
		})
}

// parseLocalTime reads RFC 3339, or a wall-clock "YYYY-MM-DD HH:MM[:SS]"
// in loc (a list written in Beijing time carries no offset).
func parseLocalTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(s), loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("want RFC 3339 or YYYY-MM-DD HH:MM in the county's time")
}
