package layout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/store"
)

// entry is one descriptor of index.json.
type entry struct {
	desc    v1.Descriptor
	raw     []byte // desc rendered as JSON, reused on every rewrite
	repo    string
	tag     string // "" for an untagged entry
	subject string // subject digest, "" if none
}

func newEntry(desc v1.Descriptor) (entry, error) {
	raw, err := json.Marshal(desc)
	if err != nil {
		return entry{}, err
	}
	return entryFrom(desc, raw), nil
}

func entryFrom(d v1.Descriptor, raw []byte) entry {
	e := entry{desc: d, raw: raw, repo: d.Annotations[store.AnnotationRepo], subject: d.Annotations[store.AnnotationSubject]}
	if ref := d.Annotations[store.AnnotationRefName]; e.repo != "" && strings.HasPrefix(ref, e.repo+":") {
		e.tag = ref[len(e.repo)+1:]
	}
	return e
}

// index is index.json as parsed, plus the identity of the file it was read
// from (or written to).
type index struct {
	entries []entry
	file    os.FileInfo
	size    int64
	mtime   time.Time
}

func (ix *index) sameFile(fi os.FileInfo) bool {
	return ix != nil && ix.file != nil && os.SameFile(ix.file, fi) && fi.Size() == ix.size && fi.ModTime().Equal(ix.mtime)
}

// load returns the current index, reusing the cached one while index.json
// is the file it came from. The caller holds s.mu.
func (s *Store) load() (*index, error) {
	f, err := os.Open(s.path("index.json"))
	if err != nil {
		return nil, fmt.Errorf("reading index of %s: %w", s, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading index of %s: %w", s, err)
	}
	if s.cache.sameFile(fi) {
		return s.cache, nil
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading index of %s: %w", s, err)
	}
	var raw struct {
		SchemaVersion int               `json:"schemaVersion"`
		Manifests     []json.RawMessage `json:"manifests"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parsing index of %s: %w", s, err)
	}
	ix := &index{file: fi, size: fi.Size(), mtime: fi.ModTime()}
	for i, m := range raw.Manifests {
		var d v1.Descriptor
		if err := json.Unmarshal(m, &d); err != nil {
			return nil, fmt.Errorf("parsing entry %d of index of %s: %w", i, s, err)
		}
		ix.entries = append(ix.entries, entryFrom(d, bytes.Clone(m)))
	}
	s.cache = ix
	return ix, nil
}

func render(entries []entry) []byte {
	n := 128
	for _, e := range entries {
		n += len(e.raw) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, `{"schemaVersion":2,"mediaType":"`+store.MediaTypeOCIIndex+`","manifests":[`...)
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e.raw...)
	}
	b = append(b, "]}\n"...)
	return b
}

// update runs fn on the current index under the index file lock and writes
// the index back if fn reports a change. On any failure the cache is dropped,
// so memory never runs ahead of the file.
func (s *Store) update(fn func(ix *index) (changed bool, err error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := s.flockIndex()
	if err != nil {
		return err
	}
	defer unlock()
	ix, err := s.load()
	if err != nil {
		return err
	}
	changed, err := fn(ix)
	if err != nil || !changed {
		if err != nil {
			s.cache = nil
		}
		return err
	}
	if err := s.writeFileAtomic(s.path("index.json"), render(ix.entries)); err != nil {
		s.cache = nil
		return fmt.Errorf("writing index of %s: %w", s, err)
	}
	fi, err := os.Stat(s.path("index.json"))
	if err != nil {
		s.cache = nil
		return fmt.Errorf("writing index of %s: %w", s, err)
	}
	ix.file, ix.size, ix.mtime = fi, fi.Size(), fi.ModTime()
	return nil
}

// view runs fn on the current index. fn must copy out what it keeps.
func (s *Store) view(fn func(ix *index) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix, err := s.load()
	if err != nil {
		return err
	}
	return fn(ix)
}

func (ix *index) find(repo, tag string) int {
	for i, e := range ix.entries {
		if e.repo == repo && e.tag == tag && tag != "" {
			return i
		}
	}
	return -1
}

// findDigest returns an entry of repo for digest d (tagged or not).
func (ix *index) findDigest(repo string, d v1.Hash) int {
	for i, e := range ix.entries {
		if e.repo == repo && e.desc.Digest == d {
			return i
		}
	}
	return -1
}

func (ix *index) remove(i int) {
	ix.entries = append(ix.entries[:i], ix.entries[i+1:]...)
}

// keepReachable adds an untagged entry for old in repo if no entry of repo
// names it any more, so that it stays readable by digest.
func (ix *index) keepReachable(old entry) error {
	if ix.findDigest(old.repo, old.desc.Digest) >= 0 {
		return nil
	}
	e, err := newEntry(withAnnotations(old.desc, old.repo, "", old.subject))
	if err != nil {
		return err
	}
	ix.entries = append(ix.entries, e)
	return nil
}

func withAnnotations(d v1.Descriptor, repo, tag, subject string) v1.Descriptor {
	a := map[string]string{store.AnnotationRepo: repo}
	if tag != "" {
		a[store.AnnotationRefName] = repo + ":" + tag
	}
	if subject != "" {
		a[store.AnnotationSubject] = subject
	}
	d.Annotations = a
	return d
}
