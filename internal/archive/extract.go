package archive

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
)

// Default extraction limits (a zero field in Limits takes these).
const (
	DefaultMaxBytes int64 = 1 << 30
	DefaultMaxFiles       = 100_000
)

// Limits bound what Extract and Stage accept.
type Limits struct {
	// MaxBytes bounds the uncompressed tar stream,
	// counted as it is decompressed, so a decompression bomb stops here.
	MaxBytes int64 `json:"maxBytes"`
	// MaxFiles bounds the number of members.
	MaxFiles int `json:"maxFiles"`
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultMaxFiles
	}
	return l
}

// Extract verifies and unpacks an archive into root, which must not exist
// or be an empty directory; its parent must exist.
//
// r is the archive as stored (a gzip-compressed tar or a plain tar) and
// want the sha256 of the uncompressed tar. See the package comment for the
// two passes and what is refused.
func Extract(ctx context.Context, r io.Reader, root string, want v1.Hash, limits Limits) error {
	staged, err := Stage(ctx, r, root, want, limits)
	if err != nil {
		return err
	}
	defer staged.Remove()
	return staged.Unpack(ctx, root)
}

// Staged is a verified uncompressed tar in a temporary file next to the
// root it was staged for. Remove it when done.
type Staged struct {
	f *os.File
}

// Remove deletes the temporary file.
func (s *Staged) Remove() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// Stage runs the first pass of Extract: it reads r to its end (or to the
// first refusal), and returns the verified tar only when its digest is want
// and every member is acceptable. Callers that verify something more about
// the stream (a compressed layer digest) do so between Stage and Unpack.
func Stage(ctx context.Context, r io.Reader, root string, want v1.Hash, limits Limits) (_ *Staged, err error) {
	limits = limits.WithDefaults()
	if want.Algorithm != "sha256" || len(want.Hex) != 64 {
		return nil, fmt.Errorf("want digest %q is not a sha256 digest", want)
	}
	if err := checkRootFree(root); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(root), "."+filepath.Base(root)+".tar-*")
	if err != nil {
		return nil, fmt.Errorf("creating the staging file: %w", err)
	}
	s := &Staged{f: tmp}
	defer func() {
		if err != nil {
			s.Remove()
		}
	}()

	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := firstPass(ctx, r, want, limits, bw); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("writing temporary file: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewinding the staging file: %w", err)
	}
	return s, nil
}

// Verify runs Stage's checks (limits while decompressing, every member
// header, the digest of the uncompressed tar) and writes nothing: a caller
// that holds the compressed stream can refuse a decompression bomb without
// ever holding its expansion on disk.
func Verify(ctx context.Context, r io.Reader, want v1.Hash, limits Limits) error {
	limits = limits.WithDefaults()
	if want.Algorithm != "sha256" || len(want.Hex) != 64 {
		return fmt.Errorf("want digest %q is not a sha256 digest", want)
	}
	return firstPass(ctx, r, want, limits, io.Discard)
}

// firstPass reads r to its end (or to the first refusal), copying the
// uncompressed tar to w, and checks the limits, every member and the digest.
func firstPass(ctx context.Context, r io.Reader, want v1.Hash, limits Limits, w io.Writer) error {
	in, err := decompressed(r)
	if err != nil {
		return err
	}
	sum := sha256.New()
	lim := &limitReader{ctx: ctx, r: in, left: limits.MaxBytes}
	tee := io.TeeReader(lim, io.MultiWriter(sum, w))

	current, memberErr, formatErr := scanMembers(tar.NewReader(tee), newMemberCheck(limits))
	if memberErr != nil {
		// Refused whatever the digest: stop reading now rather than pull
		// the rest of a hostile stream through.
		return memberErr
	}
	// The digest covers the whole stream, trailing blocks included.
	_, drainErr := io.Copy(io.Discard, tee)
	switch {
	case lim.over:
		return limitError(current, limits)
	case lim.err != nil:
		return fmt.Errorf("reading stream: %w", lim.err)
	case drainErr != nil:
		return fmt.Errorf("reading stream: %w", drainErr)
	}
	if got := sumHash(sum); got != want {
		return fmt.Errorf("content digest is %s, expected %s: %w", got, want, ErrDigestMismatch)
	}
	return formatErr
}

// scanMembers checks every member header in order. It stops at the first
// refused member (a refused header may declare any size) or format error
// and returns the name of the last member it saw.
func scanMembers(tr *tar.Reader, check *memberCheck) (current string, memberErr *MemberError, formatErr error) {
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return current, nil, nil
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			if current == "" {
				return current, nil, fmt.Errorf("reading the first tar header: %w", err)
			}
			return current, nil, fmt.Errorf("reading tar after member %q: %w", current, err)
		}
		current = hdr.Name
		if me := check.member(hdr); me != nil {
			return current, me, nil
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return current, nil, fmt.Errorf("reading tar member %q: %w", current, err)
		}
	}
}

func limitError(member string, l Limits) error {
	if member == "" {
		return fmt.Errorf("the stream expands past the limit of %d bytes before its first member: %w", l.MaxBytes, ErrLimit)
	}
	return &MemberError{Name: member, Reason: fmt.Sprintf("the archive expands past the limit of %d bytes (decompression bomb?)", l.MaxBytes), Err: ErrLimit}
}

// decompressed returns r's tar stream: gunzipped if r starts with the gzip
// magic, as is otherwise.
func decompressed(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading stream: %w", err)
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading gzip header: %w", err)
		}
		return zr, nil
	}
	return br, nil
}

// limitReader fails once more than left bytes were read, and when ctx ends.
type limitReader struct {
	ctx  context.Context // lives as long as the one Extract call reading through it
	r    io.Reader
	left int64
	over bool
	err  error
}

func (l *limitReader) Read(p []byte) (int, error) {
	if err := l.ctx.Err(); err != nil {
		l.err = err
		return 0, err
	}
	if l.left < 0 {
		l.over = true
		return 0, ErrLimit
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		l.over = true
		return 0, ErrLimit
	}
	if err != nil && !errors.Is(err, io.EOF) {
		l.err = err
	}
	return n, err
}

// memberCheck validates members in order, before anything is written.
type memberCheck struct {
	limits Limits
	files  int
	bytes  int64
	seen   map[string]byte // name -> type ('5' for directories, implicit ones too)
}

func newMemberCheck(l Limits) *memberCheck {
	return &memberCheck{limits: l, seen: map[string]byte{}}
}

func (c *memberCheck) member(h *tar.Header) *MemberError {
	refuse := func(format string, args ...any) *MemberError {
		return &MemberError{Name: h.Name, Reason: fmt.Sprintf(format, args...), Err: ErrUnsafeMember}
	}
	c.files++
	if c.files > c.limits.MaxFiles {
		return &MemberError{Name: h.Name, Reason: fmt.Sprintf("more than %d members", c.limits.MaxFiles), Err: ErrLimit}
	}
	name := h.Name
	if h.Typeflag == tar.TypeDir {
		name = strings.TrimSuffix(name, "/")
	}
	if reason := badName(name); reason != "" {
		return refuse("%s", reason)
	}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink:
	case tar.TypeLink:
		return refuse("hardlinks are not allowed (link to %q)", h.Linkname)
	case tar.TypeChar, tar.TypeBlock:
		return refuse("device files are not allowed")
	case tar.TypeFifo:
		return refuse("FIFOs are not allowed")
	default:
		return refuse("member type %q is not allowed", string(h.Typeflag))
	}
	if h.Size < 0 || h.Size > c.limits.MaxBytes-c.bytes {
		return &MemberError{Name: h.Name, Reason: fmt.Sprintf("declares %d bytes, over the limit of %d bytes", h.Size, c.limits.MaxBytes), Err: ErrLimit}
	}
	c.bytes += h.Size
	if h.Typeflag == tar.TypeSymlink && !LinkInside(name, h.Linkname) {
		return refuse("symlink target %q points outside the root", h.Linkname)
	}
	// Every parent must be a directory (never a symlink or a file) that this
	// member may create.
	for i := strings.IndexByte(name, '/'); i >= 0; i = nextSlash(name, i) {
		parent := name[:i]
		switch c.seen[parent] {
		case 0:
			c.seen[parent] = tar.TypeDir
		case tar.TypeDir:
		case tar.TypeSymlink:
			return refuse("writes through symlink %q", parent)
		default:
			return refuse("parent %q is a file", parent)
		}
	}
	if prev, ok := c.seen[name]; ok && (prev != tar.TypeDir || h.Typeflag != tar.TypeDir) {
		return refuse("duplicate member (the name appeared before)")
	}
	c.seen[name] = h.Typeflag
	return nil
}

func nextSlash(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '/')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// badName says why a member name is refused, or "".
func badName(name string) string {
	switch {
	case name == "":
		return "empty name"
	case strings.ContainsRune(name, 0):
		return "name contains a NUL byte"
	case strings.HasPrefix(name, "/"):
		return "absolute path"
	}
	for _, seg := range strings.Split(name, "/") {
		switch seg {
		case "..":
			return "path escapes the root (..)"
		case ".", "":
			return "name is not canonical (empty or . segment)"
		}
	}
	if path.Clean(name) != name {
		return "name is not canonical"
	}
	return ""
}

// checkRootFree refuses a root that exists and is not an empty directory.
func checkRootFree(root string) error {
	ents, err := os.ReadDir(root)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("into %s: %w", root, err)
	case len(ents) > 0:
		return fmt.Errorf("into %s: %w", root, ErrRootExists)
	}
	return nil
}

// Unpack runs the second pass of Extract: the verified tar goes into a
// temporary directory next to root, renamed to root on success.
func (s *Staged) Unpack(ctx context.Context, root string) (err error) {
	dir, err := os.MkdirTemp(filepath.Dir(root), "."+filepath.Base(root)+".extract-*")
	if err != nil {
		return fmt.Errorf("unpacking: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("unpacking: %w", err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("unpacking: %w", err)
	}
	defer r.Close()
	tr := tar.NewReader(bufio.NewReaderSize(s.f, 1<<20))
	buf := make([]byte, 256<<10)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return fmt.Errorf("unpacking: %w", err)
		}
		if err := writeMember(r, tr, h, buf); err != nil {
			return fmt.Errorf("writing member %q: %w", h.Name, err)
		}
	}
	if err := r.Close(); err != nil {
		return fmt.Errorf("unpacking: %w", err)
	}
	if err := checkRootFree(root); err != nil {
		return fmt.Errorf("unpacking: %w", err)
	}
	if err := os.Remove(root); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("into %s: %w", root, err)
	}
	if err := os.Rename(dir, root); err != nil {
		return fmt.Errorf("into %s: %w", root, err)
	}
	return nil
}

// writeMember writes one checked member through r.
func writeMember(r *os.Root, tr *tar.Reader, h *tar.Header, buf []byte) error {
	name := filepath.FromSlash(strings.TrimSuffix(h.Name, "/"))
	if dir := filepath.Dir(name); dir != "." {
		if err := r.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return r.MkdirAll(name, 0o755)
	case tar.TypeSymlink:
		return r.Symlink(h.Linkname, name)
	case tar.TypeReg:
		mode := os.FileMode(0o644)
		if h.Mode&0o111 != 0 {
			mode = 0o755
		}
		f, err := r.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return err
		}
		n, err := io.CopyBuffer(f, io.LimitReader(tr, h.Size), buf)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil && n != h.Size {
			err = fmt.Errorf("short content: %d of %d bytes", n, h.Size)
		}
		return err
	}
	return fmt.Errorf("member type %q is not allowed", string(h.Typeflag))
}

func sumHash(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}
