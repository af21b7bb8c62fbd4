package fastreg

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/klauspost/compress/zlib"
)

// objectDB reads blobs straight from the repository's packfiles and loose
// objects, safely from many goroutines. go-git's own storage, used for refs,
// commits and trees, re-opens the packfile for every object, hashes every
// object it caches and inflates through a byte-at-a-time reader; for a
// bundle that reads every blob of a tree once, that was most of the time
// (profile in doc.go). Anything this reader cannot find (alternates, a
// storage that is not on disk) falls back to go-git.
type objectDB struct {
	objects string // the objects directory
	packs   []*packFile

	fbMu     sync.Mutex // go-git storages are not safe for concurrent use
	fallback storer.EncodedObjectStorer

	bases deltaBaseCache
	bufs  sync.Pool // *bufio.Reader
	zr    sync.Pool // zlib reader (zlib.Resetter)
}

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

// openObjectDB opens the object database of repo. The caller closes it.
func openObjectDB(repo *git.Repository) (*objectDB, error) {
	db := &objectDB{fallback: repo.Storer}
	db.bases.max = 64 << 20
	_, common, ok := gitDirs(repo)
	if !ok {
		return db, nil
	}
	db.objects = filepath.Join(common, "objects")
	idxs, err := filepath.Glob(filepath.Join(db.objects, "pack", "*.idx"))
	if err != nil {
		return nil, fmt.Errorf("listing packfiles: %w", err)
	}
	for _, name := range idxs {
		p, err := openPack(name)
		if err != nil {
			db.Close()
			return nil, err
		}
		if p != nil {
			db.packs = append(db.packs, p)
		}
	}
	return db, nil
}

// gitDirs returns the git directory of repo on disk and its common
// directory (where objects and info/ live; they differ for a linked worktree).
func gitDirs(repo *git.Repository) (gitDir, common string, ok bool) {
	fs, ok := repo.Storer.(*filesystem.Storage)
	if !ok {
		return "", "", false
	}
	gitDir = fs.Filesystem().Root()
	common = gitDir
	if b, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		c := strings.TrimSpace(string(b))
		if !filepath.IsAbs(c) {
			c = filepath.Join(gitDir, c)
		}
		common = c
	}
	return gitDir, common, true
}

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

// Close closes the packfiles.
func (db *objectDB) Close() error {
	var errs []error
	for _, p := range db.packs {
		errs = append(errs, p.f.Close())
	}
	db.packs = nil
	return errors.Join(errs...)
}

// find locates h in a pack.
func (db *objectDB) find(h plumbing.Hash) (*packFile, int64, bool) {
	for _, p := range db.packs {
		if off, err := p.idx.FindOffset(h); err == nil {
			return p, off, true
		}
	}
	return nil, 0, false
}

func (db *objectDB) looseName(h plumbing.Hash) string {
	s := h.String()
	return filepath.Join(db.objects, s[:2], s[2:])
}

// size returns the size of blob h without inflating more than its header.
func (db *objectDB) size(h plumbing.Hash) (int64, error) {
	if p, off, ok := db.find(h); ok {
		return db.packedSize(p, off)
	}
	if db.objects != "" {
		f, err := os.Open(db.looseName(h))
		if err == nil {
			defer f.Close()
			zr, br, err := db.inflate(f)
			if err != nil {
				return 0, fmt.Errorf("reading loose object %s: %w", h, err)
			}
			defer db.release(zr, br)
			size, err := looseHeader(zr)
			if err != nil {
				return 0, fmt.Errorf("reading loose object %s: %w", h, err)
			}
			return size, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("reading loose object %s: %w", h, err)
		}
	}
	db.fbMu.Lock()
	defer db.fbMu.Unlock()
	if s, ok := db.fallback.(interface {
		EncodedObjectSize(plumbing.Hash) (int64, error)
	}); ok {
		return s.EncodedObjectSize(h)
	}
	o, err := db.fallback.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return 0, err
	}
	return o.Size(), nil
}

// read returns the whole content of blob h, which is size bytes, appended
// to buf[:0].
func (db *objectDB) read(h plumbing.Hash, size int64, buf []byte) ([]byte, error) {
	if p, off, ok := db.find(h); ok {
		typ, data, err := db.packed(p, off, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("reading object %s from packfile: %w", h, err)
		}
		if typ != packBlob {
			return nil, fmt.Errorf("object %s is not a blob (pack type %d)", h, typ)
		}
		return data, nil
	}
	rc, err := db.open(h)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readFull(rc, size, buf)
}

// open streams blob h.
func (db *objectDB) open(h plumbing.Hash) (io.ReadCloser, error) {
	if p, off, ok := db.find(h); ok {
		r, err := db.packedStream(p, off)
		if err != nil {
			return nil, fmt.Errorf("reading object %s from packfile: %w", h, err)
		}
		return r, nil
	}
	if db.objects != "" {
		f, err := os.Open(db.looseName(h))
		if err == nil {
			zr, br, err := db.inflate(f)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("reading loose object %s: %w", h, err)
			}
			if _, err := looseHeader(zr); err != nil {
				db.release(zr, br)
				f.Close()
				return nil, fmt.Errorf("reading loose object %s: %w", h, err)
			}
			return &inflating{Reader: zr, close: func() error { db.release(zr, br); return f.Close() }}, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("reading loose object %s: %w", h, err)
		}
	}
	db.fbMu.Lock()
	defer db.fbMu.Unlock()
	o, err := db.fallback.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, fmt.Errorf("reading object %s: %w", h, err)
	}
	r, err := o.Reader()
	if err != nil {
		return nil, fmt.Errorf("reading object %s: %w", h, err)
	}
	return r, nil
}

type inflating struct {
	io.Reader
	close func() error
}

func (r *inflating) Close() error { return r.close() }

// inflate starts a zlib reader over r; release returns both readers to their pools.
func (db *objectDB) inflate(r io.Reader) (io.ReadCloser, *bufio.Reader, error) {
	br, _ := db.bufs.Get().(*bufio.Reader)
	if br == nil {
		br = bufio.NewReaderSize(r, 64<<10)
	} else {
		br.Reset(r)
	}
	if zr, ok := db.zr.Get().(io.ReadCloser); ok {
		if err := zr.(zlib.Resetter).Reset(br, nil); err != nil {
			db.bufs.Put(br)
			return nil, nil, err
		}
		return zr, br, nil
	}
	zr, err := zlib.NewReader(br)
	if err != nil {
		db.bufs.Put(br)
		return nil, nil, err
	}
	return zr, br, nil
}

func (db *objectDB) release(zr io.ReadCloser, br *bufio.Reader) {
	br.Reset(nil)
	db.bufs.Put(br)
	db.zr.Put(zr)
}

// looseHeader reads "blob <size>\x00".
func looseHeader(r io.Reader) (int64, error) {
	var hdr [32]byte
	for i := range hdr {
		if _, err := io.ReadFull(r, hdr[i:i+1]); err != nil {
			return 0, fmt.Errorf("reading header: %w", err)
		}
		if hdr[i] == 0 {
			typ, size, ok := strings.Cut(string(hdr[:i]), " ")
			if !ok || typ != "blob" {
				return 0, fmt.Errorf("not a blob: header %q", hdr[:i])
			}
			n, err := strconv.ParseInt(size, 10, 64)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("bad header %q", hdr[:i])
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("header too long")
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

// maxInMemory bounds an object read whole (delta bases and results are): a
// corrupt or hostile header must not make us allocate without limit.
const maxInMemory = 1 << 30

// readFull reads exactly size bytes from r into buf[:0] (growing it).
func readFull(r io.Reader, size int64, buf []byte) ([]byte, error) {
	if size < 0 || size > maxInMemory {
		return nil, fmt.Errorf("object of %d bytes is too large to hold in memory", size)
	}
	if int64(cap(buf)) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("inflating %d bytes: %w", size, err)
	}
	return buf, nil
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
