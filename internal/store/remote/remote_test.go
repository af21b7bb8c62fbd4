package remote_test

import (
	"testing"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/storetest"
)

func TestContract(t *testing.T) {
	tests := []struct {
		name string
		opts []storetest.RegistryOption
	}{
		{"TagSchemaFallback", nil},
		{"ReferrersAPI", []storetest.RegistryOption{storetest.WithReferrersAPI()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				reg := storetest.NewRegistry(t, tc.opts...)
				s, err := remote.New(reg.Host+"/runway", remote.WithRetryMax(0))
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		})
	}
}
