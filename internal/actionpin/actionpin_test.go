package actionpin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const hexA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
const hexB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

func actionYML(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRepositoryActionIsUnpinned: between releases the Action builds from
// source, so the committed action.yml pins nothing (a release commit is the
// only one that does, and it is tagged).
func TestRepositoryActionIsUnpinned(t *testing.T) {
	p, err := Read(actionYML(t))
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != "" || len(p.SHA256) != 0 {
		t.Errorf("action.yml pins %+v; only a tagged release commit may", p)
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	orig := actionYML(t)
	want := Pins{Version: "v1.2.3", SHA256: map[string]string{"linux_amd64": hexA, "darwin_arm64": hexB}}
	pinned, err := Write(orig, want)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(pinned), `RUNWAY_PINNED_SHA256: "darwin_arm64=`+hexB+` linux_amd64=`+hexA+`"`) {
		t.Errorf("pinned action.yml has no sorted, quoted sums line:\n%s", pinned)
	}
	got, err := Read(pinned)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != want.Version || len(got.SHA256) != 2 || got.SHA256["linux_amd64"] != hexA || got.SHA256["darwin_arm64"] != hexB {
		t.Errorf("Read(Write(%+v)) = %+v", want, got)
	}
	// Only the two lines change.
	if d := len(strings.Split(string(pinned), "\n")) - len(strings.Split(string(orig), "\n")); d != 0 {
		t.Errorf("Write changed the line count by %d", d)
	}
	cleared, err := Write(pinned, Pins{})
	if err != nil {
		t.Fatal(err)
	}
	if string(cleared) != string(orig) {
		t.Errorf("clearing the pins did not restore action.yml")
	}
}

func TestRefusesBadPins(t *testing.T) {
	orig := actionYML(t)
	for name, p := range map[string]Pins{
		"no version":    {SHA256: map[string]string{"linux_amd64": hexA}},
		"no sums":       {Version: "v1.2.3"},
		"branch":        {Version: "main", SHA256: map[string]string{"linux_amd64": hexA}},
		"windows":       {Version: "v1.2.3", SHA256: map[string]string{"windows_amd64": hexA}},
		"short sum":     {Version: "v1.2.3", SHA256: map[string]string{"linux_amd64": "abc"}},
		"uppercase sum": {Version: "v1.2.3", SHA256: map[string]string{"linux_amd64": strings.ToUpper(hexA)}},
	} {
		if _, err := Write(orig, p); err == nil || !strings.Contains(err.Error(), "action.yml") {
			t.Errorf("%s: Write(%+v) = %v, want an error naming action.yml", name, p, err)
		}
	}
	for name, y := range map[string]string{
		"missing":   "runs:\n  steps: []\n",
		"twice":     "  RUNWAY_PINNED_VERSION: \"\"\n  RUNWAY_PINNED_VERSION: \"\"\n  RUNWAY_PINNED_SHA256: \"\"\n",
		"bad entry": "  RUNWAY_PINNED_VERSION: \"v1.0.0\"\n  RUNWAY_PINNED_SHA256: \"linux_amd64\"\n",
		"bad quote": "  RUNWAY_PINNED_VERSION: \"v1.0.0\n  RUNWAY_PINNED_SHA256: \"\"\n",
	} {
		if _, err := Read([]byte(y)); err == nil {
			t.Errorf("%s: Read accepted %q", name, y)
		}
	}
}
