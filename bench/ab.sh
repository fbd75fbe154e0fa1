#!/usr/bin/env bash
# A/B: `bench` of two builds interleaved, ROUNDS rounds, on 1 rank and on 2 ranks, both configs.
# OLD and NEW are alexnet-mp binaries; OLD_CONFIGS is the configs directory the old build reads
# (an older main may refuse keys the new configs have: `git show REV:configs/X.yaml`).
#   git worktree add /tmp/prev REV && (cd /tmp/prev && swift build -c release)
#   OLD=/tmp/prev/.build/release/alexnet-mp OLD_CONFIGS=/tmp/prev/configs bench/ab.sh
# Prints one line per round, build and config: images/s and rank 0's CPU ms per step. Run it
# alone on the machine; BENCHMARKS.md quotes the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${OLD:?the old binary}; NEW=${NEW:-.build/release/alexnet-mp}
OLD_CONFIGS=${OLD_CONFIGS:-configs}; ROUNDS=${ROUNDS:-5}
MPI=(mpirun -np 2)
[ "$(id -u)" = 0 ] && MPI+=(--allow-run-as-root)
field() { grep "$1" | head -1; }
for round in $(seq 1 "$ROUNDS"); do
    for which in old new; do
        if [ "$which" = old ]; then B=$OLD; C=$OLD_CONFIGS; else B=$NEW; C=configs; fi
        for cfg in fashion-mnist alexnet; do
            steps=20; [ "$cfg" = alexnet ] && steps=5
            o1=$("$B" bench --config "$C/$cfg.yaml" --steps $steps 2>&1)
            o2=$("${MPI[@]}" "$B" bench --config "$C/$cfg.yaml" --steps $steps 2>&1)
            r1=$(echo "$o1" | field throughput | awk '{print $2}'); c1=$(echo "$o1" | field "CPU per step" | sed 's/.*rank 0 \([0-9.]*\) ms.*/\1/')
            r2=$(echo "$o2" | field throughput | awk '{print $2}'); c2=$(echo "$o2" | field "CPU per step" | sed 's/.*rank 0 \([0-9.]*\) ms.*/\1/')
            echo "round $round $which $cfg 1rank $r1 cpu $c1 2ranks $r2 cpu $c2"
        done
    done
done
