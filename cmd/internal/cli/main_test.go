package cli

import (
	"os"
	"testing"
)

// TestMain lets the local executor run this test binary as `runway
// exec-task` (it starts os.Executable()), the same way the real binary runs.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "exec-task" {
		os.Exit(Main(os.Args[1:], Std()))
	}
	os.Exit(m.Run())
}
