package local_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/executor/exectask"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
)

// The test binary doubles as runway: the local runner starts it as
// `<test binary> exec-task --spec FILE`, and the crash test starts it as an
// engine process, so every task attempt in these tests is a real child
// process running the real exec-task code.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "exec-task" {
		os.Exit(execTaskMain(os.Args[2:]))
	}
	if cfg := os.Getenv(envEngine); cfg != "" {
		os.Exit(engineMain(cfg))
	}
	os.Exit(m.Run())
}

const (
	// envCount names a file every exec-task process appends one line to.
	envCount = "RUNWAY_TEST_EXEC_COUNT"
	// envFailPut names a marker file: while it exists, the next output
	// upload of an exec-task process fails after its first blob (the
	// marker is removed when the failure fires).
	envFailPut = "RUNWAY_TEST_FAIL_PUT"
	envEngine  = "RUNWAY_TEST_ENGINE"
)

func execTaskMain(args []string) int {
	if f := os.Getenv(envCount); f != "" {
		fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(fh, "%d\n", os.Getpid())
			fh.Close()
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return exectask.Main(ctx, args, os.Stdout, os.Stderr, exectask.WithOpener(openStore))
}

// openStore is the test's store opener: "file://DIR" is a layout store.
func openStore(_ context.Context, ref string) (store.Store, error) {
	dir, ok := strings.CutPrefix(ref, "file://")
	if !ok {
		return nil, fmt.Errorf("unsupported store %q", ref)
	}
	s, err := layout.New(dir, layout.WithoutFsync())
	if err != nil {
		return nil, err
	}
	if marker := os.Getenv(envFailPut); marker != "" {
		return &faultyStore{Store: s, marker: marker}, nil
	}
	return s, nil
}

// errInjected is the fault the tests inject.
var errInjected = errors.New("injected store failure")

// faultyStore fails uploads on request. failBlobAfter > 0 lets that many
// PutBlob calls through and fails the next one (once); marker does the
// same across processes: while the marker file exists, the second PutBlob
// of the process fails and removes it.
type faultyStore struct {
	store.Store
	marker string

	mu            sync.Mutex
	puts          int
	failManifest  func(repo, tag string) bool
	manifestFails int
}

func (f *faultyStore) PutBlob(ctx context.Context, repo string, d v1.Hash, size int64, r io.Reader) error {
	f.mu.Lock()
	f.puts++
	n := f.puts
	f.mu.Unlock()
	if f.marker != "" && n >= 2 {
		if err := os.Remove(f.marker); err == nil {
			return fmt.Errorf("uploading %s: %w", d, errInjected)
		}
	}
	return f.Store.PutBlob(ctx, repo, d, size, r)
}

func (f *faultyStore) PutManifest(ctx context.Context, repo, tag, mt string, raw []byte) (v1.Descriptor, error) {
	f.mu.Lock()
	fail := f.failManifest != nil && f.failManifest(repo, tag)
	if fail {
		f.manifestFails++
	}
	f.mu.Unlock()
	if fail {
		return v1.Descriptor{}, fmt.Errorf("writing %s:%s: %w", repo, tag, errInjected)
	}
	return f.Store.PutManifest(ctx, repo, tag, mt, raw)
}

// countStarts reads how many exec-task processes started.
func countStarts(t testing.TB, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}
