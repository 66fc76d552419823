package demo

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/ewkb"

	"github.com/riskzone/riskzone/geo"
)

// progressEvery is how many rows pass between progress reports.
const progressEvery = 4096

// rowWriter encodes rows in COPY text format into a buffer and hands it to
// the underlying writer in large pieces.
type rowWriter struct {
	ctx      context.Context
	w        io.Writer
	b        []byte
	geomBuf  bytes.Buffer
	enc      *ewkb.Encoder
	progress func(int)
	pending  int
	// Scratch geometry reused for every row.
	ring orb.Ring
	poly orb.Polygon
	mp   orb.MultiPolygon
	line orb.LineString
}

func newRowWriter(ctx context.Context, w io.Writer, progress func(int)) *rowWriter {
	rw := &rowWriter{ctx: ctx, w: w, b: make([]byte, 0, 256<<10), progress: progress}
	rw.enc = ewkb.NewEncoder(&rw.geomBuf).SetSRID(srid)
	rw.poly = orb.Polygon{nil}
	rw.mp = orb.MultiPolygon{rw.poly}
	return rw
}

func (rw *rowWriter) int(v int64) {
	rw.b = strconv.AppendInt(rw.b, v, 10)
	rw.b = append(rw.b, '\t')
}

// id writes v, or NULL for 0 (ids start at 1).
func (rw *rowWriter) id(v int64) {
	if v == 0 {
		rw.null()
		return
	}
	rw.int(v)
}

func (rw *rowWriter) null() { rw.b = append(rw.b, '\\', 'N', '\t') }

func (rw *rowWriter) bool(v bool) {
	if v {
		rw.b = append(rw.b, 't', '\t')
	} else {
		rw.b = append(rw.b, 'f', '\t')
	}
}

// text writes s escaped for COPY text format.
func (rw *rowWriter) text(s string) {
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case '\\':
			rw.b = append(rw.b, '\\', '\\')
		case '\t':
			rw.b = append(rw.b, '\\', 't')
		case '\n':
			rw.b = append(rw.b, '\\', 'n')
		case '\r':
			rw.b = append(rw.b, '\\', 'r')
		default:
			rw.b = append(rw.b, ch)
		}
	}
	rw.b = append(rw.b, '\t')
}

func (rw *rowWriter) time(t time.Time) {
	rw.b = t.AppendFormat(rw.b, "2006-01-02 15:04:05-07")
	rw.b = append(rw.b, '\t')
}

func (rw *rowWriter) date(t time.Time) {
	rw.b = t.AppendFormat(rw.b, "2006-01-02")
	rw.b = append(rw.b, '\t')
}

// geom writes g as hex EWKB with SRID 4326, which PostGIS reads as geometry
// text input.
func (rw *rowWriter) geom(g orb.Geometry) error {
	rw.geomBuf.Reset()
	if err := rw.enc.Encode(g); err != nil {
		return fmt.Errorf("encode geometry: %w", err)
	}
	rw.b = hex.AppendEncode(rw.b, rw.geomBuf.Bytes())
	rw.b = append(rw.b, '\t')
	return nil
}

// polygon writes the single-ring MultiPolygon of ring.
func (rw *rowWriter) polygon(ring orb.Ring) error {
	rw.poly[0] = ring
	rw.mp[0] = rw.poly
	return rw.geom(rw.mp)
}

// rectRing is r's corners, counter-clockwise, projected.
func (rw *rowWriter) rectRing(p geo.LocalPlane, r rect) orb.Ring {
	rw.ring = append(rw.ring[:0],
		p.LonLat(r.minX, r.minY), p.LonLat(r.maxX, r.minY), p.LonLat(r.maxX, r.maxY),
		p.LonLat(r.minX, r.maxY), p.LonLat(r.minX, r.minY))
	return rw.ring
}

// end finishes a row.
func (rw *rowWriter) end() error {
	rw.b[len(rw.b)-1] = '\n'
	rw.pending++
	if len(rw.b) >= 192<<10 {
		return rw.flush()
	}
	return nil
}

func (rw *rowWriter) flush() error {
	if err := rw.ctx.Err(); err != nil {
		return err
	}
	if len(rw.b) > 0 {
		if _, err := rw.w.Write(rw.b); err != nil {
			return err
		}
		rw.b = rw.b[:0]
	}
	if rw.progress != nil && rw.pending > 0 {
		rw.progress(rw.pending)
		rw.pending = 0
	}
	return nil
}
