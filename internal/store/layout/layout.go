package layout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/runway-ci/runway/internal/store"
)

// index.json entries carry store.AnnotationRefName ("repo:tag"),
// store.AnnotationRepo and, for referrers, store.AnnotationSubject.

const layoutVersion = "1.0.0"

// Store is an OCI image layout directory. Create it with New.
type Store struct {
	dir   string
	log   *slog.Logger
	fsync bool
	locks store.KeyedLocker

	mu    sync.Mutex // guards cache; held across a read-modify-write of the index
	cache *index
}

var _ store.Store = (*Store)(nil)

type options struct {
	log   *slog.Logger
	fsync bool
}

// Option configures New.
type Option func(*options) error

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("nil logger")
		}
		o.log = l
		return nil
	}
}

// WithoutFsync skips fsync before renames: faster, still atomic for other
// readers, but a power loss may lose recent writes. For tests and scratch
// stores.
func WithoutFsync() Option {
	return func(o *options) error {
		o.fsync = false
		return nil
	}
}

// New opens the layout at dir, creating it (and an empty index) if needed.
func New(dir string, opts ...Option) (*Store, error) {
	o := options{log: slog.New(slog.DiscardHandler), fsync: true}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("configuring layout store: %w", err)
		}
	}
	if dir == "" {
		return nil, errors.New("opening layout store: empty directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("opening layout store %s: %w", dir, err)
	}
	s := &Store{dir: abs, log: o.log, fsync: o.fsync}
	for _, d := range []string{abs, s.path("blobs", "sha256"), s.path(".tmp"), s.path("locks")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("creating layout store %s: %w", abs, err)
		}
	}
	if err := s.initFiles(); err != nil {
		return nil, fmt.Errorf("creating layout store %s: %w", abs, err)
	}
	return s, nil
}

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.dir}, elem...)...)
}

// String implements store.Store.
func (s *Store) String() string { return "file://" + filepath.ToSlash(s.dir) }

// Dir is the layout's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) initFiles() error {
	unlock, err := s.flockIndex()
	if err != nil {
		return err
	}
	defer unlock()
	b, err := os.ReadFile(s.path("oci-layout"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := s.writeFileAtomic(s.path("oci-layout"), []byte(`{"imageLayoutVersion":"`+layoutVersion+`"}`+"\n")); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		var l struct {
			Version string `json:"imageLayoutVersion"`
		}
		if err := json.Unmarshal(b, &l); err != nil {
			return fmt.Errorf("parsing oci-layout: %w", err)
		}
		if l.Version != layoutVersion {
			return fmt.Errorf("oci-layout has imageLayoutVersion %q, want %q", l.Version, layoutVersion)
		}
	}
	if _, err := os.Stat(s.path("index.json")); errors.Is(err, fs.ErrNotExist) {
		return s.writeFileAtomic(s.path("index.json"), render(nil))
	} else if err != nil {
		return err
	}
	return nil
}

// writeFileAtomic writes b to a temporary file and renames it to dst.
func (s *Store) writeFileAtomic(dst string, b []byte) error {
	return s.atomicWrite(dst, 0o644, func(f *os.File) error {
		_, err := f.Write(b)
		return err
	})
}

// atomicWrite creates a temporary file in DIR/.tmp, lets fill write it,
// syncs it (unless WithoutFsync) and renames it to dst with mode. On any
// error the temporary file is removed and dst is untouched.
func (s *Store) atomicWrite(dst string, mode os.FileMode, fill func(*os.File) error) error {
	f, err := os.CreateTemp(s.path(".tmp"), "write-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := fill(f); err != nil {
		return err
	}
	if s.fsync {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	ok = true
	return nil
}

// Lock implements store.Store: an in-process lock, then a file lock that
// other processes sharing the directory respect.
func (s *Store) Lock(ctx context.Context, key string) (func(), error) {
	unlockMem, err := s.locks.Lock(ctx, key)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(key))
	unlockFile, err := flockWait(ctx, s.path("locks", hex.EncodeToString(sum[:])))
	if err != nil {
		unlockMem()
		return nil, fmt.Errorf("taking lock %q in %s: %w", key, s, err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			unlockFile()
			unlockMem()
		})
	}, nil
}

func (s *Store) flockIndex() (func(), error) {
	unlock, err := flockWait(context.Background(), s.path(".lock"))
	if err != nil {
		return nil, fmt.Errorf("locking index of %s: %w", s, err)
	}
	return unlock, nil
}

func notFound(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, store.ErrNotFound)...)
}
