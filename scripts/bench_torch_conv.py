#!/usr/bin/env python3
"""Time the convolutions of internal/nn's BenchmarkConv in PyTorch.

Same shapes (batch 1, 224x224 backbone input), same fused work (conv with
bias, then ReLU), torch.set_num_threads(2) by default. Prints one line per
shape with wall-clock and per-CPU-second GFLOP/s, the two metrics the Go
benchmark reports, so the ratio can be read off. The machine is shared:
each shape is timed in several rounds and the best round is kept.

Usage: /usr/bin/python3 scripts/bench_torch_conv.py [--threads N] [--rounds R]
"""
import argparse
import time

import torch
import torch.nn.functional as F

# name, in channels, out channels, input size, kernel, stride, groups:
# keep in step with benchConvs in internal/nn/bench_test.go.
SHAPES = [
    ("r18_conv1_7x7s2", 3, 64, 224, 7, 2, 1),
    ("r18_l1_3x3", 64, 64, 56, 3, 1, 1),
    ("r18_l2_3x3s2", 64, 128, 56, 3, 2, 1),
    ("r18_l2_3x3", 128, 128, 28, 3, 1, 1),
    ("r18_l2_down1x1s2", 64, 128, 56, 1, 2, 1),
    ("r18_l3_3x3s2", 128, 256, 28, 3, 2, 1),
    ("r18_l3_3x3", 256, 256, 14, 3, 1, 1),
    ("wr50_l1_1x1a", 64, 128, 56, 1, 1, 1),
    ("wr50_l1_3x3", 128, 128, 56, 3, 1, 1),
    ("wr50_l1_1x1b", 128, 256, 56, 1, 1, 1),
    ("wr50_l2_1x1a", 256, 256, 56, 1, 1, 1),
    ("wr50_l2_3x3s2", 256, 256, 56, 3, 2, 1),
    ("wr50_l2_1x1b", 256, 512, 28, 1, 1, 1),
    ("wr50_l3_3x3", 512, 512, 14, 3, 1, 1),
    ("wr50_l3_1x1a", 1024, 512, 14, 1, 1, 1),
    ("wr50_l3_1x1b", 512, 1024, 14, 1, 1, 1),
    ("b5_stem_3x3s2", 3, 48, 224, 3, 2, 1),
    ("b5_exp1x1_112", 24, 144, 112, 1, 1, 1),
    ("b5_proj1x1_28", 384, 64, 28, 1, 1, 1),
    ("b5_dw3x3_112", 48, 48, 112, 3, 1, 48),
    ("b5_dw3x3s2_112", 144, 144, 112, 3, 2, 144),
    ("b5_dw3x3_56", 240, 240, 56, 3, 1, 240),
    ("b5_dw5x5s2_56", 240, 240, 56, 5, 2, 240),
    ("b5_dw5x5_28", 384, 384, 28, 5, 1, 384),
    ("b5_dw3x3_14", 768, 768, 14, 3, 1, 768),
    ("b5_dw5x5_14", 1056, 1056, 14, 5, 1, 1056),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.2, help="seconds per round")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, mkldnn {torch.backends.mkldnn.is_available()}")
    print(f"{'shape':<20} {'ms/op':>9} {'GFLOP/s':>9} {'GFLOP/cpu-s':>12}")
    with torch.no_grad():
        for name, cin, cout, size, k, s, g in SHAPES:
            x = torch.randn(1, cin, size, size)
            w = torch.randn(cout, cin // g, k, k)
            b = torch.randn(cout)
            out = F.relu(F.conv2d(x, w, b, stride=s, padding=k // 2, groups=g))
            flops = 2.0 * out.numel() * (cin // g) * k * k
            best_wall, best_cpu = float("inf"), float("inf")
            for _ in range(args.rounds):
                n, w0, c0 = 0, time.perf_counter(), time.process_time()
                while True:
                    F.relu(F.conv2d(x, w, b, stride=s, padding=k // 2, groups=g))
                    n += 1
                    if time.perf_counter() - w0 >= args.min_time:
                        break
                best_wall = min(best_wall, (time.perf_counter() - w0) / n)
                best_cpu = min(best_cpu, (time.process_time() - c0) / n)
            print(f"{name:<20} {best_wall*1e3:9.3f} {flops/best_wall/1e9:9.2f} {flops/best_cpu/1e9:12.2f}", flush=True)


if __name__ == "__main__":
    main()
