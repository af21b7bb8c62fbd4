// Package testenv holds helpers that tests across runway share to stand up
// real parts: Debian's docker-registry (CNCF distribution) started as a
// real server, podman with runc configured the way that works on these
// machines, a busybox base image built from Debian's busybox-static (no
// image can be pulled from the internet here), and small static Go
// programs built with the Go toolchain. The counting in-process registry
// lives in internal/store/storetest.
//
// Every helper takes a testing.TB, registers its own cleanup, and fails the
// test with a message that names the missing program and the Debian package
// that provides it; nothing is skipped. The package is imported only from
// tests.
package testenv
