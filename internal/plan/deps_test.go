package plan

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPlanPathStaysLight guards start-up cost: the plan path must not pull
// in Kubernetes, GitHub, CLI or OpenPGP packages (their initialisation alone
// is milliseconds, against a 24 ms budget for a 50-file change).
func TestPlanPathStaysLight(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".", "../gitdiff").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	heavy := []string{"k8s.io/", "github.com/google/go-github", "github.com/spf13/cobra",
		"github.com/ProtonMail/", "github.com/go-git/gcfg", "net/http"}
	for _, dep := range strings.Fields(string(out)) {
		for _, h := range heavy {
			if strings.HasPrefix(dep, h) {
				t.Errorf("the plan path imports %s", dep)
			}
		}
	}
}
