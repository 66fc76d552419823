package zoning

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// OASIS Common Alerting Protocol 1.2 (SPEC §5 "Notices out"): one message
// per notice, written once at publication and served as stored. The
// pitfalls the code guards against:
//
//   - polygons are "lat,lon" pairs separated by spaces (not lon,lat),
//     closed, at least 4 pairs, at most 7 decimals (geo.CoordDecimals,
//     about 1 cm: the polygons are the public map's, not an approximation),
//     not self-intersecting;
//     CAP polygons have no holes: only exterior rings are written, and a
//     multipolygon becomes several <polygon> elements of one <area>;
//   - times carry an offset and never "Z": UTC is written "-00:00" and
//     China "+08:00", to the second;
//   - Update and Cancel carry <references>: "sender,identifier,sent"
//     triples separated by spaces, the whole chain. An Update states the
//     whole situation: its areas replace the areas of every message it
//     references, so a consumer that applies the chain holds exactly the
//     zones in force; a Cancel ends the chain (nothing remains in force);
//   - each area names its zone in <geocode> (valueName CAPGeocodeZone,
//     value the zone id; CAPGeocodeVersion, the version), so consumers can
//     match areas across messages without comparing polygons;
//   - <expires> is always set; effective, onset and expires are never
//     before sent;
//   - one <info> per language (zh-CN, en), plain text.

// CAPNamespace is the XML namespace of CAP 1.2.
const CAPNamespace = "urn:oasis:names:tc:emergency:cap:1.2"

// CAPTime writes t as CAP wants it: seconds, an explicit offset, "-00:00"
// for UTC (RFC 3339 "Z" is not allowed).
func CAPTime(t time.Time) string {
	s := t.Truncate(time.Second).Format("2006-01-02T15:04:05-07:00")
	if strings.HasSuffix(s, "+00:00") {
		s = strings.TrimSuffix(s, "+00:00") + "-00:00"
	}
	return s
}

// ParseCAPTime reads a CAP time.
func ParseCAPTime(s string) (time.Time, error) {
	if strings.HasSuffix(s, "Z") || len(s) != len("2006-01-02T15:04:05-07:00") {
		return time.Time{}, fmt.Errorf("CAP time %q: want YYYY-MM-DDThh:mm:ss±hh:mm", s)
	}
	return time.Parse("2006-01-02T15:04:05-07:00", s)
}

// CAPRef names an earlier message: sender, identifier and sent as written
// in it.
type CAPRef struct {
	Sender, Identifier, Sent string
}

// String is the "sender,identifier,sent" triple.
func (r CAPRef) String() string { return r.Sender + "," + r.Identifier + "," + r.Sent }

// CAPArea is one zone: a short description, its exterior rings as
// [lon, lat] positions (converted to lat,lon when written) and its
// geocodes.
type CAPArea struct {
	Desc     string
	Rings    [][][2]float64
	Geocodes []CAPValue
}

// CAPValue is a CAP valueName/value pair (<geocode>, <parameter>).
type CAPValue struct {
	ValueName string `xml:"valueName"`
	Value     string `xml:"value"`
}

// Geocode value names of riskzone areas.
const (
	CAPGeocodeZone    = "riskzone:zone"
	CAPGeocodeVersion = "riskzone:zone_version"
)

// CAPAreaDesc is the <areaDesc> of a zone: its first address and how many
// more (ShortAreaDesc), at most 120 characters.
func CAPAreaDesc(z ZoneText, lang string) string {
	d := ShortAreaDesc(z, lang)
	if r := []rune(d); len(r) > 120 {
		d = string(r[:119]) + "…"
	}
	return d
}

// CAPInfo is the <info> block of one language.
type CAPInfo struct {
	Language     string
	Event        string
	ResponseType string
	Urgency      string
	Severity     string
	Certainty    string
	Headline     string
	Description  string
	Instruction  string
	SenderName   string
	Web          string
	Contact      string
	Areas        []CAPArea
}

// CAPMessage is a message to write.
type CAPMessage struct {
	Identifier string
	Sender     string
	Sent       time.Time
	Status     string // Actual, Exercise, Test
	MsgType    string // Alert, Update, Cancel
	Note       string
	References []CAPRef
	Effective  time.Time
	Onset      time.Time
	Expires    time.Time
	Infos      []CAPInfo
}

type capAlert struct {
	XMLName    xml.Name  `xml:"urn:oasis:names:tc:emergency:cap:1.2 alert"`
	Identifier string    `xml:"identifier"`
	Sender     string    `xml:"sender"`
	Sent       string    `xml:"sent"`
	Status     string    `xml:"status"`
	MsgType    string    `xml:"msgType"`
	Scope      string    `xml:"scope"`
	Note       string    `xml:"note,omitempty"`
	References string    `xml:"references,omitempty"`
	Infos      []capInfo `xml:"info"`
}

type capInfo struct {
	Language     string      `xml:"language"`
	Category     []string    `xml:"category"`
	Event        string      `xml:"event"`
	ResponseType string      `xml:"responseType,omitempty"`
	Urgency      string      `xml:"urgency"`
	Severity     string      `xml:"severity"`
	Certainty    string      `xml:"certainty"`
	Effective    string      `xml:"effective"`
	Onset        string      `xml:"onset"`
	Expires      string      `xml:"expires"`
	SenderName   string      `xml:"senderName,omitempty"`
	Headline     string      `xml:"headline,omitempty"`
	Description  string      `xml:"description,omitempty"`
	Instruction  string      `xml:"instruction,omitempty"`
	Web          string      `xml:"web,omitempty"`
	Contact      string      `xml:"contact,omitempty"`
	Parameter    []capParam  `xml:"parameter,omitempty"`
	Areas        []capAreaEl `xml:"area"`
}

type capParam struct {
	ValueName string `xml:"valueName"`
	Value     string `xml:"value"`
}

type capAreaEl struct {
	AreaDesc string     `xml:"areaDesc"`
	Polygons []string   `xml:"polygon"`
	Geocodes []CAPValue `xml:"geocode"`
}

// capTextOK reports whether s may be an identifier or sender: no spaces,
// commas, '<' or '&' (CAP 1.2 §3.2.1).
func capTextOK(s string) bool {
	return s != "" && !strings.ContainsAny(s, " ,<&\t\n\r")
}

// Validate checks the rules that the XML schema cannot: identifiers,
// times, references and polygons.
func (m CAPMessage) Validate() error {
	if !capTextOK(m.Identifier) || !capTextOK(m.Sender) {
		return fmt.Errorf("CAP identifier %q and sender %q must be non-empty without spaces, commas, '<' or '&'", m.Identifier, m.Sender)
	}
	switch m.MsgType {
	case CAPAlert:
		if len(m.References) > 0 {
			return fmt.Errorf("CAP Alert with references: an Alert starts a chain")
		}
	case CAPUpdate, CAPCancel:
		if len(m.References) == 0 {
			return fmt.Errorf("CAP %s without references: it must name the messages it updates or cancels", m.MsgType)
		}
	default:
		return fmt.Errorf("CAP msgType %q: want Alert, Update or Cancel", m.MsgType)
	}
	for _, r := range m.References {
		if !capTextOK(r.Sender) || !capTextOK(r.Identifier) {
			return fmt.Errorf("CAP reference %q: sender and identifier without spaces or commas", r.String())
		}
		if _, err := ParseCAPTime(r.Sent); err != nil {
			return fmt.Errorf("CAP reference %q: %w", r.String(), err)
		}
	}
	sent := m.Sent.Truncate(time.Second)
	for name, t := range map[string]time.Time{"effective": m.Effective, "onset": m.Onset, "expires": m.Expires} {
		if t.IsZero() {
			return fmt.Errorf("CAP %s is missing", name)
		}
		if t.Truncate(time.Second).Before(sent) {
			return fmt.Errorf("CAP %s %s is before sent %s", name, CAPTime(t), CAPTime(m.Sent))
		}
	}
	if !m.Expires.After(m.Sent) {
		return fmt.Errorf("CAP expires %s is not after sent %s", CAPTime(m.Expires), CAPTime(m.Sent))
	}
	if len(m.Infos) == 0 {
		return fmt.Errorf("CAP message without info")
	}
	for _, in := range m.Infos {
		for _, a := range in.Areas {
			if plainText(a.Desc) == "" { // what is written: control characters dropped, ends trimmed
				return fmt.Errorf("CAP area without areaDesc")
			}
			for _, r := range a.Rings {
				if _, err := CAPPolygon(r); err != nil {
					return fmt.Errorf("CAP area %q: %w", a.Desc, err)
				}
			}
		}
	}
	return nil
}

// Marshal validates the message and writes it as CAP 1.2 XML.
func (m CAPMessage) Marshal() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	a := capAlert{Identifier: m.Identifier, Sender: m.Sender, Sent: CAPTime(m.Sent), Status: m.Status, MsgType: m.MsgType,
		Scope: "Public", Note: plainText(m.Note)}
	refs := make([]string, len(m.References))
	for i, r := range m.References {
		refs[i] = r.String()
	}
	a.References = strings.Join(refs, " ")
	for _, in := range m.Infos {
		ci := capInfo{Language: in.Language, Category: []string{"Health"}, Event: in.Event, ResponseType: in.ResponseType,
			Urgency: in.Urgency, Severity: in.Severity, Certainty: in.Certainty,
			Effective: CAPTime(m.Effective), Onset: CAPTime(m.Onset), Expires: CAPTime(m.Expires),
			SenderName: plainText(in.SenderName), Headline: plainText(in.Headline), Description: plainText(in.Description),
			Instruction: plainText(in.Instruction), Web: in.Web, Contact: plainText(in.Contact)}
		for _, ar := range in.Areas {
			el := capAreaEl{AreaDesc: plainText(ar.Desc), Geocodes: ar.Geocodes}
			for _, r := range ar.Rings {
				p, err := CAPPolygon(r)
				if err != nil {
					return nil, err
				}
				el.Polygons = append(el.Polygons, p)
			}
			ci.Areas = append(ci.Areas, el)
		}
		a.Infos = append(a.Infos, ci)
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(a); err != nil {
		return nil, fmt.Errorf("encode CAP: %w", err)
	}
	buf.WriteString("\n")
	return buf.Bytes(), nil
}

// plainText drops characters XML 1.0 cannot carry and trims the ends; CAP
// text fields are plain text (no markup is added, the encoder escapes).
func plainText(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r != 0xFFFE && r != 0xFFFF {
			return r
		}
		return -1
	}, s))
}

// CAPPolygon writes one exterior ring of [lon, lat] positions as a CAP
// polygon: "lat,lon" pairs with at most 7 decimals, closed, consecutive
// duplicates (after rounding) dropped. It fails when fewer than 4 pairs
// remain, a position is out of range, or the ring crosses itself.
func CAPPolygon(ring [][2]float64) (string, error) {
	pts := make([][2]float64, 0, len(ring)+1)
	for _, p := range ring {
		lon, lat := round7(p[0]), round7(p[1])
		if math.IsNaN(lon) || math.IsNaN(lat) || lon < -180 || lon > 180 || lat < -90 || lat > 90 {
			return "", fmt.Errorf("polygon position %v out of range", p)
		}
		q := [2]float64{lon, lat}
		if len(pts) > 0 && pts[len(pts)-1] == q {
			continue
		}
		pts = append(pts, q)
	}
	if len(pts) > 0 && pts[0] != pts[len(pts)-1] {
		pts = append(pts, pts[0])
	}
	if len(pts) < 4 {
		return "", fmt.Errorf("polygon has %d distinct closed positions after rounding to 7 decimals: CAP needs at least 4 pairs", len(pts))
	}
	if i, j, ok := selfIntersection(pts); ok {
		return "", fmt.Errorf("polygon crosses itself (edges %d and %d)", i+1, j+1)
	}
	var b strings.Builder
	for i, p := range pts {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatFloat(p[1], 'f', -1, 64))
		b.WriteByte(',')
		b.WriteString(strconv.FormatFloat(p[0], 'f', -1, 64))
	}
	return b.String(), nil
}

func round7(x float64) float64 { return math.Round(x*1e7) / 1e7 }

// selfIntersection finds two non-adjacent edges of a closed ring that
// touch or cross. Rings from PostGIS are valid already; this guards the
// rounding. It is quadratic, so rings over 4000 positions are trusted.
func selfIntersection(pts [][2]float64) (int, int, bool) {
	n := len(pts) - 1 // edges
	if n > 4000 {
		return 0, 0, false
	}
	for i := 0; i < n; i++ {
		a, b := pts[i], pts[i+1]
		for j := i + 1; j < n; j++ {
			if j == i+1 || (i == 0 && j == n-1) {
				continue // adjacent edges share a vertex
			}
			if segmentsTouch(a, b, pts[j], pts[j+1]) {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

func orient(a, b, c [2]float64) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

func onSegment(a, b, p [2]float64) bool {
	return math.Min(a[0], b[0]) <= p[0] && p[0] <= math.Max(a[0], b[0]) &&
		math.Min(a[1], b[1]) <= p[1] && p[1] <= math.Max(a[1], b[1])
}

func segmentsTouch(p1, p2, q1, q2 [2]float64) bool {
	d1, d2 := orient(q1, q2, p1), orient(q1, q2, p2)
	d3, d4 := orient(p1, p2, q1), orient(p1, p2, q2)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	return d1 == 0 && onSegment(q1, q2, p1) || d2 == 0 && onSegment(q1, q2, p2) ||
		d3 == 0 && onSegment(p1, p2, q1) || d4 == 0 && onSegment(p1, p2, q2)
}

// CAPHeader is what a stored CAP message says about itself: enough to
// reference it from a later message.
type CAPHeader struct {
	Identifier string `xml:"identifier"`
	Sender     string `xml:"sender"`
	Sent       string `xml:"sent"`
	MsgType    string `xml:"msgType"`
	References string `xml:"references"`
}

// ParseCAPHeader reads the header of a stored CAP message.
func ParseCAPHeader(doc []byte) (CAPHeader, error) {
	var h CAPHeader
	if err := xml.Unmarshal(doc, &h); err != nil {
		return h, fmt.Errorf("parse CAP: %w", err)
	}
	return h, nil
}

// Ref is the reference to the message h heads.
func (h CAPHeader) Ref() CAPRef {
	return CAPRef{Sender: h.Sender, Identifier: h.Identifier, Sent: h.Sent}
}
