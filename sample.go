// Package runway holds the sample pipeline that `runway demo` runs. The
// code lives in the packages below this directory; see README.md.
//
// Layer: an internal package (see README.md). It imports the standard
// library, third-party modules and other internal packages only: never a
// domain package, never flow, a presentation package (prbot, ui) or an entry
// point (cmd/, action/, server/). Only its tests import test kits
// (internal/testkit/...); internal/archtest checks this.
package runway

import (
	"embed"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed all:testdata/sample
var sample embed.FS

// Sample returns the sample pipeline's files (testdata/sample).
func Sample() fs.FS {
	sub, err := fs.Sub(sample, "testdata/sample")
	if err != nil {
		panic(err) // the embed pattern above guarantees the directory
	}
	return sub
}

// WriteSample writes the sample pipeline's files into dir (created if
// needed): what `runway demo` and the tests that need a real pipeline
// repository start from.
func WriteSample(dir string) error {
	return fs.WalkDir(Sample(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := fs.ReadFile(Sample(), p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}
