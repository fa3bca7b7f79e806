#!/usr/bin/env python3
"""Reference fixtures for internal/imgproc and padim.

Writes testdata/padim/manifest.json plus one raw little-endian array file per
entry (float32 '.f32' or float64 '.f64', C order). The manifest gives each
array's dtype, shape and file, and the scalar parameters of each case. Go
tests read these; CI never runs this script.

Run from the repository root:  /usr/bin/python3 scripts/padim_math_fixtures.py

References used (torch 1.13, scipy):
  * torch.nn.functional.interpolate(mode='bilinear', align_corners=False)
  * scipy.ndimage.gaussian_filter(sigma) with defaults (truncate=4, reflect)
  * embedding_concat from the PaDiM reference implementation
    (xiahaifeng1995/PaDiM-Anomaly-Detection-Localization-master, main.py),
    re-typed here: unfold layer1 into s x s blocks, append layer2 to each
    block, fold back.
  * numpy mean / np.cov(rowvar=False) + 0.01 I / np.linalg.inv and
    scipy.spatial.distance.mahalanobis for the per-position Gaussian.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter
from scipy.spatial.distance import mahalanobis

OUT = os.path.join("testdata", "padim")
manifest = {"arrays": {}, "cases": {}}


def put(name, arr):
    arr = np.ascontiguousarray(arr)
    if arr.dtype == np.float32:
        ext, dt = "f32", "float32"
    elif arr.dtype == np.float64:
        ext, dt = "f64", "float64"
    else:
        raise ValueError(arr.dtype)
    fn = name + "." + ext
    arr.astype("<" + arr.dtype.str[1:]).tofile(os.path.join(OUT, fn))
    manifest["arrays"][name] = {"dtype": dt, "shape": list(arr.shape), "file": fn}


def embedding_concat(x, y):
    B, C1, H1, W1 = x.size()
    _, C2, H2, W2 = y.size()
    s = int(H1 / H2)
    x = F.unfold(x, kernel_size=s, dilation=1, stride=s)
    x = x.view(B, C1, -1, H2, W2)
    z = torch.zeros(B, C1 + C2, x.size(2), H2, W2)
    for i in range(x.size(2)):
        z[:, :, i, :, :] = torch.cat((x[:, :, i, :, :], y), 1)
    z = z.view(B, -1, H2 * W2)
    z = F.fold(z, kernel_size=s, output_size=(H1, W1), stride=s)
    return z


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20210112)

    # --- bilinear resize, align_corners=False -------------------------------
    for name, (h, w, oh, ow) in {
        "bilinear_up": (7, 9, 23, 31),
        "bilinear_56to224": (56, 56, 224, 224),
        "bilinear_down": (10, 10, 4, 6),
        "bilinear_mixed": (5, 12, 13, 7),
        "bilinear_1px": (1, 1, 3, 4),
    }.items():
        src = rng.standard_normal((h, w)).astype(np.float32)
        out = F.interpolate(torch.from_numpy(src)[None, None], size=(oh, ow),
                            mode="bilinear", align_corners=False)[0, 0].numpy()
        put(name + "_in", src)
        put(name + "_out", out)
        manifest["cases"][name] = {"h": h, "w": w, "oh": oh, "ow": ow}

    # --- Gaussian blur, scipy defaults --------------------------------------
    for name, (h, w, sigma) in {
        "gauss_224_s4": (224, 224, 4.0),
        "gauss_small_s4": (5, 7, 4.0),  # radius 16 > size: repeated reflection
        "gauss_20x17_s1.5": (20, 17, 1.5),
        "gauss_1x40_s2": (1, 40, 2.0),
    }.items():
        src = rng.standard_normal((h, w)).astype(np.float32)
        out = gaussian_filter(src, sigma=sigma)
        assert out.dtype == np.float32
        put(name + "_in", src)
        put(name + "_out", out)
        manifest["cases"][name] = {"h": h, "w": w, "sigma": sigma}

    # --- embedding_concat of three layers (strides 4, 8, 16 of a 32px input) -
    l1 = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    l2 = rng.standard_normal((2, 4, 4, 4)).astype(np.float32)
    l3 = rng.standard_normal((2, 2, 2, 2)).astype(np.float32)
    emb = embedding_concat(torch.from_numpy(l1), torch.from_numpy(l2))
    emb = embedding_concat(emb, torch.from_numpy(l3)).numpy()
    put("concat_layer1", l1)
    put("concat_layer2", l2)
    put("concat_layer3", l3)
    put("concat_embedding", emb)

    # --- per-position Gaussian and Mahalanobis distance ---------------------
    # train: N x P x d embeddings (P positions). N < d in the second case.
    for name, (n, p, d, ntest) in {"gauss_fit": (9, 3, 5, 4),
                                   "gauss_fit_n_lt_d": (4, 2, 10, 3)}.items():
        train = (rng.standard_normal((n, p, d)) * rng.uniform(0.5, 2, d)
                 + rng.standard_normal(d)).astype(np.float32)
        test = (rng.standard_normal((ntest, p, d)) * 1.5).astype(np.float32)
        x = train.astype(np.float64)
        mean = x.mean(axis=0)
        cov = np.empty((p, d, d))
        inv = np.empty((p, d, d))
        dist = np.empty((ntest, p))
        for i in range(p):
            cov[i] = np.cov(x[:, i, :], rowvar=False) + 0.01 * np.identity(d)
            inv[i] = np.linalg.inv(cov[i])
            for t in range(ntest):
                dist[t, i] = mahalanobis(test[t, i].astype(np.float64), mean[i], inv[i])
        put(name + "_train", train)
        put(name + "_test", test)
        put(name + "_mean", mean)
        put(name + "_cov", cov)
        put(name + "_inv", inv)
        put(name + "_dist", dist)
        manifest["cases"][name] = {"n": n, "positions": p, "d": d, "ntest": ntest}

    # --- score map post-processing as in the reference main.py --------------
    # dist (B x 8 x 8) -> bilinear to 32x32 -> gaussian sigma 4 -> max.
    dist = np.abs(rng.standard_normal((2, 8, 8))).astype(np.float32) * 3
    up = F.interpolate(torch.from_numpy(dist).unsqueeze(1), size=32,
                       mode="bilinear", align_corners=False).squeeze(1).numpy()
    maps = np.stack([gaussian_filter(up[i], sigma=4) for i in range(2)])
    put("scoremap_dist", dist)
    put("scoremap_maps", maps)
    put("scoremap_scores", maps.reshape(2, -1).max(axis=1).astype(np.float64))

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
