#!/usr/bin/env bash
# The measurements behind BENCHMARKS.md, side by side in one sitting on an otherwise idle machine:
# bench of both configs on 1 rank and on 2 ranks, the 2-rank profile of the small config, and one
# epoch of the small config in each placement. Run from the repository root after ./launch.sh setup.
#   bench/measure.sh [OUT_DIR]        (default runs/measure-<time>)
#   EPOCHS=0 bench/measure.sh         skip the two one-epoch runs (about 5 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/alexnet-mp
OUT=${1:-runs/measure-$(date +%Y%m%dT%H%M%S)}
mkdir -p "$OUT"
MPI=(mpirun -np 2 --oversubscribe --mca mpi_yield_when_idle 1)
[ "$(id -u)" -ne 0 ] || MPI+=(--allow-run-as-root)
{
    echo "# $(date -u +%FT%TZ) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
    for config in fashion-mnist alexnet; do
        steps=20; [ "$config" = alexnet ] && steps=3
        echo "## $BIN bench --config configs/$config.yaml --steps $steps"
        "$BIN" bench --config "configs/$config.yaml" --steps "$steps"
        echo "## ${MPI[*]} $BIN bench --config configs/$config.yaml --steps $steps"
        "${MPI[@]}" "$BIN" bench --config "configs/$config.yaml" --steps "$steps"
    done
    echo "## ${MPI[*]} $BIN profile --config configs/fashion-mnist.yaml --steps 30"
    "${MPI[@]}" "$BIN" profile --config configs/fashion-mnist.yaml --steps 30 --json "$OUT/profile-fashion-mnist.json"
    if [ "${EPOCHS:-1}" != 0 ]; then
        echo "## one epoch each: $BIN train --epochs 1 and ${MPI[*]} $BIN train --epochs 1"
        "$BIN" train --epochs 1 --checkpoint-every 0 --out "$OUT/epoch-1rank" | grep -a -E "^epoch 1:"
        "${MPI[@]}" "$BIN" train --epochs 1 --checkpoint-every 0 --out "$OUT/epoch-2ranks" | grep -a -E "^epoch 1:"
    fi
} 2>&1 | tee "$OUT/measure.log"
