package osm

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	posm "github.com/paulmach/osm"

	"github.com/riskzone/riskzone/geo/osm/osmtest"
)

// readAllocs reads data and returns the bytes allocated during the read
// and its error.
func readAllocs(t *testing.T, data []byte) (uint64, error) {
	t.Helper()
	all := func(posm.Type, int64, posm.Tags) Shape { return Point | Line | Area }
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Read(context.Background(), bytes.NewReader(data), int64(len(data)), Options{Classify: all, Procs: 1}, func(*Feature) error { return nil })
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, err
}

// A blob declaring a raw size over 32 MiB, and one whose data inflates past
// 32 MiB, are refused as ErrFormat saying why, and the read allocates a
// few MiB at most (the decoder alone takes 1.1 GiB, or 170 MiB).
func TestReadPBFBombs(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"raw size", osmtest.RawSizeBomb(), "declares a raw size of 1073741824 bytes (the limit is 33554432)"},
		{"inflation", osmtest.InflateBomb(), "inflates past 33554432 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			alloc, err := readAllocs(t, c.data)
			t.Logf("%s bomb of %d bytes: %v; %d KiB allocated", c.name, len(c.data), err, alloc>>10)
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "block 1") {
				t.Errorf("read: %v, want ErrFormat saying block 1 %s", err, c.want)
			}
			if alloc > 4<<20 {
				t.Errorf("the refused read allocated %d MiB, want under 4 MiB", alloc>>20)
			}
		})
	}
}

// Blocks within the limits still read: a header block and a data blob of
// exactly 32 MiB declared and inflated pass the check (the decoder then
// finds the zeros are no PrimitiveBlock, which is ErrFormat of another
// kind); the real extract passes it (its read is tested in reader_test.go).
func TestCheckPBFLimits(t *testing.T) {
	ok := append(osmtest.HeaderBlock(), osmtest.Block("OSMData", osmtest.ZlibBlob(MaxBlobRawSize, make([]byte, MaxBlobRawSize)))...)
	if err := checkPBF(context.Background(), bytes.NewReader(ok)); err != nil {
		t.Errorf("a blob of exactly %d bytes: %v", MaxBlobRawSize, err)
	}
	real, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "data", "osm", "liechtenstein-2013-08-03.osm.pbf"))
	if err != nil {
		t.Fatalf("the real extract: %v", err)
	}
	if err := checkPBF(context.Background(), bytes.NewReader(real)); err != nil {
		t.Errorf("the real extract: %v", err)
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"header over 64 KiB", binary.BigEndian.AppendUint32(nil, MaxBlobHeaderSize), "blob header of 65536 bytes"},
		{"truncated header", osmtest.Block("OSMData", nil)[:4:4], "truncated blob header"},
		{"truncated blob", osmtest.Block("OSMData", []byte{1<<3 | 2, 3, 1, 2, 3})[:17], "blob: truncated"},
		{"datasize over 32 MiB", func() []byte {
			// A BlobHeader of type "X" and datasize 32 MiB, then nothing.
			hdr := binary.AppendUvarint([]byte{1<<3 | 2, 1, 'X', 3 << 3}, MaxBlobSize)
			return append(binary.BigEndian.AppendUint32(nil, uint32(len(hdr))), hdr...)
		}(), "blob of 33554432 bytes"},
		{"bad zlib", osmtest.Block("OSMData", append([]byte{3<<3 | 2, 8}, "not zlib"...)), "zlib data"},
	} {
		err := checkPBF(context.Background(), bytes.NewReader(c.data))
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrFormat with %q", c.name, err, c.want)
		}
	}
}
