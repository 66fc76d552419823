package importer

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	posm "github.com/paulmach/osm"

	osmread "github.com/riskzone/riskzone/geo/osm"
)

// DefaultAdminLevels maps OSM admin_level values to the schema's levels. It
// follows OSM's tagging in mainland China: 4 province (省), 5 prefecture-level
// city (地级市), 6 county or district (县/区), 8 township or street office
// (乡镇/街道), 10 village or community (村/社区). Other countries tag other
// levels: pass another mapping (--admin-levels "2=province,8=county").
func DefaultAdminLevels() map[int]string {
	return map[int]string{4: "province", 5: "city", 6: "county", 8: "street", 10: "community"}
}

// adminLevelNames are the schema's levels, coarsest first.
var adminLevelNames = []string{"province", "city", "county", "street", "community"}

// ParseAdminLevels reads a mapping such as "4=province,6=county,8=street".
func ParseAdminLevels(s string) (map[int]string, error) {
	out := map[int]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		if !ok || err != nil || n < 1 || n > 12 {
			return nil, fmt.Errorf("admin level mapping %q: want OSM_LEVEL=LEVEL, OSM_LEVEL from 1 to 12", part)
		}
		if !slices.Contains(adminLevelNames, v) {
			return nil, fmt.Errorf("admin level mapping %q: level must be one of %s", part, strings.Join(adminLevelNames, ", "))
		}
		out[n] = v
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("admin level mapping %q is empty", s)
	}
	return out, nil
}

// FormatAdminLevels writes a mapping back as "4=province,6=county".
func FormatAdminLevels(m map[int]string) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d=%s", k, m[k])
	}
	return strings.Join(parts, ",")
}

// osmRules turn OSM tags into rows of the riskzone layers. The rules:
//
// Buildings: ways and multipolygon relations tagged building=* (not "no").
// Kind by the building value (see buildingKinds; "yes" and unknown dwelling
// values count as residential, the schema default, because most buildings of
// a Chinese city are tagged building=yes and are homes). Address parts:
// name (else addr:housename, a house named instead of numbered); addr:district (or addr:city_district) → addr_district; addr:street →
// addr_street; addr:neighbourhood, addr:quarter or addr:suburb →
// addr_community; addr:place (an estate named instead of a street) →
// addr_compound; addr:housenumber → addr_number. building:levels →
// floors (whole numbers 1-200, else unknown); building:flats → flats.
//
// Barriers (ways only; a closed way is used as its ring):
//   - highway=*: a road whose class is motorway, trunk, primary, secondary,
//     tertiary (each with its _link), residential (and living_street),
//     unclassified, else minor (service, track, footway, path...). Not
//     imported: highway=proposed/abandoned/razed/disused (not on the ground).
//   - railway=rail, light_rail or subway.
//   - waterway=river, canal, stream or drain.
//   - natural=ridge or cliff.
//   - barrier=wall or fence: every wall and fence, not only those around
//     compounds (OSM rarely says what a wall surrounds; short garden fences
//     only add edges that the block building ignores when they do not close).
//   - natural=water and landuse=reservoir polygons (ways and multipolygons)
//     as kind water.
//
// Only what divides the surface is a barrier: a road, railway or waterway
// with tunnel=yes, tunnel=culvert, tunnel=building_passage or
// location=underground is skipped, and so is a railway with a negative layer
// (the rule for railways; roads and waterways with a negative layer
// and no tunnel are cuttings and sunken channels that still divide).
//
// Admin areas: boundary=administrative relations (type boundary or
// multipolygon) whose admin_level is in the mapping. Ways tagged as
// boundaries are only the lines the relations are made of.
//
// Compounds: landuse=residential or place=neighbourhood polygons with a name.
//
// Places: nodes and polygons with amenity, shop, leisure or office, except
// street furniture and open spaces nobody stays in (notPlaces). Polygons
// become their ST_PointOnSurface. The enclosure guess is in placeKind.
type osmRules struct {
	adminLevels    map[string]string // OSM admin_level value → schema level
	countyRelation int64             // relation to read as the scope, 0: none
}

func newOSMRules(levels map[int]string, countyRelation int64) *osmRules {
	m := make(map[string]string, len(levels))
	for k, v := range levels {
		m[strconv.Itoa(k)] = v
	}
	return &osmRules{adminLevels: m, countyRelation: countyRelation}
}

// classify is the reader's Classifier: the shapes the rules can use.
func (r *osmRules) classify(t posm.Type, id int64, tags posm.Tags) osmread.Shape {
	switch t {
	case posm.TypeNode:
		if _, ok := placeKind(tags, false); ok {
			return osmread.Point
		}
		if _, ok := entranceKind(tags); ok {
			return osmread.Point
		}
		return 0
	case posm.TypeWay:
		var s osmread.Shape
		if isBuilding(tags) || isWater(tags) || isCompound(tags) {
			s |= osmread.Area
		}
		if _, ok := placeKind(tags, true); ok {
			s |= osmread.Area
		}
		if _, _, ok := lineBarrier(tags); ok {
			s |= osmread.Line
		}
		return s
	case posm.TypeRelation:
		if r.countyRelation != 0 && id == r.countyRelation {
			return osmread.Area
		}
		typ := tags.Find("type")
		if typ == "multipolygon" && (isBuilding(tags) || isWater(tags) || isCompound(tags)) {
			return osmread.Area
		}
		if typ == "multipolygon" {
			if _, ok := placeKind(tags, true); ok {
				return osmread.Area
			}
		}
		if (typ == "boundary" || typ == "multipolygon") && r.adminLevel(tags) != "" {
			return osmread.Area
		}
	}
	return 0
}

func (r *osmRules) adminLevel(tags posm.Tags) string {
	if tags.Find("boundary") != "administrative" {
		return ""
	}
	return r.adminLevels[strings.TrimSpace(tags.Find("admin_level"))]
}

// rows turns a feature read from the file into rows of the layers it
// belongs to (a building with a restaurant is a building and a place).
func (r *osmRules) rows(f *osmread.Feature) []stageRow {
	var out []stageRow
	sid := f.SourceID()
	polygonal := false
	switch f.Geometry.(type) {
	case orb.Polygon, orb.MultiPolygon:
		polygonal = true
	}
	if f.Type == posm.TypeRelation && r.countyRelation != 0 && f.ID == r.countyRelation {
		out = append(out, stageRow{layer: "scope", sourceID: sid, geom: f.Geometry})
	}
	tags := f.Tags
	if f.Type != posm.TypeNode && polygonal && isBuilding(tags) {
		out = append(out, buildingRow(sid, tags, f.Geometry))
	}
	if f.Type == posm.TypeWay {
		if kind, class, ok := lineBarrier(tags); ok {
			g := f.Geometry
			if p, isPoly := g.(orb.Polygon); isPoly {
				g = orb.LineString(p[0])
			}
			out = append(out, stageRow{layer: "barriers", sourceID: sid, kind: kind, roadClass: class, name: tags.Find("name"), geom: g})
		}
	}
	if f.Type != posm.TypeNode && polygonal && isWater(tags) {
		out = append(out, stageRow{layer: "barriers", sourceID: sid, kind: "water", name: tags.Find("name"), geom: f.Geometry})
	}
	if f.Type == posm.TypeRelation && polygonal {
		if level := r.adminLevel(tags); level != "" {
			out = append(out, stageRow{layer: "admin", sourceID: sid, kind: level, name: tags.Find("name"), nameEn: tags.Find("name:en"), geom: f.Geometry})
		}
	}
	if f.Type != posm.TypeNode && polygonal && isCompound(tags) {
		out = append(out, stageRow{layer: "compounds", sourceID: sid, name: tags.Find("name"), geom: f.Geometry})
	}
	if kind, ok := entranceKind(tags); ok && f.Type == posm.TypeNode {
		out = append(out, stageRow{layer: "entrances", sourceID: sid, kind: kind, name: tags.Find("name"), geom: f.Geometry})
	}
	if pk, ok := placeKind(tags, f.Type != posm.TypeNode); ok && (f.Type == posm.TypeNode || polygonal) {
		enclosed, poor := enclosure(tags, pk, f.Type != posm.TypeNode)
		out = append(out, stageRow{layer: "places", sourceID: sid, kind: pk.kind, name: tags.Find("name"),
			enclosed: &enclosed, poorlyVentilated: &poor, geom: f.Geometry})
	}
	return out
}

func isBuilding(tags posm.Tags) bool {
	v := tags.Find("building")
	return v != "" && v != "no"
}

func isWater(tags posm.Tags) bool {
	return tags.Find("natural") == "water" || tags.Find("landuse") == "reservoir"
}

// entranceKind classifies a node as a way in: a gate (barrier=gate and its
// kin, where a wall or fence opens) or an entrance (entrance=*, except
// "no"). The merge keeps those near a compound's outline (merge_entrances.sql).
func entranceKind(tags posm.Tags) (string, bool) {
	switch tags.Find("barrier") {
	case "gate", "lift_gate", "swing_gate", "sliding_gate", "turnstile", "kissing_gate", "full-height_turnstile", "entrance":
		return "gate", true
	}
	if e := tags.Find("entrance"); e != "" && e != "no" {
		return "entrance", true
	}
	return "", false
}

func isCompound(tags posm.Tags) bool {
	return (tags.Find("landuse") == "residential" || tags.Find("place") == "neighbourhood") &&
		strings.TrimSpace(tags.Find("name")) != ""
}

// underground reports a way below the surface (see osmRules).
func underground(tags posm.Tags) bool {
	switch tags.Find("tunnel") {
	case "yes", "culvert", "building_passage":
		return true
	}
	return tags.Find("location") == "underground"
}

// lineBarrier classifies a way as a line barrier: kind and road class.
func lineBarrier(tags posm.Tags) (kind, class string, ok bool) {
	if hw := tags.Find("highway"); hw != "" {
		switch hw {
		case "proposed", "abandoned", "razed", "disused":
			return "", "", false
		}
		if underground(tags) {
			return "", "", false
		}
		return "road", roadClass(hw), true
	}
	switch tags.Find("railway") {
	case "rail", "light_rail", "subway":
		if underground(tags) {
			return "", "", false
		}
		if l, err := strconv.Atoi(strings.TrimSpace(tags.Find("layer"))); err == nil && l < 0 {
			return "", "", false
		}
		return "railway", "", true
	}
	switch ww := tags.Find("waterway"); ww {
	case "river", "canal", "stream", "drain":
		if underground(tags) {
			return "", "", false
		}
		return ww, "", true
	}
	switch n := tags.Find("natural"); n {
	case "ridge", "cliff":
		return n, "", true
	}
	switch b := tags.Find("barrier"); b {
	case "wall", "fence":
		return b, "", true
	}
	return "", "", false
}

// roadClass maps highway=* to the schema's road classes.
func roadClass(hw string) string {
	base := strings.TrimSuffix(hw, "_link")
	switch base {
	case "motorway", "trunk", "primary", "secondary", "tertiary", "residential", "unclassified":
		return base
	case "living_street":
		return "residential"
	}
	return "minor"
}

// buildingKinds maps building=* values to the schema's kinds; values not
// listed are residential if they are in dwellingValues, else other.
var buildingKinds = map[string]string{
	"commercial": "commercial", "retail": "commercial", "supermarket": "commercial", "kiosk": "commercial",
	"hotel": "commercial", "shop": "commercial", "mall": "commercial",
	"office": "office",
	"public": "public", "civic": "public", "government": "public", "school": "public", "university": "public",
	"college": "public", "kindergarten": "public", "hospital": "public", "clinic": "public", "church": "public",
	"chapel": "public", "cathedral": "public", "mosque": "public", "temple": "public", "synagogue": "public",
	"shrine": "public", "religious": "public", "train_station": "public", "station": "public",
	"transportation": "public", "sports_hall": "public", "sports_centre": "public", "stadium": "public",
	"fire_station": "public", "museum": "public", "library": "public", "toilets": "public", "pavilion": "public",
	"industrial": "industrial", "warehouse": "industrial", "factory": "industrial", "manufacture": "industrial",
	"storage_tank": "industrial", "service": "industrial", "hangar": "industrial", "silo": "industrial",
}

// dwellingValues are building values where people live; singleUnitValues
// among them have one entrance (one unit).
var (
	dwellingValues = map[string]bool{
		"yes": true, "residential": true, "apartments": true, "house": true, "detached": true,
		"semidetached_house": true, "terrace": true, "dormitory": true, "bungalow": true, "cabin": true,
		"farm": true, "static_caravan": true, "houseboat": true, "ger": true,
	}
	singleUnitValues = map[string]bool{
		"house": true, "detached": true, "bungalow": true, "cabin": true, "farm": true,
		"static_caravan": true, "houseboat": true, "ger": true,
	}
)

func buildingRow(sid string, tags posm.Tags, g orb.Geometry) stageRow {
	v := tags.Find("building")
	kind, ok := buildingKinds[v]
	if !ok {
		kind = "other"
		if dwellingValues[v] {
			kind = "residential"
		}
	}
	row := stageRow{
		layer: "buildings", sourceID: sid, kind: kind, name: first(tags, "name", "addr:housename"),
		addrDistrict:  first(tags, "addr:district", "addr:city_district"),
		addrStreet:    tags.Find("addr:street"),
		addrCommunity: first(tags, "addr:neighbourhood", "addr:quarter", "addr:suburb"),
		addrCompound:  tags.Find("addr:place"),
		addrNumber:    tags.Find("addr:housenumber"),
		floors:        wholeNumber(tags.Find("building:levels"), 1, 200),
		flats:         wholeNumber(tags.Find("building:flats"), 1, 100000),
		singleUnit:    singleUnitValues[v],
		geom:          g,
	}
	return row
}

func first(tags posm.Tags, keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(tags.Find(k)); v != "" {
			return v
		}
	}
	return ""
}

// wholeNumber reads a tag value such as "6" or "6.0" within [lo, hi]; other
// values ("3;4", "many", "0") are unknown (nil).
func wholeNumber(s string, lo, hi int) *int32 {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		return nil
	}
	n := int32(f)
	return &n
}

// placeTag is the tag that makes an element a place.
type placeTag struct {
	key, value string
	kind       string
}

// notPlaces are amenity and leisure values that are not places where people
// stay together: street furniture, parking, open land.
var notPlaces = map[string]bool{
	"amenity=bench": true, "amenity=waste_basket": true, "amenity=waste_disposal": true, "amenity=recycling": true,
	"amenity=parking": true, "amenity=parking_space": true, "amenity=parking_entrance": true,
	"amenity=bicycle_parking": true, "amenity=motorcycle_parking": true, "amenity=vending_machine": true,
	"amenity=post_box": true, "amenity=telephone": true, "amenity=drinking_water": true, "amenity=fountain": true,
	"amenity=hunting_stand": true, "amenity=grit_bin": true, "amenity=clock": true, "amenity=atm": true,
	"amenity=charging_station": true, "amenity=bbq": true, "amenity=watering_place": true,
	"amenity=water_point": true, "amenity=letter_box": true, "amenity=loading_dock": true,
	"amenity=car_sharing": true, "amenity=bicycle_rental": true, "amenity=shelter": true, "amenity=fuel": true,
	"amenity=car_wash": true, "amenity=grave_yard": true, "amenity=compressed_air": true,
	"leisure=picnic_table": true, "leisure=slipway": true, "leisure=firepit": true, "leisure=nature_reserve": true,
	"leisure=common": true, "leisure=bird_hide": true, "leisure=dog_park": true, "leisure=marina": true,
}

// placeKind finds the place tag of an element: the first of amenity, shop,
// leisure and office. Its kind is the tag's value ("restaurant",
// "supermarket", "fitness_centre"), or the key when the value is "yes".
func placeKind(tags posm.Tags, polygon bool) (placeTag, bool) {
	for _, k := range []string{"amenity", "shop", "leisure", "office"} {
		v := strings.TrimSpace(tags.Find(k))
		if v == "" || v == "no" {
			continue
		}
		if notPlaces[k+"="+v] {
			return placeTag{}, false
		}
		kind := v
		if v == "yes" {
			kind = k
		}
		return placeTag{key: k, value: v, kind: kind}, true
	}
	return placeTag{}, false
}

// Enclosure guesses, by tag. Indoors (enclosed): every shop and office, and
// the amenity and leisure values in enclosedValues (restaurants, cafés, bars,
// cinemas, theatres, gyms, indoor markets, schools, clinics, places of
// worship...). Poorly ventilated, a subset: crowded rooms where people stay
// long or breathe hard with little fresh air — nightclubs, bars and pubs,
// karaoke, internet cafés, cinemas, theatres, casinos and gaming halls,
// public baths and saunas, gyms and dance halls, bowling alleys, escape
// rooms. Tags override the guess: indoor=yes, covered=yes or a building
// polygon make a place enclosed; covered=no or indoor=no make it open (and
// then not poorly ventilated). A marketplace is open unless it is covered or
// a building (the indoor markets).
var (
	enclosedValues = map[string]bool{
		"amenity=restaurant": true, "amenity=cafe": true, "amenity=fast_food": true, "amenity=food_court": true,
		"amenity=bar": true, "amenity=pub": true, "amenity=nightclub": true, "amenity=cinema": true,
		"amenity=theatre": true, "amenity=karaoke_box": true, "amenity=casino": true, "amenity=gambling": true,
		"amenity=internet_cafe": true, "amenity=library": true, "amenity=place_of_worship": true,
		"amenity=hospital": true, "amenity=clinic": true, "amenity=doctors": true, "amenity=dentist": true,
		"amenity=pharmacy": true, "amenity=school": true, "amenity=kindergarten": true, "amenity=childcare": true,
		"amenity=college": true, "amenity=university": true, "amenity=language_school": true,
		"amenity=music_school": true, "amenity=driving_school": true, "amenity=bank": true,
		"amenity=post_office": true, "amenity=townhall": true, "amenity=courthouse": true, "amenity=police": true,
		"amenity=fire_station": true, "amenity=community_centre": true, "amenity=social_centre": true,
		"amenity=social_facility": true, "amenity=nursing_home": true, "amenity=arts_centre": true,
		"amenity=public_bath": true, "amenity=conference_centre": true, "amenity=events_venue": true,
		"amenity=exhibition_centre": true, "amenity=toilets": true, "amenity=public_building": true,
		"amenity=prison": true, "amenity=veterinary": true, "amenity=mahjong": true,
		"leisure=fitness_centre": true, "leisure=sports_hall": true, "leisure=bowling_alley": true,
		"leisure=dance": true, "leisure=sauna": true, "leisure=amusement_arcade": true,
		"leisure=adult_gaming_centre": true, "leisure=escape_game": true, "leisure=ice_rink": true,
		"leisure=indoor_play": true, "leisure=hackerspace": true, "leisure=tanning_salon": true,
	}
	poorlyVentilatedValues = map[string]bool{
		"amenity=nightclub": true, "amenity=bar": true, "amenity=pub": true, "amenity=karaoke_box": true,
		"amenity=internet_cafe": true, "amenity=cinema": true, "amenity=theatre": true, "amenity=casino": true,
		"amenity=gambling": true, "amenity=public_bath": true, "amenity=mahjong": true,
		"leisure=sauna": true, "leisure=fitness_centre": true, "leisure=dance": true,
		"leisure=bowling_alley": true, "leisure=amusement_arcade": true, "leisure=adult_gaming_centre": true,
		"leisure=escape_game": true,
	}
)

func enclosure(tags posm.Tags, p placeTag, polygon bool) (enclosed, poorlyVentilated bool) {
	key := p.key + "=" + p.value
	enclosed = p.key == "shop" || p.key == "office" || enclosedValues[key]
	if polygon && isBuilding(tags) {
		enclosed = true
	}
	switch {
	case tags.Find("indoor") == "yes" || tags.Find("covered") == "yes":
		enclosed = true
	case tags.Find("indoor") == "no" || tags.Find("covered") == "no":
		enclosed = false
	}
	if key == "amenity=marketplace" {
		enclosed = tags.Find("covered") == "yes" || tags.Find("indoor") == "yes" || (polygon && isBuilding(tags))
	}
	poorlyVentilated = enclosed && poorlyVentilatedValues[key]
	return enclosed, poorlyVentilated
}
