#!/usr/bin/env python3
"""An independent forward pass of an exported model, with PyTorch's semantics written out in
NumPy: reads the .safetensors file by hand, the Fashion-MNIST IDX test images, preprocesses them
(pixels x scale - mean image, centre crop), runs conv (groups), ReLU, LRN (per group chunk,
PyTorch's alpha/n), max pool (floor), flatten of NCHW and linear layers, and prints the largest
difference from the logits `alexnet-mp eval --logits` wrote.

usage: numpy_forward.py MODEL.safetensors IDX_DIR LOGITS.npy COUNT
"""
import gzip, json, os, struct, sys
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

model_path, idx_dir, logits_path, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

raw = open(model_path, "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
meta = header.pop("__metadata__")
T = {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], dtype="<f4").reshape(v["shape"]).astype(np.float64)
     for k, v in header.items()}
d = json.loads(meta["alexnet_mp.torch"])

path = os.path.join(idx_dir, "t10k-images-idx3-ubyte")
img = open(path, "rb").read() if os.path.exists(path) else gzip.open(path + ".gz", "rb").read()
_, N, H, W = struct.unpack(">IIII", img[:16])
x = np.frombuffer(img[16:], dtype=np.uint8).reshape(N, 1, H, W)[:count].astype(np.float64)
x = x * d["preprocess"]["scale"]
if d["preprocess"]["mean_image"]:
    x = x - T["mean_image"][None]
c = d["preprocess"]["crop"]
oy, ox = (H - c) // 2, (W - c) // 2
x = x[:, :, oy:oy + c, ox:ox + c]

def conv(x, w, b, stride, pad, groups):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    k = w.shape[2]
    cin = x.shape[1] // groups
    kout = w.shape[0] // groups
    outs = []
    for g in range(groups):
        win = sliding_window_view(x[:, g * cin:(g + 1) * cin], (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
        outs.append(np.einsum("ncyxij,kcij->nkyx", win, w[g * kout:(g + 1) * kout]))
    return np.concatenate(outs, axis=1) + b[None, :, None, None]

def lrn(x, size, alpha, beta, k, chunks):
    out = []
    for part in np.split(x, chunks, axis=1):
        sq = np.pad(part ** 2, ((0, 0), (size // 2, (size - 1) // 2), (0, 0), (0, 0)))
        s = sum(sq[:, i:i + part.shape[1]] for i in range(size))
        out.append(part / (k + alpha / size * s) ** beta)
    return np.concatenate(out, axis=1)

def maxpool(x, size, stride):
    return sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::stride, ::stride].max(axis=(4, 5))

for L in d["layers"]:
    w, b = T[L["name"] + ".weight"], T[L["name"] + ".bias"]
    if L["type"] == "conv":
        x = conv(x, w, b, L["stride"], L["pad"], L["groups"])
    else:
        x = x.reshape(x.shape[0], -1) @ w.T + b
    if L["relu"]:
        x = np.maximum(x, 0)
    if L["lrn"]:
        l = d["lrn"]
        x = lrn(x, l["size"], l["alpha"], l["beta"], l["k"], l["chunks"])
    if L["pool"]:
        x = maxpool(x, d["pool"]["size"], d["pool"]["stride"])

ours = np.load(logits_path)[:count]
print("shape", list(np.load(logits_path).shape))
print("max_abs_diff %.3e" % np.abs(ours - x).max())
print("max_abs_logit %.3e" % np.abs(x).max())
print("argmax_agree %d/%d" % ((ours.argmax(1) == x.argmax(1)).sum(), count))
