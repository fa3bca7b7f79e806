#!/usr/bin/env python3
"""Reference fixtures for the Go package eval (written to testdata/eval/).

Image AUROC and ROC come from sklearn.metrics (roc_auc_score, roc_curve with
drop_intermediate=False). Connected components come from scipy.ndimage.label
with a 3x3 structure of ones. PRO is computed here from its published
definition (Bergmann et al., MVTec AD evaluation) by an explicit sweep over
every distinct score, independently of the Go code's sort-based sweep:

    FPR(t) = #{normal pixels with score >= t} / #{normal pixels}
    PRO(t) = mean over regions r of #{pixels of r with score >= t} / |r|

with (0, 0) prepended and (1, 1) appended, integrated by the trapezoid rule up
to the FPR limit (value at the limit linearly interpolated unless a point lies
exactly on it) and divided by the limit.

Usage: /usr/bin/python3 scripts/eval_fixtures.py   (from the repository root)
"""
import json
import os

import numpy as np
from scipy import ndimage
from sklearn.metrics import roc_auc_score, roc_curve

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "eval")
LIMITS = [0.3, 0.05, 1.0]


def pro_curve(maps, masks):
    labels = np.zeros(maps.shape, dtype=np.int64)
    regions = 0
    for i, m in enumerate(masks):
        lab, n = ndimage.label(m, structure=np.ones((3, 3), dtype=int))
        labels[i] = np.where(lab > 0, lab + regions, 0)
        regions += n
    flat_scores = maps.ravel().astype(np.float64)
    flat_labels = labels.ravel()
    sizes = np.bincount(flat_labels, minlength=regions + 1)
    normal = flat_labels == 0
    n_normal = normal.sum()
    fprs, pros = [0.0], [0.0]
    for t in np.unique(flat_scores)[::-1]:
        above = flat_scores >= t
        fprs.append(np.count_nonzero(above & normal) / n_normal)
        hit = np.bincount(flat_labels[above], minlength=regions + 1)
        pros.append(float(np.mean(hit[1:] / sizes[1:])))
    fprs.append(1.0)
    pros.append(1.0)
    return np.array(fprs), np.array(pros), regions, int(n_normal)


def area_up_to(x, y, limit):
    area = 0.0
    for i in range(1, len(x)):
        if x[i] <= limit:
            area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2
            continue
        if x[i - 1] < limit:  # interpolate y at the limit inside this segment
            yl = y[i - 1] + (y[i] - y[i - 1]) * (limit - x[i - 1]) / (x[i] - x[i - 1])
            area += (limit - x[i - 1]) * (yl + y[i - 1]) / 2
        break
    return area / limit


def roc_cases(rng):
    cases = []
    specs = [
        ("ties_1dp", np.round(rng.normal(size=300), 1), rng.random(300) < 0.4),
        ("continuous", rng.normal(size=101), rng.random(101) < 0.5),
        ("few_levels", rng.integers(0, 4, size=64).astype(float), rng.random(64) < 0.3),
        ("shifted", np.concatenate([rng.normal(size=80), rng.normal(1.0, 1.0, size=40)]),
         np.concatenate([np.zeros(80, bool), np.ones(40, bool)])),
    ]
    for name, scores, labels in specs:
        fpr, tpr, thr = roc_curve(labels, scores, drop_intermediate=False)
        cases.append({
            "name": name,
            "scores": scores.tolist(),
            "labels": labels.tolist(),
            "auroc": float(roc_auc_score(labels, scores)),
            "fpr": fpr.tolist(),
            "tpr": tpr.tolist(),
            "thresholds_after_inf": thr[1:].tolist(),
        })
    return cases


def pixel_set(rng, name, n, h, w, levels):
    masks = np.zeros((n, h, w), dtype=bool)
    for i in range(n):
        if i % 3 == 0:
            continue  # normal image: no anomalous pixel
        field = ndimage.gaussian_filter(rng.normal(size=(h, w)), 3)
        masks[i] = field > np.quantile(field, 0.9)
        # isolated pixels, some touching only diagonally, to exercise 8-connectivity
        for _ in range(3):
            y, x = rng.integers(0, h - 1), rng.integers(0, w - 1)
            masks[i, y, x] = True
            masks[i, y + 1, x + 1] = True
    maps = ndimage.gaussian_filter(rng.normal(size=(n, h, w)), (0, 2, 2)) * 3
    maps = maps + 0.8 * masks + 0.3 * rng.normal(size=maps.shape)
    maps = (np.round(maps * levels) / levels).astype(np.float32)
    labels = np.zeros((n, h, w), dtype=np.int32)
    counts = []
    for i in range(n):
        lab, c = ndimage.label(masks[i], structure=np.ones((3, 3), dtype=int))
        labels[i] = lab
        counts.append(int(c))
    fprs, pros, regions, n_normal = pro_curve(maps, masks)
    maps.astype("<f4").tofile(os.path.join(OUT, name + "_maps.f32"))
    masks.astype(np.uint8).tofile(os.path.join(OUT, name + "_masks.u8"))
    labels.astype("<i4").tofile(os.path.join(OUT, name + "_labels.i32"))
    np.stack([fprs, pros]).astype("<f8").tofile(os.path.join(OUT, name + "_curve.f64"))
    return {
        "name": name, "n": n, "h": h, "w": w,
        "pixel_auroc": float(roc_auc_score(masks.ravel(), maps.ravel())),
        "regions_per_image": counts,
        "regions": regions,
        "normal_pixels": n_normal,
        "curve_points": len(fprs),
        "aupro": {str(l): area_up_to(fprs, pros, l) for l in LIMITS},
    }


def main():
    rng = np.random.default_rng(20210110)
    os.makedirs(OUT, exist_ok=True)
    meta = {
        "generator": "scripts/eval_fixtures.py",
        "roc": roc_cases(rng),
        "pixels": [
            pixel_set(rng, "smooth", 9, 48, 64, 200),   # many distinct scores
            pixel_set(rng, "coarse", 7, 40, 56, 4),     # heavy ties
        ],
    }
    with open(os.path.join(OUT, "fixtures.json"), "w") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main()
