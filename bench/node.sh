#!/usr/bin/env bash
# The Kubernetes executor on a real node: 100 task runs to completion (pods
# of the sample's image, Python base + static runway, each exec-task running
# `true`), reported beside the kubelet stand-in's figure, with where a pod's
# time goes (scheduling, pod start, exec-task, result). Needs root and what
# .ci/run builds: kube.sh's binaries, node.sh's containerd and Python rootfs.
#
#   bash bench/node.sh            # one round of 100
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
RUNWAY_KUBE_BIN="$(bash .ci/kube.sh)"
export RUNWAY_KUBE_BIN
eval "$(bash .ci/node.sh)"
export RUNWAY_NODE_BIN RUNWAY_PYTHON_ROOTFS
echo "== real node: 100 tasks"
go test -tags integration -run '^$' -bench 'BenchmarkIntegrationRealNodeHundredTasks' -benchtime 1x -timeout 20m ./executor/kubernetes/nodetest/
echo "== kubelet stand-in: 100 tasks"
go test -tags integration -run '^$' -bench 'BenchmarkIntegrationHundredConcurrentTasks' -benchtime 1x -timeout 20m ./executor/kubernetes/
