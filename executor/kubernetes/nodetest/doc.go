// Package nodetest holds the Kubernetes executor's real-node tier: the
// tests in this directory (build tag integration) run runway's own image,
// built by the packager on a real Python base, as pods of a real kubelet
// and containerd (internal/testkit/kubenode), against Debian's
// docker-registry as the store. No stand-in runs here; the stand-in
// tests of the parent package cover only fault injection a real node
// cannot do (see executor/kubernetes's doc).
package nodetest
