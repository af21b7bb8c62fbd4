package packager

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/pgzip"
)

// Reproducibility settings for every layer runway writes. Changing any of
// them changes image digests (not tags: tags come from the dependency hash).
var (
	// layerTime is the mtime of every entry and the created time of the
	// image config and of runway's history entries.
	layerTime = time.Unix(0, 0).UTC()
)

const (
	gzipLevel     = 6       // pgzip/gzip default level, fixed so output never drifts with a library default
	gzipBlockSize = 1 << 20 // pgzip block size; the output depends on it, the number of blocks does not
)

// entry is one member of a layer: a path inside the image (slash separated,
// relative, no leading "./") and where its content comes from.
type entry struct {
	name     string // path in the image, e.g. "opt/deps/x.py"
	typ      byte   // tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink
	mode     int64  // normalised permission bits
	size     int64  // size of src (TypeReg)
	linkname string // symlink target or hardlink target (image path)
	open     func() (io.ReadCloser, error)
}

// fileLayer is a gzip-compressed tar layer kept in a file on disk, with its
// digests computed once while it was written.
type fileLayer struct {
	path   string
	digest v1.Hash // sha256 of the compressed bytes
	diffID v1.Hash // sha256 of the uncompressed tar
	size   int64   // compressed size
	// progress, if set, is told how many compressed bytes have been read.
	progress func(complete, total int64)
}

var _ v1.Layer = (*fileLayer)(nil)

func (l *fileLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)     { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) {
	return types.OCILayer, nil
}
func (l *fileLayer) Compressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil || l.progress == nil {
		return f, err
	}
	return &progressReader{ReadCloser: f, total: l.size, report: l.progress}, nil
}

// progressReportBytes is how often (in bytes read) progress is reported.
const progressReportBytes = 1 << 20

type progressReader struct {
	io.ReadCloser
	total, done, reported int64
	report                func(complete, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.ReadCloser.Read(b)
	p.done += int64(n)
	if p.done-p.reported >= progressReportBytes || (p.done == p.total && p.reported != p.done) {
		p.reported = p.done
		p.report(p.done, p.total)
	}
	return n, err
}
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	zr, err := pgzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening layer %s: %w", l.digest, err)
	}
	return &readCloser{Reader: zr, close: func() error {
		zr.Close()
		return f.Close()
	}}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r *readCloser) Close() error { return r.close() }

// writeLayer writes entries (already sorted by name) as a normalised,
// gzip-compressed tar into a new file under dir and returns the layer.
func writeLayer(dir string, entries []entry) (_ *fileLayer, err error) {
	f, err := os.CreateTemp(dir, "runway-layer-*.tar.gz")
	if err != nil {
		return nil, fmt.Errorf("creating layer file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing layer file: %w", cerr)
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}()

	compressed := sha256.New()
	counter := &countWriter{}
	zw, err := pgzip.NewWriterLevel(io.MultiWriter(f, compressed, counter), gzipLevel)
	if err != nil {
		return nil, fmt.Errorf("starting gzip: %w", err)
	}
	if err := zw.SetConcurrency(gzipBlockSize, 4); err != nil {
		return nil, fmt.Errorf("configuring gzip: %w", err)
	}
	uncompressed := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(zw, uncompressed))
	for _, e := range entries {
		if err := writeEntry(tw, e); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("finishing tar: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("finishing gzip: %w", err)
	}
	return &fileLayer{
		path:   f.Name(),
		digest: sumHash(compressed),
		diffID: sumHash(uncompressed),
		size:   counter.n,
	}, nil
}

func writeEntry(tw *tar.Writer, e entry) error {
	hdr := &tar.Header{
		Typeflag: e.typ,
		Name:     e.name,
		Linkname: e.linkname,
		Mode:     e.mode,
		ModTime:  layerTime,
		// Uid, Gid 0 and empty Uname/Gname: the zero values.
		// USTAR when the names fit, PAX only for long names: the writer picks
		// the smallest format; AccessTime/ChangeTime stay zero so no PAX
		// time records are ever written.
	}
	if e.typ == tar.TypeDir && len(hdr.Name) > 0 && hdr.Name[len(hdr.Name)-1] != '/' {
		hdr.Name += "/"
	}
	if e.typ != tar.TypeReg {
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing tar header for %s: %w", e.name, err)
		}
		return nil
	}
	hdr.Size = e.size
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing tar header for %s: %w", e.name, err)
	}
	rc, err := e.open()
	if err != nil {
		return fmt.Errorf("opening %s: %w", e.name, err)
	}
	defer rc.Close()
	n, err := io.Copy(tw, io.LimitReader(rc, e.size))
	if err != nil {
		return fmt.Errorf("copying %s into layer: %w", e.name, err)
	}
	if n != e.size {
		return fmt.Errorf("copying %s into layer: file changed size while being read (%d of %d bytes)", e.name, n, e.size)
	}
	return nil
}

// ErrUnsupportedFile means the install command left something in the staging
// directory that a layer cannot hold portably (a FIFO, socket or device).
var ErrUnsupportedFile = errors.New("unsupported file type in dependency layer")

// collectEntries walks root and returns its contents as layer entries
// sorted by full path, with modes normalised: directories 0755, regular
// files 0755 when any execute bit is set and 0644 otherwise, symlinks kept
// with their target as written. Files that share an inode become hardlinks
// to the first of their paths in sorted order, so that installers which
// hardlink (pip, conda) do not double the layer.
func collectEntries(root string) ([]entry, error) {
	type inode struct{ dev, ino uint64 }
	var entries []entry
	inodes := map[string]inode{} // name -> inode, for files with more than one link
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walking %s: %w", p, err)
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		switch m := info.Mode(); {
		case m.IsDir():
			entries = append(entries, entry{name: name, typ: tar.TypeDir, mode: 0o755})
		case m&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("reading symlink %s: %w", p, err)
			}
			entries = append(entries, entry{name: name, typ: tar.TypeSymlink, mode: 0o777, linkname: target})
		case m.IsRegular():
			if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
				inodes[name] = inode{uint64(st.Dev), uint64(st.Ino)} //nolint:unconvert // Dev and Ino are narrower on darwin
			}
			entries = append(entries, entry{
				name: name, typ: tar.TypeReg, mode: fileMode(m), size: info.Size(),
				open: func() (io.ReadCloser, error) { return os.Open(p) },
			})
		default:
			return fmt.Errorf("%s (%s): %w", name, m.Type(), ErrUnsupportedFile)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// WalkDir visits in lexical order per directory, which is not the order
	// of full paths ("a/b" sorts after "a-b"); sort the full names so the
	// layer depends on nothing but the names.
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	first := map[inode]string{}
	for i, e := range entries {
		ino, ok := inodes[e.name]
		if !ok {
			continue
		}
		if target, ok := first[ino]; ok {
			entries[i] = entry{name: e.name, typ: tar.TypeLink, mode: e.mode, linkname: target}
			continue
		}
		first[ino] = e.name
	}
	return entries, nil
}

func fileMode(m fs.FileMode) int64 {
	if m.Perm()&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

// parentDirs returns directory entries for every parent of name, outermost
// first ("usr", "usr/local", "usr/local/bin" for "usr/local/bin/runway").
func parentDirs(name string) []entry {
	var dirs []entry
	for d := path.Dir(name); d != "." && d != "/"; d = path.Dir(d) {
		dirs = append([]entry{{name: d, typ: tar.TypeDir, mode: 0o755}}, dirs...)
	}
	return dirs
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

func sumHash(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}
