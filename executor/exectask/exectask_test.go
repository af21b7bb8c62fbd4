package exectask

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSubstitute(t *testing.T) {
	got, err := Substitute([]string{"--rows", "{{inputs.rows}}", "x={{ inputs.name }}-{{inputs.rows}}"}, map[string]string{"rows": "10", "name": "a b"})
	if err != nil || strings.Join(got, "|") != "--rows|10|x=a b-10" {
		t.Errorf("%q %v", got, err)
	}
	if _, err := Substitute([]string{"{{inputs.nope}}"}, nil); err == nil || !strings.Contains(err.Error(), "{{inputs.nope}} names no input") {
		t.Errorf("unknown placeholder: %v", err)
	}
}

func TestInputEnvName(t *testing.T) {
	for in, want := range map[string]string{"rows": "RUNWAY_INPUT_ROWS", "train-data": "RUNWAY_INPUT_TRAIN_DATA", "a.b": "RUNWAY_INPUT_A_B"} {
		if got := InputEnvName(in); got != want {
			t.Errorf("%s: %s", in, got)
		}
	}
}

func TestMainRefusesBadInvocations(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"workDir":"relative","task":{"command":["true"]}}`), 0o644)
	for _, tc := range []struct {
		args []string
		says string
	}{
		{nil, "usage: exec-task --spec FILE"},
		{[]string{"--spec", filepath.Join(dir, "missing.json")}, "reading task spec"},
		{[]string{"--spec", bad}, "must be an absolute path"},
		{[]string{"--bogus"}, "flag provided but not defined"},
	} {
		var out, errb bytes.Buffer
		if code := Main(context.Background(), tc.args, &out, &errb); code != ExitSystemFailure || !strings.Contains(errb.String(), tc.says) {
			t.Errorf("%v: code %d, stderr %q, want %q", tc.args, code, errb.String(), tc.says)
		}
	}
}
