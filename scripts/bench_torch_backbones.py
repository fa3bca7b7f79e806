#!/usr/bin/env python3
"""PyTorch side of `padim bench backbones`: times torchvision's backbones
up to the layers PaDiM uses, for comparison with the Go implementation.

Prints one JSON object per (backbone, batch) on stdout:
  {"backbone": ..., "batch": ..., "seconds": <median seconds per batch>,
   "runs": ..., "torch": "<version>", "threads": ...}

Random (default-initialised) weights, eval mode, torch.no_grad(),
torch.set_num_threads(--threads). ResNets run conv1..layer3; EfficientNet-B5
runs features.0 and MBConv blocks 0..25 (the PaDiM paper's layer 26,
counted from 1), the same work as the Go side.

  /usr/bin/python3 scripts/bench_torch_backbones.py --threads 2 --size 224 \
      --batches 1,8 --min-time 3 --backbones resnet18,wide_resnet50_2,efficientnet_b5
"""
import argparse
import json
import statistics
import sys
import time

import torch
from torchvision.models import efficientnet_b5, resnet18, wide_resnet50_2


def resnet_upto(model, layer):
    def run(x):
        x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        for i in range(1, layer + 1):
            x = getattr(model, "layer%d" % i)(x)
        return x
    return run


def effnet_upto(model, last_block):
    blocks = [b for s in range(1, 8) for b in model.features[s]][: last_block + 1]

    def run(x):
        x = model.features[0](x)
        for b in blocks:
            x = b(x)
        return x
    return run


BUILDERS = {
    "resnet18": lambda: resnet_upto(resnet18().eval(), 3),
    "wide_resnet50_2": lambda: resnet_upto(wide_resnet50_2().eval(), 3),
    "efficientnet_b5": lambda: effnet_upto(efficientnet_b5().eval(), 25),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--min-time", type=float, default=3.0, help="seconds of timed runs per case")
    ap.add_argument("--min-runs", type=int, default=2)
    ap.add_argument("--backbones", default=",".join(BUILDERS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for name in args.backbones.split(","):
        if name not in BUILDERS:
            sys.exit("unknown backbone %r" % name)
        run = BUILDERS[name]()
        for batch in [int(b) for b in args.batches.split(",")]:
            x = torch.randn(batch, 3, args.size, args.size)
            times = []
            with torch.no_grad():
                run(x)  # warm-up: allocator, oneDNN primitive caches
                start = time.perf_counter()
                while len(times) < args.min_runs or time.perf_counter() - start < args.min_time:
                    t0 = time.perf_counter()
                    run(x)
                    times.append(time.perf_counter() - t0)
            print(json.dumps({"backbone": name, "batch": batch, "seconds": statistics.median(times),
                              "runs": len(times), "torch": torch.__version__, "threads": args.threads}),
                  flush=True)


if __name__ == "__main__":
    main()
