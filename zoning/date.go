package zoning

import (
	"encoding/json"
	"math"
	"time"
	// The county calendars are IANA zones: embed the database so that they
	// load on hosts without one.
	_ "time/tzdata"
)

// Date is a calendar day without a time of day, kept as midnight UTC and
// written as "YYYY-MM-DD" in JSON. Zone clocks count days in the county's
// local calendar (see DateOf).
type Date struct{ time.Time }

// MakeDate is the day y-m-d.
func MakeDate(y int, m time.Month, d int) Date { return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)} }

// DateOf is the calendar day of instant t in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return MakeDate(y, m, d)
}

// DefaultTimeZone is the calendar of a county that names none.
const DefaultTimeZone = "Asia/Shanghai"

// LoadTimeZone is the calendar named by an IANA time zone name ("" is
// DefaultTimeZone). China Standard Time, the usual case, is ChinaTime().
func LoadTimeZone(name string) (*time.Location, error) {
	if name == "" || name == DefaultTimeZone {
		return ChinaTime(), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return nil, Errorf(ErrInvalid, "time zone %q: want an IANA name such as %s", name, DefaultTimeZone)
	}
	return loc, nil
}

// AsDate reads a date scanned from the database (midnight, any zone) as a Date.
func AsDate(t time.Time) Date {
	y, m, d := t.Date()
	return MakeDate(y, m, d)
}

// ParseDay parses a YYYY-MM-DD date; field names it in the error.
func ParseDay(field, s string) (Date, error) {
	t, err := ParseDate(field, s)
	if err != nil {
		return Date{}, err
	}
	return Date{t}, nil
}

// AddDays is the day n days later (earlier for negative n).
func (d Date) AddDays(n int) Date { return Date{d.Time.AddDate(0, 0, n)} }

// DaysSince is the number of days from o to d (negative when d is before o).
func (d Date) DaysSince(o Date) int {
	return int(math.Round(d.Time.Sub(o.Time).Hours() / 24))
}

// Before reports whether d is an earlier day than o.
func (d Date) Before(o Date) bool { return d.Time.Before(o.Time) }

// After reports whether d is a later day than o.
func (d Date) After(o Date) bool { return d.Time.After(o.Time) }

// String is YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.Time.IsZero() {
		return ""
	}
	return d.Time.Format(time.DateOnly)
}

// MarshalJSON writes "YYYY-MM-DD", or null for the zero Date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.Time.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + d.String() + `"`), nil
}

// UnmarshalJSON reads "YYYY-MM-DD" or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return Errorf(ErrInvalid, "date: want a string YYYY-MM-DD")
	}
	v, err := ParseDay("date", s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
