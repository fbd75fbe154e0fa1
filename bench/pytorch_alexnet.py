#!/usr/bin/env python3
"""PyTorch's side of alexnet-mp: the equivalent nn.Module, built from the description that
`alexnet-mp export` stores in a .safetensors file (or `alexnet-mp summary --torch` prints).

  # load an exported model and compare its logits with `alexnet-mp eval --logits`
  python bench/pytorch_alexnet.py check model.safetensors --idx /usr/share/datasets/fashion-mnist --logits logits.npy

  # the reference speed of one SGD training step (batch 128), for BENCHMARKS.md
  python bench/pytorch_alexnet.py bench --config configs/alexnet.yaml --threads 2 --steps 5

Needs torch (and numpy, safetensors for `check`) in a virtual environment outside the repo:
  python3 -m venv /opt/torch-venv && /opt/torch-venv/bin/pip install torch numpy safetensors
torch is never a dependency of alexnet-mp itself.
"""
import argparse, gzip, json, os, resource, struct, subprocess, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F


class AlexNetMP(nn.Module):
    """The paper's net with G groups as PyTorch spells it: Conv2d(groups=G) where a layer reads only
    its own group's maps; LRN within each group's channels (torch's LocalResponseNorm divides alpha
    by n, so the description's alpha is n times the paper's); overlapping max pool; dropout."""

    def __init__(self, d):
        super().__init__()
        self.d = d
        self.convs = nn.ModuleDict()
        self.fcs = nn.ModuleDict()
        for L in d["layers"]:
            if L["type"] == "conv":
                self.convs[L["name"]] = nn.Conv2d(L["in"], L["out"], L["size"], L["stride"], L["pad"], groups=L["groups"])
            else:
                self.fcs[L["name"]] = nn.Linear(L["in"], L["out"])
        l = d["lrn"]
        self.lrn = nn.LocalResponseNorm(l["size"], alpha=l["alpha"], beta=l["beta"], k=l["k"])
        self.chunks = l["chunks"]
        self.register_buffer("mean_image", torch.zeros(d["input"][0], 1, 1), persistent=False)

    def forward(self, x):
        for L in self.d["layers"]:
            if L["type"] == "conv":
                x = self.convs[L["name"]](x)
            else:
                x = self.fcs[L["name"]](torch.flatten(x, 1))
            if L["relu"]:
                x = F.relu(x)
            if L["dropout"] > 0:
                x = F.dropout(x, L["dropout"], self.training)
            if L["lrn"]:
                x = torch.cat([self.lrn(part) for part in torch.chunk(x, self.chunks, dim=1)], dim=1)
            if L["pool"]:
                x = F.max_pool2d(x, self.d["pool"]["size"], self.d["pool"]["stride"])
        return x

    def load_exported(self, tensors):
        """Loads `export`'s tensors (convN.weight → convs.convN.weight, …)."""
        state = {}
        for L in self.d["layers"]:
            where = "convs" if L["type"] == "conv" else "fcs"
            for p in ("weight", "bias"):
                state[f"{where}.{L['name']}.{p}"] = tensors[f"{L['name']}.{p}"]
        self.load_state_dict(state)


def check(args):
    import numpy as np
    from safetensors import safe_open
    with safe_open(args.model, "pt") as f:
        d = json.loads(f.metadata()["alexnet_mp.torch"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    model = AlexNetMP(d)
    model.load_exported(tensors)
    model.eval()
    path = os.path.join(args.idx, "t10k-images-idx3-ubyte")
    raw = open(path, "rb").read() if os.path.exists(path) else gzip.open(path + ".gz", "rb").read()
    _, n, h, w = struct.unpack(">IIII", raw[:16])
    x = torch.from_numpy(np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, 1, h, w)[:args.count].astype(np.float32))
    x = x * d["preprocess"]["scale"]
    if d["preprocess"]["mean_image"]:
        x = x - tensors["mean_image"]
    c = d["preprocess"]["crop"]
    x = x[:, :, (h - c) // 2:(h - c) // 2 + c, (w - c) // 2:(w - c) // 2 + c]
    with torch.no_grad():
        z = model(x).numpy()
    ours = np.load(args.logits)[:args.count]
    print(f"{args.count} images: max |torch - alexnet-mp| logit difference {abs(z - ours).max():.2e}, "
          f"argmax agrees on {(z.argmax(1) == ours.argmax(1)).sum()}/{args.count}")


def bench(args):
    torch.set_num_threads(args.threads)
    d = json.loads(subprocess.check_output([args.bin, "summary", "--config", args.config, "--torch"]))
    model = AlexNetMP(d)
    c, h, w = d["input"]
    classes = d["classes"]
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=0.0005)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(args.batch, c, h, w, generator=g)
    y = torch.randint(0, classes, (args.batch,), generator=g)
    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"pytorch {torch.__version__} {os.path.basename(args.config)} batch {args.batch}, {args.threads} threads: "
          f"step median {med * 1000:.1f} ms (min {times[0] * 1000:.1f}), {args.batch / med:.1f} img/s, peak RSS {rss:.0f} MiB")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="load an exported model and compare logits")
    c.add_argument("model"); c.add_argument("--idx", required=True); c.add_argument("--logits", required=True)
    c.add_argument("--count", type=int, default=1000)
    b = sub.add_parser("bench", help="time SGD training steps")
    b.add_argument("--config", required=True); b.add_argument("--batch", type=int, default=128)
    b.add_argument("--threads", type=int, default=2); b.add_argument("--steps", type=int, default=5)
    b.add_argument("--warmup", type=int, default=2); b.add_argument("--bin", default=".build/release/alexnet-mp")
    args = ap.parse_args()
    check(args) if args.cmd == "check" else bench(args)


if __name__ == "__main__":
    main()
