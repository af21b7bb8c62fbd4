package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCarriesCARoots: runway-core links Mozilla's CA roots as a fallback,
// because it runs in scratch-based images (the dependency images, the
// server's) that have no /etc/ssl, and must still verify a registry's or
// api.github.com's certificate there. The fallback is used only where the
// system has no roots of its own.
func TestCarriesCARoots(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "golang.org/x/crypto/x509roots/fallback\n") {
		t.Error("runway-core does not link golang.org/x/crypto/x509roots/fallback: in a scratch image it could verify no TLS certificate")
	}
}
