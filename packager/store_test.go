package packager_test

import (
	"testing"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/storetest"
)

// newStore is the production Remote store on the test registry, so what
// Build uploads is counted at the registry.
func newStore(t *testing.T, reg *storetest.Registry) store.Store {
	t.Helper()
	s, err := remote.New(reg.Host)
	if err != nil {
		t.Fatalf("opening store on %s: %v", reg.Host, err)
	}
	return s
}
