package osm

import (
	"fmt"
	"io"
)

// MaxXMLElementBytes bounds one element of an OSM XML file (a node, way or
// relation with its children): the XML decoder holds a whole element at
// once. OSM's own API limits (2,000 nodes a way, 32,000 members a relation)
// keep real elements far below it.
const MaxXMLElementBytes = 16 << 20

// xmlGuard sits between the buffered file and the XML decoder (which reads
// it byte by byte, so the guard sees exactly what the decoder has consumed)
// and fails once more than max bytes pass without a new <node, <way or
// <relation start tag. Outside comments, CDATA sections and processing
// instructions every '<' starts markup ('<' may not appear raw in text or
// attribute values), so a start tag is told from its name alone.
type xmlGuard struct {
	r   io.ByteReader
	max int64

	pos   int64 // bytes read
	start int64 // offset of the last element start tag
	lt    int64 // offset of the last '<'

	state int     // one of the guard* states
	name  []byte  // markup name so far (after '<')
	end   string  // the end of the comment, CDATA or PI being skipped
	tail  [3]byte // the last bytes skipped
}

const (
	guardText = iota
	guardName
	guardTag
	guardSkip
)

func newXMLGuard(r io.ByteReader, max int64) *xmlGuard {
	return &xmlGuard{r: r, max: max, name: make([]byte, 0, 16)}
}

func (g *xmlGuard) ReadByte() (byte, error) {
	if g.pos-g.start >= g.max {
		return 0, fmt.Errorf("the element at byte %d is over the limit of %d bytes", g.start, g.max)
	}
	c, err := g.r.ReadByte()
	if err != nil {
		return 0, err
	}
	g.step(c)
	g.pos++
	return c, nil
}

func (g *xmlGuard) Read(p []byte) (int, error) {
	for i := range p {
		c, err := g.ReadByte()
		if err != nil {
			return i, err
		}
		p[i] = c
	}
	return len(p), nil
}

func (g *xmlGuard) step(c byte) {
	switch g.state {
	case guardText, guardTag:
		if c == '<' {
			g.state, g.lt, g.name = guardName, g.pos, g.name[:0]
		}
	case guardName:
		g.name = append(g.name, c)
		switch n := string(g.name); {
		case n == "!--":
			g.skip("-->")
		case n == "![CDATA[":
			g.skip("]]>")
		case n == "?":
			g.skip("?>")
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '>' || c == '/' && len(n) > 1:
			switch n[:len(n)-1] {
			case "node", "way", "relation":
				g.start = g.lt
			}
			g.state = guardTag
			if c == '>' {
				g.state = guardText
			}
		case len(n) > 9:
			g.state = guardTag // a longer name: not one that starts an element
		}
	case guardSkip:
		// The ends are 2 or 3 bytes: compare them with the last bytes read.
		g.tail = [3]byte{g.tail[1], g.tail[2], c}
		if string(g.tail[3-len(g.end):]) == g.end {
			g.state = guardText
		}
	}
}

func (g *xmlGuard) skip(end string) {
	g.state, g.end, g.tail = guardSkip, end, [3]byte{} // the opening's bytes do not count
}
