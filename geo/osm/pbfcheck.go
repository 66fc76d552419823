package osm

import (
	"bufio"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Size limits of an OSM PBF file (wiki.openstreetmap.org/wiki/PBF_Format):
// a BlobHeader under 64 KiB, a Blob under 32 MiB as stored, and its data at
// most 32 MiB once uncompressed.
const (
	MaxBlobHeaderSize = 64 << 10
	MaxBlobSize       = 32 << 20
	// MaxBlobRawSize bounds both the raw_size a blob declares and what its
	// compressed data may inflate to.
	MaxBlobRawSize = 32 << 20
)

// checkPBF walks the blocks of a PBF file once before the decoder sees it.
// The decoder (github.com/paulmach/osm/osmpbf) allocates the raw_size a
// blob declares and inflates zlib data until it ends, so a few hundred bytes
// could make it allocate 2 GiB or inflate without end; this walk refuses
// such a file first, in constant memory (a 64 KiB header buffer and one
// inflater whose output is discarded).
func checkPBF(ctx context.Context, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		off  int64
		head [4]byte
		hbuf = make([]byte, MaxBlobHeaderSize)
		zr   io.ReadCloser
	)
	for block := 0; ; block++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.ReadFull(br, head[:])
		if n == 0 && errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: block %d at byte %d: truncated block size", ErrFormat, block, off)
		}
		hsize := binary.BigEndian.Uint32(head[:])
		if hsize >= MaxBlobHeaderSize {
			return fmt.Errorf("%w: block %d at byte %d: blob header of %d bytes (the limit is %d)", ErrFormat, block, off, hsize, MaxBlobHeaderSize)
		}
		if _, err := io.ReadFull(br, hbuf[:hsize]); err != nil {
			return fmt.Errorf("%w: block %d at byte %d: truncated blob header", ErrFormat, block, off)
		}
		datasize, err := blobDatasize(hbuf[:hsize])
		if err != nil {
			return fmt.Errorf("%w: block %d at byte %d: blob header: %v", ErrFormat, block, off, err)
		}
		if datasize >= MaxBlobSize {
			return fmt.Errorf("%w: block %d at byte %d: blob of %d bytes (the limit is %d)", ErrFormat, block, off, datasize, MaxBlobSize)
		}
		blob := &fieldReader{r: br, n: datasize}
		if zr, err = checkBlob(blob, zr); err != nil {
			return fmt.Errorf("%w: block %d at byte %d: %v", ErrFormat, block, off, err)
		}
		off += 4 + int64(hsize) + datasize
	}
}

// blobDatasize reads the datasize (field 3) of a BlobHeader message.
func blobDatasize(b []byte) (int64, error) {
	datasize := int64(-1)
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, errors.New("bad field tag")
		}
		b = b[n:]
		switch tag & 7 {
		case 0:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return 0, errors.New("bad varint")
			}
			b = b[n:]
			if tag>>3 == 3 {
				if v > 1<<31-1 {
					return 0, fmt.Errorf("datasize %d is not an int32", v)
				}
				datasize = int64(v)
			}
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return 0, errors.New("bad field length")
			}
			b = b[n+int(l):]
		case 1:
			if len(b) < 8 {
				return 0, errors.New("truncated field")
			}
			b = b[8:]
		case 5:
			if len(b) < 4 {
				return 0, errors.New("truncated field")
			}
			b = b[4:]
		default:
			return 0, fmt.Errorf("wire type %d", tag&7)
		}
	}
	if datasize < 0 {
		return 0, errors.New("no datasize")
	}
	return datasize, nil
}

// checkBlob streams one Blob message: a declared raw_size (field 2) over
// MaxBlobRawSize is refused, and zlib_data (field 3) is inflated into
// nothing, refused once it passes MaxBlobRawSize. zr is an inflater to
// reuse (nil at first); the one to reuse next time is returned.
func checkBlob(blob *fieldReader, zr io.ReadCloser) (io.ReadCloser, error) {
	for blob.n > 0 {
		tag, err := binary.ReadUvarint(blob)
		if err != nil {
			return zr, errors.New("blob: bad field tag")
		}
		field := tag >> 3
		switch tag & 7 {
		case 0:
			v, err := binary.ReadUvarint(blob)
			if err != nil {
				return zr, errors.New("blob: bad varint")
			}
			if field == 2 && v > MaxBlobRawSize {
				return zr, fmt.Errorf("blob declares a raw size of %d bytes (the limit is %d)", v, MaxBlobRawSize)
			}
		case 2:
			l, err := binary.ReadUvarint(blob)
			if err != nil || int64(l) < 0 || int64(l) > blob.n {
				return zr, errors.New("blob: bad field length")
			}
			data := &fieldReader{r: blob, n: int64(l)}
			if field == 3 {
				if zr, err = inflateLimited(data, zr); err != nil {
					return zr, err
				}
			}
			if _, err := io.Copy(io.Discard, data); err != nil {
				return zr, errors.New("blob: truncated")
			}
		case 1, 5:
			w := int64(8)
			if tag&7 == 5 {
				w = 4
			}
			if _, err := io.CopyN(io.Discard, blob, w); err != nil {
				return zr, errors.New("blob: truncated field")
			}
		default:
			return zr, fmt.Errorf("blob: wire type %d", tag&7)
		}
	}
	return zr, nil
}

// inflateLimited inflates zlib data into io.Discard and fails once it gives
// more than MaxBlobRawSize bytes.
func inflateLimited(data io.Reader, zr io.ReadCloser) (io.ReadCloser, error) {
	if zr == nil {
		var err error
		if zr, err = zlib.NewReader(data); err != nil {
			return nil, fmt.Errorf("blob: zlib data: %v", err)
		}
	} else if err := zr.(zlib.Resetter).Reset(data, nil); err != nil {
		return zr, fmt.Errorf("blob: zlib data: %v", err)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(zr, MaxBlobRawSize+1))
	if n > MaxBlobRawSize {
		return zr, fmt.Errorf("blob zlib data inflates past %d bytes (the limit)", MaxBlobRawSize)
	}
	if err != nil {
		return zr, fmt.Errorf("blob: zlib data: %v", err)
	}
	return zr, nil
}

// fieldReader reads at most n bytes of r, also byte by byte so that the
// inflater and varint reads never read past the field.
type fieldReader struct {
	r interface {
		io.Reader
		io.ByteReader
	}
	n int64
}

func (f *fieldReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	if err == io.EOF && f.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (f *fieldReader) ReadByte() (byte, error) {
	if f.n <= 0 {
		return 0, io.EOF
	}
	b, err := f.r.ReadByte()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	f.n--
	return b, nil
}
