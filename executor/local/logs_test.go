package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The log directory stays under its cap by dropping the oldest executions'
// logs; one log keeps its end (issue 17, item 7).
func TestLogCaps(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"01aaaaaaaaaaaa", "01bbbbbbbbbbbb", "01cccccccccccc"} {
		p := AttemptLogPath(dir, id, "fit", 1)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, make([]byte, 400), 0o644)
	}
	if err := pruneLogs(dir, 900, "01aaaaaaaaaaaa"); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"01aaaaaaaaaaaa": true, "01bbbbbbbbbbbb": false, "01cccccccccccc": true} {
		if _, err := os.Stat(filepath.Join(dir, id)); (err == nil) != want {
			t.Errorf("%s kept = %v, want %v", id, err == nil, want)
		}
	}
	src := filepath.Join(t.TempDir(), "task.log")
	os.WriteFile(src, []byte(strings.Repeat("a", 100)+"the end\n"), 0o644)
	dst := filepath.Join(t.TempDir(), "x", "attempt-1.log")
	if err := copyTail(src, dst, 8); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); !strings.HasSuffix(string(b), "the end\n") || !strings.Contains(string(b), "the first 100 bytes of this log were cut") {
		t.Errorf("tail: %q", b)
	}
}
