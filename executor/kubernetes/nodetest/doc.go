// Package nodetest holds the Kubernetes executor's real-node tier: the
// tests in this directory (build tag integration) run runway's own image,
// built by the packager on a real Python base, as pods of a real kubelet
// and containerd (internal/testkit/kubenode), against Debian's
// docker-registry as the store (and a second one that requires
// credentials). No stand-in runs here; executor/kubernetes's doc lists
// what the parent package's stand-in tests still cover alone. The test
// binary doubles as a runway process holding a Runner or an engine
// (TestMain), which the restart and resume tests kill with SIGKILL.
package nodetest
