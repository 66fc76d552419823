package osm

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	posm "github.com/paulmach/osm"
)

// Protobuf framing written by hand (the library's generated types are
// internal): a field is its tag varint then a varint or a length and bytes.
func pbVarint(b []byte, field int, v uint64) []byte {
	b = binary.AppendUvarint(b, uint64(field)<<3)
	return binary.AppendUvarint(b, v)
}

func pbBytes(b []byte, field int, data []byte) []byte {
	b = binary.AppendUvarint(b, uint64(field)<<3|2)
	b = binary.AppendUvarint(b, uint64(len(data)))
	return append(b, data...)
}

// pbfBlock is one file block: the BlobHeader's size, the BlobHeader
// (type, datasize) and the Blob.
func pbfBlock(typ string, blob []byte) []byte {
	hdr := pbBytes(nil, 1, []byte(typ))
	hdr = pbVarint(hdr, 3, uint64(len(blob)))
	out := binary.BigEndian.AppendUint32(nil, uint32(len(hdr)))
	out = append(out, hdr...)
	return append(out, blob...)
}

func zlibBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pbfHeaderBlock is a valid OSMHeader block (a HeaderBlock requiring only
// OsmSchema-V0.6, stored raw).
func pbfHeaderBlock() []byte {
	hb := pbBytes(nil, 4, []byte("OsmSchema-V0.6"))
	blob := pbBytes(nil, 1, hb)
	blob = pbVarint(blob, 2, uint64(len(hb)))
	return pbfBlock("OSMHeader", blob)
}

// rawSizeBomb is a PBF whose one data blob declares a raw size of 1 GiB
// with a few bytes of zlib data: the decoder would allocate 1.1 GiB for it.
func rawSizeBomb(t testing.TB) []byte {
	blob := pbVarint(nil, 2, 1<<30)
	blob = pbBytes(blob, 3, zlibBytes(t, make([]byte, 16)))
	return append(pbfHeaderBlock(), pbfBlock("OSMData", blob)...)
}

// inflateBomb is a PBF whose one data blob declares 1 MiB but whose zlib
// data (64 KiB) inflates to 64 MiB of zeros: the decoder would inflate it
// all before comparing.
func inflateBomb(t testing.TB) []byte {
	blob := pbVarint(nil, 2, 1<<20)
	blob = pbBytes(blob, 3, zlibBytes(t, make([]byte, 64<<20)))
	return append(pbfHeaderBlock(), pbfBlock("OSMData", blob)...)
}

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
		{"raw size", rawSizeBomb(t), "declares a raw size of 1073741824 bytes (the limit is 33554432)"},
		{"inflation", inflateBomb(t), "inflates past 33554432 bytes"},
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
	blob := pbVarint(nil, 2, MaxBlobRawSize)
	blob = pbBytes(blob, 3, zlibBytes(t, make([]byte, MaxBlobRawSize)))
	ok := append(pbfHeaderBlock(), pbfBlock("OSMData", blob)...)
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
		{"truncated header", pbfBlock("OSMData", nil)[:4:4], "truncated blob header"},
		{"truncated blob", pbfBlock("OSMData", pbBytes(nil, 3, []byte{1, 2, 3}))[:12], "truncated"},
		{"datasize over 32 MiB", func() []byte {
			hdr := pbBytes(nil, 1, []byte("OSMData"))
			hdr = pbVarint(hdr, 3, MaxBlobSize)
			return append(binary.BigEndian.AppendUint32(nil, uint32(len(hdr))), hdr...)
		}(), "blob of 33554432 bytes"},
		{"bad zlib", pbfBlock("OSMData", pbBytes(nil, 3, []byte("not zlib"))), "zlib data"},
	} {
		err := checkPBF(context.Background(), bytes.NewReader(c.data))
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrFormat with %q", c.name, err, c.want)
		}
	}
}
