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
#                     (tools/plantime).
#   RUNWAY_BENCH_DIR  where the generated repository and binaries are cached
#                     (default /tmp/runway-bench).
#   GENREPO           the generator (default ../shared/bench/genrepo.py beside the repository).
#   RUNS              runs per command (default 40).
#
# Two measurements: hyperfine (one block of runs per command), then
# interleaved rounds that run git and the plan back to back for both heads.
# On a machine shared with other work the load drifts between hyperfine's
# blocks; the verdict uses the median of the per-round (paired) ratios.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${RUNWAY_BENCH_DIR:-/tmp/runway-bench}
gen=${GENREPO:-$root/../shared/bench/genrepo.py}
runs=${RUNS:-40}
repo=$dir/repo
mkdir -p "$dir/bin"

if ! git -C "$repo" rev-parse -q --verify refs/tags/head-wide >/dev/null 2>&1; then
	echo "generating $repo (once; about 20 s)" >&2
	python3 "$gen" "$repo"
fi

if [[ -z "${RUNWAY_PLAN_CMD:-}" ]]; then
	(cd "$root" && go build -o "$dir/bin/plantime" ./tools/plantime)
	RUNWAY_PLAN_CMD="$dir/bin/plantime"
	if [[ -d "$root/cmd/runway" ]] && (cd "$root" && go build -o "$dir/bin/" ./cmd/... 2>/dev/null) &&
		"$dir/bin/runway" plan --help >/dev/null 2>&1; then
		RUNWAY_PLAN_CMD="$dir/bin/runway plan --output json"
	fi
fi

echo "plan command: $RUNWAY_PLAN_CMD"
echo "machine: $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"

cd "$repo"
for h in head head-wide; do
	# The plan must succeed and list exactly git's paths.
	# shellcheck disable=SC2086 # the command is a word list on purpose
	$RUNWAY_PLAN_CMD --base base --head "$h" >"$dir/plan-$h.json"
	python3 - "$dir/plan-$h.json" "$h" <<'EOF'
import json, subprocess, sys
got = [c["path"] for c in json.load(open(sys.argv[1]))["changed"]]
want = subprocess.run(["git", "diff", "--no-renames", "--name-only", "base..." + sys.argv[2]],
                      capture_output=True, text=True, check=True).stdout.split("\n")[:-1]
if got != want:
    sys.exit(f"plan for {sys.argv[2]} lists {len(got)} changed paths, git lists {len(want)} (or in another order)")
EOF
done

if command -v hyperfine >/dev/null; then
	hyperfine -N --style basic --warmup 3 --runs "$runs" \
		-n "git base...head" "git diff --name-only base...head" \
		-n "plan base...head" "$RUNWAY_PLAN_CMD --base base --head head" \
		-n "git base...head-wide" "git diff --name-only base...head-wide" \
		-n "plan base...head-wide" "$RUNWAY_PLAN_CMD --base base --head head-wide" >&2
else
	echo "hyperfine not found (apt-get install -y hyperfine); interleaved rounds only" >&2
fi

python3 - "$runs" "$RUNWAY_PLAN_CMD" <<'EOF'
import statistics, subprocess, sys, time
runs, plan = int(sys.argv[1]), sys.argv[2].split()
cmds = {}
for h in ("head", "head-wide"):
    cmds[f"git base...{h}"] = ["git", "diff", "--name-only", f"base...{h}"]
    cmds[f"plan base...{h}"] = plan + ["--base", "base", "--head", h]
wall = {n: [] for n in cmds}
rss = {n: 0 for n in cmds}
for i in range(runs):
    for n, argv in cmds.items():
        t = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        wall[n].append(time.perf_counter() - t)
    if i < 5:  # peak RSS from GNU time, outside the timed runs
        for n, argv in cmds.items():
            p = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, check=True)
            rss[n] = max(rss[n], int(p.stderr.strip().splitlines()[-1]))
print(f"interleaved, {runs} rounds:")
print(f"{'command':24} {'median':>9} {'p25':>9} {'min':>9} {'peak RSS':>10}")
for n in cmds:
    w = sorted(wall[n])
    print(f"{n:24} {statistics.median(w)*1e3:6.1f} ms {w[len(w)//4]*1e3:6.1f} ms {w[0]*1e3:6.1f} ms {rss[n]/1024:7.1f} MB")
fail = False
for h in ("head", "head-wide"):
    g, p = wall[f"git base...{h}"], wall[f"plan base...{h}"]
    paired = statistics.median(b / a for a, b in zip(g, p))
    ratio = statistics.median(p) / statistics.median(g)
    mb = rss[f"plan base...{h}"] / 1024
    ok = paired <= 2 and mb < 300
    fail |= not ok
    print(f"{h}: plan/git = {paired:.2f}x (median of paired rounds), {ratio:.2f}x (ratio of medians), "
          f"peak RSS {mb:.0f} MB -> {'OK' if ok else 'OVER BUDGET'} (target <= 2x, < 300 MB)")
print("load after:", " ".join(open("/proc/loadavg").read().split()[:3]))
sys.exit(1 if fail else 0)
EOF
