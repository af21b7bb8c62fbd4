package gitdiff

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/objfile"
)

// Repo is an open repository, read-only. It is not safe for concurrent use:
// it keeps one inflater and one delta-base cache. Close releases the mapped
// packfiles.
type Repo struct {
	root    string // the directory the caller named
	gitDir  string
	refs    refStore
	shallow map[plumbing.Hash]bool
	commits map[plumbing.Hash]*commitInfo

	*objectDB // shared with the diff's workers
	*reader   // this goroutine's
}

// objectDB is the object database: loose object directories and mapped
// packs. It is read-only after Open, so readers on several goroutines share
// it.
type objectDB struct {
	objDirs []string
	packs   []*pack
}

// reader reads objects from an objectDB with its own inflater and
// delta-base cache; it belongs to one goroutine.
type reader struct {
	db        *objectDB
	z         inflater
	scratch   []byte // delta data, only needed while patching
	cache     map[cacheKey]cached
	cacheSize int
	cacheMax  int
}

func newReader(db *objectDB) *reader {
	return &reader{db: db, cache: make(map[cacheKey]cached, 256), cacheMax: defaultCacheMax}
}

type cacheKey struct {
	pack int
	off  int64
}

type cached struct {
	typ  plumbing.ObjectType
	data []byte
}

// defaultCacheMax bounds the delta-base cache. It holds decoded trees and
// commits; 10,000 trees of the head-wide benchmark take about 8 MB.
const defaultCacheMax = 64 << 20

// Open opens the repository that contains dir (a work tree, a directory
// below one, or a bare repository), as git does.
func Open(dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("opening repository %s: %w", dir, err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("opening repository %s: %w", dir, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("opening repository %s: not a directory: %w", dir, ErrNotRepository)
	}
	gitDir, err := findGitDir(abs)
	if err != nil {
		return nil, fmt.Errorf("opening repository %s: %w", dir, err)
	}
	common := gitDir
	if b, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		c := strings.TrimSpace(string(b))
		if !filepath.IsAbs(c) {
			c = filepath.Join(gitDir, c)
		}
		common = c
	}
	db := &objectDB{}
	r := &Repo{
		root:     dir,
		gitDir:   gitDir,
		commits:  make(map[plumbing.Hash]*commitInfo),
		objectDB: db,
		reader:   newReader(db),
	}
	r.refs = refStore{gitDir: gitDir, commonDir: common}
	if err := r.addObjectDir(filepath.Join(common, "objects"), 0); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("opening repository %s: %w", dir, err)
	}
	if err := r.readShallow(filepath.Join(common, "shallow")); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("opening repository %s: %w", dir, err)
	}
	return r, nil
}

// findGitDir walks up from dir to the first directory holding a .git
// directory or gitfile, or being a bare repository itself.
func findGitDir(dir string) (string, error) {
	for d := dir; ; {
		dg := filepath.Join(d, ".git")
		if fi, err := os.Stat(dg); err == nil {
			if fi.IsDir() {
				return dg, nil
			}
			return readGitFile(d, dg)
		}
		if isGitDir(d) {
			return d, nil
		}
		up := filepath.Dir(d)
		if up == d {
			return "", fmt.Errorf("no .git found in %s or any parent: %w", dir, ErrNotRepository)
		}
		d = up
	}
}

func readGitFile(dir, file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if !strings.HasPrefix(s, "gitdir:") {
		return "", fmt.Errorf("%s is neither a directory nor a gitfile: %w", file, ErrNotRepository)
	}
	g := strings.TrimSpace(strings.TrimPrefix(s, "gitdir:"))
	if !filepath.IsAbs(g) {
		g = filepath.Join(dir, g)
	}
	if !isGitDir(g) {
		return "", fmt.Errorf("%s points at %s, which is not a git directory: %w", file, g, ErrNotRepository)
	}
	return g, nil
}

func isGitDir(d string) bool {
	if fi, err := os.Stat(filepath.Join(d, "HEAD")); err != nil || fi.IsDir() {
		return false
	}
	if _, err := os.Stat(filepath.Join(d, "commondir")); err == nil {
		return true
	}
	fi, err := os.Stat(filepath.Join(d, "objects"))
	return err == nil && fi.IsDir()
}

// addObjectDir registers an object directory, its packs and its alternates.
func (r *objectDB) addObjectDir(dir string, depth int) error {
	if depth > 5 {
		return fmt.Errorf("alternates nested deeper than 5 at %s", dir)
	}
	for _, d := range r.objDirs {
		if d == dir {
			return nil
		}
	}
	r.objDirs = append(r.objDirs, dir)
	ents, err := os.ReadDir(filepath.Join(dir, "pack"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("listing packs: %w", err)
	}
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, "pack-") || !strings.HasSuffix(n, ".idx") {
			continue
		}
		p, err := openPack(filepath.Join(dir, "pack", strings.TrimSuffix(n, ".idx")))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // an index whose pack is being written or removed
			}
			return err
		}
		r.packs = append(r.packs, p)
	}
	f, err := os.Open(filepath.Join(dir, "info", "alternates"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("reading alternates: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		a := strings.TrimSpace(sc.Text())
		if a == "" || strings.HasPrefix(a, "#") {
			continue
		}
		if !filepath.IsAbs(a) {
			a = filepath.Join(dir, a)
		}
		if err := r.addObjectDir(filepath.Clean(a), depth+1); err != nil {
			return err
		}
	}
	return sc.Err()
}

func (r *Repo) readShallow(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("reading shallow file: %w", err)
	}
	r.shallow = make(map[plumbing.Hash]bool)
	for _, l := range strings.Fields(string(b)) {
		if h, ok := parseHex(l); ok {
			r.shallow[h] = true
		}
	}
	return nil
}

// Close releases the mapped packfiles.
func (r *Repo) Close() error {
	var errs []error
	for _, p := range r.packs {
		errs = append(errs, p.release())
	}
	r.packs = nil
	return errors.Join(errs...)
}

// GitDir is the repository's git directory.
func (r *Repo) GitDir() string { return r.gitDir }

// readObject returns the type and content of h.
func (r *reader) readObject(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	for i, p := range r.db.packs {
		if off := p.find(h); off >= 0 {
			return r.readPacked(i, off)
		}
	}
	for _, d := range r.db.objDirs {
		t, b, err := readLoose(d, h)
		if err == nil {
			return t, b, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return 0, nil, fmt.Errorf("reading object %s: %w", h, err)
		}
	}
	return 0, nil, fmt.Errorf("object %s: %w", h, ErrObjectNotFound)
}

// hasObject reports whether h exists, without reading it.
func (r *objectDB) hasObject(h plumbing.Hash) bool {
	for _, p := range r.packs {
		if p.find(h) >= 0 {
			return true
		}
	}
	hex := h.String()
	for _, d := range r.objDirs {
		if _, err := os.Stat(filepath.Join(d, hex[:2], hex[2:])); err == nil {
			return true
		}
	}
	return false
}

func readLoose(dir string, h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	hex := h.String()
	f, err := os.Open(filepath.Join(dir, hex[:2], hex[2:]))
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	or, err := objfile.NewReader(f)
	if err != nil {
		return 0, nil, fmt.Errorf("loose object: %w", err)
	}
	defer or.Close()
	t, size, err := or.Header()
	if err != nil {
		return 0, nil, fmt.Errorf("loose object header: %w", err)
	}
	if size < 0 || size > maxObjectSize {
		return 0, nil, fmt.Errorf("loose object claims %d bytes: %w", size, ErrCorrupt)
	}
	var buf bytes.Buffer
	buf.Grow(int(size))
	if _, err := io.Copy(&buf, or); err != nil {
		return 0, nil, fmt.Errorf("loose object: %w", err)
	}
	return t, buf.Bytes(), nil
}

// maxDeltaChain bounds a delta chain; git's default depth is 50.
const maxDeltaChain = 10000

type link struct {
	off    int64
	dataAt int64
	size   int64
}

// readPacked resolves the object at off in pack pi, walking its delta chain
// down to a cached or whole object and patching back up. Every object
// decoded on the way is cached: bases are shared by many objects.
func (r *reader) readPacked(pi int, off int64) (plumbing.ObjectType, []byte, error) {
	if c, ok := r.cache[cacheKey{pi, off}]; ok {
		return c.typ, c.data, nil
	}
	p := r.db.packs[pi]
	var chain []link
	var typ plumbing.ObjectType
	var base []byte
	cur := off
	for {
		if c, ok := r.cache[cacheKey{pi, cur}]; ok {
			typ, base = c.typ, c.data
			break
		}
		t, size, at, baseOff, baseRef, err := p.header(cur)
		if err != nil {
			return 0, nil, err
		}
		if len(chain) > maxDeltaChain {
			return 0, nil, fmt.Errorf("delta chain longer than %d in %s: %w", maxDeltaChain, p.name, ErrCorrupt)
		}
		if t == objOfsDelta {
			chain = append(chain, link{cur, at, size})
			cur = baseOff
			continue
		}
		if t == objRefDelta {
			chain = append(chain, link{cur, at, size})
			if bo := p.find(baseRef); bo >= 0 {
				cur = bo
				continue
			}
			typ, base, err = r.readObject(baseRef)
			if err != nil {
				return 0, nil, fmt.Errorf("delta base %s: %w", baseRef, err)
			}
			break
		}
		base, err = r.z.inflate(p.data[at:], size, nil)
		if err != nil {
			return 0, nil, fmt.Errorf("object at %d in %s: %w", cur, p.name, err)
		}
		typ = plumbing.ObjectType(t)
		r.put(cacheKey{pi, cur}, typ, base)
		break
	}
	for i := len(chain) - 1; i >= 0; i-- {
		l := chain[i]
		delta, err := r.z.inflate(p.data[l.dataAt:], l.size, r.scratch)
		if err != nil {
			return 0, nil, fmt.Errorf("delta at %d in %s: %w", l.off, p.name, err)
		}
		if cap(delta) <= 1<<20 {
			r.scratch = delta[:0] // keep small buffers for the next delta
		}
		if base, err = applyDelta(base, delta); err != nil {
			return 0, nil, fmt.Errorf("delta at %d in %s: %w", l.off, p.name, err)
		}
		r.put(cacheKey{pi, l.off}, typ, base)
	}
	return typ, base, nil
}

func (r *reader) put(k cacheKey, t plumbing.ObjectType, b []byte) {
	if t == plumbing.BlobObject || len(b) > r.cacheMax/8 {
		return // blobs are read once; only trees and commits serve as bases here
	}
	if r.cacheSize+len(b) > r.cacheMax {
		clear(r.cache)
		r.cacheSize = 0
	}
	r.cache[k] = cached{t, b}
	r.cacheSize += len(b)
}
