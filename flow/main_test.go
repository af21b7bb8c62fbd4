package flow

import (
	"fmt"
	"os"
	"testing"

	"github.com/runway-ci/runway/internal/testkit/testenv"
)

// TestMain names a static runway binary for the dependency images the
// pipeline tests build.
func TestMain(m *testing.M) {
	done, err := testenv.UseStaticRunwayBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "building a static runway stand-in:", err)
		os.Exit(1)
	}
	code := m.Run()
	done()
	os.Exit(code)
}
