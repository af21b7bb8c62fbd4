package executor

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/archive"
	"github.com/runway-ci/runway/internal/store"
)

// File and dir values are blobs in the domain's execution repository
// (store.ExecutionRepo). A dir is stored as a reproducible tar: entries
// sorted by path, zero times and owners, modes reduced to 0644/0755, so the
// same tree always has the same digest and therefore the same cache key.

// PutFile uploads the regular file at path into repo and returns its value.
func PutFile(ctx context.Context, s store.Store, repo, path string) (Value, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Value{}, fmt.Errorf("reading file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return Value{}, fmt.Errorf("%s is not a regular file: %w", path, ErrType)
	}
	d, size, err := hashFile(path)
	if err != nil {
		return Value{}, err
	}
	if err := putBlobFile(ctx, s, repo, path, d, size); err != nil {
		return Value{}, err
	}
	return Value{Type: TypeFile, Digest: d.String(), Size: size}, nil
}

// PutDir uploads the directory at path as a reproducible tar into repo.
// scratch is a directory for the temporary tar ("" means os.TempDir()).
func PutDir(ctx context.Context, s store.Store, repo, path, scratch string) (Value, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Value{}, fmt.Errorf("reading directory %s: %w", path, err)
	}
	if !fi.IsDir() {
		return Value{}, fmt.Errorf("%s is not a directory: %w", path, ErrType)
	}
	f, err := os.CreateTemp(scratch, "dir-*.tar")
	if err != nil {
		return Value{}, fmt.Errorf("creating temporary tar for %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	if err := writeTar(cw, path); err != nil {
		return Value{}, fmt.Errorf("archiving directory %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return Value{}, fmt.Errorf("archiving directory %s: %w", path, err)
	}
	d := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	if err := putBlobFile(ctx, s, repo, f.Name(), d, cw.n); err != nil {
		return Value{}, err
	}
	return Value{Type: TypeDir, Digest: d.String(), Size: cw.n}, nil
}

func putBlobFile(ctx context.Context, s store.Store, repo, path string, d v1.Hash, size int64) error {
	ok, err := s.HasBlob(ctx, repo, d)
	if err != nil {
		return fmt.Errorf("checking blob %s in %s: %w", d, repo, err)
	}
	if ok {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("uploading %s: %w", path, err)
	}
	defer f.Close()
	if err := s.PutBlob(ctx, repo, d, size, f); err != nil {
		return fmt.Errorf("uploading blob %s to %s: %w", d, repo, err)
	}
	return nil
}

func hashFile(path string) (v1.Hash, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return v1.Hash{}, 0, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return v1.Hash{}, 0, fmt.Errorf("reading %s: %w", path, err)
	}
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}, n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeTar writes root's tree as a reproducible tar (see the file comment).
// Symbolic links are kept only when they stay inside root.
func writeTar(w io.Writer, root string) error {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(paths)
	tw := tar.NewWriter(w)
	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: rel, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		switch m := fi.Mode(); {
		case m.IsDir():
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, rel+"/", 0o755
		case m.IsRegular():
			hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, fi.Size(), 0o644
			if m&0o111 != 0 {
				hdr.Mode = 0o755
			}
		case m&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if !archive.LinkInside(rel, target) {
				return fmt.Errorf("symbolic link %s -> %s may leave the directory (a link may climb with leading .. only, never above the directory): extraction would refuse it: %w", rel, target, ErrType)
			}
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, target, 0o777
		default:
			return fmt.Errorf("%s is not a regular file, directory or symbolic link: %w", rel, ErrType)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// FetchFile downloads a file value to dst, verifying its digest while it
// streams; a mismatch removes dst and returns store.ErrDigestMismatch.
func FetchFile(ctx context.Context, s store.Store, repo string, v Value, dst string) error {
	rc, h, err := openBlob(ctx, s, repo, v)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	_, err = io.Copy(f, io.TeeReader(rc, h))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = checkDigest(h, v)
	}
	if err != nil {
		os.Remove(dst)
		return fmt.Errorf("fetching %s into %s: %w", v.Digest, dst, err)
	}
	return nil
}

// FetchDir downloads a dir value and extracts it into dst, which must not
// exist or be an empty directory; its parent must exist. It uses
// internal/archive, the extractor bundles use too: the tar's digest and
// every member are checked before anything is created at dst, the tree is
// unpacked through os.Root, and absolute paths, "..", links that may leave
// dst (a chain of links included), writes through links and special files
// are refused (archive.ErrUnsafeMember). A digest mismatch matches
// store.ErrDigestMismatch. The value's size bounds the extraction.
func FetchDir(ctx context.Context, s store.Store, repo string, v Value, dst string) error {
	d, err := v1.NewHash(v.Digest)
	if err != nil {
		return fmt.Errorf("%s value: %w", v.Type, err)
	}
	rc, err := s.GetBlob(ctx, repo, d)
	if err != nil {
		return fmt.Errorf("opening blob %s in %s: %w", d, repo, err)
	}
	defer rc.Close()
	if err := archive.Extract(ctx, rc, dst, d, dirLimits(v)); err != nil {
		if errors.Is(err, archive.ErrDigestMismatch) {
			err = fmt.Errorf("%w: %w", store.ErrDigestMismatch, err)
		}
		return fmt.Errorf("fetching %s into %s: %w", v.Digest, dst, err)
	}
	return nil
}

// dirLimits bounds a dir value's extraction by its recorded size: the tar
// must hash to the value's digest, so it cannot be longer, and every member
// takes at least one 512-byte header.
func dirLimits(v Value) archive.Limits {
	if v.Size <= 0 {
		return archive.Limits{}
	}
	return archive.Limits{MaxBytes: v.Size, MaxFiles: int(min(v.Size/512+1, math.MaxInt32))}
}

func openBlob(ctx context.Context, s store.Store, repo string, v Value) (io.ReadCloser, hash.Hash, error) {
	d, err := v1.NewHash(v.Digest)
	if err != nil {
		return nil, nil, fmt.Errorf("%s value: %w", v.Type, err)
	}
	rc, err := s.GetBlob(ctx, repo, d)
	if err != nil {
		return nil, nil, fmt.Errorf("opening blob %s in %s: %w", d, repo, err)
	}
	return rc, sha256.New(), nil
}

func checkDigest(h hash.Hash, v Value) error {
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != v.Digest {
		return fmt.Errorf("content digest is %s: %w", got, store.ErrDigestMismatch)
	}
	return nil
}
