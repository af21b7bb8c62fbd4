package pathmatch

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		glob, name string
		want       bool
	}{
		{"requirements.txt", "requirements.txt", true},
		{"requirements.txt", "sub/requirements.txt", false},
		{"deps/**", "deps/a", true},
		{"deps/**", "deps/a/b/c", true},
		{"deps/**", "deps", true},
		{"deps/**", "depsx/a", false},
		{"**/*.lock", "a/b/poetry.lock", true},
		{"**/*.lock", "poetry.lock", true},
		{"src/*.py", "src/a.py", true},
		{"src/*.py", "src/x/a.py", false},
		{"src/**/test_*.py", "src/a/b/test_x.py", true},
		{"src/**/test_*.py", "src/test_x.py", true},
		{"data/[ab].csv", "data/a.csv", true},
		{"data/[ab].csv", "data/c.csv", false},
		{"?.txt", "a.txt", true},
		{"?.txt", "ab.txt", false},
		{"**", "anything/at/all", true},
	}
	for _, tc := range tests {
		if got := Match(tc.glob, tc.name); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.glob, tc.name, got, tc.want)
		}
	}
}

func TestMatchPrefix(t *testing.T) {
	if !MatchPrefix("data", "data/x/y.csv") {
		t.Error("data should exclude data/x/y.csv")
	}
	if !MatchPrefix("data/**", "data/x/y.csv") {
		t.Error("data/** should exclude data/x/y.csv")
	}
	if MatchPrefix("data", "database/x") {
		t.Error("data must not exclude database/x")
	}
}

func TestValid(t *testing.T) {
	for _, g := range []string{"", "/abs", "a/[b"} {
		if Valid(g) == nil {
			t.Errorf("Valid(%q) = nil, want an error", g)
		}
	}
	for _, g := range []string{"a", "a/**", "**/b/*.py"} {
		if err := Valid(g); err != nil {
			t.Errorf("Valid(%q) = %v", g, err)
		}
	}
}

func TestIgnore(t *testing.T) {
	ig, err := ParseIgnore(strings.NewReader(`
# comment
*.pyc
build/
/top.txt
docs/*.md
!docs/keep.md
logs
!logs/important.log
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want bool
	}{
		{"a.pyc", true},
		{"x/y/a.pyc", true},
		{"a.py", false},
		{"build/out.bin", true},
		{"src/build/out.bin", true},
		{"build", false}, // a file named build: rule is dir-only
		{"top.txt", true},
		{"sub/top.txt", false},
		{"docs/a.md", true},
		{"docs/keep.md", false},
		{"docs/sub/a.md", false},
		{"logs/important.log", true}, // parent excluded: cannot re-include
		{"x/logs/a", true},
	}
	for _, tc := range tests {
		if got := ig.Ignored(tc.name); got != tc.want {
			t.Errorf("Ignored(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestParseIgnoreBad(t *testing.T) {
	_, err := ParseIgnore(strings.NewReader("ok\n[unclosed\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("want an error naming line 2, got %v", err)
	}
}
