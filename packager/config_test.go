package packager

import (
	"slices"
	"strings"
	"testing"
)

func TestMergeEnv(t *testing.T) {
	tests := []struct {
		name string
		base []string
		env  map[string]string
		want []string
	}{
		{
			name: "no base env gets the default PATH",
			want: []string{"PATH=" + DefaultPath},
		},
		{
			name: "base order kept, new keys appended sorted",
			base: []string{"PATH=/usr/local/bin:/usr/bin", "LANG=C.UTF-8"},
			env:  map[string]string{"Z": "1", "A": "2"},
			want: []string{"PATH=/usr/local/bin:/usr/bin", "LANG=C.UTF-8", "A=2", "Z=1"},
		},
		{
			name: "a base key is replaced in place",
			base: []string{"LANG=C", "PATH=/usr/local/bin"},
			env:  map[string]string{"LANG": "C.UTF-8"},
			want: []string{"LANG=C.UTF-8", "PATH=/usr/local/bin"},
		},
		{
			name: "values expand the base's variables, never each other",
			base: []string{"PATH=/usr/local/bin:/bin", "PYTHONPATH=/app"},
			env:  map[string]string{"PYTHONPATH": "/opt/deps:$PYTHONPATH", "B": "${A}x", "A": "a", "PRICE": "$$5"},
			want: []string{"PATH=/usr/local/bin:/bin", "PYTHONPATH=/opt/deps:/app", "A=a", "B=x", "PRICE=$5"},
		},
		{
			name: "PATH without /usr/local/bin gets it appended",
			base: []string{"PATH=/bin"},
			env:  map[string]string{"PATH": "/opt/venv/bin:$PATH"},
			want: []string{"PATH=/opt/venv/bin:/bin:/usr/local/bin"},
		},
		{
			name: "empty PATH becomes /usr/local/bin",
			env:  map[string]string{"PATH": ""},
			want: []string{"PATH=/usr/local/bin"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mergeEnv(tt.base, tt.env)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestInstallEnv(t *testing.T) {
	host := []string{"HOME=/root", "PATH=/usr/bin", "RUNWAY_LAYER=/stale"}
	got := installEnv(host, map[string]string{"PATH": "/opt/bin:$PATH", "X": "$HOME/x"}, "/tmp/layer")
	want := []string{"HOME=/root", "PATH=/usr/bin", "RUNWAY_LAYER=/stale", "PATH=/opt/bin:/usr/bin", "X=/root/x", "RUNWAY_LAYER=/tmp/layer"}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestTailBuffer(t *testing.T) {
	tb := &tailBuffer{max: 16}
	tb.Write([]byte("first line\nsecond line\nthird\n"))
	if got := tb.String(); got != "third\n" {
		t.Errorf("tail %q, want %q (cut at a line start)", got, "third\n")
	}
	small := &tailBuffer{max: 64}
	small.Write([]byte("only\n"))
	if got := small.String(); !strings.HasPrefix(got, "only") {
		t.Errorf("tail %q", got)
	}
}

func TestTailBufferKeepsLastLines(t *testing.T) {
	tb := &tailBuffer{max: 1 << 12}
	for i := range 100 {
		tb.Write([]byte(strings.Repeat("x", i%7) + "\n"))
	}
	tb.Write([]byte("last"))
	lines := strings.Split(tb.String(), "\n")
	if len(lines) != installTailLines || lines[len(lines)-1] != "last" {
		t.Errorf("tail has %d lines ending %q, want %d ending \"last\"", len(lines), lines[len(lines)-1], installTailLines)
	}
}
