// Package runway holds the sample pipeline that `runway demo` runs. The
// code lives in the packages below this directory; see README.md.
package runway

import (
	"embed"
	"io/fs"
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
