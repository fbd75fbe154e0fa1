#!/usr/bin/env bash
# Side by side, in one sitting: alexnet-mp's training step on 1 rank × 2 threads, 2 ranks × 1
# thread and 1 rank × 1 thread, and PyTorch's (bench/pytorch_alexnet.py, 2 threads), for both
# configs, interleaved over ROUNDS rounds so that a noisy neighbour hits every column alike.
# Prints one line per run and a summary of medians and ratios (the BENCHMARKS.md table).
#   bench/vs-pytorch.sh [OUT_DIR]       ROUNDS=3 PYTHON=/opt/torch-venv/bin/python CONFIGS="fashion-mnist alexnet"
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/alexnet-mp
PY=${PYTHON:-/opt/torch-venv/bin/python}
OUT=${1:-runs/vs-pytorch-$(date +%Y%m%dT%H%M%S)}
ROUNDS=${ROUNDS:-3}
mkdir -p "$OUT"
MPI=(mpirun -np 2 --oversubscribe --mca mpi_yield_when_idle 1)
[ "$(id -u)" -ne 0 ] || MPI+=(--allow-run-as-root)
COUNTER=.build/release/libAllocCounter.so
steps_for() { [ "$1" = alexnet ] && echo 4 || echo 20; }
{
    echo "# $(date -u +%FT%TZ) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $($PY -c 'import torch; print("torch", torch.__version__)')"
    for config in ${CONFIGS:-fashion-mnist alexnet}; do
        s=$(steps_for "$config")
        for round in $(seq "$ROUNDS"); do
            echo "## $config round $round: ours 1 rank x 2 threads"
            LD_PRELOAD=$COUNTER "$BIN" bench --config "configs/$config.yaml" --steps "$s" --threads 2
            echo "## $config round $round: ours 2 ranks x 1 thread"
            "${MPI[@]}" -x LD_PRELOAD=$COUNTER "$BIN" bench --config "configs/$config.yaml" --steps "$s" --threads 1
            echo "## $config round $round: ours 1 rank x 1 thread"
            "$BIN" bench --config "configs/$config.yaml" --steps "$s" --threads 1
            echo "## $config round $round: pytorch 2 threads"
            "$PY" bench/pytorch_alexnet.py bench --config "configs/$config.yaml" --threads 2 --steps "$s" --warmup 2
        done
    done
} 2>&1 | tee "$OUT/vs-pytorch.log"
python3 - "$OUT/vs-pytorch.log" <<'PY'
import re, statistics, sys
runs, cur = {}, None
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"## (\S+) round \d+: (.*)", line)
    if m: cur = (m.group(1), m.group(2)); runs.setdefault(cur, {"ips": [], "mem": [], "comm": [], "moving": [], "waiting": [], "alloc": [], "dnnl": [], "sgemm": [], "share": []}); continue
    if not cur: continue
    r = runs[cur]
    if m := re.search(r"throughput: ([\d.]+) images/s", line): r["ips"].append(float(m.group(1)))
    if m := re.search(r", ([\d.]+) img/s, peak RSS (\d+) MiB", line): r["ips"].append(float(m.group(1))); r["mem"].append(int(m.group(2)))
    if "peak resident" in line: r["mem"].append(max(int(x) for x in re.findall(r"peak resident (\d+) MiB", line)))
    if line.startswith("communication:"):
        ranks = re.findall(r"rank \d+ ([\d.]+)% \(moving bytes ([\d.]+)%, waiting ([\d.]+)%\)", line)
        worst = max(ranks, key=lambda t: float(t[0]))   # the worst rank's share, and how it splits
        r["comm"].append(float(worst[0])); r["moving"].append(float(worst[1])); r["waiting"].append(float(worst[2]))
    if line.startswith("heap allocations per step:") and "not counted" not in line:
        r["alloc"].append(max(float(x) for x in re.findall(r"rank \d+ ([\d.]+)", line.split(";")[0])))
        if "oneDNN" in line: r["dnnl"].append(max(float(x) for x in re.findall(r"rank \d+ ([\d.]+)", line.split(";")[1])))
    if m := re.search(r"sgemm 1024³ on this rank, same run: .*, ([\d.]+) with the rank's", line): r["sgemm"].append(float(m.group(1)))
    if m := re.search(r"GFLOP/s of model arithmetic .*, (\d+)% of sgemm", line): r["share"].append(float(m.group(1)))
med = lambda v: statistics.median(v) if v else float("nan")
print("\n| config | run | images/s (median) | vs PyTorch | peak MiB per process | comm % of step, worst rank (moving bytes + waiting) | allocations per step (oneDNN's apart) | sgemm GFLOP/s on the rank's cores, same run | model arithmetic / sgemm |")
print("|---|---|---|---|---|---|---|---|---|")
for (config, run), r in runs.items():
    torch = med(runs.get((config, "pytorch 2 threads"), {"ips": []})["ips"])
    comm = f"{med(r['comm']):.1f} ({med(r['moving']):.1f} + {med(r['waiting']):.1f}; max {max(r['comm']):.1f})" if r["comm"] else "–"
    print(f"| {config} | {run} | {med(r['ips']):.1f} ({len(r['ips'])} runs) | {med(r['ips']) / torch:.2f}x | {med(r['mem']):.0f} | "
          f"{comm} | {med(r['alloc']):.1f} ({med(r['dnnl']):.0f}) | {med(r['sgemm']):.0f} | {med(r['share']):.0f}% |".replace("nan", "–"))
for config in sorted({c for c, _ in runs}):
    a, b = runs.get((config, "ours 2 ranks x 1 thread")), runs.get((config, "ours 1 rank x 1 thread"))
    if a and b: print(f"\n{config}: 2 ranks x 1 thread / 1 rank x 1 thread = {med(a['ips']) / med(b['ips']):.2f}x")
    c = runs.get((config, "ours 1 rank x 2 threads"))
    if a and c: print(f"{config}: 1 rank x 2 threads / 2 ranks x 1 thread = {med(c['ips']) / med(a['ips']):.2f}")
PY
