#!/usr/bin/env bash
# The paper's net on 2 ranks: the paper's split (2 groups x 1 replica) against pure data
# parallelism (2 groups x 2 replicas, a whole replica on each rank), interleaved, ROUNDS rounds.
# BENCHMARKS.md, "Model parallel against data parallel". Run alone on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${B:-.build/release/alexnet-mp}
ROUNDS=${ROUNDS:-3}
MPI=(mpirun -np 2)
[ "$(id -u)" = 0 ] && MPI+=(--allow-run-as-root)
keep='^bench|throughput|CPU per step|communication|sent per step|peak resident|step: median'
for round in $(seq 1 "$ROUNDS"); do
    echo "== round $round: the paper's split"
    "${MPI[@]}" "$B" bench --config configs/alexnet.yaml --steps 5 2>&1 | grep -E "$keep"
    echo "== round $round: data parallel"
    "${MPI[@]}" "$B" bench --config configs/alexnet.yaml --steps 5 --replicas 2 --ranks-per-replica 1 2>&1 | grep -E "$keep"
done
