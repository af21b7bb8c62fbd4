package archive

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/runway-ci/runway/internal/testkit/archivetest"
)

// TestExtractRefusesSymlinkChain: the chain a/up -> .., a/evil ->
// up/../secret is refused, plain or gzipped, and nothing is left next to
// the root.
func TestExtractRefusesSymlinkChain(t *testing.T) {
	raw := archivetest.SymlinkChain(t)
	for name, in := range map[string][]byte{"tar": raw, "gzip": archivetest.Gzip(t, raw)} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			err := Extract(context.Background(), bytes.NewReader(in), filepath.Join(parent, "root"), archivetest.Digest(raw), Limits{})
			var me *MemberError
			if !errors.Is(err, ErrUnsafeMember) || !errors.As(err, &me) || me.Name != "a/evil" {
				t.Fatalf("err = %v, want ErrUnsafeMember naming a/evil", err)
			}
			if left, _ := os.ReadDir(parent); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}
