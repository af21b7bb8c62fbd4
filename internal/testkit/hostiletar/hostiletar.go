// Package hostiletar loads the hostile tar corpus (fastreg/testdata/hostile,
// generated and checked by fastreg's TestGenerateHostileCorpus) for tests
// that put it through every extraction path: code bundles (fastreg.Fetch,
// exec-task) and dir values (executor.FetchDir).
package hostiletar

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/runway-ci/runway/internal/archive"
)

// Case is one hostile tarball and how extraction must refuse it.
type Case struct {
	Name   string `json:"name"`
	Want   string `json:"want"`             // the digest the archive claims (of the uncompressed tar)
	Error  string `json:"error"`            // "unsafe", "limit", "digest" or "format"
	Member string `json:"member,omitempty"` // the member the error names
	Reason string `json:"reason"`           // a substring of the error
	// Gzip is the file as committed (a bundle layer); Tar is it
	// decompressed (the form of a dir value), nil when it is not gzip.
	Gzip, Tar []byte `json:"-"`
}

// Corpus is the whole corpus with the limits its cases assume.
type Corpus struct {
	Limits archive.Limits `json:"limits"`
	Cases  []Case         `json:"cases"`
}

// Dir is where the corpus lives.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "fastreg", "testdata", "hostile")
}

// Load reads the corpus; it fails the test when the corpus is missing or
// smaller than 20 cases.
func Load(t testing.TB) *Corpus {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(Dir(), "index.json"))
	if err != nil {
		t.Fatalf("hostile tar corpus: %v", err)
	}
	var c Corpus
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("hostile tar corpus index: %v", err)
	}
	if len(c.Cases) < 20 {
		t.Fatalf("hostile tar corpus has %d cases", len(c.Cases))
	}
	for i := range c.Cases {
		cs := &c.Cases[i]
		if cs.Gzip, err = os.ReadFile(filepath.Join(Dir(), cs.Name+".tar.gz")); err != nil {
			t.Fatal(err)
		}
		if zr, err := gzip.NewReader(bytes.NewReader(cs.Gzip)); err == nil {
			if b, err := io.ReadAll(zr); err == nil {
				cs.Tar = b
			}
		}
	}
	return &c
}
