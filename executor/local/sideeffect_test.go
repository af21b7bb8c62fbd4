package local_test

import (
	"context"
	"testing"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/registrar"
)

// A cached task with no outputs (a check, an export, a notification) hits
// the cache on the second run with the same inputs: its recorded success is
// what the entry caches (issue 17, item 13).
func TestCachedTaskWithoutOutputsHits(t *testing.T) {
	f := newFixture(t, "", map[string]string{"runway.yaml": `project: side
tasks:
  - name: notify
    command: ["sh", "-c", "echo notified {{inputs.who}}"]
    inputs: {who: string}
    outputs: {}
    cache: {version: "1"}
`}, fixtureOpt{})
	ctx := context.Background()
	in := map[string]any{"who": "ops"}
	first := onlyNode(t, f.run(ctx, registrar.KindTask, "notify", in))
	if first.Status != executor.StatusSucceeded || first.Cache != executor.CacheMiss {
		t.Fatalf("first run: %s, cache %s", first.Status, first.Cache)
	}
	second := onlyNode(t, f.run(ctx, registrar.KindTask, "notify", in))
	if second.Status != executor.StatusSucceeded || second.Cache != executor.CacheHit {
		t.Fatalf("second run with the same inputs: %s, cache %s, want a hit", second.Status, second.Cache)
	}
	if n := f.starts(); n != 1 {
		t.Errorf("%d task processes, want 1", n)
	}
	other := onlyNode(t, f.run(ctx, registrar.KindTask, "notify", map[string]any{"who": "dev"}))
	if other.Cache != executor.CacheMiss {
		t.Errorf("other inputs: cache %s, want a miss", other.Cache)
	}
}
