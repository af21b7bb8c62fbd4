package kubenode

import (
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/testkit/kubetest"
)

// Without the binaries, start fails and says how to get them, before it
// touches the host.
func TestStartExplainsMissingBinaries(t *testing.T) {
	tests := []struct {
		name, kube, node, want string
	}{
		{"unset", "", "", ".ci/node.sh"},
		{"empty dirs", t.TempDir(), t.TempDir(), "run .ci/kube.sh and .ci/node.sh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(kubetest.EnvBin, tt.kube)
			t.Setenv(EnvNodeBin, tt.node)
			n, err := start(t, &kubetest.ControlPlane{}, "127.0.0.1:1")
			if err == nil {
				n.Stop()
				t.Fatal("start succeeded without binaries")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/var/lib/a`:          "/var/lib/a",
		`/var/lib/with\040sp`: "/var/lib/with sp",
		`/x\134y`:             `/x\y`,
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}
