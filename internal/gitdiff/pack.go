package gitdiff

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/klauspost/compress/flate"
)

// pack is one packfile and its version-2 index, both mapped read-only. A
// lookup is a binary search in the mapped index: nothing is decoded up
// front, which is what makes opening a 130,000-object repository free (see
// doc.go for the figures that led here).
type pack struct {
	name    string
	idx     []byte
	data    []byte
	count   int
	fanout  []byte // 256 big-endian uint32
	names   []byte // count * 20
	off32   []byte // count * 4
	off64   []byte
	release func() error
}

const (
	idxHeaderLen = 8
	fanoutLen    = 256 * 4
)

var idxMagic = []byte{0xff, 't', 'O', 'c'}

// openPack maps base+".idx" and base+".pack" and checks their headers.
func openPack(base string) (*pack, error) {
	idx, relIdx, err := mapFile(base + ".idx")
	if err != nil {
		return nil, err
	}
	data, relData, err := mapFile(base + ".pack")
	if err != nil {
		_ = relIdx()
		return nil, err
	}
	p := &pack{name: base, idx: idx, data: data, release: func() error {
		return errors.Join(relIdx(), relData())
	}}
	if err := p.parseIndex(); err != nil {
		_ = p.release()
		return nil, fmt.Errorf("reading pack index %s.idx: %w", base, err)
	}
	if len(data) < 12+20 || !bytes.Equal(data[:4], []byte("PACK")) {
		_ = p.release()
		return nil, fmt.Errorf("reading pack %s.pack: %w", base, ErrCorrupt)
	}
	return p, nil
}

func (p *pack) parseIndex() error {
	b := p.idx
	if len(b) < idxHeaderLen+fanoutLen+40 || !bytes.Equal(b[:4], idxMagic) {
		return fmt.Errorf("not a version 2 pack index: %w", ErrCorrupt)
	}
	if v := binary.BigEndian.Uint32(b[4:8]); v != 2 {
		return fmt.Errorf("unsupported pack index version %d: %w", v, ErrCorrupt)
	}
	p.fanout = b[idxHeaderLen : idxHeaderLen+fanoutLen]
	n := int(binary.BigEndian.Uint32(p.fanout[255*4:]))
	p.count = n
	start := idxHeaderLen + fanoutLen
	need := start + n*20 + n*4 + n*4 + 40
	if n < 0 || len(b) < need {
		return fmt.Errorf("index too short for %d objects: %w", n, ErrCorrupt)
	}
	for k := 1; k < 256; k++ {
		if p.fan(k) < p.fan(k-1) {
			return fmt.Errorf("fanout table decreases at %d: %w", k, ErrCorrupt)
		}
	}
	p.names = b[start : start+n*20]
	crcEnd := start + n*24
	p.off32 = b[crcEnd : crcEnd+n*4]
	p.off64 = b[crcEnd+n*4 : len(b)-40]
	return nil
}

func (p *pack) fan(i int) int {
	if i < 0 {
		return 0
	}
	return int(binary.BigEndian.Uint32(p.fanout[i*4:]))
}

// find returns the pack offset of h, or -1. The binary search compares the
// first 8 bytes as an integer, which decides all but the last step or two.
func (p *pack) find(h plumbing.Hash) int64 {
	lo, hi := p.fan(int(h[0])-1), p.fan(int(h[0]))
	key := binary.BigEndian.Uint64(h[:8])
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		n := p.names[m*20 : m*20+20]
		v := binary.BigEndian.Uint64(n)
		if v < key || v == key && bytes.Compare(n[8:], h[8:]) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo >= p.count || !bytes.Equal(p.names[lo*20:lo*20+20], h[:]) {
		return -1
	}
	return p.offset(lo)
}

func (p *pack) offset(i int) int64 {
	o := binary.BigEndian.Uint32(p.off32[i*4:])
	if o&0x80000000 == 0 {
		return int64(o)
	}
	k := int(o&0x7fffffff) * 8
	if k+8 > len(p.off64) {
		return -1
	}
	return int64(binary.BigEndian.Uint64(p.off64[k:]))
}

// prefix appends to out every object name starting with the hex prefix
// (already decoded to the bytes in pre, odd nibble in last when odd).
func (p *pack) prefix(pre []byte, odd bool, last byte, out map[plumbing.Hash]struct{}) {
	if len(pre) == 0 && !odd {
		return
	}
	first := 0
	if len(pre) > 0 {
		first = int(pre[0])
	} else {
		first = int(last) << 4
	}
	lo := p.fan(first - 1)
	i := lo + sort.Search(p.count-lo, func(k int) bool {
		return bytes.Compare(p.names[(lo+k)*20:(lo+k)*20+len(pre)], pre) >= 0
	})
	for ; i < p.count; i++ {
		n := p.names[i*20 : i*20+20]
		if !bytes.Equal(n[:len(pre)], pre) {
			return
		}
		if odd && n[len(pre)]>>4 != last {
			if n[len(pre)]>>4 > last {
				return
			}
			continue
		}
		var h plumbing.Hash
		copy(h[:], n)
		out[h] = struct{}{}
	}
}

// Pack object types (gitformat-pack).
const (
	objCommit   = 1
	objTree     = 2
	objBlob     = 3
	objTag      = 4
	objOfsDelta = 6
	objRefDelta = 7
)

// header parses the object header at off: type, inflated size, the data
// start, and for deltas the base offset or base name.
func (p *pack) header(off int64) (typ int, size int64, dataAt int64, baseOff int64, baseRef plumbing.Hash, err error) {
	d := p.data
	if off < 12 || off >= int64(len(d))-20 {
		return 0, 0, 0, 0, baseRef, fmt.Errorf("object offset %d outside pack: %w", off, ErrCorrupt)
	}
	i := off
	c := d[i]
	i++
	typ = int(c>>4) & 7
	size = int64(c & 15)
	shift := uint(4)
	for c&0x80 != 0 {
		if i >= int64(len(d)) || shift > 56 {
			return 0, 0, 0, 0, baseRef, fmt.Errorf("object header at %d: %w", off, ErrCorrupt)
		}
		c = d[i]
		i++
		size |= int64(c&0x7f) << shift
		shift += 7
	}
	switch typ {
	case objOfsDelta:
		if i >= int64(len(d)) {
			return 0, 0, 0, 0, baseRef, fmt.Errorf("delta header at %d: %w", off, ErrCorrupt)
		}
		c = d[i]
		i++
		rel := int64(c & 0x7f)
		for c&0x80 != 0 {
			if i >= int64(len(d)) || rel > 1<<48 {
				return 0, 0, 0, 0, baseRef, fmt.Errorf("delta header at %d: %w", off, ErrCorrupt)
			}
			c = d[i]
			i++
			rel = ((rel + 1) << 7) | int64(c&0x7f)
		}
		baseOff = off - rel
		if rel <= 0 || baseOff < 12 {
			return 0, 0, 0, 0, baseRef, fmt.Errorf("delta base of object at %d: %w", off, ErrCorrupt)
		}
	case objRefDelta:
		if i+20 > int64(len(d)) {
			return 0, 0, 0, 0, baseRef, fmt.Errorf("delta header at %d: %w", off, ErrCorrupt)
		}
		copy(baseRef[:], d[i:i+20])
		i += 20
	case objCommit, objTree, objBlob, objTag:
	default:
		return 0, 0, 0, 0, baseRef, fmt.Errorf("object at %d has type %d: %w", off, typ, ErrCorrupt)
	}
	return typ, size, i, baseOff, baseRef, nil
}

// maxObjectSize bounds what one object may claim to inflate to. The plan
// reads trees, commits and two small files; a larger claim is corruption.
const maxObjectSize = 1 << 30

// inflater reuses one raw DEFLATE reader across objects. klauspost's
// decoder has a path specialised for *bytes.Reader: on the 20,000 tree and
// delta objects of the benchmark repository it inflates in 45 ms what
// compress/flate inflates in 80 ms (go test -bench, same machine). Pack
// entries are zlib streams; the two-byte zlib header is checked and skipped
// and the Adler-32 trailer is never reached (exactly the declared size is
// read, and the pack as a whole is checksummed by git), which saves a
// hasher allocation and a checksum pass per object.
type inflater struct {
	fr io.ReadCloser
	br bytes.Reader
}

// inflate returns the size bytes src inflates to, in buf if it is large
// enough (buf may be nil).
func (z *inflater) inflate(src []byte, size int64, buf []byte) ([]byte, error) {
	if size > maxObjectSize || size > int64(len(src))*1032+64 {
		// DEFLATE cannot expand more than ~1032:1; a larger claim is corrupt.
		return nil, fmt.Errorf("object claims %d bytes from %d compressed: %w", size, len(src), ErrCorrupt)
	}
	if len(src) < 2 || src[0]&0x0f != 8 || (uint16(src[0])<<8|uint16(src[1]))%31 != 0 || src[1]&0x20 != 0 {
		return nil, fmt.Errorf("inflating object: bad zlib header: %w", ErrCorrupt)
	}
	z.br.Reset(src[2:])
	if z.fr == nil {
		z.fr = flate.NewReader(&z.br)
	} else if err := z.fr.(flate.Resetter).Reset(&z.br, nil); err != nil {
		return nil, fmt.Errorf("inflating object: %w", err)
	}
	var out []byte
	if int64(cap(buf)) >= size {
		out = buf[:size]
	} else {
		out = make([]byte, size)
	}
	if _, err := io.ReadFull(z.fr, out); err != nil {
		return nil, fmt.Errorf("inflating object: %w", err)
	}
	return out, nil
}

// applyDelta uses go-git's delta patcher.
func applyDelta(base, delta []byte) ([]byte, error) {
	out, err := packfile.PatchDelta(base, delta)
	if err != nil {
		return nil, fmt.Errorf("applying delta: %w", err)
	}
	return out, nil
}
