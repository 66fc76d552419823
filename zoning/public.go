package zoning

import "time"

// NoticeSummary is a notice in a list.
type NoticeSummary struct {
	ID            int64     `json:"id"`
	CountyID      int64     `json:"county_id"`
	County        string    `json:"county"`
	Number        int       `json:"number"`
	Kind          string    `json:"kind"`
	Status        string    `json:"status"`
	TitleZh       string    `json:"title_zh"`
	TitleEn       string    `json:"title_en"`
	EffectiveAt   time.Time `json:"effective_at"`
	PublishedAt   time.Time `json:"published_at"`
	CAPIdentifier string    `json:"cap_identifier"`
	CAPMsgType    string    `json:"cap_msg_type"`
}

// LevelCount is how many public zones of a level a county has.
type LevelCount struct {
	Level      string `json:"level"`
	NameZh     string `json:"name_zh"`
	NameEn     string `json:"name_en"`
	Zones      int    `json:"zones"`
	Population int    `json:"population"`
}

// PublicCounty is a county's current public situation.
type PublicCounty struct {
	ID        int64        `json:"id"`
	Name      string       `json:"name"`
	NameEn    string       `json:"name_en"`
	Authority string       `json:"authority"`
	Rules     RuleSet      `json:"-"`
	BBox      [4]float64   `json:"bbox"`
	Levels    []LevelCount `json:"levels"`
	// Zoned is true while the county has at least one public zone (and so a
	// low-risk remainder).
	Zoned      bool           `json:"zoned"`
	LastNotice *NoticeSummary `json:"last_notice"`
}

// PublicZone is a zone as the public sees it: its latest published version.
type PublicZone struct {
	ZoneText
	CountyID int64  `json:"county_id"`
	County   string `json:"county"`
	CountyEn string `json:"county_en"`
	Status   string `json:"status"`
	LevelZh  string `json:"level_zh"`
	LevelEn  string `json:"level_en"`
	// MeasuresZh and MeasuresEn are the level's measures from the rule set.
	MeasuresZh string `json:"measures_zh"`
	MeasuresEn string `json:"measures_en"`
	// PopulationEstimated: Population is (partly) an estimate, not a count
	// (see ZoneVersion.PopulationEstimated); the page writes "约" / "about".
	PopulationEstimated bool `json:"population_estimated"`
	// Since is when the zone's first notice took effect.
	Since    time.Time  `json:"since"`
	BBox     [4]float64 `json:"bbox"`
	Geometry []byte     `json:"-"`
	// Notices are the notices that published versions of the zone, oldest first.
	Notices []NoticeSummary `json:"notices"`
}

// PublicChange is one zone change a notice made, for "what is new since T?".
type PublicChange struct {
	NoticeID    int64      `json:"notice_id"`
	Kind        string     `json:"notice_kind"`
	Status      string     `json:"notice_status"`
	PublishedAt time.Time  `json:"published_at"`
	EffectiveAt time.Time  `json:"effective_at"`
	ZoneID      int64      `json:"zone_id"`
	Version     int        `json:"version"`
	CountyID    int64      `json:"county_id"`
	Name        string     `json:"name"`
	Level       string     `json:"level"`
	ZoneStatus  string     `json:"zone_status"`
	BBox        [4]float64 `json:"bbox"`
}

// TimelineEntry is a published zone version with the span during which the
// public map showed it: from its notice's effective time until the next
// notice of the zone took effect (Until nil while it is the latest).
type TimelineEntry struct {
	ZoneID          int64
	Version         int
	CountyID        int64
	Name            string
	Level           string
	Status          string
	NoticeID        int64
	From            time.Time
	Until           *time.Time
	EarliestLifting Date
	// WKB is the geometry (MultiPolygon, lon/lat).
	WKB []byte
}
