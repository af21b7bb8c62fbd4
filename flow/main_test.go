package flow

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/runway-ci/runway/executor/exectask"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/storeopen"
	"github.com/runway-ci/runway/internal/testkit/testenv"
)

// TestMain names a static runway binary for the dependency images the
// pipeline tests build. The test binary is also the local runner's
// exec-task (the local runner starts its own executable with "exec-task"),
// so tests that run tasks through flow.Run run the real wrapper.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "exec-task" {
		open := func(_ context.Context, ref string) (store.Store, error) { return storeopen.Open(ref) }
		os.Exit(exectask.Main(context.Background(), os.Args[2:], os.Stdout, os.Stderr, exectask.WithOpener(open)))
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
