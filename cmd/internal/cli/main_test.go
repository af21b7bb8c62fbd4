package cli

import (
	"fmt"
	"os"
	"testing"

	"github.com/runway-ci/runway/internal/testkit/testenv"
)

// TestMain lets the local executor run this test binary as `runway
// exec-task` (it starts os.Executable()), the same way the real binary runs.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && (os.Args[1] == "exec-task" || os.Args[1] == "serve") { // serve: serve_test.go's real server process
		os.Exit(Main(os.Args[1:], Std()))
	}
	if len(os.Args) > 1 && os.Args[1] == "recover" { // detach.go's background process for run --wait=false
		os.Exit(Main(os.Args[1:], Std()))
	}
	done, err := testenv.UseStaticRunwayBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "building a static runway stand-in:", err)
		os.Exit(1)
	}
	code := m.Run()
	done()
	os.Exit(code)
}
