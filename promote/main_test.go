package promote_test

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/runway-ci/runway/executor/exectask"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/storeopen"
)

// The test binary doubles as `runway exec-task`: the scheduler tests run
// launch plans on the real local runner, which starts it as
// `<test binary> exec-task --spec FILE` for every task attempt.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "exec-task" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		code := exectask.Main(ctx, os.Args[2:], os.Stdout, os.Stderr, exectask.WithOpener(func(_ context.Context, ref string) (store.Store, error) {
			return storeopen.Open(ref, storeopen.WithoutFsync())
		}))
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}
