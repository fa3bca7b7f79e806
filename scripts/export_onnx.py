#!/usr/bin/env python3
"""Exports the three backbones of `padim bench backbones` to ONNX for the
ONNX Runtime anchor (scripts/bench_ort_backbones.mjs).

Each network runs from the image to the deepest layer PaDiM taps and has
one output per tapped layer, the same work the Go and PyTorch sides time:

  resnet18, wide_resnet50_2   conv1 .. layer3; outputs layer1, layer2, layer3
  efficientnet_b5             features.0 and MBConv blocks 0..25; outputs
                              features.2.3, features.4.6, features.5.5 (the
                              paper's layers 7, 20, 26 counted from 1)

torchvision 0.14 models in eval mode, `torch.onnx.export` with opset 13,
constant folding (batch norm folds into the convolutions) and a dynamic
batch axis (height and width are fixed to --size, default 224); input "input"
is N x 3 x H x W float32. Weights are torchvision's
default initialisation under torch.manual_seed(0): speed does not depend on
them. `--r18-weights FILE` loads real ResNet-18 weights (conv1..layer3, e.g.
/work/shared/data/weights/resnet18-imagenet-layer1to3.pth) instead.

The files are large (Wide-ResNet-50-2 to layer3 is ~100 MB), so they go to a cache
folder, never into the repository:

  /usr/bin/python3 scripts/export_onnx.py            # -> $PADIM_CACHE/onnx/
  /usr/bin/python3 scripts/export_onnx.py --out DIR --backbones resnet18

Writes DIR/<backbone>.onnx (atomically: a temporary file renamed into place)
and DIR/<backbone>.json (torch and torchvision versions, outputs, weights).
The `onnx` Python package is not needed: torch serialises the graph itself.
"""
import argparse
import json
import os
import sys
import tempfile

import torch
import torchvision
from torchvision.models import efficientnet_b5, resnet18, wide_resnet50_2

OPSET = 13


class ResNetTaps(torch.nn.Module):
    """conv1 .. layer3, returning layer1, layer2 and layer3."""

    def __init__(self, model):
        super().__init__()
        self.stem = torch.nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool)
        self.layer1, self.layer2, self.layer3 = model.layer1, model.layer2, model.layer3

    def forward(self, x):
        l1 = self.layer1(self.stem(x))
        l2 = self.layer2(l1)
        return l1, l2, self.layer3(l2)


class EffNetTaps(torch.nn.Module):
    """features.0 and MBConv blocks 0..last (flattened over features.1..7),
    returning the outputs of the blocks in taps."""

    def __init__(self, model, taps):
        super().__init__()
        self.stem = model.features[0]
        blocks = [b for s in range(1, 8) for b in model.features[s]]
        self.blocks = torch.nn.ModuleList(blocks[: max(taps) + 1])
        self.taps = list(taps)

    def forward(self, x):
        x = self.stem(x)
        outs = []
        for i, b in enumerate(self.blocks):
            x = b(x)
            if i in self.taps:
                outs.append(x)
        return tuple(outs)


def effnet_block_index(model, stage, block):
    """Flattened MBConv index of features.<stage>.<block>."""
    return sum(len(model.features[s]) for s in range(1, stage)) + block


def build(name, r18_weights):
    torch.manual_seed(0)
    if name == "resnet18":
        m = resnet18().eval()
        weights = "torchvision default init, torch.manual_seed(0)"
        if r18_weights:
            sd = torch.load(r18_weights, map_location="cpu")
            missing, unexpected = m.load_state_dict(sd, strict=False)
            bad = [k for k in missing if not k.startswith(("layer4.", "fc."))]
            if bad or unexpected:
                sys.exit("%s: missing %s, unexpected %s" % (r18_weights, bad, unexpected))
            weights = os.path.basename(r18_weights)
        return ResNetTaps(m), ["layer1", "layer2", "layer3"], weights
    if name == "wide_resnet50_2":
        return ResNetTaps(wide_resnet50_2().eval()), ["layer1", "layer2", "layer3"], \
            "torchvision default init, torch.manual_seed(0)"
    if name == "efficientnet_b5":
        m = efficientnet_b5().eval()
        layers = ["features.2.3", "features.4.6", "features.5.5"]
        taps = [effnet_block_index(m, int(l.split(".")[1]), int(l.split(".")[2])) for l in layers]
        if taps != [6, 19, 25]:
            sys.exit("unexpected EfficientNet-B5 block layout: taps %s" % taps)
        return EffNetTaps(m, taps), layers, "torchvision default init, torch.manual_seed(0)"
    sys.exit("unknown backbone %r (resnet18, wide_resnet50_2, efficientnet_b5)" % name)


def default_out():
    cache = os.environ.get("PADIM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "padim")
    return os.path.join(cache, "onnx")


def export(name, out, size, r18_weights):
    model, layers, weights = build(name, r18_weights)
    outputs = [l.replace(".", "_") for l in layers]
    x = torch.zeros(1, 3, size, size)
    path = os.path.join(out, name + ".onnx")
    fd, tmp = tempfile.mkstemp(dir=out, prefix="." + name + "-", suffix=".onnx")
    os.close(fd)
    os.chmod(tmp, 0o644)
    try:
        with torch.no_grad():
            torch.onnx.export(model, x, tmp, opset_version=OPSET, do_constant_folding=True,
                              input_names=["input"], output_names=outputs,
                              dynamic_axes={n: {0: "batch"} for n in ["input"] + outputs})
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    meta = {"backbone": name, "file": os.path.basename(path), "layers": layers, "outputs": outputs,
            "opset": OPSET, "weights": weights, "torch": torch.__version__,
            "torchvision": torchvision.__version__, "export_size": size}
    with open(path[:-len(".onnx")] + ".json", "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print("%s: %.1f MB, outputs %s" % (path, os.path.getsize(path) / 1e6, ", ".join(outputs)), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=default_out(), help="output folder (default $PADIM_CACHE/onnx)")
    ap.add_argument("--backbones", default="resnet18,wide_resnet50_2,efficientnet_b5")
    ap.add_argument("--size", type=int, default=224, help="input side; the graph's H and W are fixed to it, "
                    "only the batch axis is dynamic")
    ap.add_argument("--r18-weights", default="", help="real ResNet-18 weights (conv1..layer3) instead of the seeded init")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name in args.backbones.split(","):
        export(name.strip(), args.out, args.size, args.r18_weights)


if __name__ == "__main__":
    main()
