package layout_test

import (
	"testing"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/internal/testkit/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := layout.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
