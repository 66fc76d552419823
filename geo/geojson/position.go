package geojson

import (
	"bytes"
	"io"
)

// tracker sits between the input and the JSON decoder. It counts the bytes
// read and keeps the bytes from a mark onwards, so that an error found by the
// decoder can be placed exactly (line, column) and re-scanned. Bytes before
// the mark are dropped, only their newlines counted: memory stays at about
// one feature plus the decoder's read-ahead, whatever the file size.
type tracker struct {
	r        io.Reader
	buf      []byte // input bytes from base onwards
	base     int64  // offset of buf[0]
	lines    int    // newlines before base
	lineHead int64  // offset just after the last newline before base
	read     int64  // bytes read so far
	max      int64  // most bytes kept past the mark; 0: no limit
	tooLarge func() error
}

// Read refuses to read more than max bytes past the mark: the decoder then
// fails on the value it was reading, with tooLarge's error, before it
// buffers more of it.
func (t *tracker) Read(p []byte) (int, error) {
	if t.max > 0 {
		room := t.base + t.max + 1 - t.read
		if room <= 0 {
			return 0, t.tooLarge()
		}
		if int64(len(p)) > room {
			p = p[:room]
		}
	}
	n, err := t.r.Read(p)
	if n > 0 {
		t.buf = append(t.buf, p[:n]...)
		t.read += int64(n)
	}
	return n, err
}

// release forgets the bytes before offset off (which must be at most the
// number of bytes read), keeping their newline count.
func (t *tracker) release(off int64) {
	if off <= t.base {
		return
	}
	drop := t.buf[:off-t.base]
	if n := bytes.Count(drop, []byte{'\n'}); n > 0 {
		t.lines += n
		t.lineHead = t.base + int64(bytes.LastIndexByte(drop, '\n')) + 1
	}
	// Slicing forward leaves the dropped bytes in the array until the next
	// append outgrows it; append then copies only the kept bytes.
	t.buf = t.buf[len(drop):]
	t.base = off
}

// position returns the 1-based line and column (in bytes) of offset off,
// which must not be before the mark.
func (t *tracker) position(off int64) (line, col int) {
	if off < t.base {
		off = t.base
	}
	end := off - t.base
	if end > int64(len(t.buf)) {
		end = int64(len(t.buf))
	}
	seg := t.buf[:end]
	line = t.lines + bytes.Count(seg, []byte{'\n'}) + 1
	head := t.lineHead
	if i := bytes.LastIndexByte(seg, '\n'); i >= 0 {
		head = t.base + int64(i) + 1
	}
	return line, int(off-head) + 1
}

// from returns the kept bytes from offset off on (nil if off is not kept).
func (t *tracker) from(off int64) []byte {
	if off < t.base || off-t.base > int64(len(t.buf)) {
		return nil
	}
	return t.buf[off-t.base:]
}
