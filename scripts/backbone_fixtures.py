#!/usr/bin/env python3
"""Reference fixtures for package backbones: torchvision 0.14 forward passes.

Writes testdata/backbones/manifest.json plus one raw little-endian float32
file (C order) per array. Go tests read these; CI never runs this script.

Run from the repository root:  /usr/bin/python3 scripts/backbone_fixtures.py
(set PADIM_DATA to the shared data folder for the real-weights case).

Two kinds of case:

* "synthetic": torchvision's resnet18, wide_resnet50_2 and efficientnet_b5
  filled with deterministic weights from a formula that
  backbones/formula_test.go reproduces bit for bit, run in eval mode on a
  formula input of shape 2x3x64x80 (non-square so a height/width swap
  shows). The formula, per tensor of n elements named NAME:

      h    = FNV-1a 32-bit hash of NAME's UTF-8 bytes
      x_i  = (i * 2654435761 + h) mod 2^32           i = 0 .. n-1
      x_i ^= x_i >> 16;  x_i = (x_i * 0x045d9f3b) mod 2^32;  x_i ^= x_i >> 16
      u_i  = x_i / 2^32                              in [0, 1), exact in float64

  and then, computed in float64 and rounded once to float32:
      conv / linear weight  (u - 0.5) * sqrt(12 / fan_in)   (variance 1/fan_in)
      conv / linear bias    (u - 0.5) * 0.2
      BN weight             0.5 + 0.5 * u
      BN bias               (u - 0.5) * 0.2
      BN running_mean       (u - 0.5) * 0.2
      BN running_var        0.5 + u
      input ("input")       (u - 0.5) * 4
  The running statistics deliberately differ from the batch statistics, so
  a loader that ignores them (or uses the wrong eps) fails the comparison.

* "real": the shared ResNet-18 ImageNet weights (conv1..layer3) on MVTec AD
  bottle/test/broken_large/000.png, preprocessed here by a fixed pipeline:
  PIL RGB, resize to 224x224 with PIL bilinear, /255, ImageNet mean/std in
  float32, NCHW. The exact input tensor is stored, so the Go test needs no
  image code.

The manifest also lists every torchvision state_dict name and shape, so the
Go test can prove its parameter names map 1:1.
"""
import json
import os

import numpy as np
import torch
import torchvision
from torchvision.models import efficientnet_b5, resnet18, wide_resnet50_2

OUT = os.path.join("testdata", "backbones")
INPUT_SHAPE = (2, 3, 64, 80)
# Flattened MBConv indices (0-based, over features.1..features.7) whose
# outputs are stored for EfficientNet-B5: the PaDiM paper's layers 7, 20 and
# 26 counted from 1 (block6, block19, block25), their 0-based namesakes, the
# stage ends and the final block.
EFFNET_BLOCKS = [0, 2, 6, 7, 12, 19, 20, 25, 26, 35, 38]

manifest = {
    "torch": torch.__version__,
    "torchvision": torchvision.__version__,
    "input_shape": list(INPUT_SHAPE),
    "arrays": {},
    "cases": [],
    "params": {},
}


def put(name, arr):
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    fname = name + ".f32"
    arr.astype("<f4").tofile(os.path.join(OUT, fname))
    manifest["arrays"][name] = {"file": fname, "shape": list(arr.shape)}
    return name


def fnv1a(name):
    h = 0x811C9DC5
    for b in name.encode("utf-8"):
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def unit(name, n):
    i = np.arange(n, dtype=np.uint64)
    x = (i * np.uint64(2654435761) + np.uint64(fnv1a(name))) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x045D9F3B)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(16)
    return x.astype(np.float64) / 2.0**32


def formula(name, shape, kind, fan_in=1):
    n = int(np.prod(shape))
    u = unit(name, n)
    if kind == "weight":
        v = (u - 0.5) * np.sqrt(12.0 / fan_in)
    elif kind in ("bias", "bn_bias", "running_mean"):
        v = (u - 0.5) * 0.2
    elif kind == "bn_weight":
        v = 0.5 + 0.5 * u
    elif kind == "running_var":
        v = 0.5 + u
    elif kind == "input":
        v = (u - 0.5) * 4.0
    else:
        raise ValueError(kind)
    return v.astype(np.float32).reshape(shape)


def fill(model):
    """Overwrite every parameter and BN buffer with the formula."""
    bn_prefixes = {
        n for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)
    }
    sd = model.state_dict()
    new = {}
    for name, t in sd.items():
        prefix, _, leaf = name.rpartition(".")
        shape = tuple(t.shape)
        if leaf == "num_batches_tracked":
            new[name] = t
            continue
        if prefix in bn_prefixes:
            kind = {"weight": "bn_weight", "bias": "bn_bias",
                    "running_mean": "running_mean", "running_var": "running_var"}[leaf]
            new[name] = torch.from_numpy(formula(name, shape, kind))
        elif leaf == "weight":
            fan_in = int(np.prod(shape[1:]))
            new[name] = torch.from_numpy(formula(name, shape, "weight", fan_in))
        elif leaf == "bias":
            new[name] = torch.from_numpy(formula(name, shape, "bias"))
        else:
            raise ValueError(name)
    model.load_state_dict(new)
    return model


def params(model):
    return [[k, list(v.shape)] for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked")]


def resnet_layers(model, x, upto):
    out = {}
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    for i in range(1, upto + 1):
        x = getattr(model, "layer%d" % i)(x)
        out["layer%d" % i] = x
    return out


def effnet_blocks(model, x, keep):
    out = {}
    x = model.features[0](x)
    k = 0
    for s in range(1, 8):
        for blk in model.features[s]:
            x = blk(x)
            if k in keep:
                out["block%d" % k] = x
            k += 1
    return out


def synthetic(name, ctor, run):
    torch.manual_seed(0)
    model = fill(ctor()).eval()
    manifest["params"][name] = params(model)
    x = torch.from_numpy(formula("input", INPUT_SHAPE, "input"))
    with torch.no_grad():
        outs = run(model, x)
    case = {"name": name + "_synthetic", "model": name, "kind": "synthetic",
            "input": None, "outputs": {}}
    for layer, t in outs.items():
        a = t.numpy()
        case["outputs"][layer] = put("%s_%s" % (name, layer), a)
        print("%-16s %-8s %-18s max|x| %.3g" % (name, layer, tuple(a.shape), np.abs(a).max()))
    manifest["cases"].append(case)


def real_resnet18():
    data = os.environ.get("PADIM_DATA", os.path.join("..", "shared", "data"))
    wpath = os.path.join(data, "weights", "resnet18-imagenet-layer1to3.pth")
    ipath = os.path.join(data, "mvtec_ad", "bottle", "test", "broken_large", "000.png")
    if not (os.path.exists(wpath) and os.path.exists(ipath)):
        print("real case skipped: %s or %s missing" % (wpath, ipath))
        return
    from PIL import Image

    img = Image.open(ipath).convert("RGB").resize((224, 224), Image.BILINEAR)
    a = np.asarray(img, dtype=np.float32) / np.float32(255)
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)
    std = np.array([0.229, 0.224, 0.225], dtype=np.float32)
    a = ((a - mean) / std).transpose(2, 0, 1)[None].copy()
    model = resnet18()
    sd = torch.load(wpath, map_location="cpu")
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected, unexpected
    assert all(k.startswith(("layer4.", "fc.")) for k in missing), missing
    model.eval()
    with torch.no_grad():
        outs = resnet_layers(model, torch.from_numpy(a), 3)
    case = {"name": "resnet18_real", "model": "resnet18", "kind": "real",
            "weights": "weights/resnet18-imagenet-layer1to3.pth",
            "image": "mvtec_ad/bottle/test/broken_large/000.png",
            "input": put("real_input", a), "outputs": {}}
    for layer, t in outs.items():
        o = t.numpy()
        case["outputs"][layer] = put("real_resnet18_" + layer, o)
        print("%-16s %-8s %-18s max|x| %.3g" % ("resnet18 real", layer, tuple(o.shape), np.abs(o).max()))
    manifest["cases"].append(case)


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    synthetic("resnet18", resnet18, lambda m, x: resnet_layers(m, x, 4))
    synthetic("wide_resnet50_2", wide_resnet50_2, lambda m, x: resnet_layers(m, x, 3))
    synthetic("efficientnet_b5", efficientnet_b5, lambda m, x: effnet_blocks(m, x, set(EFFNET_BLOCKS)))
    real_resnet18()
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
