#!/usr/bin/python3
"""PyTorch reference run of SPADE (Cohen and Hoshen 2020) as the PaDiM paper compares against it.

The Go harness's package spade must reproduce this protocol (see spade/doc.go):
  1. images -> ImageNet-normalised 224x224 tensors, the same transforms as
     scripts/padim_torch.py (MVTec: Resize(256) + CenterCrop(224); Magnetic
     Tile: squash to 224x224);
  2. image level: each image is the global average pool of --pool-layer
     (layer4 as published; layer3 for the shared ResNet-18 weights, which stop
     there); the image score is the mean Euclidean distance to the K nearest
     training vectors (K = 50, or every training image when there are fewer);
  3. pixel level: for each of --layers (layer1, layer2, layer3) and each test
     position, the distance to the nearest feature (kappa = 1) among all
     positions of the K nearest training images' feature maps; each layer's
     distance map is upsampled bilinearly (align_corners=False) to 224x224,
     the layer maps are averaged, then blurred with
     scipy.ndimage.gaussian_filter(sigma=4) (reflect border, truncate 4);
  4. metrics: image AUROC, pixel AUROC, PRO (as scripts/padim_torch.py).

Distances are exact Euclidean distances: neighbours are chosen with float32
matrix products (||g||^2 - 2 q.g), and the distance to each chosen neighbour
is recomputed in float64, which is what the Go side does too. (The public
SPADE-pytorch code uses torch.pairwise_distance, which adds 1e-6 to every
coordinate difference; that is not part of the method.)

Writes one JSON report atomically, optionally with per-image scores and a few
score maps. Run with /usr/bin/python3 (Debian's torch 1.13 / torchvision 0.14).
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import scipy
import scipy.ndimage
import sklearn
import sklearn.metrics
import threadpoolctl
import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from padim_torch import (  # noqa: E402  (the shared protocol pieces)
    FeatureExtractor,
    InputError,
    Preprocess,
    build_backbone,
    magnetic_tile_split,
    mvtec_split,
    pro_score,
    write_atomic,
)


def extract(samples, pre, extractor, names, batch, want_masks):
    """Returns {layer: N x C x H x W float32} and the masks (or None)."""
    out = {n: [] for n in names}
    masks = []
    for b0 in range(0, len(samples), batch):
        part = samples[b0 : b0 + batch]
        x = torch.stack([pre.image(s.path) for s in part])
        if want_masks:
            masks.extend(pre.mask(s.mask_path) for s in part)
        with torch.no_grad():
            feats = extractor(x)
        for n, f in zip(names, feats):
            out[n].append(f.contiguous())
    return {n: torch.cat(v) for n, v in out.items()}, (np.stack(masks) if want_masks else None)


def nearest_distance(queries, gallery):
    """For each row of queries (P x C), the exact distance to its nearest row
    of gallery (G x C): chosen in float32, measured in float64. Ties go to the
    lower gallery row, as torch.min does."""
    gn = (gallery * gallery).sum(1)
    best_d = torch.full((queries.shape[0],), float("inf"))
    best_i = torch.zeros(queries.shape[0], dtype=torch.long)
    step = 4096
    for g0 in range(0, gallery.shape[0], step):
        g = gallery[g0 : g0 + step]
        d = gn[g0 : g0 + step].unsqueeze(0) - 2.0 * queries @ g.T
        v, i = d.min(1)
        better = v < best_d
        best_d = torch.where(better, v, best_d)
        best_i = torch.where(better, i + g0, best_i)
    diff = queries.double() - gallery[best_i].double()
    return diff.norm(dim=1)


def run(a):
    t0 = time.perf_counter()
    torch.set_num_threads(a.threads)
    threadpoolctl.threadpool_limits(a.threads)
    if a.format == "mvtec":
        train, test, has_masks = mvtec_split(a.data, a.category)
    else:
        train, test, has_masks = magnetic_tile_split(a.data)
    pre = Preprocess(a.format, a.filter, a.resize, a.crop)
    model, weights_desc = build_backbone(a.backbone, a.weights, False, 0)
    pixel_layers = a.layers.split(",")
    names = list(dict.fromkeys(pixel_layers + [a.pool_layer]))
    extractor = FeatureExtractor(model, names)

    tr, _ = extract(train, pre, extractor, names, a.batch, False)
    te, masks = extract(test, pre, extractor, names, a.batch, has_masks)
    k = min(a.k, len(train))

    pool_tr = tr[a.pool_layer].mean(dim=(2, 3)).double()
    pool_te = te[a.pool_layer].mean(dim=(2, 3)).double()
    dist = torch.cdist(pool_te, pool_tr)  # float64, exact
    # Stable sort: ties go to the lower training index, as in the Go code.
    order = torch.sort(dist, dim=1, stable=True).indices[:, :k]
    image_scores = torch.gather(dist, 1, order).mean(1).numpy()

    h, w = pre.size
    maps = np.zeros((len(test), h, w), dtype=np.float64)
    for t in range(len(test)):
        layer_maps = []
        for name in pixel_layers:
            f_tr, f_te = tr[name], te[name]
            c, gh, gw = f_te.shape[1:]
            gallery = f_tr[order[t]].permute(0, 2, 3, 1).reshape(-1, c)
            queries = f_te[t].permute(1, 2, 0).reshape(-1, c)
            d = nearest_distance(queries, gallery).float().view(1, 1, gh, gw)
            layer_maps.append(F.interpolate(d, size=(h, w), mode="bilinear", align_corners=False)[0, 0])
        m = torch.stack(layer_maps).mean(0).double().numpy()
        maps[t] = scipy.ndimage.gaussian_filter(m, sigma=a.sigma)

    labels = np.array([s.label for s in test])
    image_auroc = pixel_auroc = pro = None
    if 0 < labels.sum() < len(labels):
        image_auroc = float(sklearn.metrics.roc_auc_score(labels, image_scores))
    if has_masks and masks.any() and not masks.all():
        pixel_auroc = float(sklearn.metrics.roc_auc_score(masks.ravel(), maps.ravel()))
        pro = pro_score(maps, masks)
    if a.dump_maps:
        arr = maps[:: a.dump_maps_stride].astype(np.float32)
        write_atomic(a.dump_maps, lambda f: np.save(f, arr), binary=True)

    report = {
        "implementation": "pytorch-reference (scripts/spade_torch.py)",
        "metrics": {"image_auroc": image_auroc, "pixel_auroc": pixel_auroc, "pro_0.3": pro},
        "counts": {"train": len(train), "test": len(test), "test_anomalous": int(labels.sum()), "has_masks": has_masks},
        "config": {
            "format": a.format, "category": a.category, "backbone": a.backbone, "weights": weights_desc,
            "pool_layer": a.pool_layer, "pixel_layers": pixel_layers, "k": k, "gallery_k": k,
            "sigma": a.sigma, "filter": a.filter, "argv": sys.argv[1:],
        },
        "environment": {
            "python": platform.python_version(), "torch": torch.__version__,
            "torchvision": torchvision.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
            "sklearn": sklearn.__version__, "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
        "total_seconds": round(time.perf_counter() - t0, 3),
    }
    if a.dump_scores:
        report["per_image"] = [
            {"path": os.path.relpath(s.path, a.data), "label": s.label, "defect": s.defect, "score": float(v)}
            for s, v in zip(test, image_scores)
        ]
    write_atomic(a.out, json.dumps(report, indent=1) + "\n")
    print(f"{a.out}: image AUROC {image_auroc}, pixel AUROC {pixel_auroc}, PRO {pro}; "
          f"total {report['total_seconds']} s", file=sys.stderr)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--format", choices=["mvtec", "magnetic_tile"], required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--category")
    p.add_argument("--backbone", choices=["resnet18", "wide_resnet50_2"], default="resnet18")
    p.add_argument("--weights", required=True)
    p.add_argument("--pool-layer", default="layer3", help="layer whose global average pool is the image vector")
    p.add_argument("--layers", default="layer1,layer2,layer3", help="pixel layers")
    p.add_argument("--k", type=int, default=50, help="nearest training images (image score and gallery)")
    p.add_argument("--sigma", type=float, default=4.0)
    p.add_argument("--filter", choices=["lanczos", "bilinear"], default="lanczos")
    p.add_argument("--resize", type=int, default=256)
    p.add_argument("--crop", type=int, default=224)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", required=True)
    p.add_argument("--dump-scores", action="store_true")
    p.add_argument("--dump-maps")
    p.add_argument("--dump-maps-stride", type=int, default=1)
    a = p.parse_args(sys.argv[1:] if argv is None else argv)
    if a.format == "mvtec" and not a.category:
        p.error("--category is required with --format mvtec")
    try:
        run(a)
    except InputError as e:
        print(f"spade_torch: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
