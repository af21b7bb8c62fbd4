#!/usr/bin/env bash
# Builds what a real Kubernetes node needs beside kubelet (.ci/kube.sh builds
# that): containerd and its runc shim, the pause image's binary, and a Python
# base image's root filesystem, each once per machine into a cache folder
# keyed by its version, with a completion stamp, so a warm CI is instant.
# Installs the Debian packages the node runs on (runc, CNI plugins,
# mmdebstrap, gcc). Prints, on stdout, the settings the tests read:
#
#   RUNWAY_NODE_BIN=<dir>       containerd, containerd-shim-runc-v2, pause
#   RUNWAY_PYTHON_ROOTFS=<tgz>  a Debian bookworm rootfs with python3 (gzip tar)
#
# so .ci/run does `eval "$(bash .ci/node.sh)"` and exports them. Everything
# else goes to stderr.
#
# Cold: containerd ~70 s of CPU, pause 1 s, the rootfs ~30 s (apt downloads).
set -euo pipefail

CONTAINERD_VERSION="${CONTAINERD_VERSION:-2.4.2}"
KUBE_VERSION="${KUBE_VERSION:-1.37.2}"
ROOT="${RUNWAY_CACHE:-/var/cache/runway}"
NODE="$ROOT/containerd-v${CONTAINERD_VERSION}"
# The rootfs recipe's version: bump it when the package list changes.
PYTHON_ROOTFS_VERSION="bookworm-python3-1"
PYIMG="$ROOT/base-${PYTHON_ROOTFS_VERSION}"

log() { echo "node.sh: $*" >&2; }

need=()
for p in runc containernetworking-plugins mmdebstrap gcc libc6-dev pigz; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; } >&2
fi

mkdir -p "$NODE" "$PYIMG"

# --- containerd + shim + pause -------------------------------------------
(
  exec 9>"$NODE/.lock"
  flock 9
  BIN="$NODE/bin"
  STAMP="$BIN/.complete"
  want="containerd $CONTAINERD_VERSION pause $KUBE_VERSION"
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] &&
     [ -x "$BIN/containerd" ] && [ -x "$BIN/containerd-shim-runc-v2" ] && [ -x "$BIN/pause" ]; then
    log "using cached node binaries in $BIN"
    exit 0
  fi
  rm -rf "$BIN" && mkdir -p "$BIN"
  start=$(date +%s)
  export GOTOOLCHAIN=local GOWORK=off GOFLAGS=-buildvcs=false
  # containerd's go.mod has no replace directives, so go install builds the
  # exact release from the module proxy. The version is stamped in because
  # kubelet reads it (and warns on 1.x).
  m=github.com/containerd/containerd/v2
  log "building containerd v$CONTAINERD_VERSION (cold: ~70 s)"
  GOBIN="$BIN" CGO_ENABLED=0 go install -trimpath \
    -tags "no_btrfs no_devmapper no_zfs no_aufs" \
    -ldflags "-s -w -X $m/version.Version=v$CONTAINERD_VERSION" \
    "$m/cmd/containerd@v$CONTAINERD_VERSION" "$m/cmd/containerd-shim-runc-v2@v$CONTAINERD_VERSION" >&2
  # The pause container: Kubernetes' own pause.c, statically linked, so the
  # sandbox image is one file with no libc to pull.
  kdir=$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [ -f "$kdir/build/pause/linux/pause.c" ] || { log "no pause.c in $kdir"; exit 1; }
  gcc -Os -static -DVERSION="v$KUBE_VERSION" -o "$BIN/pause" "$kdir/build/pause/linux/pause.c" >&2
  echo "$want" > "$STAMP.tmp" && mv "$STAMP.tmp" "$STAMP"
  log "node binaries built in $(( $(date +%s) - start ))s into $BIN"
)

# --- Python base rootfs ---------------------------------------------------
(
  exec 9>"$PYIMG/.lock"
  flock 9
  OUT="$PYIMG/rootfs.tar.gz"
  STAMP="$PYIMG/.complete"
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$PYTHON_ROOTFS_VERSION" ] && [ -s "$OUT" ]; then
    log "using cached python rootfs $OUT"
    exit 0
  fi
  # The Debian source apt is configured with (deb822 .sources or a .list
  # line): the only archive this machine reaches.
  uri=$(sed -n 's#^URIs:[[:space:]]*\(http[^[:space:]]*/debian\)/\{0,1\}[[:space:]]*$#\1#p' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -1 || true)
  [ -n "$uri" ] || uri=$(sed -n 's#^deb[[:space:]]\+\(http[^[:space:]]*/debian\)/\{0,1\}[[:space:]]\+bookworm[[:space:]].*#\1#p' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1 || true)
  [ -n "$uri" ] || { log "no Debian archive URI in /etc/apt/sources.list*"; exit 1; }
  log "building the python rootfs from $uri (mmdebstrap, ~30 s)"
  # mmdebstrap picks its output format from the name: it must end in .tar.
  tmp="$PYIMG/rootfs.partial.tar"
  rm -rf "$tmp" "$OUT.tmp" "$PYIMG/rootfs.tar"
  # essential + python3-minimal and its stdlib: /usr/bin/python3 and the
  # modules the sample pipeline imports (json, math, random, csv, ...).
  mmdebstrap --quiet --variant=essential --mode=root \
    --include=python3-minimal,libpython3-stdlib \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    bookworm "$tmp" "$uri" >&2
  tar -tf "$tmp" ./usr/bin/python3 >/dev/null || { log "the rootfs holds no /usr/bin/python3"; exit 1; }
  # Compressed once here, so tests push it as a layer without gzipping
  # 150 MB each run.
  pigz -6 -n < "$tmp" > "$OUT.tmp"
  rm -f "$tmp"
  mv "$OUT.tmp" "$OUT"
  echo "$PYTHON_ROOTFS_VERSION" > "$STAMP"
  log "python rootfs: $(du -h "$OUT" | cut -f1)"
)

echo "RUNWAY_NODE_BIN=$NODE/bin"
echo "RUNWAY_PYTHON_ROOTFS=$PYIMG/rootfs.tar.gz"
