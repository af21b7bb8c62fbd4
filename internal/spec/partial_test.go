package spec

import "testing"

// ParsePartial keeps going past strict-decoding problems so that the
// semantic checks can run in the same pass (issue 17, item 3).
func TestParsePartialKeepsWhatDecoded(t *testing.T) {
	in := "project: p\ntasks:\n  - name: a\n    colour: blue\n    command: [echo]\n    retries: many\n"
	s, es, err := ParsePartial("f.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if s == nil || s.Project != "p" || len(s.Tasks) != 1 || s.Tasks[0].Name != "a" || len(s.Tasks[0].Command) != 1 {
		t.Fatalf("partial spec %+v", s)
	}
	if len(es) != 2 || es[0].Line != 4 || es[1].Line != 6 {
		t.Fatalf("decode errors %v, want the unknown field (line 4) and the bad retries (line 6)", es)
	}
	if _, err := Parse("f.yaml", []byte(in)); err == nil {
		t.Fatal("Parse accepted an unknown field")
	}
	if _, _, err := ParsePartial("f.yaml", []byte("project: [\n")); err == nil {
		t.Fatal("invalid YAML gave no fatal error")
	}
}
