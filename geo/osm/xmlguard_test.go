package osm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	posm "github.com/paulmach/osm"
)

// guardRead reads s through a guard of max bytes and returns the bytes
// read and the error.
func guardRead(s string, max int64) (int, error) {
	g := newXMLGuard(bufio.NewReader(strings.NewReader(s)), max)
	b, err := io.ReadAll(g)
	return len(b), err
}

// The guard counts from each <node, <way or <relation start tag, and does
// not take one inside a comment, CDATA or processing instruction for one.
func TestXMLGuard(t *testing.T) {
	nds := strings.Repeat(`<nd ref="1"/>`, 100) // 1,300 bytes
	ok := []string{
		`<osm>` + strings.Repeat(`<node id="1" lat="1" lon="1"/><way id="2">`+nds+`</way>`+"\n", 50) + `</osm>`,
		`<osm><!-- ]]> --><![CDATA[ --> ]]]> ]]><?pi ]]> ?>` + strings.Repeat(`<relation id="3"><member type="way" ref="1" role=""/></relation>`, 100) + `</osm>`,
	}
	for i, s := range ok {
		if n, err := guardRead(s, 2000); err != nil || n != len(s) {
			t.Errorf("input %d: read %d of %d bytes: %v", i, n, len(s), err)
		}
	}
	bad := map[string]string{
		"a way over the limit":           `<osm><way id="2">` + nds + nds + `</way></osm>`,
		"start tags inside comments":     `<osm><way id="2">` + strings.Repeat(`<!-- <node id="1"/> --><nd ref="1"/>`, 100) + `</way></osm>`,
		"start tags inside CDATA and PI": `<osm><way id="2">` + strings.Repeat(`<![CDATA[<way id="1">]]><?x <relation ?><nd ref="1"/>`, 100) + `</way></osm>`,
		"a long name":                    `<osm><waywaywaywaywayway>` + nds + nds + `</waywaywaywaywayway></osm>`,
	}
	for name, s := range bad {
		n, err := guardRead(s, 2000)
		if err == nil || !strings.Contains(err.Error(), "over the limit of 2000 bytes") || n > 2000+len(`<osm>`) {
			t.Errorf("%s: read %d bytes: %v, want refused within the limit", name, n, err)
		}
	}
}

// A way of 17 MiB in an OSM XML file is refused as ErrFormat.
func TestReadXMLElementTooLarge(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0"?><osm version="0.6"><node id="1" lat="47.1" lon="9.5"/><way id="2"><tag k="building" v="yes"/>`)
	for b.Len() < MaxXMLElementBytes+1<<20 {
		b.WriteString(`<nd ref="1"/>`)
	}
	b.WriteString(`</way></osm>`)
	all := func(posm.Type, int64, posm.Tags) Shape { return Point | Line | Area }
	_, err := Read(context.Background(), bytes.NewReader(b.Bytes()), int64(b.Len()), Options{Classify: all, Procs: 1}, func(*Feature) error { return nil })
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "the element at byte 75 is over the limit of 16777216 bytes") {
		t.Fatalf("read: %v, want ErrFormat naming the element and the limit", err)
	}
}
