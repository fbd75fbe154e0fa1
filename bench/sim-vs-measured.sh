#!/usr/bin/env bash
# The simulator against this machine (docs/SIMULATOR.md, "Validated on this machine"): for each
# config and placement, `calibrate` measures the primitives (never the model) and writes a
# device file; `profile --compare-with` then runs the model and prints what the file predicts
# for each layer beside what it measured. Placements: 1 rank, 2 ranks (the paper's split), and
# 2 ranks as 2 replicas (data parallel), whose gradient sums the model must predict too. Run
# it alone on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${B:-.build/release/alexnet-mp}
OUT=${OUT:-$(mktemp -d /tmp/sim-vs-measured.XXXX)}
mkdir -p "$OUT"
MPI=(mpirun -np 2)
[ "$(id -u)" = 0 ] && MPI+=(--allow-run-as-root)
for cfg in fashion-mnist alexnet; do
    steps=20; [ "$cfg" = alexnet ] && steps=6
    echo "== $cfg, 1 rank (2 groups on 2 threads)"
    "$B" calibrate --config "configs/$cfg.yaml" --out "$OUT/$cfg-1rank.yaml" | tail -1
    "$B" profile --config "configs/$cfg.yaml" --synthetic --steps "$steps" --warmup 2 --compare-with "$OUT/$cfg-1rank.yaml" | sed -n '/^predicted by/,/^targets/p'
    echo "== $cfg, 2 ranks"
    "${MPI[@]}" "$B" calibrate --config "configs/$cfg.yaml" --out "$OUT/$cfg-2ranks.yaml" | tail -1
    "${MPI[@]}" "$B" profile --config "configs/$cfg.yaml" --synthetic --steps "$steps" --warmup 2 --compare-with "$OUT/$cfg-2ranks.yaml" | sed -n '/^predicted by/,/^targets/p'
    echo "== $cfg, 2 ranks, 2 replicas (data parallel: a whole replica a rank)"
    DP=(--replicas 2 --ranks-per-replica 1)
    "${MPI[@]}" "$B" calibrate --config "configs/$cfg.yaml" "${DP[@]}" --out "$OUT/$cfg-dp.yaml" | tail -1
    "${MPI[@]}" "$B" profile --config "configs/$cfg.yaml" "${DP[@]}" --synthetic --steps "$steps" --warmup 2 --compare-with "$OUT/$cfg-dp.yaml" | sed -n '/^predicted by/,/^targets/p'
done
echo "device files in $OUT"
