#!/usr/bin/env bash
# bench/serve.sh: `runway serve`'s acknowledgement under load (issue 11).
# Starts the server as a real process with its fsynced journal, sends
# signed ping deliveries (journaled, then recorded by a worker: three
# journal writes each) at 50, 200 and 500 per second for 20 s each, open
# loop, and prints the ack latency p50/p99/max and the server's peak RSS.
# Target: p99 < 25 ms at 200/s on a 2-core machine (GitHub's deadline is
# 10 s).
#
# Usage: bench/serve.sh [servebench flags: -rates 50,200,500 -duration 20s -o json]
# Environment:
#   RUNWAY_BENCH_DIR  where the binaries and the journal live (default
#                     /tmp/runway-bench); put it on the disk you deploy on.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${RUNWAY_BENCH_DIR:-/tmp/runway-bench}
mkdir -p "$dir/bin"
(cd "$root" && go build -o "$dir/bin/" ./cmd/runway-core ./tools/servebench)
state=$(mktemp -d "$dir/serve-XXXXXX")
trap 'rm -rf "$state"' EXIT
"$dir/bin/servebench" -runway "$dir/bin/runway-core" -state "$state" "$@"
