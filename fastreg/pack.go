package fastreg

// A packfile reader: the index (go-git's idxfile) finds an object's offset,
// the offsets sorted give its extent, and the object is inflated from there;
// offset and ref deltas are resolved against cached bases with go-git's
// PatchDelta. See objectDB.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/klauspost/compress/zlib"
)

type packFile struct {
	f       *os.File
	size    int64
	idx     *idxfile.MemoryIndex
	offsets []int64 // every object's offset, sorted: where each one ends
}

// end is where the object at off ends (the next object, or the trailing
// checksum), so a read never pulls in more of the pack than the object.
func (p *packFile) end(off int64) int64 {
	i, found := slices.BinarySearch(p.offsets, off)
	if found {
		i++
	}
	if i < len(p.offsets) {
		return p.offsets[i]
	}
	return p.size - 20
}

// Git pack object types.
const (
	packCommit   = 1
	packTree     = 2
	packBlob     = 3
	packTag      = 4
	packOfsDelta = 6
	packRefDelta = 7
)

// maxDeltaChain bounds delta resolution (git's default depth is 50).
const maxDeltaChain = 10000

func openPack(idxName string) (*packFile, error) {
	packName := strings.TrimSuffix(idxName, ".idx") + ".pack"
	f, err := os.Open(packName)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // an index without its pack (being written): not ours to read
	}
	if err != nil {
		return nil, fmt.Errorf("opening packfile: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening packfile: %w", err)
	}
	raw, err := os.ReadFile(idxName)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading pack index: %w", err)
	}
	idx := idxfile.NewMemoryIndex()
	if err := idxfile.NewDecoder(bytes.NewReader(raw)).Decode(idx); err != nil {
		f.Close()
		return nil, fmt.Errorf("reading pack index %s: %w", filepath.Base(idxName), err)
	}
	p := &packFile{f: f, size: st.Size(), idx: idx}
	it, err := idx.Entries()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading pack index %s: %w", filepath.Base(idxName), err)
	}
	defer it.Close()
	for {
		e, err := it.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("reading pack index %s: %w", filepath.Base(idxName), err)
		}
		p.offsets = append(p.offsets, int64(e.Offset))
	}
	slices.Sort(p.offsets)
	return p, nil
}

// packHeader reads a packed object's header at off: type, inflated size and,
// for deltas, where the base is.
type packHeader struct {
	typ     int
	size    int64
	baseOff int64         // ofs-delta
	baseRef plumbing.Hash // ref-delta
}

func readPackHeader(br *bufio.Reader, off int64) (packHeader, error) {
	var h packHeader
	c, err := br.ReadByte()
	if err != nil {
		return h, err
	}
	h.typ = int(c>>4) & 7
	h.size = int64(c & 15)
	shift := 4
	for c&0x80 != 0 {
		if c, err = br.ReadByte(); err != nil {
			return h, err
		}
		if shift > 56 {
			return h, fmt.Errorf("object size overflows")
		}
		h.size |= int64(c&0x7f) << shift
		shift += 7
	}
	switch h.typ {
	case packOfsDelta:
		if c, err = br.ReadByte(); err != nil {
			return h, err
		}
		rel := int64(c & 0x7f)
		for c&0x80 != 0 {
			if c, err = br.ReadByte(); err != nil {
				return h, err
			}
			if rel > 1<<55 {
				return h, fmt.Errorf("delta offset overflows")
			}
			rel = ((rel + 1) << 7) | int64(c&0x7f)
		}
		if rel <= 0 || rel > off {
			return h, fmt.Errorf("bad delta base offset")
		}
		h.baseOff = off - rel
	case packRefDelta:
		if _, err := io.ReadFull(br, h.baseRef[:]); err != nil {
			return h, err
		}
	case packCommit, packTree, packBlob, packTag:
	default:
		return h, fmt.Errorf("unknown pack object type %d", h.typ)
	}
	return h, nil
}

// openAt positions a pooled bufio.Reader at off.
func (db *objectDB) openAt(p *packFile, off int64) (*bufio.Reader, error) {
	end := p.end(off)
	if off < 0 || off >= end || end > p.size {
		return nil, fmt.Errorf("offset %d outside the packfile", off)
	}
	sr := io.NewSectionReader(p.f, off, end-off)
	br, _ := db.bufs.Get().(*bufio.Reader)
	if br == nil {
		return bufio.NewReaderSize(sr, 64<<10), nil
	}
	br.Reset(sr)
	return br, nil
}

func (db *objectDB) packedSize(p *packFile, off int64) (int64, error) {
	br, err := db.openAt(p, off)
	if err != nil {
		return 0, err
	}
	h, err := readPackHeader(br, off)
	if err != nil {
		db.bufs.Put(br)
		return 0, err
	}
	if h.typ != packOfsDelta && h.typ != packRefDelta {
		db.bufs.Put(br)
		return h.size, nil
	}
	// A delta starts with the base size and the result size (LEB128).
	zr, err := db.zlibOver(br)
	if err != nil {
		db.bufs.Put(br)
		return 0, err
	}
	defer db.release(zr, br)
	zb := bufio.NewReaderSize(zr, 32)
	if _, err := leb128(zb); err != nil {
		return 0, fmt.Errorf("reading delta header: %w", err)
	}
	n, err := leb128(zb)
	if err != nil {
		return 0, fmt.Errorf("reading delta header: %w", err)
	}
	return n, nil
}

func (db *objectDB) zlibOver(br *bufio.Reader) (io.ReadCloser, error) {
	if zr, ok := db.zr.Get().(io.ReadCloser); ok {
		if err := zr.(zlib.Resetter).Reset(br, nil); err != nil {
			return nil, err
		}
		return zr, nil
	}
	return zlib.NewReader(br)
}

func leb128(r io.ByteReader) (int64, error) {
	var n int64
	for shift := 0; ; shift += 7 {
		c, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		if shift > 56 {
			return 0, fmt.Errorf("size overflows")
		}
		n |= int64(c&0x7f) << shift
		if c&0x80 == 0 {
			return n, nil
		}
	}
}

// packed returns the type and the whole inflated (and, for deltas,
// patched) content of the object at off, appended to buf[:0].
func (db *objectDB) packed(p *packFile, off int64, buf []byte, depth int) (int, []byte, error) {
	if depth > maxDeltaChain {
		return 0, nil, fmt.Errorf("delta chain longer than %d", maxDeltaChain)
	}
	br, err := db.openAt(p, off)
	if err != nil {
		return 0, nil, err
	}
	h, err := readPackHeader(br, off)
	if err != nil {
		db.bufs.Put(br)
		return 0, nil, err
	}
	zr, err := db.zlibOver(br)
	if err != nil {
		db.bufs.Put(br)
		return 0, nil, err
	}
	data, err := readFull(zr, h.size, buf)
	db.release(zr, br)
	if err != nil {
		return 0, nil, err
	}
	if h.typ != packOfsDelta && h.typ != packRefDelta {
		return h.typ, data, nil
	}
	bp, boff := p, h.baseOff
	if h.typ == packRefDelta {
		var ok bool
		if bp, boff, ok = db.find(h.baseRef); !ok {
			return 0, nil, fmt.Errorf("delta base %s not found", h.baseRef)
		}
	}
	btyp, base, err := db.base(bp, boff, depth)
	if err != nil {
		return 0, nil, err
	}
	out, err := packfile.PatchDelta(base, data)
	if err != nil {
		return 0, nil, fmt.Errorf("applying delta: %w", err)
	}
	return btyp, out, nil
}

// base returns a delta base, from the cache when it can.
func (db *objectDB) base(p *packFile, off int64, depth int) (int, []byte, error) {
	key := baseKey{p: p, off: off}
	if typ, b, ok := db.bases.get(key); ok {
		return typ, b, nil
	}
	typ, b, err := db.packed(p, off, nil, depth+1)
	if err != nil {
		return 0, nil, err
	}
	db.bases.put(key, typ, b)
	return typ, b, nil
}

// packedStream streams the object at off: non-delta objects are inflated as
// they are read; deltas are patched in memory first.
func (db *objectDB) packedStream(p *packFile, off int64) (io.ReadCloser, error) {
	br, err := db.openAt(p, off)
	if err != nil {
		return nil, err
	}
	h, err := readPackHeader(br, off)
	if err != nil {
		db.bufs.Put(br)
		return nil, err
	}
	if h.typ == packOfsDelta || h.typ == packRefDelta {
		db.bufs.Put(br)
		typ, data, err := db.packed(p, off, nil, 0)
		if err != nil {
			return nil, err
		}
		if typ != packBlob {
			return nil, fmt.Errorf("not a blob (pack type %d)", typ)
		}
		return io.NopCloser(bytes.NewReader(data)), nil
	}
	if h.typ != packBlob {
		db.bufs.Put(br)
		return nil, fmt.Errorf("not a blob (pack type %d)", h.typ)
	}
	zr, err := db.zlibOver(br)
	if err != nil {
		db.bufs.Put(br)
		return nil, err
	}
	return &inflating{Reader: io.LimitReader(zr, h.size), close: func() error { db.release(zr, br); return nil }}, nil
}

// deltaBaseCache keeps recently used delta bases, bounded in bytes.
type deltaBaseCache struct {
	mu    sync.Mutex
	max   int64
	used  int64
	order []baseKey
	m     map[baseKey]cachedBase
}

type baseKey struct {
	p   *packFile
	off int64
}

type cachedBase struct {
	typ  int
	data []byte
}

func (c *deltaBaseCache) get(k baseKey) (int, []byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[k]
	return b.typ, b.data, ok
}

func (c *deltaBaseCache) put(k baseKey, typ int, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if int64(len(data)) > c.max/4 {
		return
	}
	if c.m == nil {
		c.m = make(map[baseKey]cachedBase)
	}
	if _, ok := c.m[k]; ok {
		return
	}
	for c.used+int64(len(data)) > c.max && len(c.order) > 0 {
		old := c.order[0]
		c.order = c.order[1:]
		c.used -= int64(len(c.m[old].data))
		delete(c.m, old)
	}
	c.m[k] = cachedBase{typ: typ, data: data}
	c.order = append(c.order, k)
	c.used += int64(len(data))
}
