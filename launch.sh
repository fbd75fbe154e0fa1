#!/usr/bin/env bash
# alexnet-mp's one-stop script: sets the machine up (Debian packages), builds, and runs.
#
#   ./launch.sh                 set up, build (release), train configs/fashion-mnist.yaml on 2 ranks
#   ./launch.sh test            set up, build, run the whole test suite (what CI runs)
#   ./launch.sh train [ARGS]    train on 2 ranks (mpirun -np 2) with ARGS passed to `alexnet-mp train`
#   ./launch.sh train1 [ARGS]   train on 1 rank (both groups in one process)
#   ./launch.sh bench [ARGS]    `alexnet-mp bench` on 1 rank and on 2 ranks
#   ./launch.sh compare [--seeds K] [--family fashion-mnist] [ARGS]
#                               train the one-group net on 1 rank and the two-group net on 2 ranks,
#                               same seeds, K seeds each; then evaluate each run with 10 views (eval
#                               --views 10), print `alexnet-mp compare` of the runs (1-view and 10-view
#                               errors included) and write `alexnet-mp report` of them (<root>/report.html)
#   ./launch.sh setup           only install the Debian packages and build
#   ./launch.sh mpirun N PROGRAM [ARGS]
#                               PROGRAM on N ranks with this script's mpirun flags and Ctrl-C
#                               handling (no set-up), e.g. .build/release/alexnet-mp train --resume RUN
#   ./launch.sh --hostfile FILE COMMAND ...
#                               the same across the nodes of an Open MPI hostfile (passed to
#                               mpirun; ranks are placed by slot, so a replica's groups share a node)
set -euo pipefail
cd "$(dirname "$0")"

# python3-numpy: ExportTests' independent forward pass; chromium and python3: the report's render
# test (headless Chromium) and the independent PNG decoder of the tests.
PACKAGES=(libopenmpi-dev openmpi-bin libopenblas-dev libdnnl-dev zlib1g-dev libjpeg62-turbo-dev libpng-dev pkg-config dataset-fashion-mnist python3-numpy chromium python3)
BIN=.build/release/alexnet-mp

setup() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "launch.sh: installing ${missing[*]}"
        local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    command -v swift >/dev/null || { echo "launch.sh: swift is not on PATH (Swift 6 toolchain needed)" >&2; exit 1; }
    swift build -c release --product alexnet-mp 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' || true
    # The allocation counter that `bench` measurements and a test preload (never linked in).
    swift build -c release --product AllocCounter 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]|Compiling|Build complete' || true
    [ -x "$BIN" ] || { echo "launch.sh: the release build failed" >&2; exit 1; }
}

# mpirun's flags: root needs --allow-run-as-root; more ranks than cores need --oversubscribe.
#
# Ctrl-C: on SIGINT or SIGTERM, mpirun sends the ranks SIGCONT at once, SIGTERM only
# odls_base_sigkill_timeout (T) seconds later and SIGKILL T seconds after that (README,
# "Stopping"); a step of configs/alexnet.yaml (4-17 s here) and its checkpoint need more than the
# default T = 1 s. So mpirun runs in a session of its own, out of reach of the terminal's Ctrl-C,
# and this script sends SIGTERM to the ranks at once, however long their step: they finish it,
# write a checkpoint and exit; a second Ctrl-C makes them exit at once. T stays 1 s: mpirun also
# waits 2T before it exits after any rank fails (measured: 60 s with T = 30), and a failing rank
# should bring the job down within seconds.
mpi() {
    local n=$1; shift
    # yield_when_idle: a rank waiting in a collective gives its core away (this machine is shared).
    local flags=(--oversubscribe --mca mpi_yield_when_idle 1 --mca odls_base_sigkill_timeout 1)
    [ "$(id -u)" -ne 0 ] || flags+=(--allow-run-as-root)
    # Several nodes: by slot, so that rank order (replica-major) keeps a replica's groups on one node.
    [ -z "$HOSTFILE" ] || flags+=(--hostfile "$HOSTFILE" --map-by slot)
    setsid mpirun -np "$n" "${flags[@]}" "$@" < /dev/null &
    local pid=$! status=0 signalled=0
    trap "signalled=1; stop_ranks $pid" INT TERM HUP
    while :; do
        wait "$pid" && status=0 || status=$?
        kill -0 "$pid" 2>/dev/null || break   # wait was only interrupted by a signal
    done
    trap - INT TERM HUP
    [ "$signalled" -eq 0 ] || return 130
    return "$status"
}

# SIGTERM to mpirun's ranks (its children), or to mpirun itself before it has started them.
stop_ranks() {
    local ranks
    ranks=$(pgrep -P "$1" || true)
    if [ -n "$ranks" ]; then kill -TERM $ranks 2>/dev/null || true; else kill -TERM "$1" 2>/dev/null || true; fi
}

HOSTFILE=""
if [ "${1:-}" = "--hostfile" ]; then HOSTFILE=$2; shift 2; fi
cmd=${1:-train}; [ $# -gt 0 ] && shift
case "$cmd" in
    setup) setup ;;
    mpirun) n=$1; shift; mpi "$n" "$@" ;;
    train) setup; mpi 2 "$BIN" train "$@" ;;
    train1) setup; "$BIN" train "$@" ;;
    bench)
        setup
        "$BIN" bench "$@"
        mpi 2 "$BIN" bench "$@" ;;
    compare)
        setup
        seeds=1; family=fashion-mnist; extra=()
        while [ $# -gt 0 ]; do
            case "$1" in
                --seeds) seeds=$2; shift 2 ;;
                --family) family=$2; shift 2 ;;
                *) extra+=("$1"); shift ;;
            esac
        done
        # profile.json in every run, for the report's communication chart
        [[ " ${extra[*]-} " == *" --profile "* ]] || extra+=(--profile)
        root=runs/compare-$family-$(date +%Y%m%dT%H%M%S); dirs=()
        for seed in $(seq 1 "$seeds"); do
            "$BIN" train --config "configs/$family-onegroup.yaml" --seed "$seed" --out "$root/onegroup-seed$seed" "${extra[@]}"
            mpi 2 "$BIN" train --config "configs/$family.yaml" --seed "$seed" --out "$root/twogroup-seed$seed" "${extra[@]}"
            dirs+=("$root/onegroup-seed$seed" "$root/twogroup-seed$seed")
        done
        # The paper's ten-view testing of every run (eval-views.csv, which compare reads)
        for d in "${dirs[@]}"; do "$BIN" eval --model "$d" --views 10; done
        "$BIN" compare "${dirs[@]}" | tee "$root/compare.txt"
        "$BIN" report "${dirs[@]}" --out "$root/report.html" >/dev/null
        echo "runs and compare.txt in $root"
        echo "report: $root/report.html" ;;
    test)
        setup
        # The integration tests start this release binary under mpirun; the unit tests build in debug.
        ALEXNET_MP_BIN="$PWD/$BIN" swift test 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Linking|Write|Build)' ;;
    *) echo "usage: ./launch.sh [train|train1|test|bench|compare|setup|mpirun] [ARGS...]" >&2; exit 2 ;;
esac
