package local_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"testing"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/store"
)

// A bundle stored truncated, whose layer bytes match their digest, is a
// permanent bundle failure after one attempt, not a store outage retried on
// the system budget (issue 17, item 8).
func TestTruncatedBundleIsPermanent(t *testing.T) {
	f := faultsFixture(t, fixtureOpt{})
	ctx := context.Background()
	var plain bytes.Buffer
	writeTestTar(t, &plain, map[string]string{"runway.yaml": "project: faults\n", "pipeline/big.py": string(bytes.Repeat([]byte("x = 1\n"), 20000))})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain.Bytes())
	zw.Close()
	truncated := gz.Bytes()[:gz.Len()/2]
	identity := store.Digest(plain.Bytes())
	putBundleLayer(t, f.layout, f.project, identity, store.Digest(truncated), int64(len(truncated)), bytes.NewReader(truncated))
	ex := f.runWithBundle(ctx, "flaky", identity.String())
	n := onlyNode(t, ex)
	if n.Failure == nil || n.Failure.Reason != executor.ReasonBundle || !n.Failure.Permanent || n.Attempts != 1 {
		t.Fatalf("failure %+v after %d attempts, want a permanent %s after 1", n.Failure, n.Attempts, executor.ReasonBundle)
	}
}
