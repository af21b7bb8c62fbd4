package platform

import (
	"strings"
	"testing"
)

// Decode errors name the config's own fields, never a Go type (issue 17,
// item 14).
func TestDecodeErrorsSpeakYAML(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"promotion:\n  rules:\n    - {to: staging, checks: [ci]}\n", `p.yaml: line 3: unknown field "checks" in a promotion rule (allowed: to, from, actors, requiredPermission, requireExecution, requiredChecks, approvals)`},
		{"executor: {kind: local, parallelism: many}\n", `p.yaml: line 1: got a string "many", want a whole number`},
		{"domains: {a: b}\n", `p.yaml: line 1: got a mapping, want a list`},
		{"colour: blue\n", `p.yaml: line 1: unknown field "colour" in the platform config (allowed: store, domains,`},
	} {
		_, err := Parse("p.yaml", []byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want %q", tc.in, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "platform.") {
			t.Errorf("Parse(%q) leaks a Go type: %v", tc.in, err)
		}
	}
}
