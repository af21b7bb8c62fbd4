#!/usr/bin/env bash
# Builds a Go program from the module proxy once per machine and version:
#
#   bin="$(bash .ci/gotool.sh NAME MODULE/PATH/cmd/x VERSION)"   # prints the bin dir
#
# into /var/cache/runway/NAME-VERSION/bin (RUNWAY_CACHE moves the root),
# with a stamp naming the package and version, so warm CI is instant and a
# version bump rebuilds. Only stdout carries the directory; logs go to stderr.
set -euo pipefail
name="$1" pkg="$2" version="$3"
root="${RUNWAY_CACHE:-${RUNWAY_TOOL_CACHE:-/var/cache/runway}}"
dir="$root/$name-$version"
bin="$dir/bin"
stamp="$bin/.complete"
want="$pkg@$version"
mkdir -p "$dir"
# One build at a time per tool, even if two CI runs start together.
exec 9>"$dir/.lock"
flock 9
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$bin/$name" ]; then
  echo "$bin"
  exit 0
fi
echo "gotool.sh: building $want into $bin (once per machine)" >&2
start=$(date +%s)
rm -rf "$bin"
mkdir -p "$bin"
# Outside runway's module (its go.mod plays no part), with the tool's own
# go.sum checked against the checksum database as usual.
(cd "$dir" && GOBIN="$bin" GOFLAGS=-buildvcs=false GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 \
  go install "$want") >&2
[ -x "$bin/$name" ] || { echo "gotool.sh: go install $want left no $bin/$name" >&2; exit 1; }
echo "$want" > "$stamp"
echo "gotool.sh: built $name $version in $(( $(date +%s) - start ))s" >&2
echo "$bin"
