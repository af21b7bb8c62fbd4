#!/usr/bin/env bash
# bench/bundle.sh: fast-registration bundling against
#   git ls-files -z | tar --null -T - --sort=name --owner=0 --group=0 \
#     --numeric-owner --mtime=@0 -cf - | pigz -6
# side by side in one run, on the tree ../shared/bench/gentree.py generates
# (20,000 files, about 200 MB, committed). Targets (issue 3): runway's wall
# time at most half the reference's, its compressed size within 10% of the
# reference's, and every run byte-identical (reproducible).
#
# Usage: bench/bundle.sh
# Environment:
#   RUNWAY_BUNDLE_CMD  the bundle command, to which "--repo TREE --out FILE"
#                      is appended. Default: fastreg's benchcmd
#                      (tools/benchcmd: fastreg.Build plus
#                      Bundle.WriteFile, as `runway bundle --out` does), with
#                      the size budget raised to 1 GiB.
#   RUNWAY_BENCH_DIR   where the tree, binaries and outputs live
#                      (default /tmp/runway-bench; the tree is made once).
#   GENTREE            the generator (default ../shared/bench/gentree.py beside the repository).
#   RUNS               timed pairs (default 2; at least 2 for the
#                      reproducibility check).
# Each pair runs the reference then runway, both writing a file, both timed
# as whole processes (start-up included). Page caches are warmed first.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${RUNWAY_BENCH_DIR:-/tmp/runway-bench}/bundle
gen=${GENTREE:-$root/../shared/bench/gentree.py}
runs=${RUNS:-2}
tree=$dir/tree
mkdir -p "$dir/bin" "$dir/out"

for p in pigz git tar python3; do
	if ! command -v "$p" >/dev/null; then
		echo "bench/bundle.sh needs $p (apt-get install -y $p)" >&2
		exit 1
	fi
done
if ((runs < 2)); then
	echo "RUNS must be at least 2 (reproducibility is checked across runs)" >&2
	exit 1
fi
if [[ ! -d "$tree/.git" ]]; then
	echo "generating $tree (once; about a minute)" >&2
	python3 "$gen" "$tree"
fi
if [[ -z "${RUNWAY_BUNDLE_CMD:-}" ]]; then
	(cd "$root" && go build -o "$dir/bin/benchcmd" ./tools/benchcmd)
	RUNWAY_BUNDLE_CMD="$dir/bin/benchcmd -runs 1 -max-size 1073741824"
fi

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }

echo "bundle command: $RUNWAY_BUNDLE_CMD"
echo "tree: $tree ($(git -C "$tree" ls-files | wc -l) files, $(du -sb --exclude=.git "$tree/" | cut -f1) bytes in the worktree)"
echo "machine: $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# Warm the page cache for both: the reference reads the worktree, runway the
# object database.
(cd "$tree" && git ls-files -z | tar --null -T - -cf - | cat >/dev/null)
cat "$tree"/.git/objects/pack/* >/dev/null 2>&1 || true

ref_total=0 rw_total=0
printf '%-4s %12s %14s %12s %14s\n' run "ref s" "ref bytes" "runway s" "runway bytes"
for i in $(seq 1 "$runs"); do
	ref=$dir/out/ref-$i.tar.gz out=$dir/out/runway-$i.tar.gz
	rm -f "$ref" "$out"
	t0=$(now)
	(cd "$tree" && git ls-files -z | tar --null -T - --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - | pigz -6 >"$ref")
	t1=$(now)
	# shellcheck disable=SC2086 # the command is a word list on purpose
	$RUNWAY_BUNDLE_CMD --repo "$tree" --out "$out" >"$dir/out/runway-$i.json"
	t2=$(now)
	rt=$(elapsed "$t0" "$t1") wt=$(elapsed "$t1" "$t2")
	ref_total=$(python3 -c "print($ref_total + $rt)") rw_total=$(python3 -c "print($rw_total + $wt)")
	printf '%-4s %12s %14s %12s %14s\n' "$i" "$rt" "$(stat -c %s "$ref")" "$wt" "$(stat -c %s "$out")"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

digests=$(sha256sum "$dir"/out/runway-*.tar.gz | cut -d' ' -f1 | sort -u)
ref_size=$(stat -c %s "$dir/out/ref-1.tar.gz")
rw_size=$(stat -c %s "$dir/out/runway-1.tar.gz")
python3 - "$ref_total" "$rw_total" "$ref_size" "$rw_size" "$(echo "$digests" | wc -l)" "$(echo "$digests" | head -1)" <<'PY'
import sys
ref_t, rw_t, ref_b, rw_b, ndig, dig = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
time_ok = rw_t <= ref_t / 2
size_ok = abs(rw_b - ref_b) <= ref_b * 0.10
repro_ok = ndig == 1
print(f"time:  runway {rw_t:.2f} s vs reference {ref_t:.2f} s (sum over runs): {rw_t / ref_t:.2f}x  (target <= 0.50x)  {'ok' if time_ok else 'FAIL'}")
print(f"size:  runway {rw_b} B vs reference {ref_b} B: {100 * (rw_b - ref_b) / ref_b:+.1f}%  (target within 10%)  {'ok' if size_ok else 'FAIL'}")
print(f"reproducible: {'ok, every run sha256:' + dig if repro_ok else f'FAIL, {ndig} different outputs'}")
sys.exit(0 if time_ok and size_ok and repro_ok else 1)
PY
