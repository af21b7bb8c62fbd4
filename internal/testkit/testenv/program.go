package testenv

import (
	"os/exec"
	"testing"
)

// RequireProgram returns the path of program, or fails the test naming the
// Debian package that provides it.
func RequireProgram(tb testing.TB, program, debianPackage string) string {
	tb.Helper()
	p, err := exec.LookPath(program)
	if err != nil {
		tb.Fatalf("%s is required by this test and is not installed: apt-get install -y %s (%v)", program, debianPackage, err)
	}
	return p
}
