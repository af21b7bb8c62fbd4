#!/usr/bin/env bash
# Releases, with goreleaser v2.15.1 (built from the module proxy once per
# machine into /var/cache/runway/goreleaser-VERSION).
#
#   bash .ci/release.sh snapshot        # what .ci/run does: prove .goreleaser.yaml, publish nothing
#   bash .ci/release.sh pin vX.Y.Z      # maintainers: pin the Action's binaries and tag the release
#   bash .ci/release.sh verify-tag vX.Y.Z   # the release workflow: is this tag a pin commit?
#   bash .ci/release.sh publish         # the release workflow: goreleaser release
#   bash .ci/release.sh image vX.Y.Z REPO   # the release workflow: the server image, by digest
#
# How a release is cut:
#   1. On a clean main at the source commit S: `bash .ci/release.sh pin v1.2.3`.
#      It builds runway-core for linux/darwin x amd64/arm64 exactly as the
#      release will (the Go toolchain go.mod names, -trimpath, no cgo, no VCS
#      stamp, version v1.2.3, commit S), writes their sha256 into action.yml
#      (RUNWAY_PINNED_*), commits that one file and tags the commit v1.2.3.
#   2. `git push origin v1.2.3`: .github/workflows/release.yml checks the tag
#      is such a commit, builds with goreleaser (which refuses to go on if a
#      binary differs from its pin), publishes binaries, tarballs,
#      checksums.txt and the changelog, then builds and pushes the server
#      image by digest.
# The binaries report commit S; the tag's commit differs from S only in the
# pins, which cannot be part of what they describe.
set -euo pipefail
cd "$(dirname "$0")/.."
GORELEASER_VERSION=v2.15.1
export GOFLAGS=-buildvcs=false GOTOOLCHAIN="go$(sed -n 's/^go //p' go.mod)"

goreleaser() {
  local bin
  bin="$(bash .ci/gotool.sh goreleaser github.com/goreleaser/goreleaser/v2 "$GORELEASER_VERSION")"
  "$bin/goreleaser" "$@"
}

targets=(linux_amd64 linux_arm64 darwin_amd64 darwin_arm64)

# built ID TARGET: the path of goreleaser's build of ID for TARGET in dist/.
built() {
  local p
  p="$(find dist -type f -path "*/${1}_${2}*/${1}" | head -n 1)"
  [ -n "$p" ] || { echo "release.sh: goreleaser built no $1 for $2 in dist/" >&2; return 1; }
  echo "$p"
}

snapshot() {
  command -v file >/dev/null 2>&1 || {
    # `file` tells static from dynamic executables below.
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends file >/dev/null
  }
  # A clean tree whose snapshot passed before passes again: skip it (warm
  # CI on a fresh clone of the same commit). Keyed by the tree, the Go
  # toolchain and goreleaser's version.
  local key="" stampdir="${RUNWAY_CACHE:-${RUNWAY_TOOL_CACHE:-/var/cache/runway}}/goreleaser-snapshots"
  if [ -z "$(git status --porcelain 2>/dev/null)" ]; then
    key="$(git rev-parse HEAD^{tree})-$(go env GOVERSION)-$GORELEASER_VERSION"
    if [ -f "$stampdir/$key" ]; then
      echo "release.sh: snapshot of tree ${key%%-*} already proven ($(cat "$stampdir/$key")); skipping" >&2
      return 0
    fi
  fi
  local start
  start=$(date +%s)
  goreleaser release --snapshot --clean --skip=publish >&2
  local n=0 t id p
  for id in runway runway-core; do
    for t in "${targets[@]}"; do
      p="$(built "$id" "$t")"
      n=$((n + 1))
      if [[ "$t" == linux_* ]]; then
        if ! file "$p" | grep -q 'statically linked'; then
          echo "release.sh: $p is not statically linked: $(file "$p")" >&2
          return 1
        fi
      fi
      # The bare binary is the release asset ${id}_${t} (what the Action
      # downloads); checksums.txt must name it with this file's sha256.
      local want
      want="$(sha256sum "$p")"
      grep -qx "${want%% *}  ${id}_${t}" dist/checksums.txt || { echo "release.sh: dist/checksums.txt has no line '${want%% *}  ${id}_${t}' for $p" >&2; return 1; }
    done
  done
  # And the tarballs verify.
  (cd dist && sha256sum --check --quiet --ignore-missing checksums.txt) || { echo "release.sh: dist/checksums.txt does not verify" >&2; return 1; }
  local head json core
  head="$(git rev-parse HEAD)"
  core="$(built runway-core linux_amd64)"
  json="$("$core" version -o json)"
  case "$json" in
    *"\"version\": \"v0.0.0-snapshot."*"\"commit\": \"$head\""*) ;;
    *) echo "release.sh: the snapshot's runway version -o json does not name a v0.0.0-snapshot.* version at $head:" >&2; echo "$json" >&2; return 1 ;;
  esac
  local took=$(( $(date +%s) - start ))
  echo "release.sh: snapshot OK in ${took}s: $n binaries (the linux ones static) with checksums; runway-core says: $("$core" version)" >&2
  file dist/runway*_linux_*/* | sed 's/^/release.sh:   /' >&2
  if [ -n "$key" ]; then mkdir -p "$stampdir" && echo "$(date -u +%FT%TZ), ${took}s" > "$stampdir/$key"; fi
}

pin() {
  local v="${1:?usage: release.sh pin vX.Y.Z}"
  [[ "$v" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || { echo "release.sh: $v is not vMAJOR.MINOR.PATCH" >&2; return 1; }
  [ -z "$(git status --porcelain)" ] || { echo "release.sh: the working tree is not clean; pin from a clean checkout of the commit to release" >&2; return 1; }
  git rev-parse -q --verify "refs/tags/$v" >/dev/null && { echo "release.sh: tag $v exists" >&2; return 1; }
  local src args=()
  src="$(git rev-parse HEAD)"
  RUNWAY_PIN_VERSION="$v" RUNWAY_SOURCE_COMMIT="$src" goreleaser build --snapshot --clean --id runway-core >&2
  for t in "${targets[@]}"; do args+=(-binary "$t=$(built runway-core "$t")"); done
  go run ./tools/pinaction -version "$v" "${args[@]}"
  git commit -q -m "release $v: pin the Action's runway-core binaries (built from $src)" -- action.yml
  git tag -a "$v" -m "runway $v"
  echo "release.sh: tagged $v at $(git rev-parse HEAD) (source $src). Push it: git push origin $v" >&2
}

verify_tag() {
  local v="${1:?usage: release.sh verify-tag vX.Y.Z}" changed pinned
  changed="$(git diff --name-only HEAD^ HEAD)"
  [ "$changed" = "action.yml" ] || { echo "release.sh: $v must be a pin commit (made by release.sh pin) changing only action.yml; it changes: $changed" >&2; return 1; }
  pinned="$(sed -n 's/^ *RUNWAY_PINNED_VERSION: *"\(.*\)"$/\1/p' action.yml)"
  [ "$pinned" = "$v" ] || { echo "release.sh: action.yml pins $pinned, the tag is $v" >&2; return 1; }
  git rev-parse HEAD^
}

publish() {
  # The release workflow, on a tag verify-tag accepted: RUNWAY_SOURCE_COMMIT
  # is the tag's parent. goreleaser's post-build hook refuses a runway-core
  # that is not the pinned binary, before anything is published.
  : "${RUNWAY_SOURCE_COMMIT:?the release workflow sets it from verify-tag}"
  goreleaser release --clean >&2
}

image() {
  # The release workflow: the server image from this tag's linux/amd64
  # runway-core (rebuilt reproducibly, checked against the pin again), by
  # runway's packager, pushed by digest. Prints REPO/server/image@DIGEST.
  local v="${1:?usage: release.sh image vX.Y.Z REPO}" repo="${2:?usage: release.sh image vX.Y.Z REPO}" src pkg
  src="$(verify_tag "$v")"
  RUNWAY_SOURCE_COMMIT="$src" goreleaser build --clean --id runway-core >&2
  pkg=github.com/runway-ci/runway/internal/version
  go run -ldflags "-X $pkg.version=$v -X $pkg.commit=$src" ./tools/serverimage \
    -binary "$(built runway-core linux_amd64)" -repo "$repo" -commit "$src"
}

case "${1:-snapshot}" in
  snapshot) snapshot ;;
  pin) pin "${2:-}" ;;
  verify-tag) verify_tag "${2:-}" ;;
  publish) publish ;;
  image) image "${2:-}" "${3:-}" ;;
  *) echo "usage: release.sh [snapshot | pin vX.Y.Z | verify-tag vX.Y.Z | publish | image vX.Y.Z REPO]" >&2; exit 2 ;;
esac
