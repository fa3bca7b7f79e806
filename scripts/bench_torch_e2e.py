#!/usr/bin/env python3
"""PyTorch side of `padim bench end-to-end`: the whole PaDiM pipeline
(decode, preprocess, features, fit, score, metrics) written the way a
competent PyTorch user would, timed per stage on the files the Go side used.

  /usr/bin/python3 scripts/bench_torch_e2e.py --threads 2 --backbone wide_resnet50_2 \
      --d 550 --batch 8 --files files.json

--files is the JSON list `padim bench end-to-end` writes:
  {"train": [path, ...], "test": [{"path": ..., "mask": ..., "label": 0|1}, ...]}

Prints one JSON object on stdout with the fields of the Go side's e2eResult:
seconds and cpu_seconds per stage (decode, features_train, fit, finalize,
features_test, score, metrics, total), peak_rss_bytes (ru_maxrss), AUROCs.

The pipeline follows the PaDiM reference code (xiahaifeng1995/PaDiM-Anomaly-
Detection-Localization-master) with its per-image Python loops replaced by
batched tensor operations:
  - PIL decode, Resize(256, LANCZOS) + CenterCrop(224) + Normalize
    (masks: NEAREST), as the reference code's ANTIALIAS;
  - torchvision backbone (default random init: speed does not depend on the
    weights), eval(), torch.no_grad(), batches of --batch, layer1..layer3;
  - embedding: the seeded random channel subset taken per layer, deeper
    layers repeated to the layer1 grid (nearest, what the reference code's
    unfold/fold concat computes), the whole training embedding kept in
    memory (N x d x H x W float32) as the reference code keeps it;
  - fit: per-position mean and covariance by one batched matrix product
    over a block of positions, + 0.01 I, inverted by batched Cholesky
    (torch.linalg.cholesky + torch.cholesky_inverse), float32 like the
    reference code's covariance; blocks of 256 positions bound the
    temporaries, the inverses of all positions are kept (P x d x d);
  - score: all test embeddings kept, batched Mahalanobis distance per block
    of positions (bmm), F.interpolate bilinear (align_corners=False) to
    224, scipy.ndimage.gaussian_filter(sigma=4) per map, image score = max;
  - metrics: sklearn roc_auc_score on image scores and on all pixels.
"""
import argparse
import json
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy.ndimage import gaussian_filter
from sklearn.metrics import roc_auc_score
from torchvision import transforms as T
from torchvision.models import resnet18, wide_resnet50_2

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
BUILDERS = {"resnet18": resnet18, "wide_resnet50_2": wide_resnet50_2}
POSITION_BLOCK = 256


class Stopwatch:
    """Wall and process CPU seconds added up over the timed intervals."""

    def __init__(self):
        self.wall = self.cpu = 0.0

    def __enter__(self):
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall += time.perf_counter() - self.w0
        self.cpu += time.process_time() - self.c0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--backbone", default="resnet18", choices=sorted(BUILDERS))
    ap.add_argument("--d", type=int, default=100)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--files", required=True)
    ap.add_argument("--eps", type=float, default=0.01)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(args.files) as f:
        files = json.load(f)

    clocks = {k: Stopwatch() for k in ["decode", "features_train", "fit", "finalize", "features_test", "score", "metrics"]}
    image_tf = T.Compose([T.Resize(256, interpolation=T.InterpolationMode.LANCZOS), T.CenterCrop(224),
                          T.ToTensor(), T.Normalize(MEAN, STD)])
    mask_tf = T.Compose([T.Resize(256, interpolation=T.InterpolationMode.NEAREST), T.CenterCrop(224), T.ToTensor()])

    model = BUILDERS[args.backbone]().eval()
    with torch.no_grad():
        probe = features(model, torch.zeros(1, 3, 64, 64))
    channels = [t.shape[1] for t in probe]
    total = sum(channels)
    if not 0 < args.d <= total:
        sys.exit("d=%d outside 1..%d" % (args.d, total))
    idx = torch.randperm(total, generator=torch.Generator().manual_seed(args.seed))[: args.d]
    # the kept channels of each layer
    starts = np.cumsum([0] + channels)
    per_layer = [idx[(idx >= starts[k]) & (idx < starts[k + 1])] - int(starts[k]) for k in range(3)]

    def load(paths, tf, clock, mode="RGB"):
        with clock:
            return torch.stack([tf(Image.open(p).convert(mode)) for p in paths])

    def embed(x, clock):
        with torch.no_grad():
            with clock:
                fs = features(model, x)
            with clocks["fit"] if clock is clocks["features_train"] else clocks["score"]:
                h, w = fs[0].shape[-2:]
                parts = [F.interpolate(f[:, sel], size=(h, w), mode="nearest") if f.shape[-1] != w else f[:, sel]
                         for f, sel in zip(fs, per_layer)]
                return torch.cat(parts, 1).flatten(2)  # B x d x P

    # ---- fit
    train = files["train"]
    embs = []
    for i in range(0, len(train), args.batch):
        x = load(train[i:i + args.batch], image_tf, clocks["decode"])
        embs.append(embed(x, clocks["features_train"]))
    with clocks["fit"], clocks["finalize"]:
        X = torch.cat(embs, 0)  # N x d x P, the whole training embedding
        del embs[:]
        n, d, P = X.shape
        mean = X.mean(0)  # d x P
        inv = torch.empty(P, d, d)
        eye = torch.eye(d)
        for p0 in range(0, P, POSITION_BLOCK):
            p1 = min(P, p0 + POSITION_BLOCK)
            xc = (X[:, :, p0:p1] - mean[:, p0:p1]).permute(2, 0, 1)  # block x N x d
            cov = torch.bmm(xc.transpose(1, 2), xc) / (n - 1) + args.eps * eye
            inv[p0:p1] = torch.cholesky_inverse(torch.linalg.cholesky(cov))
        del X, xc, cov
    mean_t = mean.t().contiguous()  # P x d

    # ---- score
    test = files["test"]
    tembs, masks, labels = [], [], []
    for i in range(0, len(test), args.batch):
        chunk = test[i:i + args.batch]
        x = load([t["path"] for t in chunk], image_tf, clocks["decode"])
        with clocks["decode"]:
            for t in chunk:
                if t.get("mask"):
                    masks.append((mask_tf(Image.open(t["mask"]).convert("L"))[0] > 0.5).numpy())
                else:
                    masks.append(np.zeros((224, 224), dtype=bool))
                labels.append(t["label"])
        tembs.append(embed(x, clocks["features_test"]))
    with clocks["score"]:
        E = torch.cat(tembs, 0)  # M x d x P
        m = E.shape[0]
        dist = torch.empty(P, m)
        for p0 in range(0, P, POSITION_BLOCK):
            p1 = min(P, p0 + POSITION_BLOCK)
            diff = E[:, :, p0:p1].permute(2, 0, 1) - mean_t[p0:p1, None, :]  # block x M x d
            dist[p0:p1] = (torch.bmm(diff, inv[p0:p1]) * diff).sum(-1).clamp_min(0).sqrt()
        side = int(round(P ** 0.5))
        maps = F.interpolate(dist.t().reshape(m, 1, side, side), size=224, mode="bilinear", align_corners=False)
        maps = maps.squeeze(1).numpy()
        maps = np.stack([gaussian_filter(a, sigma=4) for a in maps])
        scores = maps.reshape(m, -1).max(1)
    with clocks["metrics"]:
        image_auroc = roc_auc_score(labels, scores)
        pixel_auroc = roc_auc_score(np.stack(masks).ravel(), maps.ravel())

    stages = ["decode", "features_train", "fit", "features_test", "score", "metrics"]
    seconds = {k: c.wall for k, c in clocks.items()}
    cpu = {k: c.cpu for k, c in clocks.items()}
    seconds["total"] = sum(seconds[k] for k in stages)
    cpu["total"] = sum(cpu[k] for k in stages)
    print(json.dumps({"impl": "torch", "backbone": args.backbone, "d": args.d, "train": len(train), "test": len(test),
                      "threads": args.threads, "seconds": seconds, "cpu_seconds": cpu,
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "image_auroc": float(image_auroc), "pixel_auroc": float(pixel_auroc),
                      "version": torch.__version__}))


def features(model, x):
    """layer1..layer3 of a torchvision ResNet."""
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    l1 = model.layer1(x)
    l2 = model.layer2(l1)
    l3 = model.layer3(l2)
    return [l1, l2, l3]


if __name__ == "__main__":
    main()
