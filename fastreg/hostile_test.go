package fastreg

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
)

var update = flag.Bool("update", false, "rewrite generated testdata (hostile corpus, golden digests)")

const hostileDir = "testdata/hostile"

// hostileLimits are the limits every corpus member is extracted with: small,
// so that bombs stay small in the repository.
var hostileLimits = Limits{MaxBytes: 8 << 20, MaxFiles: 64}

// absoluteVictim is where the absolute-path member would land.
const absoluteVictim = "/tmp/runway-hostile-absolute"

// hostileCase is one tarball of the corpus and how Extract must refuse it.
type hostileCase struct {
	Name   string `json:"name"`             // the file is Name + ".tar.gz"
	Want   string `json:"want"`             // digest passed to Extract
	Error  string `json:"error"`            // "unsafe", "limit", "digest" or "format"
	Member string `json:"member,omitempty"` // the member the error names
	Reason string `json:"reason"`           // a substring of the error
	data   []byte
}

type hostileIndex struct {
	Comment string        `json:"comment"`
	Limits  Limits        `json:"limits"`
	Cases   []hostileCase `json:"cases"`
}

// tarball builds a tar stream member by member.
type tarball struct {
	buf bytes.Buffer
	tw  *tar.Writer
	err error
}

func newTarball() *tarball {
	t := &tarball{}
	t.tw = tar.NewWriter(&t.buf)
	return t
}

func (t *tarball) file(name, data string) *tarball {
	return t.add(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))}, data)
}

func (t *tarball) add(h *tar.Header, data string) *tarball {
	if t.err != nil {
		return t
	}
	if h.Format == tar.FormatUnknown {
		h.Format = tar.FormatGNU
	}
	if err := t.tw.WriteHeader(h); err != nil {
		t.err = fmt.Errorf("header %q: %w", h.Name, err)
		return t
	}
	if _, err := t.tw.Write([]byte(data)); err != nil {
		t.err = fmt.Errorf("content %q: %w", h.Name, err)
	}
	return t
}

// done ends the archive; extra bytes follow the end-of-archive blocks.
func (t *tarball) done(extra []byte) []byte {
	if t.err == nil {
		t.err = t.tw.Close()
	}
	if t.err != nil {
		panic(t.err) // generator bug, not input
	}
	return append(t.buf.Bytes(), extra...)
}

// headerOnly is a tar whose one member declares size bytes but whose
// stream ends after its header and a little content.
func headerOnly(name string, size int64) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: size, Format: tar.FormatGNU}); err != nil {
		panic(err)
	}
	return append(buf.Bytes(), make([]byte, 512+1024)...)
}

// hostileCorpus generates the corpus. It is deterministic: the committed
// files are exactly what it returns (TestHostileCorpusIsGenerated).
func hostileCorpus() []hostileCase {
	zeros := strings.Repeat("\x00", 12<<20)
	many := newTarball()
	for i := range hostileLimits.MaxFiles + 1 {
		many.file(fmt.Sprintf("f%03d", i), "")
	}
	cases := []hostileCase{
		{Name: "absolute-path", Error: "unsafe", Member: absoluteVictim, Reason: "absolute path",
			data: newTarball().file(absoluteVictim, "pwned").done(nil)},
		{Name: "dotdot", Error: "unsafe", Member: "../sentinel/pwned", Reason: "escapes the root",
			data: newTarball().file("ok.txt", "ok").file("../sentinel/pwned", "pwned").done(nil)},
		{Name: "dotdot-inner", Error: "unsafe", Member: "a/../../sentinel/pwned", Reason: "escapes the root",
			data: newTarball().file("a/../../sentinel/pwned", "pwned").done(nil)},
		{Name: "dotdot-long-name", Error: "unsafe", Member: strings.Repeat("x", 120) + "/../../sentinel/pwned", Reason: "escapes the root",
			data: newTarball().file(strings.Repeat("x", 120)+"/../../sentinel/pwned", "pwned").done(nil)},
		{Name: "dotdot-pax-path", Error: "unsafe", Member: "../sentinel/päx", Reason: "escapes the root",
			data: newTarball().add(&tar.Header{Name: "../sentinel/päx", Typeflag: tar.TypeReg, Mode: 0o644, Size: 5, Format: tar.FormatPAX}, "pwned").done(nil)},
		{Name: "non-canonical", Error: "unsafe", Member: "./a.txt", Reason: "not canonical",
			data: newTarball().file("./a.txt", "a").done(nil)},
		{Name: "symlink-escape", Error: "unsafe", Member: "evil", Reason: "points outside the root",
			data: newTarball().add(&tar.Header{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: "../sentinel", Mode: 0o777}, "").done(nil)},
		{Name: "symlink-absolute", Error: "unsafe", Member: "evil", Reason: "points outside the root",
			data: newTarball().add(&tar.Header{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: "/etc", Mode: 0o777}, "").done(nil)},
		{Name: "symlink-dotdot-after-name", Error: "unsafe", Member: "a/evil", Reason: "points outside the root",
			data: newTarball().
				add(&tar.Header{Name: "a/up", Typeflag: tar.TypeSymlink, Linkname: "..", Mode: 0o777}, "").
				add(&tar.Header{Name: "a/evil", Typeflag: tar.TypeSymlink, Linkname: "up/../../sentinel", Mode: 0o777}, "").done(nil)},
		{Name: "symlink-escape-then-write", Error: "unsafe", Member: "evil", Reason: "points outside the root",
			data: newTarball().
				add(&tar.Header{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: "../sentinel", Mode: 0o777}, "").
				file("evil/pwned", "pwned").done(nil)},
		{Name: "symlink-write-through", Error: "unsafe", Member: "link/pwned", Reason: `writes through symlink "link"`,
			data: newTarball().
				add(&tar.Header{Name: "dir/", Typeflag: tar.TypeDir, Mode: 0o755}, "").
				add(&tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "dir", Mode: 0o777}, "").
				file("link/pwned", "pwned").done(nil)},
		{Name: "hardlink", Error: "unsafe", Member: "hard", Reason: "hardlinks are not allowed",
			data: newTarball().add(&tar.Header{Name: "hard", Typeflag: tar.TypeLink, Linkname: "/etc/passwd", Mode: 0o644}, "").done(nil)},
		{Name: "char-device", Error: "unsafe", Member: "null", Reason: "device files are not allowed",
			data: newTarball().add(&tar.Header{Name: "null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o666}, "").done(nil)},
		{Name: "block-device", Error: "unsafe", Member: "sda", Reason: "device files are not allowed",
			data: newTarball().add(&tar.Header{Name: "sda", Typeflag: tar.TypeBlock, Devmajor: 8, Devminor: 0, Mode: 0o660}, "").done(nil)},
		{Name: "fifo", Error: "unsafe", Member: "pipe", Reason: "FIFOs are not allowed",
			data: newTarball().add(&tar.Header{Name: "pipe", Typeflag: tar.TypeFifo, Mode: 0o644}, "").done(nil)},
		{Name: "other-type", Error: "unsafe", Member: "cont", Reason: `member type "7" is not allowed`,
			data: newTarball().add(&tar.Header{Name: "cont", Typeflag: tar.TypeCont, Mode: 0o644}, "").done(nil)},
		{Name: "duplicate", Error: "unsafe", Member: "a.txt", Reason: "duplicate member",
			data: newTarball().file("a.txt", "first").file("a.txt", "second").done(nil)},
		{Name: "file-then-child", Error: "unsafe", Member: "a/b", Reason: `parent "a" is a file`,
			data: newTarball().file("a", "file").file("a/b", "child").done(nil)},
		{Name: "huge-declared-size", Error: "limit", Member: "huge.bin", Reason: "declares 1099511627776 bytes",
			data: headerOnly("huge.bin", 1<<40)},
		{Name: "bomb-member", Error: "limit", Member: "zeros.bin", Reason: "over the limit",
			data: newTarball().file("zeros.bin", zeros).done(nil)},
		{Name: "bomb-trailing", Error: "limit", Member: "small.txt", Reason: "expands past the limit",
			data: newTarball().file("small.txt", "small").done([]byte(zeros))},
		{Name: "too-many-files", Error: "limit", Member: fmt.Sprintf("f%03d", hostileLimits.MaxFiles), Reason: "more than 64 members",
			data: many.done(nil)},
		{Name: "bad-digest", Error: "digest", Reason: "digest mismatch",
			data: newTarball().file("ok.txt", "harmless").done(nil)},
		{Name: "not-a-tar", Error: "format", Reason: "invalid tar header",
			data: bytes.Repeat([]byte("this is not a tar header "), 100)},
	}
	for i := range cases {
		c := &cases[i]
		c.Want = sha(c.data).String()
		if c.Error == "digest" {
			c.Want = sha([]byte("some other bundle")).String()
		}
	}
	return cases
}

// gzipped compresses with fixed settings so the files are reproducible.
func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		panic(err)
	}
	if _, err := zw.Write(b); err != nil {
		panic(err)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func renderIndex(cases []hostileCase) []byte {
	idx := hostileIndex{
		Comment: "Generated by `go test ./fastreg -run TestGenerateHostileCorpus -update`; do not edit. " +
			"Each NAME.tar.gz is extracted with these limits and the want digest; Extract must refuse it as described.",
		Limits: hostileLimits,
		Cases:  cases,
	}
	raw, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(raw, '\n')
}

// TestGenerateHostileCorpus writes the corpus with -update and otherwise
// checks that the committed files are exactly what the generator makes.
func TestGenerateHostileCorpus(t *testing.T) {
	cases := hostileCorpus()
	files := map[string][]byte{"index.json": renderIndex(cases)}
	for _, c := range cases {
		files[c.Name+".tar.gz"] = gzipped(c.data)
	}
	if *update {
		if err := os.RemoveAll(hostileDir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(hostileDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(hostileDir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	ents, err := os.ReadDir(hostileDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != len(files) {
		t.Errorf("%s holds %d files, the generator makes %d (run with -update)", hostileDir, len(ents), len(files))
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(hostileDir, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output (run go test -run TestGenerateHostileCorpus -update): %v", name, err)
		}
	}
}

// TestHostileCorpus extracts every committed member next to a sentinel
// directory: each is refused with its error, nothing lands in the sentinel,
// no root and no temporary file is left behind.
func TestHostileCorpus(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(hostileDir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx hostileIndex
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Cases) < 20 {
		t.Fatalf("corpus has %d cases", len(idx.Cases))
	}
	kinds := map[string]error{"unsafe": ErrUnsafeMember, "limit": ErrLimit, "digest": ErrDigestMismatch, "format": nil}
	for _, c := range idx.Cases {
		t.Run(c.Name, func(t *testing.T) {
			want, err := v1.NewHash(c.Want)
			if err != nil {
				t.Fatal(err)
			}
			parent := t.TempDir()
			sentinel := filepath.Join(parent, "sentinel")
			if err := os.Mkdir(sentinel, 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(filepath.Join(hostileDir, c.Name+".tar.gz"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			err = Extract(context.Background(), f, filepath.Join(parent, "root"), want, idx.Limits)
			if err == nil {
				t.Fatal("extracted; want a refusal")
			}
			t.Logf("refused: %v", err)
			kind, ok := kinds[c.Error]
			if !ok {
				t.Fatalf("unknown error kind %q", c.Error)
			}
			if kind != nil && !errors.Is(err, kind) {
				t.Errorf("error does not match %v", kind)
			}
			if !strings.Contains(err.Error(), c.Reason) {
				t.Errorf("error does not say %q", c.Reason)
			}
			if c.Member != "" {
				var me *MemberError
				if !errors.As(err, &me) || me.Name != c.Member || !strings.Contains(err.Error(), fmt.Sprintf("%q", c.Member)) {
					t.Errorf("error does not name member %q", c.Member)
				}
			}
			if left, _ := os.ReadDir(sentinel); len(left) != 0 {
				t.Errorf("written outside the root: %v", left)
			}
			if left, _ := os.ReadDir(parent); len(left) != 1 {
				t.Errorf("left next to the root: %v", left)
			}
			if _, err := os.Lstat(absoluteVictim); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s exists", absoluteVictim)
			}
		})
	}
}
