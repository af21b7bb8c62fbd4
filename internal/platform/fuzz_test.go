package platform

import (
	"strings"
	"testing"
)

// FuzzParse: no platform config makes Parse panic; every failure names
// the file; every config it accepts satisfies what validate promises
// (named, unique domains, a known executor, rules naming known domains).
// Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte("domains: [{name: dev}, {name: prod}]\nexecutor: {kind: local}\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := Parse("p.yaml", in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "p.yaml") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, d := range c.Domains {
			if d.Name == "" || seen[d.Name] {
				t.Fatalf("accepted domains %+v", c.Domains)
			}
			seen[d.Name] = true
		}
		if c.Executor.Kind != ExecutorLocal && c.Executor.Kind != ExecutorKubernetes {
			t.Fatalf("accepted executor kind %q", c.Executor.Kind)
		}
		for _, r := range c.Promote.Rules {
			if !seen[r.To] {
				t.Fatalf("accepted a rule to unknown domain %q", r.To)
			}
		}
	})
}
