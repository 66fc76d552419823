package geojson

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// bombReader streams a FeatureCollection whose first feature is small and
// whose second is a LineString of n positions (6 bytes each), without the
// test holding it.
func bombReader(n int64) io.Reader {
	head := `{"type":"FeatureCollection","features":[` +
		`{"type":"Feature","id":"ok","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}},` + "\n" +
		`{"type":"Feature","id":"bomb","properties":{},"geometry":{"type":"LineString","coordinates":[`
	tail := `[0,0]]}}]}`
	return io.MultiReader(strings.NewReader(head), &repeatReader{s: "[0,0],", n: n}, strings.NewReader(tail))
}

type repeatReader struct {
	s   string
	n   int64 // repetitions left
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	w := 0
	for w < len(p) && r.n > 0 {
		c := copy(p[w:], r.s[r.off:])
		w += c
		if r.off += c; r.off == len(r.s) {
			r.off = 0
			r.n--
		}
	}
	if w == 0 {
		return 0, io.EOF
	}
	return w, nil
}

// bomb is the collection in memory, for the fuzz seed.
func bomb(n int64) string {
	b, _ := io.ReadAll(bombReader(n))
	return string(b)
}

// A feature over the limit is an *Error wrapping ErrTooLarge that names the
// feature, where it starts and the limit; the features before it are read.
func TestReaderFeatureTooLarge(t *testing.T) {
	r := NewReaderLimit(bombReader(20000), 64<<10) // 120 KB feature, 64 KiB limit
	f, err := r.Next()
	if err != nil || f.ID != "ok" {
		t.Fatalf("first feature: %+v, %v", f, err)
	}
	_, err = r.Next()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("second feature: %v, want an *Error wrapping ErrTooLarge", err)
	}
	want := "line 2, column 1 (byte offset 134): feature 1: too large: the feature is over the limit of 65536 bytes"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if r.BytesRead() > 64<<10+200 {
		t.Errorf("read %d bytes of the feature, want no more than the limit", r.BytesRead())
	}
	if _, again := r.Next(); again == nil || again.Error() != err.Error() {
		t.Errorf("after the error: %v", again)
	}

	// Just under the limit is read (the limit counts the separators too).
	small := NewReaderLimit(bombReader(1000), 64<<10)
	for i := 0; i < 2; i++ {
		if _, err := small.Next(); err != nil {
			t.Fatalf("feature %d of 6 KB under a 64 KiB limit: %v", i, err)
		}
	}
	if _, err := small.Next(); err != io.EOF {
		t.Errorf("after the last feature: %v", err)
	}

	// A foreign member over the limit is refused the same way.
	big := `{"type":"FeatureCollection","note":"` + strings.Repeat("x", 70<<10) + `","features":[]}`
	_, err = NewReaderLimit(strings.NewReader(big), 64<<10).Next()
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "a member of the FeatureCollection is over the limit") {
		t.Errorf("a 70 KiB foreign member: %v", err)
	}
}

// With the default limit (16 MiB) a 200 MB feature is refused having
// allocated a bounded amount (allocations counted, buffer growth included):
// the decoder stops at the limit instead of buffering the whole feature.
func TestReaderFeatureBombMemory(t *testing.T) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r := NewReader(bombReader(200_000_000 / 6))
	var err error
	for err == nil {
		_, err = r.Next()
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("200 MB feature: %v; %d MiB allocated, %d bytes read", err, alloc>>20, r.BytesRead())
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), fmt.Sprintf("feature 1: too large: the feature is over the limit of %d bytes", DefaultMaxFeatureBytes)) {
		t.Errorf("error %v, want feature 1 too large", err)
	}
	if alloc > 8*DefaultMaxFeatureBytes {
		t.Errorf("allocated %d MiB reading up to a %d MiB limit", alloc>>20, DefaultMaxFeatureBytes>>20)
	}
	if !bytes.Equal([]byte(bomb(1))[:10], []byte(`{"type":"F`)) {
		t.Error("bomb(1) does not start as a FeatureCollection")
	}
}
