package registrar

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/spec"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestErrorGolden runs every bad spec under testdata/errors and compares the
// full error report with its golden file, so wording regressions show up.
func TestErrorGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test inputs: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			s, err := spec.Parse("runway.yaml", b)
			if err == nil {
				err = Validate(context.Background(), s, CompileOptions{})
			}
			if err == nil {
				t.Fatalf("%s: want errors, got none", f)
			}
			var es spec.Errors
			if !errors.As(err, &es) {
				t.Fatalf("want spec.Errors, got %T: %v", err, err)
			}
			for _, e := range es {
				if e.File == "" {
					t.Errorf("error without a file: %v", e)
				}
				if e.Line == 0 && name != "empty" {
					t.Errorf("error without a line: %v", e)
				}
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading golden file (run with -update): %v", err)
			}
			if got != string(want) {
				t.Errorf("error report changed.\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

func TestSampleIsValid(t *testing.T) {
	s, err := spec.Load("../testdata/sample")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"development", "staging", "production"} {
		if err := Validate(context.Background(), s, CompileOptions{Domain: d}); err != nil {
			t.Errorf("domain %s: %v", d, err)
		}
	}
}

func TestCeilingsComeFromTheTargetDomain(t *testing.T) {
	plat, err := platform.Parse("platform.yaml", []byte(`
domains:
  - {name: development, ceilings: {cpu: "1", memory: 1Gi}}
  - {name: production, ceilings: {cpu: "8", memory: 16Gi}}
`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := spec.Parse("runway.yaml", []byte(`
project: demo
tasks:
  - name: a
    command: [x]
    resources: {limits: {cpu: "2", memory: 2Gi}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(context.Background(), s, CompileOptions{Platform: plat, Domain: "production"}); err != nil {
		t.Errorf("production: %v", err)
	}
	err = Validate(context.Background(), s, CompileOptions{Platform: plat, Domain: "development"})
	if err == nil || !strings.Contains(err.Error(), "ceiling of 1") || !strings.Contains(err.Error(), "ceiling of 1Gi") {
		t.Errorf("development: want both ceilings named, got %v", err)
	}
	if err := Validate(context.Background(), s, CompileOptions{Platform: plat, Domain: "nowhere"}); err == nil {
		t.Error("unknown domain accepted")
	}
}

func TestCompileSample(t *testing.T) {
	s, err := spec.Load("../testdata/sample")
	if err != nil {
		t.Fatal(err)
	}
	v := strings.Repeat("a", 40)
	ents, err := Compile(context.Background(), s, Build{Version: v, Bundle: "sha256:" + strings.Repeat("b", 64)}, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[Kind]int{}
	for i, e := range ents {
		kinds[e.Kind]++
		if e.Version != v || e.Project != "house-prices" {
			t.Errorf("entity %d: %+v", i, e)
		}
		if i > 0 && kindOrder(ents[i-1].Kind) > kindOrder(e.Kind) {
			t.Errorf("entities not in dependency order at %d", i)
		}
	}
	if kinds[KindTask] != 4 || kinds[KindWorkflow] != 1 || kinds[KindLaunchPlan] != 1 {
		t.Errorf("kinds = %v", kinds)
	}
	// Canonical form: sorted keys, stable digest, resources canonical.
	raw, _ := ents[0].Canonical()
	if strings.Contains(string(raw), " ") && !strings.Contains(string(raw), `"`) {
		t.Errorf("not compact: %s", raw)
	}
	d1, _ := ents[0].Digest()
	again, _ := Compile(context.Background(), s, Build{Version: v, Bundle: "sha256:" + strings.Repeat("b", 64)}, CompileOptions{})
	d2, _ := again[0].Digest()
	if d1 != d2 {
		t.Errorf("digest not stable: %s vs %s", d1, d2)
	}
	dec, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if d3, _ := dec.Digest(); d3 != d1 {
		t.Errorf("decode/encode changed the digest")
	}
}

func TestCanonicalJSON(t *testing.T) {
	got, err := Canonical(map[string]any{"b": 1, "a": []any{"<x>", 2.5}, "c": map[string]any{"z": true, "y": nil}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":["<x>",2.5],"b":1,"c":{"y":null,"z":true}}`
	if string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]Kind{"task": KindTask, "tasks": KindTask, "Workflow": KindWorkflow, "launchplans": KindLaunchPlan, "launch-plan": KindLaunchPlan} {
		if got, err := ParseKind(in); err != nil || got != want {
			t.Errorf("ParseKind(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseKind("cronjob"); err == nil {
		t.Error("ParseKind(cronjob) accepted")
	}
}
