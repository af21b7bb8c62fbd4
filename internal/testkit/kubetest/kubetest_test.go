package kubetest

import (
	"context"
	"strings"
	"testing"
)

// Without the binaries, Start fails and says how to get them.
func TestStartExplainsMissingBinaries(t *testing.T) {
	tests := []struct {
		name, bin, want string
	}{
		{"unset", "", "bash .ci/kube.sh"},
		{"empty dir", t.TempDir(), "holds no kube-apiserver"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvBin, tt.bin)
			cp, err := Start(context.Background(), t.TempDir())
			if err == nil {
				cp.Stop()
				t.Fatal("Start succeeded without binaries")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}
