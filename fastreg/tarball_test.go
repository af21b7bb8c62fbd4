package fastreg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// failingSource serves "content of <path>" and fails on one path.
type failingSource struct{ fail string }

func (f failingSource) content(e *entry) ([]byte, error) {
	if e.path == f.fail {
		return nil, fmt.Errorf("reading %s: disk on fire", e.path)
	}
	return []byte(strings.Repeat("x", int(e.size))), nil
}

func (f failingSource) read(e *entry, _ []byte) ([]byte, error) { return f.content(e) }

func (f failingSource) open(e *entry) (io.ReadCloser, error) {
	b, err := f.content(e)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(strings.NewReader(string(b))), nil
}

// TestWriteTarballStopsOnError: a failing read, a failing stream and a
// cancelled context each end the pipeline with that error and leave no
// goroutine behind.
func TestWriteTarballStopsOnError(t *testing.T) {
	var entries []entry
	for i := range 2000 {
		entries = append(entries, entry{path: fmt.Sprintf("f%04d", i), size: int64(i % 700)})
	}
	entries[1500].size = 100_000 // streamed
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		fail string
		want string
	}{
		{"read", context.Background(), "f0100", "disk on fire"},
		{"stream", context.Background(), "f1500", "disk on fire"},
		{"cancelled", ctx, "", "context canceled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			o, err := newOptions([]Option{WithConcurrency(3), withStreamAbove(64 << 10)})
			if err != nil {
				t.Fatal(err)
			}
			_, err = writeTarball(tc.ctx, io.Discard, entries, failingSource{fail: tc.fail}, o, false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if tc.ctx.Err() != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
		})
	}
}
