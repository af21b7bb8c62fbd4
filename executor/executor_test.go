package executor

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/runway-ci/runway/registrar"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestCoerce(t *testing.T) {
	for _, tc := range []struct {
		t    Type
		in   any
		want any
		err  string
	}{
		{TypeInt, "42", int64(42), ""},
		{TypeInt, json.Number("7"), int64(7), ""},
		{TypeInt, 3.0, int64(3), ""},
		{TypeInt, 3.5, nil, "want an int, got 3.5"},
		{TypeInt, "x", nil, `want an int, got "x"`},
		{TypeInt, true, nil, "want an int, got bool true"},
		{TypeFloat, "0.25", 0.25, ""},
		{TypeFloat, json.Number("1e3"), 1000.0, ""},
		{TypeFloat, "NaN", nil, "want a finite float"},
		{TypeBool, "true", true, ""},
		{TypeBool, "yes", nil, `want a bool, got "yes"`},
		{TypeString, "hi", "hi", ""},
		{TypeString, json.Number("1.0"), nil, "want a string, got number 1.0 (quote it)"},
		{TypeFile, "sha256:" + strings.Repeat("a", 64), nil, ""},
		{TypeFile, 3, nil, "want a file"},
		{Type("tensor"), "x", nil, `unknown type "tensor"`},
	} {
		v, err := Coerce(tc.t, tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Coerce(%s, %#v) = %v, want error %q", tc.t, tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || (tc.want != nil && v.Scalar != tc.want) {
			t.Errorf("Coerce(%s, %#v) = %#v, %v; want %#v", tc.t, tc.in, v.Scalar, err, tc.want)
		}
	}
}

func TestValueJSONRoundTrip(t *testing.T) {
	in := Values{"n": {Type: TypeInt, Scalar: int64(3)}, "f": {Type: TypeFloat, Scalar: 2.5}, "b": {Type: TypeBool, Scalar: false},
		"s": {Type: TypeString, Scalar: ""}, "d": {Type: TypeDir, Digest: "sha256:" + strings.Repeat("b", 64), Size: 10}}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Values
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	for k := range in {
		if in[k] != out[k] {
			t.Errorf("%s: %#v -> %#v", k, in[k], out[k])
		}
	}
	if err := json.Unmarshal([]byte(`{"x":{"type":"file","digest":"md5:1"}}`), &out); err == nil {
		t.Error("a bad digest decoded")
	}
}

func TestParseInputArgs(t *testing.T) {
	f := filepath.Join(t.TempDir(), "in.yaml")
	os.WriteFile(f, []byte("rows: 10\nname: x\n"), 0o644)
	got, err := ParseInputArgs([]string{"rows=20", "extra=a=b"}, f)
	if err != nil || got["rows"] != "20" || got["name"] != "x" || got["extra"] != "a=b" {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range [][]string{{"novalue"}, {"=x"}} {
		if _, err := ParseInputArgs(bad, ""); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%v: %v", bad, err)
		}
	}
	os.WriteFile(f, []byte("- a\n- b\n"), 0o644)
	if _, err := ParseInputArgs(nil, f); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("a list as inputs file: %v", err)
	}
}

func TestIDsSortByTime(t *testing.T) {
	base := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 50 {
		id := NewID(base.Add(time.Duration(i) * time.Millisecond))
		if err := ValidateID(id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if !sort.StringsAreSorted(ids) {
		t.Errorf("ids not sorted by time: %v", ids)
	}
	for _, bad := range []string{"", "../etc", "01JDK3M9X2Q7FZ", "01jdk3m9x2q7f"} {
		if !errors.Is(ValidateID(bad), ErrInvalidID) {
			t.Errorf("ValidateID(%q) accepted", bad)
		}
	}
}

func TestCacheKey(t *testing.T) {
	task := &registrar.Task{Command: []string{"x"}, Inputs: map[string]string{"n": "int"}, Outputs: map[string]string{"m": "file"},
		Cache: &registrar.Cache{Version: "1"}, Bundle: "sha256:" + strings.Repeat("1", 64)}
	in := Values{"n": {Type: TypeInt, Scalar: int64(1)}}
	k1, _ := CacheKey("p", "development", "t", task, in)
	k2, _ := CacheKey("p", "development", "t", task, in)
	if k1 == "" || k1 != k2 {
		t.Fatalf("keys %q %q", k1, k2)
	}
	differ := func(name string, k string) {
		if k == k1 {
			t.Errorf("%s did not change the key", name)
		}
	}
	k, _ := CacheKey("p", "staging", "t", task, in)
	differ("domain", k)
	k, _ = CacheKey("p", "development", "t", task, Values{"n": {Type: TypeInt, Scalar: int64(2)}})
	differ("input", k)
	t2 := *task
	t2.Cache = &registrar.Cache{Version: "2"}
	k, _ = CacheKey("p", "development", "t", &t2, in)
	differ("cache version", k)
	t3 := *task
	t3.Bundle = "sha256:" + strings.Repeat("2", 64)
	if k, _ = CacheKey("p", "development", "t", &t3, in); k != k1 {
		t.Error("the bundle changed a key that is not code-aware")
	}
	t3.Cache = &registrar.Cache{Version: "1", CodeAware: true}
	ka, _ := CacheKey("p", "development", "t", &t3, in)
	t3.Bundle = task.Bundle
	kb, _ := CacheKey("p", "development", "t", &t3, in)
	if ka == kb {
		t.Error("the bundle did not change a code-aware key")
	}
	t4 := *task
	t4.Cache = nil
	if k, _ = CacheKey("p", "development", "t", &t4, in); k != "" {
		t.Error("an uncached task has a key")
	}
}

func TestWriteTarIsReproducible(t *testing.T) {
	mk := func() string {
		d := t.TempDir()
		os.MkdirAll(filepath.Join(d, "a", "b"), 0o700)
		os.WriteFile(filepath.Join(d, "a", "b", "f"), []byte("x"), 0o600)
		os.WriteFile(filepath.Join(d, "run.sh"), []byte("#!/bin/sh"), 0o700)
		os.Symlink("a/b/f", filepath.Join(d, "link"))
		return d
	}
	var one, two bytes.Buffer
	if err := writeTar(&one, mk()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if err := writeTar(&two, mk()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one.Bytes(), two.Bytes()) {
		t.Error("two equal trees gave different tars")
	}
	d := mk()
	os.Symlink("/etc/passwd", filepath.Join(d, "out"))
	if err := writeTar(&bytes.Buffer{}, d); err == nil {
		t.Error("a link out of the directory was archived")
	}
}

func goldenExecution() *Execution {
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	at := func(s int) *time.Time { x := t0.Add(time.Duration(s) * time.Second); return &x }
	model := Value{Type: TypeFile, Digest: "sha256:" + strings.Repeat("c", 64), Size: 120}
	return &Execution{
		ID: "01jdk3m9x2q7fz", Project: "house-prices", Domain: "development", Status: StatusFailed,
		Target:  registrar.ID{Project: "house-prices", Domain: "development", Kind: registrar.KindWorkflow, Name: "train", Version: "abc"},
		Inputs:  Values{"rows": {Type: TypeInt, Scalar: int64(400)}},
		Created: t0, Started: at(0), Finished: at(9),
		Error: `node "eval" failed: OOMKilled (user failure): the command was killed for exceeding its memory limit`,
		Nodes: []*NodeRecord{
			{ID: "prep", Task: registrar.Ref{Project: "house-prices", Name: "prepare", Version: "abc"}, Status: StatusSucceeded, Cache: CacheHit, Started: at(0), Finished: at(0),
				Outputs: Values{"train": model}},
			{ID: "fit", Task: registrar.Ref{Project: "house-prices", Name: "fit", Version: "abc"}, Upstream: []string{"prep"}, Status: StatusSucceeded, Cache: CacheMiss, Attempts: 1, Started: at(0), Finished: at(4),
				Outputs: Values{"model": model, "train_rmse": {Type: TypeFloat, Scalar: 1.25}}},
			{ID: "stats", Task: registrar.Ref{Project: "house-prices", Name: "profile", Version: "abc"}, Upstream: []string{"prep"}, Status: StatusSucceeded, Cache: CacheDisabled, Attempts: 1, Started: at(0), Finished: at(2),
				Outputs: Values{"rows": {Type: TypeInt, Scalar: int64(320)}}},
			{ID: "eval", Task: registrar.Ref{Project: "house-prices", Name: "evaluate", Version: "abc"}, Upstream: []string{"fit", "prep"}, Status: StatusFailed, Cache: CacheMiss, Attempts: 2, Started: at(4), Finished: at(9),
				Failure: &TaskError{Kind: UserFailure, Reason: ReasonOOMKilled, Message: "the command was killed for exceeding its memory limit", ExitCode: 137}},
		},
	}
}

func TestRenderGolden(t *testing.T) {
	e := goldenExecution()
	now := e.Finished.Add(time.Hour)
	var js, tree, list, plainLog bytes.Buffer
	if err := RenderJSON(&js, e, now); err != nil {
		t.Fatal(err)
	}
	RenderTree(&tree, e, now)
	RenderList(&list, []*Execution{e}, now)
	p := NewProgress(&plainLog, false)
	p.now = func() time.Time { return now }
	for _, n := range e.Nodes {
		p.Observe(Event{Type: EventNodeFinished, Execution: e, Node: n})
	}
	p.Observe(Event{Type: EventExecutionFinished, Execution: e})
	for name, got := range map[string][]byte{"execution.json": js.Bytes(), "tree.txt": tree.Bytes(), "list.txt": list.Bytes(), "progress.log": plainLog.Bytes()} {
		path := filepath.Join("testdata", "golden", name)
		if *update {
			os.MkdirAll(filepath.Dir(path), 0o755)
			os.WriteFile(path, got, 0o644)
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs:\n%s\nwant:\n%s", name, got, want)
		}
	}
	var v struct {
		ID    string `json:"id"`
		Nodes []struct {
			ID, Status, Cache, Duration string
			Attempts                    int
			Outputs                     map[string]any
		} `json:"nodes"`
	}
	if err := json.Unmarshal(js.Bytes(), &v); err != nil || v.ID != e.ID || len(v.Nodes) != 4 || v.Nodes[0].Cache != "hit" || v.Nodes[1].Outputs["train_rmse"] != 1.25 || v.Nodes[3].Attempts != 2 || v.Nodes[1].Duration != "4s" {
		t.Errorf("json fields: %v %+v", err, v)
	}
}

func TestProgressTTYRedrawsInPlace(t *testing.T) {
	e := goldenExecution()
	var out bytes.Buffer
	p := NewProgress(&out, true)
	p.Observe(Event{Type: EventNodeStarted, Execution: e, Node: e.Nodes[0]})
	p.Observe(Event{Type: EventNodeFinished, Execution: e, Node: e.Nodes[0]})
	if !strings.Contains(out.String(), "\x1b[5A") || strings.Count(out.String(), "\x1b[2K") != 10 {
		t.Errorf("no in-place redraw: %q", out.String())
	}
}
