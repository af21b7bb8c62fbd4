package archive

import "testing"

func TestLinkInside(t *testing.T) {
	tests := []struct {
		name, target string
		ok           bool
	}{
		{"l", "a", true},
		{"l", "a/b/c", true},
		{"l", "./a", true},
		{"d/l", "../a", true},
		{"d/e/l", "../../a/b", true},
		{"d/l", "..", true},
		{"l", ".", true},
		{"l", "..", false},
		{"l", "../a", false},
		{"d/l", "../../a", false},
		{"l", "/etc", false},
		{"l", "", false},
		{"l", "a/../b", false},
		{"d/l", "../a/../../x", false},
		{"l", "a\x00b", false},
	}
	for _, tc := range tests {
		if got := LinkInside(tc.name, tc.target); got != tc.ok {
			t.Errorf("LinkInside(%q, %q) = %v, want %v", tc.name, tc.target, got, tc.ok)
		}
	}
}
