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
	cr, get, err := openCSV(r, ContactCSVColumns, "contact_no", "kind", "identified_at")
	if err != nil {
		return nil, err
	}
	var out []NewContact
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, Errorf(ErrInvalid, "CSV: %v", err)
		}
		line, _ := cr.FieldPos(0)
		if len(out) >= maxRows {
			return nil, Errorf(ErrTooLarge, "CSV has more than %d rows", maxRows)
		}
		bad := func(name string, err error) error {
			return Errorf(ErrInvalid, "CSV line %d, column %s: %v", line, name, err)
		}
		c := NewContact{ContactNo: get(rec, "contact_no"), CountyID: county, Kind: get(rec, "kind"), CaseNo: get(rec, "case_no"),
			ViaContactNo: get(rec, "via_contact_no"), LastExposure: get(rec, "last_exposure_date")}
		if v := get(rec, "county_id"); v != "" {
			if c.CountyID, err = strconv.ParseInt(v, 10, 64); err != nil {
				return nil, bad("county_id", err)
			}
		}
		if c.IdentifiedAt, err = parseLocalTime(get(rec, "identified_at"), loc); err != nil {
			return nil, bad("identified_at", err)
		}
		if err := residenceFromCSV(rec, get, bad, &c.Residence); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, Errorf(ErrInvalid, "CSV has a header but no contacts")
	}
	return out, nil
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
