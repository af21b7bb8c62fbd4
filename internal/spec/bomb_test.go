package spec

import (
	"strings"
	"testing"
	"time"
)

// TestAliasBombs: a billion-laughs document and a self-referencing alias
// are refused quickly with a clear error, never expanded.
func TestAliasBombs(t *testing.T) {
	var laugh strings.Builder
	laugh.WriteString(`a: &a ["x","x","x","x","x","x","x","x","x"]` + "\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h"} {
		laugh.WriteString(n + ": &" + n + " [" + strings.Repeat("*"+prev+",", 8) + "*" + prev + "]\n")
		prev = n
	}
	for name, in := range map[string]string{"laughs": laugh.String(), "self": "project: &p [*p]\n"} {
		start := time.Now()
		_, err := Parse("f.yaml", []byte(in))
		if err == nil || !strings.HasPrefix(err.Error(), "f.yaml") {
			t.Errorf("%s: got %v, want an error naming the file", name, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: took %v", name, d)
		}
	}
}
