package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/paulmach/orb/encoding/wkb"

	"github.com/riskzone/riskzone/geo/geojson"
)

// GeoJSON property mapping. Each layer reads the fields below from feature
// properties of the same name; --map FIELD=PROPERTY reads a field from
// another property (e.g. --map population=pop,addr_number=楼号). All fields
// are optional unless marked.
//
//	every layer  id                 the feature's stable id in its source; default: the feature's
//	                                "id" member, else an "id" property, else the SHA-256 of its
//	                                geometry (an edited shape is then a removal and an addition)
//	buildings    kind               residential (default), commercial, office, public, industrial, other
//	             name, addr_district, addr_street, addr_community, addr_compound, addr_number
//	             floors             1-200
//	             population         residents; estimated when absent
//	             flats              dwellings, used to derive units
//	             single_unit        true for one-entrance buildings (houses)
//	units        building (required) the id of its building in the same source
//	             number (required)  1-99
//	             name, floors, population (the building's shared out when absent)
//	barriers     kind (required)    road, river, canal, stream, drain, railway, ridge, cliff, water, wall, fence
//	             road_class         for roads (required): motorway, trunk, primary, secondary, tertiary,
//	                                residential, unclassified, minor
//	             name
//	admin        level (required)   province, city, county, street, community
//	             name, name_en
//	compounds    name (required)
//	places       kind (required), name, enclosed, poorly_ventilated (true/false, yes/no, 1/0)
var layerFields = map[string][]string{
	"buildings": {"id", "kind", "name", "addr_district", "addr_street", "addr_community", "addr_compound", "addr_number", "floors", "population", "flats", "single_unit"},
	"units":     {"id", "building", "number", "name", "floors", "population"},
	"barriers":  {"id", "kind", "road_class", "name"},
	"admin":     {"id", "level", "name", "name_en"},
	"compounds": {"id", "name"},
	"places":    {"id", "kind", "name", "enclosed", "poorly_ventilated"},
}

// Layers lists the layers a GeoJSON import can load.
func Layers() []string {
	out := make([]string, 0, len(layerFields))
	for l := range layerFields {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

var (
	buildingKindValues = []string{"residential", "commercial", "office", "public", "industrial", "other"}
	barrierKindValues  = []string{"road", "river", "canal", "stream", "drain", "railway", "ridge", "cliff", "water", "wall", "fence"}
	roadClassValues    = []string{"motorway", "trunk", "primary", "secondary", "tertiary", "residential", "unclassified", "minor"}
)

// ParseFieldMap reads --map values ("population=pop", possibly several
// separated by commas) into FIELD → PROPERTY.
func ParseFieldMap(values []string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			field, prop, ok := strings.Cut(part, "=")
			field, prop = strings.TrimSpace(field), strings.TrimSpace(prop)
			if !ok || field == "" || prop == "" {
				return nil, fmt.Errorf("--map %q: want FIELD=PROPERTY", part)
			}
			out[field] = prop
		}
	}
	return out, nil
}

// geojsonRules read features of one layer with a property mapping.
type geojsonRules struct {
	layer  string
	prop   map[string]string // field → property name
	hashID bool
}

func newGeoJSONRules(layer string, fieldMap map[string]string) (*geojsonRules, error) {
	fields, ok := layerFields[layer]
	if !ok {
		return nil, fmt.Errorf("unknown layer %q: want one of %s", layer, strings.Join(Layers(), ", "))
	}
	r := &geojsonRules{layer: layer, prop: map[string]string{}}
	for _, f := range fields {
		r.prop[f] = f
	}
	for f, p := range fieldMap {
		if !slices.Contains(fields, f) {
			return nil, fmt.Errorf("--map %s=%s: layer %s has no field %q (fields: %s)", f, p, layer, f, strings.Join(fields, ", "))
		}
		r.prop[f] = p
	}
	return r, nil
}

// fieldError is a property that cannot be read as its field.
type fieldError struct {
	field, prop string
	msg         string
}

func (e *fieldError) Error() string {
	if e.field == e.prop {
		return fmt.Sprintf("property %q: %s", e.prop, e.msg)
	}
	return fmt.Sprintf("property %q (field %s): %s", e.prop, e.field, e.msg)
}

// row turns a feature into a stage row, or says which property is wrong.
func (r *geojsonRules) row(f *geojson.Feature) (stageRow, error) {
	row := stageRow{layer: r.layer, geom: f.Geometry}
	id, err := r.sourceID(f)
	if err != nil {
		return row, err
	}
	row.sourceID = id
	switch r.layer {
	case "buildings":
		if row.kind, err = r.enum(f, "kind", buildingKindValues, false); err != nil {
			return row, err
		}
		for field, dst := range map[string]*string{"name": &row.name, "addr_district": &row.addrDistrict,
			"addr_street": &row.addrStreet, "addr_community": &row.addrCommunity, "addr_compound": &row.addrCompound,
			"addr_number": &row.addrNumber} {
			if *dst, err = r.text(f, field); err != nil {
				return row, err
			}
		}
		if row.floors, err = r.integer(f, "floors", 1, 200); err != nil {
			return row, err
		}
		if row.population, err = r.integer(f, "population", 0, math.MaxInt32); err != nil {
			return row, err
		}
		if row.flats, err = r.integer(f, "flats", 0, 100000); err != nil {
			return row, err
		}
		su, err := r.boolean(f, "single_unit")
		if err != nil {
			return row, err
		}
		row.singleUnit = su != nil && *su
	case "units":
		if row.buildingRef, err = r.text(f, "building"); err != nil {
			return row, err
		}
		if row.buildingRef == "" {
			return row, r.missing("building")
		}
		if row.number, err = r.integer(f, "number", 1, 99); err != nil {
			return row, err
		}
		if row.number == nil {
			return row, r.missing("number")
		}
		// A unit is identified by its building and number.
		row.sourceID = row.buildingRef + "#" + strconv.Itoa(int(*row.number))
		if row.name, err = r.text(f, "name"); err != nil {
			return row, err
		}
		if row.floors, err = r.integer(f, "floors", 1, 200); err != nil {
			return row, err
		}
		if row.population, err = r.integer(f, "population", 0, math.MaxInt32); err != nil {
			return row, err
		}
	case "barriers":
		if row.kind, err = r.enum(f, "kind", barrierKindValues, true); err != nil {
			return row, err
		}
		if row.roadClass, err = r.enum(f, "road_class", roadClassValues, row.kind == "road"); err != nil {
			return row, err
		}
		if row.kind != "road" {
			row.roadClass = ""
		}
		if row.name, err = r.text(f, "name"); err != nil {
			return row, err
		}
	case "admin":
		if row.kind, err = r.enum(f, "level", adminLevelNames, true); err != nil {
			return row, err
		}
		if row.name, err = r.text(f, "name"); err != nil {
			return row, err
		}
		if row.nameEn, err = r.text(f, "name_en"); err != nil {
			return row, err
		}
	case "compounds":
		if row.name, err = r.text(f, "name"); err != nil {
			return row, err
		}
		if row.name == "" {
			return row, r.missing("name")
		}
	case "places":
		if row.kind, err = r.text(f, "kind"); err != nil {
			return row, err
		}
		if row.kind == "" {
			return row, r.missing("kind")
		}
		if row.name, err = r.text(f, "name"); err != nil {
			return row, err
		}
		if row.enclosed, err = r.boolean(f, "enclosed"); err != nil {
			return row, err
		}
		if row.poorlyVentilated, err = r.boolean(f, "poorly_ventilated"); err != nil {
			return row, err
		}
	}
	return row, nil
}

func (r *geojsonRules) sourceID(f *geojson.Feature) (string, error) {
	if p := r.prop["id"]; p != "id" {
		s, err := r.text(f, "id")
		if err != nil {
			return "", err
		}
		if s == "" {
			return "", r.missing("id")
		}
		return s, nil
	}
	if f.ID != "" {
		return f.ID, nil
	}
	if s, err := r.text(f, "id"); err != nil || s != "" {
		return s, err
	}
	// No id: the geometry's hash, stable as long as the shape is.
	b, err := wkb.Marshal(f.Geometry)
	if err != nil || f.Geometry == nil {
		b = []byte("null")
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:12]), nil
}

func (r *geojsonRules) missing(field string) error {
	return &fieldError{field: field, prop: r.prop[field], msg: "is required for layer " + r.layer}
}

// text reads a string (numbers are taken as written).
func (r *geojsonRules) text(f *geojson.Feature, field string) (string, error) {
	p := r.prop[field]
	switch v := f.Properties[p].(type) {
	case nil:
		return "", nil
	case string:
		return strings.TrimSpace(v), nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	default:
		return "", &fieldError{field: field, prop: p, msg: "is not a string or a number"}
	}
}

// integer reads a whole number within [lo, hi]; absent or null is nil.
func (r *geojsonRules) integer(f *geojson.Feature, field string, lo, hi int) (*int32, error) {
	p := r.prop[field]
	var s string
	switch v := f.Properties[p].(type) {
	case nil:
		return nil, nil
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
		if s == "" {
			return nil, nil
		}
	default:
		return nil, &fieldError{field: field, prop: p, msg: "is not a number"}
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || x != math.Trunc(x) {
		return nil, &fieldError{field: field, prop: p, msg: fmt.Sprintf("%q is not a whole number", s)}
	}
	if x < float64(lo) || x > float64(hi) {
		return nil, &fieldError{field: field, prop: p, msg: fmt.Sprintf("%s is out of range [%d, %d]", s, lo, hi)}
	}
	n := int32(x)
	return &n, nil
}

// boolean reads true/false, yes/no or 1/0; absent or null is nil.
func (r *geojsonRules) boolean(f *geojson.Feature, field string) (*bool, error) {
	p := r.prop[field]
	var s string
	switch v := f.Properties[p].(type) {
	case nil:
		return nil, nil
	case bool:
		return &v, nil
	case json.Number:
		s = v.String()
	case string:
		s = strings.ToLower(strings.TrimSpace(v))
	default:
		return nil, &fieldError{field: field, prop: p, msg: "is not a boolean"}
	}
	var b bool
	switch s {
	case "true", "yes", "1", "y", "t":
		b = true
	case "false", "no", "0", "n", "f":
		b = false
	case "":
		return nil, nil
	default:
		return nil, &fieldError{field: field, prop: p, msg: fmt.Sprintf("%q is not a boolean (true/false, yes/no, 1/0)", s)}
	}
	return &b, nil
}

// enum reads one of a set of values.
func (r *geojsonRules) enum(f *geojson.Feature, field string, allowed []string, required bool) (string, error) {
	s, err := r.text(f, field)
	if err != nil {
		return "", err
	}
	if s == "" {
		if required {
			return "", r.missing(field)
		}
		return "", nil
	}
	if !slices.Contains(allowed, s) {
		return "", &fieldError{field: field, prop: r.prop[field], msg: fmt.Sprintf("%q is not one of %s", s, strings.Join(allowed, ", "))}
	}
	return s, nil
}
