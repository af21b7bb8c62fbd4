package fastreg

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/pgzip"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
)

// Fixed compression settings. The compressed bytes depend on these and on
// the klauspost/compress version pinned in go.mod, never on concurrency:
// pgzip cuts the stream into blocks of gzipBlockSize and compresses each
// with the previous block's tail as dictionary, whichever goroutine runs it.
const (
	gzipLevel     = 6
	gzipBlockSize = 1 << 20
	// streamThreshold: blobs larger than this are streamed from the source
	// rather than read into memory first.
	streamThreshold = 8 << 20
)

// tarEpoch is the fixed mtime of every header and of the gzip header.
func tarEpoch() time.Time { return time.Unix(0, 0) }

// tarResult is what writing a tarball measured.
type tarResult struct {
	digest     v1.Hash // sha256 of the uncompressed tar: the bundle identity
	compressed v1.Hash // sha256 of the gzip stream: the layer digest
	size       int64
	csize      int64
}

// source gives the content of entries, safely from several goroutines.
type source interface {
	// read returns the whole content of e (small enough to hold), in buf
	// if it is large enough.
	read(e *entry, buf []byte) ([]byte, error)
	// open streams the content of e.
	open(e *entry) (io.ReadCloser, error)
}

// tarHeader is the normalised header of an entry.
func tarHeader(e *entry) *tar.Header {
	h := &tar.Header{
		Name:    e.path,
		ModTime: tarEpoch(),
		Format:  tar.FormatGNU,
	}
	switch e.kind {
	case kindSymlink:
		h.Typeflag = tar.TypeSymlink
		h.Linkname = e.target
		h.Mode = 0o777
	case kindExec:
		h.Typeflag = tar.TypeReg
		h.Mode = 0o755
		h.Size = e.size
	default:
		h.Typeflag = tar.TypeReg
		h.Mode = 0o644
		h.Size = e.size
	}
	return h
}

// prefetchWindow bounds the bytes read ahead of the tar writer.
const prefetchWindow = 32 << 20

// slot is one entry on its way to the tar writer.
type slot struct {
	e      *entry
	data   []byte
	err    error
	stream bool          // too large to hold: the writer streams it
	done   chan struct{} // closed when data/err are set
}

// writeTarball writes entries (sorted) as a reproducible gzip-compressed tar
// to dst; with a nil dst it only hashes the uncompressed tar. Up to concurrency goroutines read contents ahead of the writer
// (bounded by prefetchWindow bytes), and pgzip compresses blocks on as many.
// When gitHash is set it fills in each entry's git blob id from the bytes it
// wrote (worktree bundles compare them with HEAD).
func writeTarball(ctx context.Context, dst io.Writer, entries []entry, src source, o *options, gitHash bool) (tarResult, error) {
	concurrency := o.concurrency
	csum := sha256.New()
	cw := &countingWriter{w: csum}
	if dst != nil {
		cw.w = io.MultiWriter(dst, csum)
	}
	gz, err := pgzip.NewWriterLevel(cw, gzipLevel)
	if err != nil {
		return tarResult{}, fmt.Errorf("starting compression: %w", err)
	}
	gz.Header.ModTime = tarEpoch()
	gz.Header.OS = 255 // unknown: the same bytes on every OS
	if err := gz.SetConcurrency(gzipBlockSize, concurrency); err != nil {
		return tarResult{}, fmt.Errorf("starting compression: %w", err)
	}
	usum := sha256.New()
	uw := &countingWriter{w: io.MultiWriter(usum, gz)}
	if dst == nil {
		uw.w = usum // identity only: no compression at all
	}
	tw := tar.NewWriter(uw)

	g, gctx := errgroup.WithContext(ctx)
	order := make(chan *slot, 4096)
	jobs := make(chan *slot)
	window := semaphore.NewWeighted(prefetchWindow)
	bufs := sync.Pool{}
	g.Go(func() error { // producer: slots in tar order
		defer close(order)
		defer close(jobs)
		for i := range entries {
			s := &slot{e: &entries[i], done: make(chan struct{})}
			switch {
			case s.e.kind == kindSymlink:
				close(s.done)
			case s.e.size > o.streamAbove:
				s.stream = true
				close(s.done)
			default:
				if err := window.Acquire(gctx, s.e.size+1); err != nil {
					return err
				}
			}
			select {
			case order <- s:
			case <-gctx.Done():
				return gctx.Err()
			}
			if isClosed(s.done) {
				continue
			}
			select {
			case jobs <- s:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range concurrency {
		g.Go(func() error { // readers
			for s := range jobs {
				var buf []byte
				if b, ok := bufs.Get().(*[]byte); ok {
					buf = *b
				}
				s.data, s.err = src.read(s.e, buf)
				close(s.done)
			}
			return nil
		})
	}
	g.Go(func() error { // writer
		buf := make([]byte, 256<<10)
		for s := range order {
			select {
			case <-s.done:
			case <-gctx.Done():
				return gctx.Err()
			}
			if err := writeEntry(tw, s, src, buf, gitHash); err != nil {
				return err
			}
			if !s.stream && s.e.kind != kindSymlink {
				window.Release(s.e.size + 1)
				b := s.data[:0]
				s.data = nil
				bufs.Put(&b)
			}
		}
		if err := tw.Close(); err != nil {
			return fmt.Errorf("finishing tar: %w", err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		gz.Close()
		return tarResult{}, err
	}
	if err := gz.Close(); err != nil {
		return tarResult{}, fmt.Errorf("finishing compression: %w", err)
	}
	if dst == nil {
		return tarResult{digest: sumHash(usum), size: uw.n}, nil
	}
	return tarResult{
		digest:     sumHash(usum),
		compressed: sumHash(csum),
		size:       uw.n,
		csize:      cw.n,
	}, nil
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// writeEntry writes one entry's header and content.
func writeEntry(tw *tar.Writer, s *slot, src source, buf []byte, gitHash bool) error {
	e := s.e
	if s.err != nil {
		return s.err
	}
	if err := tw.WriteHeader(tarHeader(e)); err != nil {
		return fmt.Errorf("writing tar header of %s: %w", e.path, err)
	}
	switch {
	case e.kind == kindSymlink:
		if gitHash {
			e.hash = plumbing.ComputeHash(plumbing.BlobObject, []byte(e.target))
		}
		return nil
	case !s.stream:
		if int64(len(s.data)) != e.size {
			return fmt.Errorf("writing %s: read %d bytes, expected %d (did it change while bundling?)", e.path, len(s.data), e.size)
		}
		if _, err := tw.Write(s.data); err != nil {
			return fmt.Errorf("writing %s: %w", e.path, err)
		}
		if gitHash {
			e.hash = plumbing.ComputeHash(plumbing.BlobObject, s.data)
		}
		return nil
	}
	r, err := src.open(e)
	if err != nil {
		return err
	}
	defer r.Close()
	var w io.Writer = tw
	var hs plumbing.Hasher
	if gitHash {
		hs = plumbing.NewHasher(plumbing.BlobObject, e.size)
		w = io.MultiWriter(tw, hs)
	}
	n, err := io.CopyBuffer(w, io.LimitReader(r, e.size+1), buf)
	if err != nil {
		return fmt.Errorf("writing %s: %w", e.path, err)
	}
	if n != e.size {
		return fmt.Errorf("writing %s: read %d bytes, expected %d (did it change while bundling?)", e.path, n, e.size)
	}
	if gitHash {
		e.hash = hs.Sum()
	}
	return nil
}

func sumHash(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
