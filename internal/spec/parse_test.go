package spec

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestParseSample(t *testing.T) {
	s, err := Load("../../testdata/sample")
	if err != nil {
		t.Fatal(err)
	}
	if s.Project != "house-prices" || len(s.Tasks) != 4 || len(s.Workflows) != 1 || len(s.LaunchPlans) != 1 {
		t.Errorf("parsed %+v", s)
	}
	// Values reached through an alias keep the line they are written on,
	// and remember the alias that brought them.
	if l := s.Lines.Line("tasks[0].resources.limits.memory"); l == 0 {
		t.Error("no line for an aliased value")
	}
	if s.Via["tasks[0].resources.limits.memory"] == 0 {
		t.Error("no alias line recorded")
	}
}

func TestParseErrorsAreFieldErrors(t *testing.T) {
	for _, in := range []string{"", "- a\n", "project: [\n", "project: a\n---\nproject: b\n", "project: a\ntasks: {}\n", "project: &a [*a]\n"} {
		_, err := Parse("f.yaml", []byte(in))
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 || es[0].File != "f.yaml" {
			t.Errorf("Parse(%q) = %v, want Errors naming f.yaml", in, err)
		}
	}
}

// FuzzParse: no input makes Parse panic, and every failure is an Errors
// value naming the file.
func FuzzParse(f *testing.F) {
	b, _ := os.ReadFile("../../testdata/sample/runway.yaml")
	f.Add(b)
	f.Add([]byte("project: x\ntasks: [{name: a, command: [b], retries: 'c'}]\n"))
	f.Add([]byte("a: &x {b: *x}\n"))
	f.Add([]byte("project: x\n<<: {tasks: []}\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		_, err := Parse("f.yaml", in)
		if err == nil {
			return
		}
		var es Errors
		if !errors.As(err, &es) || !strings.HasPrefix(err.Error(), "f.yaml") {
			t.Fatalf("error %T %q does not name the file", err, err)
		}
	})
}
