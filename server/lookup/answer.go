package lookup

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/riskzone/riskzone/zoning"
)

// MaxDays is how far back a lookup's history may reach.
const MaxDays = 60

// Zone is a zone in a lookup answer.
type Zone struct {
	ZoneID          int64       `json:"zone_id"`
	Version         int         `json:"version"`
	CountyID        int64       `json:"county_id"`
	Name            string      `json:"name"`
	Level           string      `json:"level"`
	LevelZh         string      `json:"level_zh"`
	LevelEn         string      `json:"level_en"`
	EarliestLifting zoning.Date `json:"earliest_lifting"`
	URL             string      `json:"url"`
	// Units, when not empty, are the units of the building looked up that
	// are in the zone (the rest of the building is not).
	Units []string `json:"units,omitempty"`
}

// PastZone is a zone a place was in during the span asked about.
type PastZone struct {
	ZoneID  int64   `json:"zone_id"`
	Version int     `json:"version"`
	Name    string  `json:"name"`
	Level   string  `json:"level"`
	From    string  `json:"from"`
	Until   *string `json:"until"`
}

// County is the county of a place.
type County struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	NameEn string `json:"name_en"`
	// Zoned: the county has high-risk zones, so the rest of it is low risk.
	Zoned bool `json:"zoned"`
}

// Match is a building (or unit) found for an address query.
type Match struct {
	Address    string     `json:"address"`
	BuildingID int64      `json:"building_id"`
	Lon        *float64   `json:"lon,omitempty"`
	Lat        *float64   `json:"lat,omitempty"`
	InZone     bool       `json:"in_zone"`
	Zones      []Zone     `json:"zones"`
	County     *County    `json:"county"`
	Past       []PastZone `json:"past,omitempty"`
}

// Answer is the answer of GET /api/v1/public/lookup.
type Answer struct {
	Lon          *float64   `json:"lon,omitempty"`
	Lat          *float64   `json:"lat,omitempty"`
	Query        string     `json:"q,omitempty"`
	Since        string     `json:"since,omitempty"`
	InZone       bool       `json:"in_zone"`
	Zones        []Zone     `json:"zones"`
	County       *County    `json:"county"`
	Past         []PastZone `json:"past,omitempty"`
	WasInZone    *bool      `json:"was_in_zone,omitempty"`
	Matches      []Match    `json:"matches,omitempty"`
	IndexVersion int64      `json:"index_version"`
}

// Query is a parsed lookup request: a point (HasPoint) or an address Q,
// with the history since Since (zero: none asked; Days when asked in days).
type Query struct {
	HasPoint bool
	Point    [2]float64 // lon, lat
	Q        string
	Since    time.Time
	Days     int
}

func lonLatOK(lon, lat float64) bool {
	return !math.IsNaN(lon) && !math.IsNaN(lat) && lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90
}

// ParseQuery reads a lookup from its query parameters (param answers the
// first value of a name, "" when absent): the routes and the fast listener
// share it. Bad input is a zoning.ErrInvalid.
func ParseQuery(param func(string) string, now time.Time) (Query, error) {
	var lq Query
	lonS, latS := param("lon"), param("lat")
	if ll := strings.TrimSpace(param("ll")); ll != "" && lonS == "" && latS == "" {
		a, b, ok := strings.Cut(strings.NewReplacer("，", ",", " ", ",").Replace(ll), ",")
		if !ok {
			return lq, zoning.Errorf(zoning.ErrInvalid, "ll %q: want longitude,latitude", ll)
		}
		lonS, latS = strings.TrimSpace(a), strings.TrimSpace(b)
	}
	lq.Q = strings.TrimSpace(param("q"))
	if len(lq.Q) > 200 {
		return lq, zoning.Errorf(zoning.ErrInvalid, "q is longer than 200 bytes")
	}
	switch {
	case lonS != "" || latS != "":
		lon, err1 := strconv.ParseFloat(lonS, 64)
		lat, err2 := strconv.ParseFloat(latS, 64)
		if err1 != nil || err2 != nil || !lonLatOK(lon, lat) {
			return lq, zoning.Errorf(zoning.ErrInvalid, "lon=%q lat=%q: want a longitude in [-180, 180] and a latitude in [-90, 90]", lonS, latS)
		}
		lq.HasPoint, lq.Point = true, [2]float64{lon, lat}
	case lq.Q == "":
		return lq, zoning.Errorf(zoning.ErrInvalid, "give lon and lat, or q (an address such as 城建花园小区73号楼二单元)")
	}
	if d := param("days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > MaxDays {
			return lq, zoning.Errorf(zoning.ErrInvalid, "days=%q: want 1 to %d", d, MaxDays)
		}
		lq.Days, lq.Since = n, now.AddDate(0, 0, -n)
	}
	if s := param("since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return lq, zoning.Errorf(zoning.ErrInvalid, "since=%q: want an RFC 3339 time, e.g. 2022-11-20T00:00:00+08:00", s)
		}
		if t.After(now) || now.Sub(t) > MaxDays*24*time.Hour {
			return lq, zoning.Errorf(zoning.ErrInvalid, "since=%q: want a time in the last %d days", s, MaxDays)
		}
		lq.Since = t
	}
	return lq, nil
}

// Answer resolves a lookup against the index alone: zones, counties,
// timeline and the address book.
func (ix *Index) Answer(lq Query, now time.Time) Answer {
	a := Answer{IndexVersion: ix.version, Zones: []Zone{}}
	if !lq.Since.IsZero() {
		a.Since = lq.Since.In(zoning.ChinaTime()).Format(time.RFC3339)
	}
	if lq.HasPoint {
		lon, lat := lq.Point[0], lq.Point[1]
		a.Lon, a.Lat = &lon, &lat
		if z := ix.zonesAt(lq.Point); z != nil {
			a.Zones = z
		}
		a.InZone = len(a.Zones) > 0
		a.County = ix.countyAt(lq.Point)
		if !lq.Since.IsZero() {
			a.Past = ix.pastAt(lq.Point, lq.Since, now)
			was := len(a.Past) > 0
			a.WasInZone = &was
		}
		return a
	}
	a.Query = lq.Q
	pa := parseAddress(lq.Q)
	nq := normalizeCompound(lq.Q)
	a.Matches = ix.indexAddress(pa, nq)
	if len(a.Matches) == 0 && ix.buildings != nil {
		// Not a zoned building: find it in the address book, then its zones.
		for _, b := range ix.buildings.find(pa, nq) {
			lon, lat := b.lon, b.lat
			m := Match{Address: ix.buildings.label(b), BuildingID: b.id, Lon: &lon, Lat: &lat, Zones: []Zone{}}
			pt := [2]float64{lon, lat}
			if z := ix.zonesAt(pt); z != nil {
				m.Zones, m.InZone = z, true
			}
			m.County = ix.countyAt(pt)
			a.Matches = append(a.Matches, m)
		}
	}
	for i := range a.Matches {
		m := &a.Matches[i]
		if m.County == nil || m.Lon == nil {
			continue
		}
		if !lq.Since.IsZero() {
			m.Past = ix.pastAt([2]float64{*m.Lon, *m.Lat}, lq.Since, now)
		}
	}
	for _, m := range a.Matches {
		if m.InZone {
			a.InZone = true
			a.Zones = append(a.Zones, m.Zones...)
		}
	}
	if a.Matches == nil {
		a.Matches = []Match{}
	}
	return a
}
