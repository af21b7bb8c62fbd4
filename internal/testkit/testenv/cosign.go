package testenv

import (
	"os"
	"testing"
)

// EnvCosign names the cosign binary .ci/cosign.sh builds (the provenance
// interop check).
const EnvCosign = "RUNWAY_COSIGN"

// Cosign returns the path of the cosign binary in $RUNWAY_COSIGN, or fails
// the test saying how to build it.
func Cosign(tb testing.TB) string {
	tb.Helper()
	p := os.Getenv(EnvCosign)
	if p == "" {
		tb.Fatalf("%s is not set: build cosign with `export %s=\"$(bash .ci/cosign.sh)\"` (from the Go module proxy, cached)", EnvCosign, EnvCosign)
	}
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("%s=%s: %v (run .ci/cosign.sh)", EnvCosign, p, err)
	}
	return p
}
