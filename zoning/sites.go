package zoning

import (
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
)

// Centralised quarantine sites (集中隔离场所, seed 003): each has rooms, the
// rooms held by people not registered here, and staff. A county keeps at
// least a rule set's rooms per 10,000 residents (每万人20间 by default); the
// contacts registered here are assigned to sites by capacity and distance,
// and an expert can override an assignment. Sites are restricted: where
// people are quarantined is not published.

// DefaultRoomsPer10k is the national standard the source documents quote.
const DefaultRoomsPer10k = 20

// Limits of a site.
const (
	MaxSiteRooms = 100000
	MaxSiteStaff = 100000
)

// NewSite is a quarantine site as a county lists it. Sites are keyed by
// county and name: registering a name again updates that site.
type NewSite struct {
	CountyID int64   `json:"county_id"`
	Name     string  `json:"name"`
	Address  string  `json:"address,omitempty"`
	Rooms    int     `json:"rooms"`
	Occupied int     `json:"occupied,omitempty"`
	Staff    int     `json:"staff,omitempty"`
	Lon      float64 `json:"lon"`
	Lat      float64 `json:"lat"`
}

// Validate checks a site.
func (s NewSite) Validate() error {
	if s.CountyID <= 0 {
		return Errorf(ErrInvalid, "county_id is missing")
	}
	if err := checkSiteName(s.Name); err != nil {
		return err
	}
	if len(s.Address) > 300 || !utf8.ValidString(s.Address) {
		return Errorf(ErrInvalid, "site %s: address is longer than 300 bytes or not UTF-8", s.Name)
	}
	if err := checkRooms(s.Name, s.Rooms, s.Occupied, s.Staff); err != nil {
		return err
	}
	if err := CheckLonLat(s.Lon, s.Lat); err != nil {
		return Errorf(ErrInvalid, "site %s: %s", s.Name, Message(err))
	}
	return nil
}

func checkSiteName(n string) error {
	if strings.TrimSpace(n) == "" || len(n) > 200 || !utf8.ValidString(n) {
		return Errorf(ErrInvalid, "site name %q: want 1 to 200 bytes of UTF-8", n)
	}
	for _, r := range n {
		if r < 0x20 {
			return Errorf(ErrInvalid, "site name %q holds control characters", n)
		}
	}
	return nil
}

func checkRooms(name string, rooms, occupied, staff int) error {
	switch {
	case rooms < 0 || rooms > MaxSiteRooms:
		return Errorf(ErrInvalid, "site %s: rooms %d: want 0 to %d", name, rooms, MaxSiteRooms)
	case occupied < 0 || occupied > rooms:
		return Errorf(ErrInvalid, "site %s: occupied %d: want 0 to its %d rooms", name, occupied, rooms)
	case staff < 0 || staff > MaxSiteStaff:
		return Errorf(ErrInvalid, "site %s: staff %d: want 0 to %d", name, staff, MaxSiteStaff)
	}
	return nil
}

// SiteEdit changes a site's figures; nil fields stay.
type SiteEdit struct {
	Rooms    *int   `json:"rooms,omitempty"`
	Occupied *int   `json:"occupied,omitempty"`
	Staff    *int   `json:"staff,omitempty"`
	Active   *bool  `json:"active,omitempty"`
	Reason   string `json:"reason"`
}

// Apply checks the edit against site s and answers the edited site.
func (e SiteEdit) Apply(s Site) (Site, error) {
	if strings.TrimSpace(e.Reason) == "" {
		return s, Errorf(ErrInvalid, "reason is missing: say why the site changes")
	}
	if len(e.Reason) > MaxReasonLength {
		return s, Errorf(ErrInvalid, "reason is longer than %d bytes", MaxReasonLength)
	}
	if e.Rooms == nil && e.Occupied == nil && e.Staff == nil && e.Active == nil {
		return s, Errorf(ErrInvalid, "nothing to change: give rooms, occupied, staff or active")
	}
	if e.Rooms != nil {
		s.Rooms = *e.Rooms
	}
	if e.Occupied != nil {
		s.Occupied = *e.Occupied
	}
	if e.Staff != nil {
		s.Staff = *e.Staff
	}
	if e.Active != nil {
		s.Active = *e.Active
	}
	if err := checkRooms(s.Name, s.Rooms, s.Occupied, s.Staff); err != nil {
		return s, err
	}
	if s.Occupied+s.Assigned > s.Rooms {
		return s, Errorf(ErrConflict, "site %s: %d rooms cannot hold %d occupied and %d assigned contacts: move contacts first",
			s.Name, s.Rooms, s.Occupied, s.Assigned)
	}
	s.Free = s.Rooms - s.Occupied - s.Assigned
	return s, nil
}

// Site is a stored quarantine site with its load.
type Site struct {
	ID       int64     `json:"id"`
	CountyID int64     `json:"county_id"`
	Name     string    `json:"name"`
	Address  string    `json:"address,omitempty"`
	Rooms    int       `json:"rooms"`
	Occupied int       `json:"occupied"`
	Staff    int       `json:"staff"`
	Lon      float64   `json:"lon"`
	Lat      float64   `json:"lat"`
	Active   bool      `json:"active"`
	Updated  time.Time `json:"updated_at"`
	// Assigned counts the contacts registered here that are assigned to
	// the site; Free is what remains (never below 0).
	Assigned int `json:"assigned"`
	Free     int `json:"free"`
}

// CountyRooms compares a county's rooms with the standard.
type CountyRooms struct {
	CountyID      int64 `json:"county_id"`
	Residents     int   `json:"residents"`
	RoomsPer10k   int   `json:"rooms_per_10k"`
	RoomsRequired int   `json:"rooms_required"`
	Rooms         int   `json:"rooms"`
	Free          int   `json:"free"`
	Staff         int   `json:"staff"`
	Shortfall     int   `json:"shortfall"`
}

// RoomsRequired is the rooms a county of residents needs at per10k rooms
// per 10,000 residents, rounded up (a county of 1 resident needs a room).
func RoomsRequired(residents, per10k int) int {
	if residents <= 0 || per10k <= 0 {
		return 0
	}
	return int(math.Ceil(float64(residents) * float64(per10k) / 10000))
}

// Summarise totals the active sites of a county against the standard.
func Summarise(county int64, residents, per10k int, sites []Site) CountyRooms {
	out := CountyRooms{CountyID: county, Residents: residents, RoomsPer10k: per10k, RoomsRequired: RoomsRequired(residents, per10k)}
	for _, s := range sites {
		if s.Active {
			out.Rooms += s.Rooms
			out.Free += s.Free
			out.Staff += s.Staff
		}
	}
	out.Shortfall = max(0, out.RoomsRequired-out.Rooms)
	return out
}

// AssignInput is a contact waiting for a site, where it lives.
type AssignInput struct {
	ContactID int64
	Lon, Lat  float64
}

// Assignment is where the assignment put a contact, and how far it is.
type Assignment struct {
	ContactID int64   `json:"contact_id"`
	SiteID    int64   `json:"site_id"`
	DistanceM float64 `json:"distance_m"`
}

// AssignSites puts each contact, in the order given (the order they were
// identified), into the nearest active site with a free room; ties go to
// the lower site id. Contacts no site can take are returned apart. sites'
// Free counts are consumed.
func AssignSites(contacts []AssignInput, sites []Site) (assigned []Assignment, waiting []int64) {
	order := make([]int, len(sites))
	for i := range order {
		order[i] = i
	}
	for _, c := range contacts {
		p := orb.Point{c.Lon, c.Lat}
		sort.SliceStable(order, func(a, b int) bool {
			da, db := geo.Distance(p, orb.Point{sites[order[a]].Lon, sites[order[a]].Lat}), geo.Distance(p, orb.Point{sites[order[b]].Lon, sites[order[b]].Lat})
			if da != db {
				return da < db
			}
			return sites[order[a]].ID < sites[order[b]].ID
		})
		placed := false
		for _, i := range order {
			if sites[i].Active && sites[i].Free > 0 {
				sites[i].Free--
				sites[i].Assigned++
				assigned = append(assigned, Assignment{ContactID: c.ContactID, SiteID: sites[i].ID,
					DistanceM: math.Round(geo.Distance(p, orb.Point{sites[i].Lon, sites[i].Lat}))})
				placed = true
				break
			}
		}
		if !placed {
			waiting = append(waiting, c.ContactID)
		}
	}
	return assigned, waiting
}

// DefaultRoomsPerStaff is how many quarantine rooms one worker looks after
// when a rule set says nothing else: the same one-in-ten ratio the zones'
// staff rule uses, to be set per rule set.
const DefaultRoomsPerStaff = 10

// QuarantineNeed is what a proposal or zone asks of the quarantine sites:
// its residents and the staff it needs (≥ 1/10), the contacts registered
// for its cases, the rooms the ones still without a site need and the
// staff those rooms need (with the contacts expected of its cases that
// have none registered yet), beside the nearest sites with free rooms.
type QuarantineNeed struct {
	Residents     int `json:"residents"`
	StaffRequired int `json:"staff_required"`
	Cases         int `json:"cases"`
	Contacts      int `json:"contacts"`
	Placed        int `json:"placed"`
	// Expected estimates the contacts still to come: the zone's cases
	// with none registered yet, times the county's contacts per case so
	// far (ContactsPerCase; 0 before any contact is registered).
	Expected        int          `json:"expected_contacts"`
	ContactsPerCase float64      `json:"contacts_per_case"`
	CasesWithout    int          `json:"cases_without_contacts"`
	RoomsNeeded     int          `json:"rooms_needed"`
	SiteStaffNeed   int          `json:"site_staff_needed"`
	RoomsPerStaff   int          `json:"rooms_per_staff"`
	Sites           []SiteOption `json:"sites"`
	FreeNearby      int          `json:"free_rooms_nearby"`
	RoomsShortfall  int          `json:"rooms_shortfall"`
}

// SiteOption is a site that can take contacts, and how far it is.
type SiteOption struct {
	Site
	DistanceM float64 `json:"distance_m"`
}

// Complete fills the derived figures from the counts and the sites.
func (q *QuarantineNeed) Complete() {
	q.Expected = int(math.Round(float64(q.CasesWithout) * q.ContactsPerCase))
	q.RoomsNeeded = max(0, q.Contacts-q.Placed) + q.Expected
	if q.RoomsPerStaff <= 0 {
		q.RoomsPerStaff = DefaultRoomsPerStaff
	}
	q.SiteStaffNeed = (q.RoomsNeeded + q.RoomsPerStaff - 1) / q.RoomsPerStaff
	q.FreeNearby = 0
	for _, s := range q.Sites {
		q.FreeNearby += s.Free
	}
	q.RoomsShortfall = max(0, q.RoomsNeeded-q.FreeNearby)
}
