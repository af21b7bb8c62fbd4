package fastreg

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
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
	zr, err := db.zlibOver(br)
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
