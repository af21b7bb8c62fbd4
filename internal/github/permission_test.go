package github

import "testing"

// TestPermissionRank: none < read < triage < write < maintain < admin, and
// a custom role ranks as read, so a rule requiring read admits it and one
// requiring triage or more does not.
func TestPermissionRank(t *testing.T) {
	order := []string{"none", "read", "triage", "write", "maintain", "admin"}
	for i := 1; i < len(order); i++ {
		if PermissionRank(order[i-1]) >= PermissionRank(order[i]) {
			t.Errorf("%s should rank below %s", order[i-1], order[i])
		}
	}
	if PermissionRank("") != PermissionRank("none") {
		t.Error("no role should rank as none")
	}
	if PermissionRank("custom-role") != PermissionRank("read") {
		t.Error("a custom role should rank as read")
	}
	for _, p := range order[1:] {
		if !KnownPermission(p) {
			t.Errorf("%s is not known", p)
		}
	}
	for _, p := range []string{"", "none", "custom-role", "Admin"} {
		if KnownPermission(p) {
			t.Errorf("%q is known", p)
		}
	}
}
