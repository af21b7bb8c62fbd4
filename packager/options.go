package packager

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Option configures Build.
type Option func(*options) error

type options struct {
	resolver      BaseResolver
	progress      func(Progress)
	log           *slog.Logger
	installOutput io.Writer
	tempDir       string
	platform      v1.Platform
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{
		resolver: RemoteResolver{},
		log:      slog.New(slog.DiscardHandler),
		tempDir:  os.TempDir(),
		platform: v1.Platform{OS: "linux", Architecture: runtime.GOARCH},
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithBaseResolver sets how the base image is found. The default is a
// RemoteResolver with the default keychain.
func WithBaseResolver(r BaseResolver) Option {
	return func(o *options) error {
		if r == nil {
			return errors.New("packager: nil base resolver")
		}
		o.resolver = r
		return nil
	}
}

// Progress reports how much of one of runway's own layers has been read
// for upload. Complete restarts at 0 if the store retries the upload.
type Progress struct {
	Layer    string  // "dependencies" or "runway"
	Digest   v1.Hash // the layer's (compressed) digest
	Complete int64   // bytes read so far
	Total    int64   // the layer's compressed size
}

// WithProgress sets a callback for upload progress of the dependency and
// runway layers. It is called at most once per MiB per layer and once when
// a layer has been read entirely, possibly from several goroutines at once
// (layers upload concurrently). Base layers report nothing: they are
// uploaded at most once per repository, and mounted when the base lives in
// the same registry.
func WithProgress(fn func(Progress)) Option {
	return func(o *options) error {
		o.progress = fn
		return nil
	}
}

// WithLogger sets the logger. The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("packager: nil logger")
		}
		o.log = l
		return nil
	}
}

// WithInstallOutput streams the install command's stdout and stderr to w
// as it runs (the last few KiB are always kept for InstallError).
func WithInstallOutput(w io.Writer) Option {
	return func(o *options) error {
		o.installOutput = w
		return nil
	}
}

// WithTempDir sets where the staging directory and the layer files are
// created (default os.TempDir()). Everything Build creates there is removed
// before it returns.
func WithTempDir(dir string) Option {
	return func(o *options) error {
		info, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if !info.IsDir() {
			return errors.New("packager: temp dir " + dir + " is not a directory")
		}
		o.tempDir = dir
		return nil
	}
}

// progressFunc adapts the user's callback to one layer; nil stays nil.
func progressFunc(fn func(Progress), layer string, digest v1.Hash) func(complete, total int64) {
	if fn == nil {
		return nil
	}
	return func(complete, total int64) {
		fn(Progress{Layer: layer, Digest: digest, Complete: complete, Total: total})
	}
}
