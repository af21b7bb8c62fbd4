package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPinAndCheck(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("..", "..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	action := filepath.Join(dir, "action.yml")
	if err := os.WriteFile(action, src, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "runway-core")
	if err := os.WriteFile(bin, []byte("a binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("another binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	// An unpinned action.yml: a release build cannot be checked, a snapshot can.
	if err := run([]string{"-action", action, "-check", "-target", "linux_amd64", "-binary", bin}, &out); err == nil || !strings.Contains(err.Error(), "pins no release") {
		t.Errorf("check against no pins: %v", err)
	}
	if err := run([]string{"-action", action, "-check", "-snapshot=true", "-target", "linux_amd64", "-binary", bin}, &out); err != nil {
		t.Errorf("snapshot check: %v", err)
	}
	if err := run([]string{"-action", action, "-version", "v1.2.3", "-binary", "linux_amd64=" + bin}, &out); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-action", action, "-check", "-target", "linux_amd64", "-binary", bin}, &out); err != nil {
		t.Errorf("check of the pinned binary: %v", err)
	}
	if err := run([]string{"-action", action, "-check", "-target", "linux_amd64", "-binary", other}, &out); err == nil || !strings.Contains(err.Error(), "is not the binary") {
		t.Errorf("check of another binary: %v", err)
	}
	if err := run([]string{"-action", action, "-check", "-target", "darwin_arm64", "-binary", bin}, &out); err == nil || !strings.Contains(err.Error(), "pins no binary for darwin_arm64") {
		t.Errorf("check of an unpinned platform: %v", err)
	}
	if err := run([]string{"-action", action, "-version", "main", "-binary", "linux_amd64=" + bin}, &out); err == nil {
		t.Error("pinned a branch name")
	}
	if err := run([]string{"-action", action, "-clear"}, &out); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(action); !bytes.Equal(b, src) {
		t.Error("-clear did not restore action.yml")
	}
}
