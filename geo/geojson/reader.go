// Package geojson reads an RFC 7946 GeoJSON FeatureCollection as a stream of
// features, one at a time, with encoding/json's Decoder token API: the
// "features" array is never held in memory, so a file of any size is read in
// the memory of its largest feature.
//
// Input is checked as it is read, and every problem is an *Error that says
// where it is (byte offset, line and column, feature index):
//
//   - malformed JSON (the exact line and column of the bad byte);
//   - a top level that is not a FeatureCollection, a feature that is not a
//     Feature, an unknown or malformed geometry;
//   - a "crs" member naming anything but WGS 84 lon/lat. RFC 7946 removed
//     "crs"; files from older tools still carry one, so an absent or null crs,
//     or one naming OGC CRS84 or EPSG:4326 (read, as GeoJSON always is, in
//     lon/lat order), is accepted and anything else refused;
//   - coordinates out of range, rings open or too short, lines too short
//     (geo.Validate; the rule is named in the error);
//   - a feature over the reader's size limit (ErrTooLarge), refused before
//     more of it than the limit is read.
//
// Topology (self-intersection) is not judged here: the importer lets PostGIS
// repair it.
package geojson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"github.com/riskzone/riskzone/geo"
)

// Feature is one GeoJSON feature. Geometry is nil for a feature whose
// geometry is null (allowed by RFC 7946 §3.2).
type Feature struct {
	Index      int            // position in the features array, from 0
	ID         string         // the "id" member (a string or a number as written), or ""
	Properties map[string]any // numbers as json.Number
	Geometry   orb.Geometry
	Line       int   // line of the feature's first byte, from 1
	Offset     int64 // byte offset of the feature's first byte, from 0
}

// Error is a problem in the input and where it is.
type Error struct {
	Offset  int64  // byte offset from the start of the input, from 0
	Line    int    // from 1
	Column  int    // in bytes, from 1
	Feature int    // index in the features array, or -1 outside it
	ID      string // the feature's id, when known
	Err     error  // the cause: *json.SyntaxError, *geo.ValidationError, ErrCRS, ErrStructure...
}

// Error reads "line L, column C (byte offset O): feature F (id X): cause".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "line %d, column %d (byte offset %d)", e.Line, e.Column, e.Offset)
	if e.Feature >= 0 {
		fmt.Fprintf(&b, ": feature %d", e.Feature)
		if e.ID != "" {
			fmt.Fprintf(&b, " (id %s)", e.ID)
		}
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Causes an *Error can carry besides JSON and validation errors.
var (
	// ErrSyntax: the input is not well-formed JSON (or ends too early).
	ErrSyntax = errors.New("malformed JSON")
	// ErrEmpty: the input holds nothing but white space.
	ErrEmpty = errors.New("the file is empty")
	// ErrStructure: well-formed JSON that is not a GeoJSON FeatureCollection.
	ErrStructure = errors.New("not a GeoJSON FeatureCollection")
	// ErrCRS: a crs member names a coordinate system other than WGS 84 lon/lat.
	ErrCRS = errors.New("coordinate reference system is not WGS 84 (RFC 7946 GeoJSON is always WGS 84 lon/lat)")
	// ErrTooLarge: one feature (or another member) is over the reader's limit.
	ErrTooLarge = errors.New("too large")
)

// wgs84Names are the crs names accepted: all mean WGS 84 longitude/latitude
// as GeoJSON writes it. Compared case-insensitively.
var wgs84Names = []string{
	"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "OGC:CRS84", "CRS84",
	"http://www.opengis.net/def/crs/OGC/1.3/CRS84",
	"urn:ogc:def:crs:EPSG::4326", "EPSG:4326", "http://www.opengis.net/def/crs/EPSG/0/4326",
}

// Reader reads features from a FeatureCollection one at a time.
type Reader struct {
	t     *tracker
	dec   *json.Decoder
	state int
	index int
	sawFC bool // type: FeatureCollection seen
	sawFS bool // features seen
	err   error
}

const (
	stateStart = iota
	stateTop
	stateFeatures
	stateEnd
)

// DefaultMaxFeatureBytes is the largest feature NewReader reads: a
// building or an admin boundary is a few KiB to a few MiB of GeoJSON, and
// the decoder holds a whole feature (about three times its size) at once.
const DefaultMaxFeatureBytes = 16 << 20

// NewReader returns a Reader of r that refuses a feature (or another member
// of the collection) over DefaultMaxFeatureBytes. It reads r in chunks as
// features are asked for.
func NewReader(r io.Reader) *Reader { return NewReaderLimit(r, DefaultMaxFeatureBytes) }

// NewReaderLimit is NewReader with another limit in bytes on one feature
// (white space and separators before it included); 0 or less means the
// default. A feature over it is an *Error wrapping ErrTooLarge, read no
// further than the limit.
func NewReaderLimit(r io.Reader, maxFeature int64) *Reader {
	if maxFeature <= 0 {
		maxFeature = DefaultMaxFeatureBytes
	}
	t := &tracker{r: r, max: maxFeature}
	dec := json.NewDecoder(t)
	dec.UseNumber() // property values keep their digits
	rd := &Reader{t: t, dec: dec}
	t.tooLarge = func() error {
		what := "a member of the FeatureCollection"
		if rd.state == stateFeatures {
			what = "the feature"
		}
		return fmt.Errorf("%w: %s is over the limit of %d bytes", ErrTooLarge, what, maxFeature)
	}
	return rd
}

// BytesRead is how much of the input has been read so far (for progress).
func (r *Reader) BytesRead() int64 { return r.t.read }

// Next returns the next feature, io.EOF after the last one once the rest of
// the document has been checked, or an *Error. After an error every call
// returns it again.
func (r *Reader) Next() (*Feature, error) {
	if r.err != nil {
		return nil, r.err
	}
	f, err := r.next()
	if err != nil {
		r.err = err
	}
	return f, err
}

func (r *Reader) next() (*Feature, error) {
	for {
		switch r.state {
		case stateStart:
			tok, err := r.dec.Token()
			if err == io.EOF {
				return nil, r.errAt(0, -1, "", ErrEmpty)
			}
			if err != nil {
				return nil, r.syntax(err, -1, "")
			}
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return nil, r.errAt(r.dec.InputOffset()-1, -1, "", fmt.Errorf("%w: the top level must be an object", ErrStructure))
			}
			r.state = stateTop
		case stateTop:
			r.t.release(r.dec.InputOffset())
			if !r.dec.More() {
				if err := r.finish(); err != nil {
					return nil, err
				}
				r.state = stateEnd
				continue
			}
			if err := r.member(); err != nil {
				return nil, err
			}
		case stateFeatures:
			r.t.release(r.dec.InputOffset())
			if r.dec.More() {
				return r.feature()
			}
			if _, err := r.dec.Token(); err != nil { // the closing ]
				return nil, r.syntax(err, -1, "")
			}
			r.state = stateTop
		case stateEnd:
			return nil, io.EOF
		}
	}
}

// member reads one member of the top-level object.
func (r *Reader) member() error {
	keyAt := r.skipSeparators(r.dec.InputOffset())
	tok, err := r.dec.Token()
	if err != nil {
		return r.syntax(err, -1, "")
	}
	key, _ := tok.(string)
	switch key {
	case "type":
		var typ string
		if err := r.dec.Decode(&typ); err != nil {
			return r.valueErr(err, keyAt, "type")
		}
		if typ != "FeatureCollection" {
			return r.errAt(keyAt, -1, "", fmt.Errorf("%w: type is %q", ErrStructure, typ))
		}
		r.sawFC = true
	case "crs":
		var crs json.RawMessage
		if err := r.dec.Decode(&crs); err != nil {
			return r.valueErr(err, keyAt, "crs")
		}
		if err := checkCRS(crs); err != nil {
			return r.errAt(keyAt, -1, "", err)
		}
	case "features":
		if r.sawFS {
			return r.errAt(keyAt, -1, "", fmt.Errorf("%w: two features members", ErrStructure))
		}
		r.sawFS = true
		tok, err := r.dec.Token()
		if err != nil {
			return r.syntax(err, -1, "")
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return r.errAt(keyAt, -1, "", fmt.Errorf("%w: features is not an array", ErrStructure))
		}
		r.state = stateFeatures
	default:
		// bbox and foreign members: skipped token by token, never held.
		if err := r.skip(); err != nil {
			return err
		}
	}
	return nil
}

// finish checks the end of the document.
func (r *Reader) finish() error {
	if _, err := r.dec.Token(); err != nil { // the closing }
		return r.syntax(err, -1, "")
	}
	end := r.dec.InputOffset()
	if !r.sawFC {
		return r.errAt(end, -1, "", fmt.Errorf("%w: no \"type\": \"FeatureCollection\" member", ErrStructure))
	}
	if !r.sawFS {
		return r.errAt(end, -1, "", fmt.Errorf("%w: no \"features\" member", ErrStructure))
	}
	if _, err := r.dec.Token(); err != io.EOF {
		if err != nil {
			return r.syntax(err, -1, "")
		}
		return r.errAt(end, -1, "", fmt.Errorf("%w: more data after the FeatureCollection", ErrSyntax))
	}
	return nil
}

// skip reads past one value of any size token by token.
func (r *Reader) skip() error {
	depth := 0
	for {
		tok, err := r.dec.Token()
		if err != nil {
			return r.syntax(err, -1, "")
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
		r.t.release(r.dec.InputOffset())
	}
}

// rawFeature is a feature before its geometry's coordinates are read.
type rawFeature struct {
	Type       string          `json:"type"`
	ID         json.RawMessage `json:"id"`
	Geometry   *rawGeometry    `json:"geometry"`
	Properties map[string]any  `json:"properties"`
}

func (r *Reader) feature() (*Feature, error) {
	idx := r.index
	r.index++
	before := r.dec.InputOffset()
	var rf rawFeature
	err := r.dec.Decode(&rf)
	// The feature's bytes are kept from before on: find where it starts.
	start := r.skipSeparators(before)
	if errors.Is(err, ErrTooLarge) {
		return nil, r.errAt(start, idx, "", err)
	}
	if err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, r.errAt(start, idx, "", fmt.Errorf("%w: member %q has the wrong type (%s)", ErrStructure, te.Field, te.Value))
		}
		return nil, r.syntax(err, idx, "")
	}
	line, _ := r.t.position(start)
	id := idString(rf.ID)
	if rf.Type != "Feature" {
		return nil, r.errAt(start, idx, id, fmt.Errorf("%w: type is %q, want \"Feature\"", ErrStructure, rf.Type))
	}
	if rf.Properties == nil {
		rf.Properties = map[string]any{}
	}
	g, err := rf.Geometry.geometry()
	if err != nil {
		return nil, r.errAt(start, idx, id, fmt.Errorf("geometry: %w", err))
	}
	if g != nil {
		if err := geo.Validate(g); err != nil {
			return nil, r.errAt(start, idx, id, fmt.Errorf("geometry: %w", err))
		}
	}
	return &Feature{Index: idx, ID: id, Properties: rf.Properties, Geometry: g, Line: line, Offset: start}, nil
}

func idString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw) // a number, as written
}

type rawGeometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
	Geometries  []*rawGeometry  `json:"geometries"`
}

// geometry reads the coordinates of a GeoJSON geometry; null gives nil.
func (rg *rawGeometry) geometry() (orb.Geometry, error) {
	if rg == nil {
		return nil, nil
	}
	if rg.Type == "GeometryCollection" {
		c := orb.Collection{}
		for i, m := range rg.Geometries {
			g, err := m.geometry()
			if err != nil {
				return nil, fmt.Errorf("geometry %d: %w", i, err)
			}
			if g == nil {
				return nil, fmt.Errorf("geometry %d: %w: null inside a GeometryCollection", i, ErrStructure)
			}
			c = append(c, g)
		}
		return c, nil
	}
	if len(bytes.TrimSpace(rg.Coordinates)) == 0 {
		return nil, fmt.Errorf("%w: %s without coordinates", ErrStructure, rg.Type)
	}
	switch rg.Type {
	case "Point":
		var c []float64
		if err := json.Unmarshal(rg.Coordinates, &c); err != nil {
			return nil, fmt.Errorf("coordinates: %w", err)
		}
		return position(c, "")
	case "MultiPoint", "LineString":
		var c [][]float64
		if err := json.Unmarshal(rg.Coordinates, &c); err != nil {
			return nil, fmt.Errorf("coordinates: %w", err)
		}
		pts, err := positions(c, "")
		if err != nil {
			return nil, err
		}
		if rg.Type == "MultiPoint" {
			return orb.MultiPoint(pts), nil
		}
		return orb.LineString(pts), nil
	case "Polygon", "MultiLineString":
		var c [][][]float64
		if err := json.Unmarshal(rg.Coordinates, &c); err != nil {
			return nil, fmt.Errorf("coordinates: %w", err)
		}
		if rg.Type == "Polygon" {
			return polygon(c, "")
		}
		ml := orb.MultiLineString{}
		for i, l := range c {
			pts, err := positions(l, fmt.Sprintf("line %d, ", i))
			if err != nil {
				return nil, err
			}
			ml = append(ml, pts)
		}
		return ml, nil
	case "MultiPolygon":
		var c [][][][]float64
		if err := json.Unmarshal(rg.Coordinates, &c); err != nil {
			return nil, fmt.Errorf("coordinates: %w", err)
		}
		mp := orb.MultiPolygon{}
		for i, p := range c {
			poly, err := polygon(p, fmt.Sprintf("polygon %d, ", i))
			if err != nil {
				return nil, err
			}
			mp = append(mp, poly)
		}
		return mp, nil
	default:
		return nil, fmt.Errorf("%w: unknown geometry type %q", ErrStructure, rg.Type)
	}
}

func position(c []float64, where string) (orb.Point, error) {
	if len(c) < 2 {
		return orb.Point{}, fmt.Errorf("%w: %sposition has %d number(s), need 2 (lon, lat)", ErrStructure, where, len(c))
	}
	return orb.Point{c[0], c[1]}, nil
}

func positions(c [][]float64, where string) ([]orb.Point, error) {
	pts := make([]orb.Point, len(c))
	for i, p := range c {
		pt, err := position(p, where+"position "+strconv.Itoa(i)+": ")
		if err != nil {
			return nil, err
		}
		pts[i] = pt
	}
	return pts, nil
}

func polygon(c [][][]float64, where string) (orb.Polygon, error) {
	p := orb.Polygon{}
	for i, r := range c {
		pts, err := positions(r, fmt.Sprintf("%sring %d, ", where, i))
		if err != nil {
			return nil, err
		}
		p = append(p, orb.Ring(pts))
	}
	return p, nil
}

// checkCRS accepts an absent/null crs or a named WGS 84 lon/lat one.
func checkCRS(raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var crs struct {
		Type       string `json:"type"`
		Properties struct {
			Name string `json:"name"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &crs); err != nil || crs.Type != "name" {
		return fmt.Errorf("%w: crs %s (only a named crs of WGS 84, e.g. urn:ogc:def:crs:OGC:1.3:CRS84, is accepted)", ErrCRS, truncate(string(raw), 120))
	}
	for _, n := range wgs84Names {
		if strings.EqualFold(crs.Properties.Name, n) {
			return nil
		}
	}
	return fmt.Errorf("%w: crs %q; reproject to WGS 84 first (e.g. ogr2ogr -t_srs EPSG:4326 out.geojson in.geojson)", ErrCRS, crs.Properties.Name)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// errAt makes an *Error at offset off.
func (r *Reader) errAt(off int64, feature int, id string, err error) *Error {
	line, col := r.t.position(off)
	return &Error{Offset: off, Line: line, Column: col, Feature: feature, ID: id, Err: err}
}

// syntax places an error from the decoder. The decoder stops at the start of
// the value or token it could not read; that value is re-scanned from the
// kept bytes to find the exact byte at fault.
func (r *Reader) syntax(err error, feature int, id string) *Error {
	at := r.dec.InputOffset()
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return r.errAt(r.t.read, feature, id, fmt.Errorf("%w: unexpected end of input (the file is truncated)", ErrSyntax))
	case errors.As(err, &se):
		off := r.locate(at)
		return r.errAt(off, feature, id, fmt.Errorf("%w: %s", ErrSyntax, se.Error()))
	default:
		return r.errAt(at, feature, id, err)
	}
}

// skipSeparators returns the offset of the first byte at or after off that
// is not white space, a comma or a colon.
func (r *Reader) skipSeparators(off int64) int64 {
	b := r.t.from(off)
	n := 0
	for n < len(b) && strings.IndexByte(" \t\r\n,:", b[n]) >= 0 {
		n++
	}
	return off + int64(n)
}

// locate finds the first bad byte at or after offset at by scanning the kept
// bytes from there as a JSON value. It falls back to at.
func (r *Reader) locate(at int64) int64 {
	start := r.skipSeparators(at)
	skipped := start - at
	b := r.t.from(start)
	if len(b) == 0 {
		return at
	}
	var v json.RawMessage
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			// A fresh decoder counts from the start of b, white space included.
			return at + skipped + se.Offset - 1
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return r.t.read
		}
	}
	return at + skipped
}

// valueErr places an error in a top-level member's value.
func (r *Reader) valueErr(err error, keyAt int64, member string) *Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return r.errAt(keyAt, -1, "", fmt.Errorf("%w: %s has the wrong type (%s)", ErrStructure, member, te.Value))
	}
	return r.syntax(err, -1, "")
}
