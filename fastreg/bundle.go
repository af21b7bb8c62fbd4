package fastreg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Bundle is a built code bundle: a gzip-compressed tar in a temporary file
// plus what identifies it. The caller owns the file: Close removes it.
type Bundle struct {
	// Digest is the sha256 of the uncompressed tar: the bundle identity,
	// its tag (store.BundleTag(Digest.Hex)) and the digest entities carry.
	Digest v1.Hash
	// CompressedDigest is the sha256 of the gzip stream (the OCI layer).
	CompressedDigest v1.Hash
	// Size and CompressedSize are the byte counts of the tar and the gzip stream.
	Size           int64
	CompressedSize int64
	// Files is the number of entries (files and symlinks).
	Files int
	// Commit is the commit the bundle was made from (for a worktree bundle,
	// HEAD).
	Commit string
	// Dirty is set on a worktree bundle whose content differs from Commit.
	Dirty bool
	// Skipped lists tracked paths left out on purpose (submodules, nested
	// repositories), so a caller can report them.
	Skipped []Skipped

	path string
}

// Summary is the JSON-able description of a bundle (`runway bundle`,
// `runway plan --output json`).
type Summary struct {
	Digest           string    `json:"digest"`
	CompressedDigest string    `json:"compressedDigest"`
	Size             int64     `json:"size"`
	CompressedSize   int64     `json:"compressedSize"`
	Files            int       `json:"files"`
	Commit           string    `json:"commit"`
	Version          string    `json:"version"`
	Dirty            bool      `json:"dirty"`
	Skipped          []Skipped `json:"skipped,omitempty"`
	// Path is where the compressed tarball was written, if it was (--out).
	Path string `json:"path,omitempty"`
}

// Summary describes b.
func (b *Bundle) Summary() Summary {
	return Summary{
		Digest:           b.Digest.String(),
		CompressedDigest: b.CompressedDigest.String(),
		Size:             b.Size,
		CompressedSize:   b.CompressedSize,
		Files:            b.Files,
		Commit:           b.Commit,
		Version:          b.Version(),
		Dirty:            b.Dirty,
		Skipped:          b.Skipped,
	}
}

// Version is the entity version for code in this bundle: the commit SHA, or
// for a dirty worktree "<sha>-dirty-<first 12 hex of the bundle digest>".
func (b *Bundle) Version() string {
	if b.Dirty {
		return b.Commit + "-dirty-" + b.Digest.Hex[:12]
	}
	return b.Commit
}

// Path is the temporary file holding the compressed tarball.
func (b *Bundle) Path() string { return b.path }

// Open opens the compressed tarball for reading.
func (b *Bundle) Open() (*os.File, error) {
	f, err := os.Open(b.path)
	if err != nil {
		return nil, fmt.Errorf("opening bundle %s: %w", b.Digest, err)
	}
	return f, nil
}

// WriteFile copies the compressed tarball to name (`runway bundle --out`),
// through a temporary file in the same directory renamed into place, so name
// is either the whole bundle or untouched.
func (b *Bundle) WriteFile(name string) (err error) {
	src, err := b.Open()
	if err != nil {
		return err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing bundle to %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, src); err != nil {
		return fmt.Errorf("writing bundle to %s: %w", name, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("writing bundle to %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing bundle to %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("writing bundle to %s: %w", name, err)
	}
	return nil
}

// Close removes the temporary file. It is safe to call more than once.
func (b *Bundle) Close() error {
	if b == nil || b.path == "" {
		return nil
	}
	err := os.Remove(b.path)
	b.path = ""
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing bundle file: %w", err)
	}
	return nil
}

// Build makes the bundle of the files git tracks at a commit (WithRevision,
// default HEAD), read from git objects, not from the worktree; minus
// bundle.exclude globs (WithExclude) and the commit's .runwayignore.
func Build(ctx context.Context, repoDir string, opts ...Option) (*Bundle, error) {
	p, err := listForBundle(ctx, repoDir, opts)
	if err != nil {
		return nil, err
	}
	defer p.db.Close()
	b := &Bundle{Commit: p.commit.Hash.String(), Skipped: p.skipped}
	if err := b.write(ctx, p.o, p.entries, commitSource{db: p.db}, false); err != nil {
		return nil, err
	}
	p.o.log.DebugContext(ctx, "built bundle", "commit", b.Commit, "digest", b.Digest, "files", b.Files, "size", b.Size, "compressed", b.CompressedSize)
	return b, nil
}

// commitListing is a commit's bundle entries, within budget, and the open
// object database to read them from (the caller closes db).
type commitListing struct {
	o       *options
	db      *objectDB
	commit  *object.Commit
	entries []entry
	skipped []Skipped
}

func listForBundle(ctx context.Context, repoDir string, opts []Option) (*commitListing, error) {
	o, repo, err := begin(repoDir, opts)
	if err != nil {
		return nil, err
	}
	c, err := resolveCommit(repo, o.revision)
	if err != nil {
		return nil, err
	}
	db, err := openObjectDB(repo)
	if err != nil {
		return nil, err
	}
	entries, skipped, err := listCommit(ctx, repo, db, c, o.exclude, true)
	if err == nil {
		err = checkBudget(entries, o.maxSize)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return &commitListing{o: o, db: db, commit: c, entries: entries, skipped: skipped}, nil
}

// begin applies options and opens the repository.
func begin(repoDir string, opts []Option) (*options, *git.Repository, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, nil, err
	}
	repo, err := openRepo(repoDir)
	if err != nil {
		return nil, nil, err
	}
	return o, repo, nil
}

// Identity is what names a bundle, computed without compressing or
// writing anything.
type Identity struct {
	Digest v1.Hash `json:"digest"`
	Size   int64   `json:"size"`
	Files  int     `json:"files"`
	Commit string  `json:"commit"`
}

// Identify computes the identity Build would give the same commit (digest,
// size, files) by reading and hashing the tar without compressing it or
// writing a file: for `runway plan`, which reports the bundle and checks
// whether the store has it before anything is built. It applies the same
// options (revision, exclude, budget).
func Identify(ctx context.Context, repoDir string, opts ...Option) (Identity, error) {
	p, err := listForBundle(ctx, repoDir, opts)
	if err != nil {
		return Identity{}, err
	}
	defer p.db.Close()
	res, err := writeTarball(ctx, nil, p.entries, commitSource{db: p.db}, p.o, false)
	if err != nil {
		return Identity{}, fmt.Errorf("hashing bundle: %w", err)
	}
	return Identity{Digest: res.digest, Size: res.size, Files: len(p.entries), Commit: p.commit.Hash.String()}, nil
}

func checkBudget(entries []entry, max int64) error {
	if size := tarSize(entries); size > max {
		return &TooLargeError{Size: size, Limit: max, Largest: largest(entries, 10)}
	}
	return nil
}

// write writes entries to a new temporary file and fills in b.
func (b *Bundle) write(ctx context.Context, o *options, entries []entry, src source, gitHash bool) (err error) {
	f, err := os.CreateTemp(o.tempDir, "runway-bundle-*.tar.gz")
	if err != nil {
		return fmt.Errorf("creating bundle file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("writing bundle file: %w", cerr)
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	res, err := writeTarball(ctx, f, entries, src, o, gitHash)
	if err != nil {
		return fmt.Errorf("writing bundle: %w", err)
	}
	b.Digest, b.CompressedDigest = res.digest, res.compressed
	b.Size, b.CompressedSize = res.size, res.csize
	b.Files = len(entries)
	b.path = f.Name()
	return nil
}
