#!/usr/bin/env bash
# Every number of docs/SIMULATOR.md, "Validation against published GPU timings", regenerated
# from the configs with the binary (simulate and summary only; instant, no GPU needed):
#   1. the efficiencies fitted to the published layer-wise tables (the only fitted figures);
#   2. the held-out predictions beside the published measurements (prediction / measurement);
#   3. the headline predictions: the paper's 5-6 days on two GTX 580s, as a range, and the
#      modelled multi-GPU speed-ups beside Krizhevsky 2014 (whose table is UNVERIFIED).
# Usage: bench/gpu-validation.sh            (BIN=path/to/alexnet-mp to use another binary; it
# needs simulate --device FILE)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/alexnet-mp}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# ---------------------------------------------------------------------------------------------
# 1. Fitted efficiencies. soumith/convnet-benchmarks "Layer-wise Benchmarking": five
# convolutions L1-L5 at batch 128, stride 1, no padding; "forward" = updateOutput, "backward" =
# updateGradInput + accGradParameters; ms per layer, L1..L5 forward then L1..L5 backward.
#   titan-x: README "Layer-wise Benchmarking (Last Updated April 2015)", Titan X, i7-5930K
#            (README@b9d22fe3; stored snapshot id 4600265360)
#   titan-black: README snapshot of Dec 2014 / early 2015, Titan Black, i7-3930K (id 10090030536)
# Fractions of the device file's peak_tflops. Per (GPU, library):
#   - from the row's totals: a forward efficiency (forward total), a backward one (backward
#     total) and one for the single conv_efficiency a config holds (the sum) -- the primary fit;
#   - per layer shape, the secondary analysis: AlexNet's conv1 at L1's efficiency (11x11 kernels
#     on 3 channels), conv2 at L3's (9x9 kernels, 24x24 output: the nearest map size to conv2's
#     27x27), conv3-conv5 at L5's (3x3 kernels, 384 channels, 13x13 input: AlexNet's own shape).
#     L2 and L4 are not used. The rule was fixed once and is applied to every library alike.
FITS="
titan-x      cuda-convnet2 36 113  40  4  8   103  467  162 15  29
titan-x      cudnn-r2      56 143  53  6 11   139  401  159 19  32
titan-x      caffe         93 136 116 24 27   200  405  172 28  30
titan-x      torch-mm      94 149 123 24 28   206  432  178 29  32
titan-x      cuda-convnet  38 183  68  7 16   136  433  147 15  34
titan-black  cuda-convnet2 63 252  98 11 21   224  620  200 20  42
titan-black  cudnn-r2      90 218  79  9 17   189  606  230 27  47
titan-black  cudnn-r1      94 274 101 12 32   226  736  297 32  57
titan-black  caffe        100 205 158 35 39   307  599  242 42  60
titan-black  torch-mm     105 239 168 32 37   301  673  270 47  64
titan-black  cuda-convnet  92 412 159 19 45   618 1305  473 50 114
"
# Forward GFLOP of L1..L5 (input side, in channels, out channels, kernel; output = input - kernel + 1).
LW=$(awk 'BEGIN { split("128 3 96 11|64 64 128 9|32 128 128 9|16 128 128 7|13 384 384 3", L, "|")
    for (i = 1; i <= 5; i++) { split(L[i], s, " "); o = s[1] - s[4] + 1; printf "%.4f ", 2 * 128 * s[3] * s[2] * s[4] * s[4] * o * o / 1e9 } }')
LW_GFLOP=$(echo "$LW" | awk '{ printf "%.2f", $1 + $2 + $3 + $4 + $5 }')

peak() { awk '/^peak_tflops:/ { print $2 }' "configs/devices/$1.yaml"; }
# The GPU whose layer-wise table stands for this one: the GK110 boards (K20, K40, Titan) take the
# Titan Black's fractions of peak (same chip; a transfer, stated in the docs).
fitgpu() { case $1 in titan-x) echo titan-x ;; *) echo titan-black ;; esac; }
# eff GPU LIBRARY fwd|bwd|all [LAYER 1-5; default: the L1-L5 totals]
eff() {
    local g; g=$(fitgpu "$1")
    echo "$FITS" | awk -v g="$g" -v l="$2" -v w="$3" -v k="${4:-0}" -v LW="$LW" -v p="$(peak "$g")" '
        BEGIN { split(LW, F, " ") }
        $1 == g && $2 == l {
            f = 0; tf = 0; tb = 0
            for (i = 1; i <= 5; i++) if (k == 0 || k == i) { f += F[i]; tf += $(2 + i); tb += $(7 + i) }
            e = (w == "fwd") ? f / (p * tf) : (w == "bwd") ? 2 * f / (p * tb) : 3 * f / (p * (tf + tb))
            printf "%.3f", (e > 1 ? 1 : e); found = 1 }
        END { if (!found) exit 1 }'
}

# compose OUT NET GPU BATCH CONV_EFF [PEAK] [CONV1_PAD]: OUT.yaml, the net's config
# (configs/NET.yaml, which has no device: section) with train.batch set, and OUT.dev.yaml, the
# GPU's device file with conv_efficiency (and peak_tflops) set.
compose() {
    local out=$1 net=$2 gpu=$3 batch=$4 conv=$5 pk=${6:-} pad=${7:-}
    awk -v b="$batch" -v pad="$pad" '
        /^[a-z]/ { train = /^train:/ }
        train && /^  batch:/ { print "  batch: " b; next }
        pad != "" && /name: conv1,/ { sub(/pad: [0-9]+/, "pad: " pad) }
        { print }' "configs/$net.yaml" > "$out.yaml"
    awk -v c="$conv" -v p="$pk" '
        /^conv_efficiency:/ { print "conv_efficiency: " c; next }
        p != "" && /^peak_tflops:/ { print "peak_tflops: " p; next }
        { print }' "configs/devices/$gpu.yaml" > "$out.dev.yaml"
}
# One device; the memory check counts this implementation's buffers, not the benchmarked
# library's, so it is not applied.
sim() { "$BIN" simulate --config "$1.yaml" --device "$1.dev.yaml" --devices 1 --ignore-memory-limit > "$2"; }
# Sum of a column (2 = fwd ms, 3 = bwd ms) of simulate's per-layer table over the layers matching RE.
col() { awk -v re="^($2)\$" -v c="$3" '$1 ~ re && $2 ~ /^[0-9.]+$/ { s += $c } END { printf "%.3f", s }' "$1"; }
# conv1's input gradient, which simulate leaves out: its forward multiply-adds at the backward rate.
conv1grad() { # CONFIG BATCH PEAK EFF
    local mac; mac=$("$BIN" summary --config "$1" | awk '$1 == "conv1" { gsub(",", "", $7); print $7 }')
    awk -v m="$mac" -v n="$2" -v p="$3" -v e="$4" 'BEGIN { printf "%.3f", 2 * m * n / (p * 1e12 * e) * 1e3 }'
}
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
r1() { printf %.1f "$1"; }

# predict NET GPU LIBRARY BATCH LAYERS G1 [PEAK] [CONV1_PAD] -> "fwd bwd update fwd' bwd' onek"
# LAYERS: the rows summed (a regular expression); G1 = 1 adds conv1's input gradient.
#   fwd, bwd: simulate run with the library's forward efficiency (fwd column summed) and with its
#             backward one (bwd column summed); update: the update row (bwd run)
#   fwd', bwd': the same per layer shape (conv1 rows from an L1 run, conv2 from an L3 run, the
#             rest from an L5 run)
#   onek: fwd + bwd of one run at the one-knob efficiency (what simulate does by itself)
predict() {
    local net=$1 g=$2 lib=$3 n=$4 L=$5 g1=$6 pk=${7:-} pad=${8:-} p e w k f b fs bs a u
    p=${pk:-$(peak "$g")}
    for w in fwd bwd all; do
        e=$(eff "$g" "$lib" "$w"); compose "$T/$w" "$net" "$g" "$n" "$e" "$pk" "$pad"; sim "$T/$w" "$T/$w.txt"
    done
    for w in fwd bwd; do for k in 1 3 5; do
        e=$(eff "$g" "$lib" "$w" "$k"); compose "$T/$w$k" "$net" "$g" "$n" "$e" "$pk" "$pad"; sim "$T/$w$k" "$T/$w$k.txt"
    done; done
    f=$(col "$T/fwd.txt" "$L" 2); b=$(col "$T/bwd.txt" "$L" 3); u=$(awk '$1 == "update" { print $2 }' "$T/bwd.txt")
    a=$(add "$(col "$T/all.txt" "$L" 2)" "$(col "$T/all.txt" "$L" 3)")
    fs=0; bs=0
    for k in 1 3 5; do
        case $k in 1) R=conv1 ;; 3) R=conv2 ;; 5) R='conv[3-5]|fc[678]' ;; esac
        fs=$(add "$fs" "$(awk -v re="^($R)\$" -v L="^($L)\$" '$1 ~ re && $1 ~ L && $2 ~ /^[0-9.]+$/ { s += $2 } END { print s + 0 }' "$T/fwd$k.txt")")
        bs=$(add "$bs" "$(awk -v re="^($R)\$" -v L="^($L)\$" '$1 ~ re && $1 ~ L && $2 ~ /^[0-9.]+$/ { s += $3 } END { print s + 0 }' "$T/bwd$k.txt")")
    done
    if [ "$g1" = 1 ]; then
        b=$(add "$b" "$(conv1grad "$T/bwd.yaml" "$n" "$p" "$(eff "$g" "$lib" bwd)")")
        bs=$(add "$bs" "$(conv1grad "$T/bwd1.yaml" "$n" "$p" "$(eff "$g" "$lib" bwd 1)")")
        a=$(add "$a" "$(conv1grad "$T/all.yaml" "$n" "$p" "$(eff "$g" "$lib" all)")")
    fi
    echo "$f $b $u $fs $bs $a"
}

echo "## 1. Fitted efficiencies (convnet-benchmarks layer-wise; L1-L5 forward $LW_GFLOP GFLOP)"
echo
echo "| GPU | library | fwd ms L1-L5 | bwd ms L1-L5 | conv fwd eff | conv bwd eff | one knob | fwd eff L1 / L3 / L5 | bwd eff L1 / L3 / L5 |"
echo "|---|---|---:|---:|---:|---:|---:|---|---|"
echo "$FITS" | while read -r g l f1 f2 f3 f4 f5 b1 b2 b3 b4 b5; do
    [ -n "$g" ] || continue
    echo "| $g | $l | $((f1 + f2 + f3 + f4 + f5)) | $((b1 + b2 + b3 + b4 + b5)) | $(eff "$g" "$l" fwd) | $(eff "$g" "$l" bwd) | $(eff "$g" "$l" all) | $(eff "$g" "$l" fwd 1) / $(eff "$g" "$l" fwd 3) / $(eff "$g" "$l" fwd 5) | $(eff "$g" "$l" bwd 1) / $(eff "$g" "$l" bwd 3) / $(eff "$g" "$l" bwd 5) |"
done
echo

# ---------------------------------------------------------------------------------------------
# 2. Held-out predictions. Each: the net and batch the benchmark ran, the GPU's device file, the
# library's fitted efficiencies.
#   what: all    every layer's fwd and bwd, no update (convnet-benchmarks: Torch's benchmark.lua
#                or caffe time; dropout and softmax left out there and here)
#         all+g1 the same plus conv1's input gradient (nets and tools that compute it)
echo "## 2. Held-out predictions (ms per batch of 128 unless marked; ratio = predicted / measured)"
echo
echo "| id | GPU | library | net | timed | measured fwd / bwd / total | predicted fwd / bwd / total | ratio total (fwd / bwd) | one knob: total, ratio | per layer shape: total, ratio | source |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
HELD="
V1  titan-x     cuda-convnet2 owt                   all    42     135    177    convnet-benchmarks README@b9d22fe3 (Torch bindings)
V2  titan-x     cudnn-r2      owt                   all    70     161    231    convnet-benchmarks README@b9d22fe3 (Torch bindings)
V3  titan-x     caffe         owt                   all+g1 121    203    324    convnet-benchmarks README@b9d22fe3 (caffe time; force_backward: true)
V4  titan-x     torch-mm      owt                   all    132    210    342    convnet-benchmarks README@b9d22fe3 (SpatialConvolutionMM)
V5  titan-black cuda-convnet2 owt                   all    88     187    275    convnet-benchmarks README, Dec 2014 (net UNVERIFIED: OWT)
V5b titan-black cuda-convnet2 alexnet-torch-2branch all+g1 88     187    275    the same row (net UNVERIFIED: 2-branch)
V6  titan-black cudnn-r2      owt                   all    100    261    362    convnet-benchmarks README, Dec 2014 (net UNVERIFIED: OWT)
V6b titan-black cudnn-r2      alexnet-torch-2branch all+g1 100    261    362    the same row (net UNVERIFIED: 2-branch)
V7  titan-black cudnn-r1      alexnet-torch-2branch all+g1 134.51 355.25 489.76 convnet-benchmarks torch7/imagenet_winners/output.log@06f1d1f5
V8  titan-black torch-mm      alexnet-torch-2branch all+g1 234.05 419.40 653.46 the same log, nn (SpatialConvolutionMM)
V8b titan-black torch-mm      alexnet-torch-2branch all+g1 172    306    479    convnet-benchmarks README, Dec 2014, Torch-7 row (which run: UNVERIFIED)
V9  k40         cuda-convnet2 alexnet-torch-2branch all+g1 99.03  207.88 306.91 soumith gist e6297e93dd2fe3751562, Dec 2014, K40m ECC off
V10 k40         cudnn-r1      alexnet-torch-2branch all+g1 147.32 321.75 469.07 the same gist, cudnn (R1 or R2 UNVERIFIED)
V11 k40         torch-mm      alexnet-torch-2branch all+g1 201.53 359.03 560.56 the same gist, nn
"
echo "$HELD" | while read -r id g l net what mf mb mt src; do
    [ -n "$id" ] || continue
    g1=0; [ "$what" = all+g1 ] && g1=1
    read -r f b u fs bs a <<< "$(predict "$net" "$g" "$l" 128 'conv[1-5]|fc[678]' "$g1")"
    t=$(add "$f" "$b"); ts=$(add "$fs" "$bs")
    echo "| $id | $g | $l | $net | $what | $mf / $mb / $mt | $(r1 "$f") / $(r1 "$b") / $(r1 "$t") | **$(ratio "$t" "$mt")** ($(ratio "$f" "$mf") / $(ratio "$b" "$mb")) | $(r1 "$a"), $(ratio "$a" "$mt") | $(r1 "$ts"), $(ratio "$ts" "$mt") | $src |"
done

# TensorFlow alexnet_benchmark.py (docstring, Nov 2015, TF 0.5 with cuDNN v2): the OWT conv
# layers only, up to pool5, batch 128, 'SAME' padding (conv1 56x56: pad 4 here gives 56), no LRN in
# the version that produced these numbers; forward, and forward + gradients of the parameters (no
# input gradient: the images are not among them). cuDNN R2's efficiencies; the K40c the Titan Black's.
TF=""
for row in "V12 k40 fwd 145" "V13 k40 fwd+bwd 480" "V14 titan-x fwd 70" "V15 titan-x fwd+bwd 244"; do
    set -- $row; id=$1 g=$2 what=$3 m=$4
    read -r f b u fs bs a <<< "$(predict owt "$g" cudnn-r2 128 'conv[1-5]' 0 "" 4)"
    if [ "$what" = fwd ]; then p=$f ps=$fs; else p=$(add "$f" "$b") ps=$(add "$fs" "$bs"); fi
    echo "| $id | $g | TensorFlow 0.5 (cuDNN v2: cudnn-r2's) | owt, conv1-pool5 only (conv1 56×56) | $what | $m | $(r1 "$p") | **$(ratio "$p" "$m")** | | $(r1 "$ps"), $(ratio "$ps" "$m") | tensorflow/models alexnet_benchmark.py@1c340802, docstring |"
    TF="$TF $p"
done

set -- $TF
TFNOTE="TensorFlow, K40c / Titan X, one script: measured 145/70 = 2.07 (fwd), 480/244 = 1.97 (fwd+bwd); predicted $(ratio "$1" "$3") and $(ratio "$2" "$4")"

# Caffe's reference model (CaffeNet: the 2012 two-group net with LRN and dropout, 227 input),
# pre-cuDNN Caffe (2014), BVLC/caffe docs/performance_hardware.md@03a48d7d: training, seconds
# per 20 iterations of 256 images (forward, backward without conv1's input gradient, the
# update); testing, seconds for the 50,000 validation images (forward only, at the TEST batch of
# 50 of the reference model's train_val.prototxt -- that batch is an assumption, UNVERIFIED).
# Caffe's layer-wise efficiencies (Titan Black: the same GK110 chip as all three). The K40's
# "maximum clock" is 875 MHz ("nvidia-smi -ac 3004,875": peak 5.04), its default 745 MHz (4.29).
n=16
CAFFE_ROWS=""
for row in "k40 5.04 26.5 100 ECC_off,_max_clock" "k40 - 31 118 ECC_off,_default_clock" \
           "titan - 26.26 100 -" "k20 - 36.0 133 -"; do
    set -- $row; g=$1 pk=$2 m=$3 mt=$4 note=${5//_/ }
    [ "$pk" = - ] && pk=""; [ "$note" = - ] && note="" || note=", $note"
    read -r f b u fs bs a <<< "$(predict alexnet "$g" caffe 256 'conv[1-5]|fc[678]' 0 "$pk")"
    s=$(awk -v f="$f" -v b="$b" -v u="$u" 'BEGIN { printf "%.2f", 20 * (f + b + u) / 1000 }')
    ss=$(awk -v f="$fs" -v b="$bs" -v u="$u" 'BEGIN { printf "%.2f", 20 * (f + b + u) / 1000 }')
    echo "| V$n | $g$note | Caffe (2014, no cuDNN) | alexnet (CaffeNet), batch 256 | 20 training iterations | $m s | $s s | **$(ratio "$s" "$m")** | | $ss s, $(ratio "$ss" "$m") | BVLC/caffe docs/performance_hardware.md@03a48d7d |"
    n=$((n + 1))
    if [ "$g" = k20 ]; then
        # The same K20 training, forward only: "about 2.5 ms of this is on forward" per image
        # (BVLC/caffe docs/imagenet_training.md@10fe8523).
        echo "| V$n | k20 | Caffe (2014, no cuDNN) | alexnet (CaffeNet), batch 256 | training forward, per image | about 2.5 ms | $(awk -v f="$f" 'BEGIN { printf "%.2f", f / 256 }') ms | **$(ratio "$(awk -v f="$f" 'BEGIN { print f / 256 }')" 2.5)** | | $(awk -v f="$fs" 'BEGIN { printf "%.2f", f / 256 }') ms, $(ratio "$(awk -v f="$fs" 'BEGIN { print f / 256 }')" 2.5) | BVLC/caffe docs/imagenet_training.md@10fe8523 |"
        n=$((n + 1))
    fi
    CAFFE_ROWS="$CAFFE_ROWS $g:${pk:--}:$mt:${5}"
done
for row in $CAFFE_ROWS; do
    IFS=: read -r g pk mt note <<< "$row"; note=${note//_/ }
    [ "$pk" = - ] && pk=""; [ "$note" = - ] && note="" || note=", $note"
    read -r f b u fs bs a <<< "$(predict alexnet "$g" caffe 50 'conv[1-5]|fc[678]' 0 "$pk")"
    echo "| V$n | $g$note | Caffe (2014, no cuDNN) | alexnet (CaffeNet), batch 50 | testing: forward of 50,000 images | $mt s | $(r1 "$f") s | **$(ratio "$f" "$mt")** | | $(r1 "$fs") s, $(ratio "$fs" "$mt") | BVLC/caffe docs/performance_hardware.md@03a48d7d |"
    n=$((n + 1))
done
echo
echo "- $TFNOTE"
echo

# ---------------------------------------------------------------------------------------------
# 3. Headline predictions (held out).
echo "## 3. The paper: 90 epochs on two GTX 580 3 GB (configs/alexnet.yaml, the paper's split)"
echo
# simulate prints the range over the device file's stated uncertainty (every corner of
# conv_efficiency 0.16-0.42, matrix_efficiency 0.50-0.74, memory_efficiency 0.50-0.80, latency
# 5-20 us); the link (5-8 GB/s) is not among its figures, so its effect is shown apart.
echo '```'
"$BIN" simulate --config configs/alexnet.yaml --device configs/devices/gtx580.yaml | grep -E '^(step:|90 epochs|range over|the paper:)'
echo '```'
days() { # KEY VALUE: the prediction with one figure of gtx580.yaml changed
    awk -v k="$1" -v v="$2" 'index($0, k ":") == 1 { print k ": " v; next } { print }' configs/devices/gtx580.yaml > "$T/dev.yaml"
    "$BIN" simulate --config configs/alexnet.yaml --device "$T/dev.yaml" | awk '/predicted/ { print $(NF-3) " days" }'
}
echo "- conv_efficiency alone at 0.16 / 0.42: $(days conv_efficiency 0.16) / $(days conv_efficiency 0.42)"
echo "- link_bandwidth_gbs alone at 5 / 8: $(days link_bandwidth_gbs 5) / $(days link_bandwidth_gbs 8)"
echo "- the built-in default device (conv_efficiency 0.70): $("$BIN" simulate --config configs/alexnet.yaml | awk '/predicted/ { print $(NF-3) " days" }')"
echo "- the paper: five to six days"
echo

echo "## 4. Krizhevsky 2014 (OWT, K20 GPUs; its Table 1 is UNVERIFIED): modelled scaling and one-GPU time"
echo
# configs/owt.yaml on the K20 with cuda-convnet2's one-knob efficiency (the Titan Black's:
# simulate --scaling holds one conv_efficiency), 128 images per GPU in the conv layers.
ea=$(eff k20 cuda-convnet2 all)
compose "$T/k" owt k20 128 "$ea"
echo '```'
"$BIN" simulate --config "$T/k.yaml" --device "$T/k.dev.yaml" --scaling | grep -E '^strategy|^(hybrid 2014|data parallel|model parallel) +(1|2|4|8) '
echo '```'
# 90 epochs of 1.2 M images at 128 a step on one K20: forward, backward, update.
read -r f b u fs bs a <<< "$(predict owt k20 cuda-convnet2 128 'conv[1-5]|fc[678]' 0)"
h() { awk -v s="$1" -v u="$u" 'BEGIN { printf "%.1f", (s + u) * 843750 / 3.6e6 }'; }
echo "- one K20, 90 epochs: $(h "$(add "$f" "$b")") h (fwd/bwd efficiencies), $(h "$(add "$fs" "$bs")") h (per layer shape), $(h "$a") h (one knob, as --scaling)"
