#!/usr/bin/env bash
# Builds cosign (sigstore) once per machine into a cache folder keyed by its
# version, for the provenance interop test: a verifier nobody here wrote
# must accept runway's attestations. cosign's go.mod has no replace
# directives, so `go install` builds the exact release from the module
# proxy. Prints the binary's path on stdout, so .ci/run does
# `RUNWAY_COSIGN="$(bash .ci/cosign.sh)"`; everything else goes to stderr.
#
# Cold: ~2 min on 2 cores once the modules are downloaded (~1 min more).
set -euo pipefail

COSIGN_VERSION="${COSIGN_VERSION:-2.6.5}"
ROOT="${RUNWAY_CACHE:-/var/cache/runway}"
DIR="$ROOT/cosign-v${COSIGN_VERSION}"
BIN="$DIR/bin/cosign"
STAMP="$DIR/bin/.complete"

log() { echo "cosign.sh: $*" >&2; }

mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$COSIGN_VERSION" ] && [ -x "$BIN" ]; then
  log "using cached cosign in $BIN"
  echo "$BIN"
  exit 0
fi
rm -rf "$DIR/bin" && mkdir -p "$DIR/bin"
start=$(date +%s)
log "building cosign v$COSIGN_VERSION (cold: ~2-3 min)"
GOTOOLCHAIN=local GOWORK=off GOFLAGS=-buildvcs=false GOBIN="$DIR/bin" CGO_ENABLED=0 \
  go install -trimpath github.com/sigstore/cosign/v2/cmd/cosign@v"$COSIGN_VERSION" >&2
"$BIN" version >/dev/null
echo "$COSIGN_VERSION" >"$STAMP"
log "built cosign in $(($(date +%s) - start)) s"
echo "$BIN"
