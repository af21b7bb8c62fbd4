#!/usr/bin/env bash
# Builds the Kubernetes binaries the executor/kubernetes integration tier runs
# (kube-apiserver, kube-controller-manager, kube-scheduler and kubelet: a real
# single node, see .ci/node.sh for its container runtime) once per machine
# and version, and installs Debian's etcd-server. Prints the directory holding the
# binaries on stdout (everything else goes to stderr), so .ci/run does:
#
#   export RUNWAY_KUBE_BIN="$(bash .ci/kube.sh)"
#
# Why a throwaway module: k8s.io/kubernetes is not meant to be required by
# other modules (its go.mod replaces every k8s.io staging module with a local
# ./staging path), so we build it from a separate module under the cache dir
# that requires it and points each staging module at its published v0.x
# version. The project's own go.mod is never touched.
#
# Cold build: about 15 minutes on 2 cores. Warm (binaries present): instant.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-1.37.2}"
CACHE="${RUNWAY_KUBE_CACHE:-${RUNWAY_CACHE:-/var/cache/runway}/k8s-v${KUBE_VERSION}}"
BIN="$CACHE/bin"
STAMP="$BIN/.complete"
STAGING_VERSION="v0.${KUBE_VERSION#1.}"   # 1.37.2 -> v0.37.2
CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet)

log() { echo "kube.sh: $*" >&2; }

if ! command -v etcd >/dev/null 2>&1; then
  log "installing etcd-server"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends etcd-server; } >&2
fi
# Debian starts an etcd service on install; the tests start their own on
# other ports, so a running system etcd does no harm and is left alone.

mkdir -p "$CACHE"
# One build at a time per cache dir, even if two CI runs start together.
exec 9>"$CACHE/.lock"
flock 9

# The stamp names the version and the commands built, so adding a command
# to CMDS rebuilds (the Go build cache makes the shared part quick).
want="$KUBE_VERSION ${CMDS[*]}"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  ok=1
  for c in "${CMDS[@]}"; do [ -x "$BIN/$c" ] || ok=0; done
  if [ "$ok" = 1 ]; then
    log "using cached binaries in $BIN"
    echo "$BIN"
    exit 0
  fi
fi

MOD="$CACHE/build"
rm -rf "$MOD"
mkdir -p "$MOD" "$BIN"
cd "$MOD"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOWORK=off

log "resolving k8s.io/kubernetes v$KUBE_VERSION"
kmod=$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
[ -f "$kmod" ] || { log "could not download k8s.io/kubernetes@v$KUBE_VERSION go.mod"; exit 1; }

goline=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$kmod" | head -1)
{
  echo "module runway.invalid/kubebuild"
  echo
  echo "go ${goline:-1.25}"
  echo
  echo "require k8s.io/kubernetes v$KUBE_VERSION"
  echo
  echo "replace ("
  # Every "k8s.io/x => ./staging/src/k8s.io/x" of kubernetes' own go.mod.
  sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/src/k8s\.io/.*$#\t\1 => \1 '"$STAGING_VERSION"'#p' "$kmod"
  echo ")"
} > go.mod
n=$(grep -c "=> k8s.io/" go.mod || true)
[ "$n" -gt 10 ] || { log "found only $n staging replacements in $kmod"; exit 1; }

# tools.go makes `go mod tidy` resolve the commands' whole import graph.
{
  echo "//go:build tools"
  echo
  echo "package kubebuild"
  echo
  echo "import ("
  for c in "${CMDS[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$c\""; done
  echo ")"
} > tools.go

log "go mod tidy"
go mod tidy >&2

ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $p.gitVersion=v$KUBE_VERSION -X $p.gitMajor=${KUBE_VERSION%%.*}"
  minor=${KUBE_VERSION#*.}; minor=${minor%%.*}
  ldflags="$ldflags -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
done

start=$(date +%s)
pkgs=()
for c in "${CMDS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
log "building ${CMDS[*]} (cold: ~15 minutes on 2 cores)"
go build -trimpath -ldflags "$ldflags" -o "$BIN/" "${pkgs[@]}" >&2
for c in "${CMDS[@]}"; do [ -x "$BIN/$c" ] || { log "missing $BIN/$c after build"; exit 1; }; done
echo "$want" > "$STAMP.tmp" && mv "$STAMP.tmp" "$STAMP"
log "built in $(( $(date +%s) - start ))s into $BIN"
echo "$BIN"
