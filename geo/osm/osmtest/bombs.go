// Package osmtest builds hostile OSM PBF files for tests: blobs whose
// declared or inflated size is over the format's 32 MiB limit. The protobuf
// framing is written by hand (the decoder's generated types are internal to
// github.com/paulmach/osm).
package osmtest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
)

func pbVarint(b []byte, field int, v uint64) []byte {
	b = binary.AppendUvarint(b, uint64(field)<<3)
	return binary.AppendUvarint(b, v)
}

func pbBytes(b []byte, field int, data []byte) []byte {
	b = binary.AppendUvarint(b, uint64(field)<<3|2)
	b = binary.AppendUvarint(b, uint64(len(data)))
	return append(b, data...)
}

// Block is one file block: the BlobHeader's size, the BlobHeader (type,
// datasize) and the Blob message.
func Block(typ string, blob []byte) []byte {
	hdr := pbBytes(nil, 1, []byte(typ))
	hdr = pbVarint(hdr, 3, uint64(len(blob)))
	out := binary.BigEndian.AppendUint32(nil, uint32(len(hdr)))
	out = append(out, hdr...)
	return append(out, blob...)
}

// ZlibBlob is a Blob message declaring rawSize with data compressed.
func ZlibBlob(rawSize uint64, data []byte) []byte {
	var buf bytes.Buffer
	w, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression) // the level is valid
	_, _ = w.Write(data)                                    // a bytes.Buffer does not fail
	_ = w.Close()
	return pbBytes(pbVarint(nil, 2, rawSize), 3, buf.Bytes())
}

// HeaderBlock is a valid OSMHeader block: a HeaderBlock requiring only
// OsmSchema-V0.6, stored raw.
func HeaderBlock() []byte {
	hb := pbBytes(nil, 4, []byte("OsmSchema-V0.6"))
	return Block("OSMHeader", pbVarint(pbBytes(nil, 1, hb), 2, uint64(len(hb))))
}

// RawSizeBomb is a PBF whose one data blob declares a raw size of 1 GiB
// with 16 bytes of zlib data (75 bytes in all): the decoder alone would
// allocate 1.1 GiB for it.
func RawSizeBomb() []byte {
	return append(HeaderBlock(), Block("OSMData", ZlibBlob(1<<30, make([]byte, 16)))...)
}

// InflateBomb is a PBF whose one data blob declares 1 MiB but whose zlib
// data (64 KiB) inflates to 64 MiB of zeros: the decoder alone would
// inflate it all before comparing.
func InflateBomb() []byte {
	return append(HeaderBlock(), Block("OSMData", ZlibBlob(1<<20, make([]byte, 64<<20)))...)
}
