package zoning

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"time"
)

// Atom (RFC 4287) feed of notices: each entry links the notice page and its
// CAP message, so that CAP aggregators can follow the feed.

// AtomNamespace is the XML namespace of Atom 1.0.
const AtomNamespace = "http://www.w3.org/2005/Atom"

// AtomFeed is a feed to write. Links are absolute URLs.
type AtomFeed struct {
	ID       string
	Title    string
	Subtitle string
	Updated  time.Time
	SelfURL  string
	HTMLURL  string
	Author   string
	Lang     string
	Entries  []AtomEntry
}

// AtomEntry is one notice.
type AtomEntry struct {
	ID        string
	Title     string
	Summary   string
	Content   string
	Published time.Time
	Updated   time.Time
	HTMLURL   string
	CAPURL    string
	Category  string
}

type atomFeedXML struct {
	XMLName  xml.Name       `xml:"http://www.w3.org/2005/Atom feed"`
	Lang     string         `xml:"xml:lang,attr,omitempty"`
	ID       string         `xml:"id"`
	Title    atomText       `xml:"title"`
	Subtitle *atomText      `xml:"subtitle,omitempty"`
	Updated  string         `xml:"updated"`
	Links    []atomLink     `xml:"link"`
	Author   atomPerson     `xml:"author"`
	Entries  []atomEntryXML `xml:"entry"`
}

type atomText struct {
	Type string `xml:"type,attr,omitempty"`
	Body string `xml:",chardata"`
}

type atomLink struct {
	Rel   string `xml:"rel,attr,omitempty"`
	Type  string `xml:"type,attr,omitempty"`
	Href  string `xml:"href,attr"`
	Title string `xml:"title,attr,omitempty"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

type atomEntryXML struct {
	ID        string        `xml:"id"`
	Title     atomText      `xml:"title"`
	Updated   string        `xml:"updated"`
	Published string        `xml:"published"`
	Links     []atomLink    `xml:"link"`
	Category  *atomCategory `xml:"category,omitempty"`
	Summary   *atomText     `xml:"summary,omitempty"`
	Content   *atomText     `xml:"content,omitempty"`
}

func atomTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Marshal writes the feed.
func (f AtomFeed) Marshal() ([]byte, error) {
	if f.ID == "" || f.Title == "" || f.SelfURL == "" {
		return nil, fmt.Errorf("atom feed: id, title and self link are required")
	}
	x := atomFeedXML{Lang: f.Lang, ID: f.ID, Title: atomText{Type: "text", Body: f.Title}, Updated: atomTime(f.Updated),
		Author: atomPerson{Name: f.Author},
		Links:  []atomLink{{Rel: "self", Type: "application/atom+xml", Href: f.SelfURL}}}
	if f.HTMLURL != "" {
		x.Links = append(x.Links, atomLink{Rel: "alternate", Type: "text/html", Href: f.HTMLURL})
	}
	if f.Subtitle != "" {
		x.Subtitle = &atomText{Type: "text", Body: f.Subtitle}
	}
	for _, e := range f.Entries {
		if e.ID == "" || e.HTMLURL == "" {
			return nil, fmt.Errorf("atom entry %q: id and link are required", e.Title)
		}
		ex := atomEntryXML{ID: e.ID, Title: atomText{Type: "text", Body: e.Title}, Updated: atomTime(e.Updated),
			Published: atomTime(e.Published),
			Links:     []atomLink{{Rel: "alternate", Type: "text/html", Href: e.HTMLURL}}}
		if e.CAPURL != "" {
			// "related" rather than "enclosure": the CAP message is the
			// notice itself in another form, fetched on demand.
			ex.Links = append(ex.Links, atomLink{Rel: "related", Type: "application/cap+xml", Href: e.CAPURL, Title: "CAP 1.2"})
		}
		if e.Category != "" {
			ex.Category = &atomCategory{Term: e.Category}
		}
		if e.Summary != "" {
			ex.Summary = &atomText{Type: "text", Body: plainText(e.Summary)}
		}
		if e.Content != "" {
			ex.Content = &atomText{Type: "text", Body: plainText(e.Content)}
		}
		x.Entries = append(x.Entries, ex)
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(x); err != nil {
		return nil, fmt.Errorf("encode atom: %w", err)
	}
	buf.WriteString("\n")
	return buf.Bytes(), nil
}
