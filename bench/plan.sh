#!/usr/bin/env bash
# bench/plan.sh: the plan step against `git diff --name-only base...<head>`,
# side by side in one run, on the repository ../shared/bench/genrepo.py
# generates (100,000 files in 5,000 directories; tag head changes 50 files,
# tag head-wide rewrites 20,000). The target (issue 3): the whole plan
# process takes at most 2x git's wall time for each head, peak RSS < 300 MB.
#
# Usage: bench/plan.sh
# Environment:
#   RUNWAY_PLAN_CMD   the plan command, run in the repository, to which
#                     "--base base --head <head>" is appended. Default:
#                     "runway plan --output json" when the runway CLI has a
#                     plan command, else the plantime helper
#                     (internal/plan/cmd/plantime).
#   RUNWAY_BENCH_DIR  where the generated repository and binaries are cached
#                     (default /tmp/runway-bench).
#   GENREPO           the generator (default /work/shared/bench/genrepo.py).
#   RUNS              timed runs per command (default 40).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${RUNWAY_BENCH_DIR:-/tmp/runway-bench}
gen=${GENREPO:-/work/shared/bench/genrepo.py}
runs=${RUNS:-40}
repo=$dir/repo
mkdir -p "$dir/bin"

if ! git -C "$repo" rev-parse -q --verify refs/tags/head-wide >/dev/null 2>&1; then
	echo "generating $repo (once; about 20 s)" >&2
	python3 "$gen" "$repo"
fi

if [[ -z "${RUNWAY_PLAN_CMD:-}" ]]; then
	(cd "$root" && go build -o "$dir/bin/plantime" ./internal/plan/cmd/plantime)
	RUNWAY_PLAN_CMD="$dir/bin/plantime"
	if [[ -d "$root/cmd/runway" ]] && (cd "$root" && go build -o "$dir/bin/runway" ./cmd/runway 2>/dev/null) &&
		"$dir/bin/runway" plan --help >/dev/null 2>&1; then
		RUNWAY_PLAN_CMD="$dir/bin/runway plan --output json"
	fi
fi

echo "plan command: $RUNWAY_PLAN_CMD"
echo "machine: $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"

cd "$repo"
for h in head head-wide; do
	# The plan must succeed and list exactly git's paths.
	$RUNWAY_PLAN_CMD --base base --head "$h" >"$dir/plan-$h.json"
	want=$(git diff --no-renames --name-only "base...$h" | wc -l)
	got=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["changed"]))' "$dir/plan-$h.json")
	if [[ "$got" != "$want" ]]; then
		echo "plan for $h lists $got changed paths, git lists $want" >&2
		exit 1
	fi
done

hyperfine -N --style basic --warmup 3 --runs "$runs" --export-json "$dir/plan-bench.json" \
	-n "git base...head" "git diff --name-only base...head" \
	-n "plan base...head" "$RUNWAY_PLAN_CMD --base base --head head" \
	-n "git base...head-wide" "git diff --name-only base...head-wide" \
	-n "plan base...head-wide" "$RUNWAY_PLAN_CMD --base base --head head-wide" >&2

# Peak RSS: the largest of a few runs, from /usr/bin/time -v.
rss() {
	local max=0 kb
	for _ in 1 2 3 4 5; do
		kb=$( { /usr/bin/time -v "$@" >/dev/null; } 2>&1 | awk '/Maximum resident set size/ {print $6}')
		((kb > max)) && max=$kb
	done
	echo "$max"
}
declare -A peak
for h in head head-wide; do
	peak[git-$h]=$(rss git diff --name-only "base...$h")
	# shellcheck disable=SC2086 # the command is a word list on purpose
	peak[plan-$h]=$(rss $RUNWAY_PLAN_CMD --base base --head "$h")
done

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$dir/plan-bench.json" "${peak[git-head]}" "${peak[plan-head]}" "${peak[git-head-wide]}" "${peak[plan-head-wide]}" <<'EOF'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
rss = {"git base...head": sys.argv[2], "plan base...head": sys.argv[3],
       "git base...head-wide": sys.argv[4], "plan base...head-wide": sys.argv[5]}
fail = False
print(f"{'command':24} {'median ms':>10} {'mean ms':>9} {'min ms':>8} {'peak RSS MB':>12}")
for name, r in res.items():
    print(f"{name:24} {r['median']*1e3:10.1f} {r['mean']*1e3:9.1f} {r['min']*1e3:8.1f} {int(rss[name])/1024:12.1f}")
for h in ("head", "head-wide"):
    g, p = res[f"git base...{h}"], res[f"plan base...{h}"]
    ratio = p["median"] / g["median"]
    ok = ratio <= 2 and int(rss[f"plan base...{h}"]) < 300 * 1024
    fail |= not ok
    print(f"{h}: plan/git = {ratio:.2f}x by median ({p['mean']/g['mean']:.2f}x by mean), "
          f"peak RSS {int(rss[f'plan base...{h}'])/1024:.0f} MB -> {'OK' if ok else 'OVER BUDGET'} (<= 2x, < 300 MB)")
sys.exit(1 if fail else 0)
EOF
