#!/usr/bin/python3
"""PyTorch reference run of PaDiM (Defard et al., ICPR 2021) for parity and timing.

This is the protocol the Go harness must match, written the way a PyTorch user
would write it: eval mode, torch.no_grad, batched forward passes, vectorised
(batched) covariance, inversion and Mahalanobis scoring, torch.set_num_threads.

Pipeline (the paper's method, as in the authors' reference code):
  1. images -> ImageNet-normalised 224x224 tensors (MVTec: Resize(256) +
     CenterCrop(224); Magnetic Tile: squash to 224x224);
  2. backbone features at --layers (default layer1,layer2,layer3), each deeper
     map joined onto the first layer's grid by nearest association (what the
     reference embedding_concat computes), restricted to a channel subset
     (--channels FILE or --dims D --seed S);
  3. fit: per position mean and covariance (1/(N-1)) + 0.01 I, inverted in
     float64 (Cholesky);
  4. score: Mahalanobis distance per position, bilinear upsampling to the input
     size (align_corners=False), Gaussian blur sigma=4 per map, image score =
     max of the map;
  5. metrics: image AUROC, pixel AUROC, PRO (MVTec AD definition, up to FPR
     0.3, normalised); pixel metrics are null when masks are absent.

Writes one JSON report (atomically: temp file, fsync, rename).
Run with /usr/bin/python3 (torch 1.13, torchvision 0.14, scipy, sklearn, PIL).
See scripts/README.md for the exact commands used for reports/torch-reference.
"""

import argparse
import bisect
import contextlib
import json
import os
import platform
import random
import resource
import socket
import sys
import tempfile
import time

import numpy as np
import PIL
import scipy
import scipy.ndimage
import sklearn
import sklearn.metrics
import threadpoolctl
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
MT_DEFECTS = ("MT_Blowhole", "MT_Break", "MT_Crack", "MT_Fray", "MT_Uneven")
FILTERS = {"lanczos": InterpolationMode.LANCZOS, "bilinear": InterpolationMode.BILINEAR}

# Layers tapped by default per backbone, as in the paper (for EfficientNet-B5,
# its layers 7, 20 and 26 of the 39 MBConv blocks, named the torchvision way).
DEFAULT_LAYERS = {
    "resnet18": ["layer1", "layer2", "layer3"],
    "wide_resnet50_2": ["layer1", "layer2", "layer3"],
    # The paper's layers 7, 20, 26 counted from 1 (= Go block6, block19, block25; see backbones/doc.go).
    "efficientnet_b5": ["features.2.3", "features.4.6", "features.5.5"],
}

# Parameter prefixes a layer1..layer3 checkpoint legitimately lacks.
HEAD_PREFIXES = ("layer4.", "fc.")


class InputError(Exception):
    """Bad input (file, flag or data); reported without a traceback."""


# ----------------------------------------------------------------------------
# Datasets


class Sample:
    __slots__ = ("path", "mask_path", "label", "defect")

    def __init__(self, path, mask_path, label, defect):
        self.path = path
        self.mask_path = mask_path  # None when the image has no mask
        self.label = label  # 0 normal, 1 anomalous
        self.defect = defect  # "good" for normal images


def list_images(folder):
    try:
        names = sorted(os.listdir(folder))
    except OSError as e:
        raise InputError(f"{folder}: cannot list directory: {e.strerror}")
    return [n for n in names if n.lower().endswith(IMAGE_EXTENSIONS)]


def mvtec_split(root, category):
    """MVTec AD layout: train/good, test/<defect>, optional ground_truth/<defect>/<stem>_mask.png."""
    base = os.path.join(root, category)
    train_dir = os.path.join(base, "train", "good")
    test_dir = os.path.join(base, "test")
    gt_dir = os.path.join(base, "ground_truth")
    for d in (train_dir, test_dir):
        if not os.path.isdir(d):
            raise InputError(f"{d}: not a directory (expected MVTec AD layout)")
    train = [Sample(os.path.join(train_dir, n), None, 0, "good") for n in list_images(train_dir)]
    have_gt = os.path.isdir(gt_dir)
    test = []
    for defect in sorted(os.listdir(test_dir)):
        ddir = os.path.join(test_dir, defect)
        if not os.path.isdir(ddir):
            continue
        for n in list_images(ddir):
            label = 0 if defect == "good" else 1
            mask = None
            if label == 1 and have_gt:
                mask = os.path.join(gt_dir, defect, os.path.splitext(n)[0] + "_mask.png")
                if not os.path.isfile(mask):
                    raise InputError(f"{mask}: mask missing for anomalous test image {os.path.join(ddir, n)}")
            test.append(Sample(os.path.join(ddir, n), mask, label, defect))
    if not train:
        raise InputError(f"{train_dir}: no training images")
    if not test:
        raise InputError(f"{test_dir}: no test images")
    return train, test, have_gt


def magnetic_tile_split(root):
    """Magnetic Tile protocol of /work/shared/data/README.md.

    MT_Free sorted by file name: sorted index i % 5 == 4 -> test, else train.
    Every image of the five defect folders is a test image with its NAME.png mask.
    """
    free_dir = os.path.join(root, "MT_Free", "Imgs")
    free = [n for n in list_images(free_dir) if n.lower().endswith(".jpg")]
    if not free:
        raise InputError(f"{free_dir}: no .jpg images")
    train, test = [], []
    for i, n in enumerate(free):
        s = Sample(os.path.join(free_dir, n), None, 0, "good")
        (test if i % 5 == 4 else train).append(s)
    for defect in MT_DEFECTS:
        ddir = os.path.join(root, defect, "Imgs")
        names = [n for n in list_images(ddir) if n.lower().endswith(".jpg")]
        if not names:
            raise InputError(f"{ddir}: no .jpg images")
        for n in names:
            mask = os.path.join(ddir, os.path.splitext(n)[0] + ".png")
            if not os.path.isfile(mask):
                raise InputError(f"{mask}: mask missing for {os.path.join(ddir, n)}")
            test.append(Sample(os.path.join(ddir, n), mask, 1, defect))
    return train, test, True


class Preprocess:
    """Image and mask transforms of one protocol."""

    def __init__(self, fmt, filt, resize=256, crop=224):
        interp = FILTERS[filt]
        norm = [T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
        if fmt == "mvtec":
            self.size = (crop, crop)
            self.image_tf = T.Compose([T.Resize(resize, interp), T.CenterCrop(crop)] + norm)
            self.mask_tf = T.Compose([T.Resize(resize, InterpolationMode.NEAREST), T.CenterCrop(crop)])
        else:  # squash, no crop
            self.size = (crop, crop)
            self.image_tf = T.Compose([T.Resize((crop, crop), interp)] + norm)
            self.mask_tf = T.Resize((crop, crop), InterpolationMode.NEAREST)

    def image(self, path):
        try:
            with Image.open(path) as im:
                rgb = im.convert("RGB")
        except (OSError, ValueError) as e:
            raise InputError(f"{path}: cannot decode image: {e}")
        return self.image_tf(rgb)

    def mask(self, path):
        """H x W bool, True = defect; all False when path is None."""
        if path is None:
            return np.zeros(self.size, dtype=bool)
        try:
            with Image.open(path) as im:
                gray = im.convert("L")
        except (OSError, ValueError) as e:
            raise InputError(f"{path}: cannot decode mask: {e}")
        return np.asarray(self.mask_tf(gray)) > 127


# ----------------------------------------------------------------------------
# Backbone and embedding


class _Stop(Exception):
    """Raised by the last needed forward hook so the forward pass ends there."""


class FeatureExtractor:
    """Runs a torchvision model up to the deepest requested module, returning
    the requested modules' outputs (forward hooks + early stop)."""

    def __init__(self, model, layers):
        self.model = model.eval()
        self.layers = list(layers)
        modules = dict(model.named_modules())
        for name in self.layers:
            if name not in modules or name == "":
                raise InputError(f"--layers: model has no module {name!r}")
        self.outputs = {}
        for name in self.layers:
            modules[name].register_forward_hook(self._hook(name))

    def _hook(self, name):
        def hook(module, inputs, output):
            self.outputs[name] = output
            if len(self.outputs) == len(self.layers):
                raise _Stop()

        return hook

    def __call__(self, x):
        self.outputs = {}
        try:
            self.model(x)
        except _Stop:
            pass
        if len(self.outputs) != len(self.layers):
            raise RuntimeError(f"forward pass did not reach layers {set(self.layers) - set(self.outputs)}")
        return [self.outputs[n] for n in self.layers]


def build_backbone(name, weights, random_weights, seed):
    """Returns (model, weights description)."""
    ctor = {
        "resnet18": torchvision.models.resnet18,
        "wide_resnet50_2": torchvision.models.wide_resnet50_2,
        "efficientnet_b5": torchvision.models.efficientnet_b5,
    }[name]
    torch.manual_seed(seed)
    model = ctor(weights=None)
    if random_weights:
        return model, f"random (torch.manual_seed({seed}))"
    if not weights:
        raise InputError("--weights FILE is required unless --random-weights is set")
    try:
        state = torch.load(weights, map_location="cpu")
    except Exception as e:  # torch.load raises many types
        raise InputError(f"{weights}: cannot load state dict: {e}")
    if not isinstance(state, dict):
        raise InputError(f"{weights}: not a state dict (got {type(state).__name__})")
    result = model.load_state_dict(state, strict=False)
    if result.unexpected_keys:
        raise InputError(f"{weights}: unexpected keys for {name}: {result.unexpected_keys[:5]}")
    bad_missing = [k for k in result.missing_keys if not k.startswith(HEAD_PREFIXES)]
    if bad_missing:
        raise InputError(f"{weights}: missing keys besides layer4/fc: {bad_missing[:5]}")
    return model, f"{weights} (missing, unused: {len(result.missing_keys)} layer4/fc tensors)"


def resolve_layers(model, names):
    """Maps the Go harness's EfficientNet tap names to torchvision module names:
    blockK is the K-th MBConv block (0-based, counted over features.1..7) and
    stageS is features.S. Other names are torchvision module names already."""
    features = getattr(model, "features", None)
    blocks = []
    if isinstance(features, torch.nn.Sequential):
        for si in range(1, len(features)):
            stage = features[si]
            if all(type(b).__name__ in ("MBConv", "FusedMBConv") for b in stage.children()):
                blocks += [f"features.{si}.{bi}" for bi in range(len(stage))]
    out = []
    for name in names:
        name = name.strip()
        if blocks and name.startswith("block") and name[5:].isdigit():
            k = int(name[5:])
            if k >= len(blocks):
                raise InputError(f"--layers: {name} outside block0..block{len(blocks) - 1}")
            name = blocks[k]
        elif blocks and name.startswith("stage") and name[5:].isdigit():
            name = f"features.{int(name[5:])}"
        out.append(name)
    return out


def probe_layers(extractor, size):
    """Channels and grid of each tapped layer for one input of the given size."""
    with torch.no_grad():
        feats = extractor(torch.zeros(1, 3, size[0], size[1]))
    return [(f.shape[1], f.shape[2], f.shape[3]) for f in feats]


class Embedding:
    """Selected channels of the layers joined on the first layer's grid.

    Channel c of the concatenation (layers in --layers order) is channel
    c - offset(layer) of its layer; every deeper cell is copied to the
    s x s first-layer cells it covers (nearest association), which is what the
    reference embedding_concat computes with unfold/fold.
    """

    def __init__(self, shapes, channels):
        h0, w0 = shapes[0][1], shapes[0][2]
        for c, h, w in shapes:
            if h0 % h or w0 % w or h0 // h != w0 // w:
                raise InputError(f"layer grid {h}x{w} does not divide the first layer grid {h0}x{w0}")
        self.grid = (h0, w0)
        self.total = sum(s[0] for s in shapes)
        order = sorted(range(len(channels)), key=lambda i: channels[i])
        ranked = [channels[i] for i in order]
        self.per_layer = []  # (layer index, local channel index tensor)
        offset = 0
        for li, (c, _, _) in enumerate(shapes):
            local = [g - offset for g in ranked if offset <= g < offset + c]
            if local:
                self.per_layer.append((li, torch.tensor(local, dtype=torch.long)))
            offset += c
        # ranked position of each requested channel, to restore the requested order
        inverse = [0] * len(channels)
        for pos, i in enumerate(order):
            inverse[i] = pos
        self.restore = None if order == list(range(len(channels))) else torch.tensor(inverse)

    def __call__(self, feats):
        parts = []
        for li, idx in self.per_layer:
            f = feats[li].index_select(1, idx)
            if f.shape[2:] != self.grid:
                f = F.interpolate(f, size=self.grid, mode="nearest")
            parts.append(f)
        e = torch.cat(parts, dim=1)
        if self.restore is not None:
            e = e.index_select(1, self.restore)
        return e  # N x d x H x W


def read_channels(path, total):
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise InputError(f"{path}: cannot read channel file: {e.strerror}")
    channels = []
    for no, line in enumerate(lines, 1):
        s = line.strip()
        if not s:
            continue
        try:
            c = int(s)
        except ValueError:
            raise InputError(f"{path}:{no}: not an integer channel index: {s!r}")
        if not 0 <= c < total:
            raise InputError(f"{path}:{no}: channel {c} outside [0, {total})")
        channels.append(c)
    if not channels:
        raise InputError(f"{path}: no channel indices")
    if len(set(channels)) != len(channels):
        raise InputError(f"{path}: duplicate channel indices")
    return channels


def draw_channels(total, dims, seed):
    """dims distinct channels of [0, total), drawn like the reference code
    (random.sample), written sorted (Mahalanobis distance does not depend on order)."""
    if not 0 < dims <= total:
        raise InputError(f"--dims {dims} outside [1, {total}]")
    return sorted(random.Random(seed).sample(range(total), dims))


# ----------------------------------------------------------------------------
# Fit and score


def position_chunk(d, n, budget_bytes=512 << 20):
    """Positions per chunk so the float64 working set stays near budget_bytes."""
    per_position = 8 * (2 * d * d + 2 * n * d)
    return max(1, budget_bytes // per_position)


def fit_gaussians(emb, inv_dtype):
    """emb: N x d x L float32. Returns mean (L x d, float64) and inverse
    covariance (L x d x d, inv_dtype) of the per-position Gaussians with
    covariance 1/(N-1) sum (x-mu)(x-mu)^T + 0.01 I."""
    n, d, L = emb.shape
    if n < 2:
        raise InputError(f"need at least 2 training images, have {n}")
    mean = torch.empty(L, d, dtype=torch.float64)
    inv = torch.empty(L, d, d, dtype=inv_dtype)
    eye = torch.eye(d, dtype=torch.float64)
    step = position_chunk(d, n)
    for p0 in range(0, L, step):
        p1 = min(L, p0 + step)
        x = emb[:, :, p0:p1].permute(2, 0, 1).to(torch.float64)  # P x N x d
        mu = x.mean(dim=1)
        x = x - mu.unsqueeze(1)
        cov = torch.bmm(x.transpose(1, 2), x).div_(n - 1).add_(eye, alpha=0.01)
        chol, info = torch.linalg.cholesky_ex(cov)
        if int(info.max()) != 0:
            raise RuntimeError("covariance + 0.01 I is not positive definite (non-finite features?)")
        mean[p0:p1] = mu
        inv[p0:p1] = torch.cholesky_inverse(chol).to(inv_dtype)
    return mean, inv


def mahalanobis(emb, mean, inv):
    """emb: M x d x L float32 -> M x L float64 distances sqrt((x-mu)^T S^-1 (x-mu))."""
    m, d, L = emb.shape
    out = torch.empty(m, L, dtype=torch.float64)
    step = position_chunk(d, m)
    for p0 in range(0, L, step):
        p1 = min(L, p0 + step)
        diff = emb[:, :, p0:p1].permute(2, 0, 1).to(inv.dtype) - mean[p0:p1].unsqueeze(1).to(inv.dtype)
        q = torch.einsum("pmi,pij,pmj->pm", diff, inv[p0:p1], diff)  # P x M
        out[:, p0:p1] = q.to(torch.float64).clamp_(min=0).sqrt_().t()
    return out


def score_maps(dist, grid, size, sigma):
    """M x L distances -> M x H x W float64 maps (bilinear, align_corners=False,
    then scipy Gaussian blur per map, default reflect mode and truncate 4)."""
    m = dist.shape[0]
    up = F.interpolate(dist.view(m, 1, grid[0], grid[1]), size=size, mode="bilinear", align_corners=False)
    maps = up[:, 0].numpy()
    for i in range(m):
        maps[i] = scipy.ndimage.gaussian_filter(maps[i], sigma=sigma)
    return maps


# ----------------------------------------------------------------------------
# Metrics


def pro_curve(maps, masks):
    """FPR and PRO at every distinct threshold, as the MVTec AD evaluation
    defines them: each 8-connected ground-truth region of every image is one
    region; PRO = mean over all regions of the fraction of the region above the
    threshold; FPR = fraction of all ground-truth-normal pixels above it.
    Returns (fpr, pro) with (0,0) prepended and (1,1) appended."""
    structure = np.ones((3, 3), dtype=int)
    fp_step = np.zeros(masks.shape, dtype=np.uint32)  # 1 on normal pixels
    pro_step = np.zeros(masks.shape, dtype=np.float64)  # 1/|region| on region pixels
    regions = 0
    for i in range(masks.shape[0]):
        labels, count = scipy.ndimage.label(masks[i], structure=structure)
        regions += count
        fp_step[i] = labels == 0
        if count:
            sizes = np.bincount(labels.ravel(), minlength=count + 1).astype(np.float64)
            weights = np.zeros(count + 1)
            weights[1:] = 1.0 / sizes[1:]
            pro_step[i] = weights[labels]
    normal = int(fp_step.sum())
    if regions == 0 or normal == 0:
        return None
    scores = maps.ravel()
    order = np.argsort(scores)[::-1]  # descending: lowering the threshold (tie order is merged away below)
    sorted_scores = scores[order]
    fpr = np.cumsum(fp_step.ravel()[order], dtype=np.float64) / normal
    pro = np.cumsum(pro_step.ravel()[order]) / regions
    # one point per threshold: keep the last of each run of equal scores
    last = np.append(sorted_scores[1:] != sorted_scores[:-1], True)
    fpr = np.minimum(fpr[last], 1.0)
    pro = np.minimum(pro[last], 1.0)
    return np.concatenate(([0.0], fpr, [1.0])), np.concatenate(([0.0], pro, [1.0]))


def area_up_to(x, y, x_max):
    """Trapezoid area under y(x) for x in [0, x_max], interpolating y linearly at x_max."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    keep = x <= x_max
    area = float(np.sum(0.5 * (y[keep][1:] + y[keep][:-1]) * np.diff(x[keep])))
    if x_max not in x:
        k = bisect.bisect(x.tolist(), x_max)  # x[k-1] < x_max < x[k]
        if 0 < k < len(x):
            y_at = y[k - 1] + (y[k] - y[k - 1]) * (x_max - x[k - 1]) / (x[k] - x[k - 1])
            area += 0.5 * (y[k - 1] + y_at) * (x_max - x[k - 1])
    return area


def pro_score(maps, masks, fpr_limit=0.3):
    curve = pro_curve(maps, masks)
    if curve is None:
        return None
    return area_up_to(curve[0], curve[1], fpr_limit) / fpr_limit


# ----------------------------------------------------------------------------
# Driver


class Timer:
    """Accumulates wall and process CPU seconds per stage. The CPU time (all
    threads) is reported too because the machine is shared: wall time grows
    with other people's load, CPU time much less so."""

    def __init__(self):
        self.wall = {}
        self.cpu = {}

    @contextlib.contextmanager
    def stage(self, name):
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - w0
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - c0

    @staticmethod
    def summary(d):
        """Main stages (train and test parts summed) in pipeline order."""
        return {
            "decode_preprocess": d.get("decode_preprocess_train", 0.0) + d.get("decode_preprocess_test", 0.0),
            "features": d.get("features_train", 0.0) + d.get("features_test", 0.0),
            "fit": d.get("fit", 0.0),
            "score": d.get("score", 0.0),
            "metrics": d.get("metrics", 0.0),
        }


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def embed_all(samples, pre, extractor, embedding, batch, timer, stage, want_masks):
    """Decode + preprocess and forward in batches; returns (N x d x L float32, masks or None)."""
    chunks, masks = [], []
    for b0 in range(0, len(samples), batch):
        part = samples[b0 : b0 + batch]
        with timer.stage(f"decode_preprocess_{stage}"):
            x = torch.stack([pre.image(s.path) for s in part])
            if want_masks:
                masks.extend(pre.mask(s.mask_path) for s in part)
        with timer.stage(f"features_{stage}"), torch.no_grad():
            e = embedding(extractor(x))
            chunks.append(e.reshape(e.shape[0], e.shape[1], -1).contiguous())
    with timer.stage(f"features_{stage}"):
        emb = torch.cat(chunks)
        del chunks
    return emb, (np.stack(masks) if want_masks else None)


def write_atomic(path, data, binary=False):
    """Temp file in the target directory, fsync, rename."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--format", choices=["mvtec", "magnetic_tile"], required=True)
    p.add_argument("--data", required=True, help="MVTec root (with --category) or magnetic_tile root")
    p.add_argument("--category", help="MVTec category folder name (required for --format mvtec)")
    p.add_argument("--backbone", choices=sorted(DEFAULT_LAYERS), default="resnet18")
    p.add_argument("--weights", help="torchvision-layout state dict (.pth), loaded with strict=False")
    p.add_argument("--random-weights", action="store_true", help="keep the random init (timing only)")
    p.add_argument("--layers", help="comma-separated module names (default per backbone)")
    p.add_argument("--channels", help="file of 0-based channel indices into the concatenated layers, one a line")
    p.add_argument("--dims", type=int, help="draw this many channels at random (with --seed)")
    p.add_argument("--seed", type=int, default=0, help="seed of the channel draw and of random weights")
    p.add_argument("--write-channels", help="write the channel indices used to this file")
    p.add_argument("--filter", choices=sorted(FILTERS), default="lanczos", help="image resize filter")
    p.add_argument("--resize", type=int, default=256, help="MVTec: shorter side before the crop")
    p.add_argument("--crop", type=int, default=224, help="MVTec: centre crop; Magnetic Tile: squash size")
    p.add_argument("--sigma", type=float, default=4.0, help="Gaussian blur of the score maps")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--inv-dtype", choices=["float64", "float32"], default="float64",
                   help="storage of the inverse covariances (float32 halves memory for large d)")
    p.add_argument("--out", required=True, help="JSON report path")
    p.add_argument("--dump-maps", help="write the test score maps (M x H x W float32 .npy, test order)")
    p.add_argument("--dump-maps-stride", type=int, default=1,
                   help="dump only test images 0, K, 2K, ... (small parity fixtures)")
    p.add_argument("--dump-scores", action="store_true",
                   help="add per-image paths (relative to --data), labels and scores to the JSON")
    a = p.parse_args(argv)
    if a.format == "mvtec" and not a.category:
        p.error("--category is required with --format mvtec")
    if (a.channels is None) == (a.dims is None):
        p.error("give exactly one of --channels FILE and --dims D")
    if a.batch < 1 or a.threads < 1 or a.dump_maps_stride < 1:
        p.error("--batch, --threads and --dump-maps-stride must be positive")
    return a


def run(a):
    t_start, cpu_start = time.perf_counter(), time.process_time()
    load_start = os.getloadavg()
    torch.set_num_threads(a.threads)
    # numpy/scipy and torch's float64 LAPACK calls go through the system
    # OpenBLAS, whose pthread pool torch.set_num_threads does not govern.
    threadpoolctl.threadpool_limits(a.threads)
    timer = Timer()

    if a.format == "mvtec":
        train, test, has_masks = mvtec_split(a.data, a.category)
    else:
        train, test, has_masks = magnetic_tile_split(a.data)
    pre = Preprocess(a.format, a.filter, a.resize, a.crop)

    model, weights_desc = build_backbone(a.backbone, a.weights, a.random_weights, a.seed)
    layers = resolve_layers(model, a.layers.split(",")) if a.layers else DEFAULT_LAYERS[a.backbone]
    extractor = FeatureExtractor(model, layers)
    shapes = probe_layers(extractor, pre.size)
    total = sum(s[0] for s in shapes)
    if a.channels:
        channels = read_channels(a.channels, total)
    else:
        channels = draw_channels(total, a.dims, a.seed)
    if a.write_channels:
        write_atomic(a.write_channels, "".join(f"{c}\n" for c in channels))
    embedding = Embedding(shapes, channels)

    train_emb, _ = embed_all(train, pre, extractor, embedding, a.batch, timer, "train", False)
    inv_dtype = torch.float64 if a.inv_dtype == "float64" else torch.float32
    with timer.stage("fit"):
        mean, inv = fit_gaussians(train_emb, inv_dtype)
    del train_emb

    test_emb, masks = embed_all(test, pre, extractor, embedding, a.batch, timer, "test", has_masks)
    with timer.stage("score"):
        dist = mahalanobis(test_emb, mean, inv)
        maps = score_maps(dist, embedding.grid, pre.size, a.sigma)
        image_scores = maps.reshape(maps.shape[0], -1).max(axis=1)
    del test_emb

    labels = np.array([s.label for s in test])
    with timer.stage("metrics"):
        image_auroc = None
        if 0 < labels.sum() < len(labels):
            image_auroc = float(sklearn.metrics.roc_auc_score(labels, image_scores))
        pixel_auroc = pro = None
        if has_masks and masks.any() and not masks.all():
            pixel_auroc = float(sklearn.metrics.roc_auc_score(masks.ravel(), maps.ravel()))
            pro = pro_score(maps, masks)

    if a.dump_maps:
        arr = maps[:: a.dump_maps_stride].astype(np.float32)
        write_atomic(a.dump_maps, lambda f: np.save(f, arr), binary=True)

    defects = {}
    for s in test:
        defects[s.defect] = defects.get(s.defect, 0) + 1
    report = {
        "implementation": "pytorch-reference (scripts/padim_torch.py)",
        "metrics": {
            "image_auroc": image_auroc,
            "pixel_auroc": pixel_auroc,
            "pro_0.3": pro,
        },
        "counts": {
            "train": len(train),
            "test": len(test),
            "test_good": int((labels == 0).sum()),
            "test_anomalous": int(labels.sum()),
            "test_per_defect": defects,
            "has_masks": has_masks,
            "test_pixels": int(maps.size),
            "anomalous_pixels": int(masks.sum()) if masks is not None else None,
            "positions": int(embedding.grid[0] * embedding.grid[1]),
        },
        "timings_seconds": {k: round(v, 3) for k, v in Timer.summary(timer.wall).items()},
        "cpu_seconds": {k: round(v, 3) for k, v in Timer.summary(timer.cpu).items()},
        "timings_detail_seconds": {k: round(v, 3) for k, v in timer.wall.items()},
        "cpu_detail_seconds": {k: round(v, 3) for k, v in timer.cpu.items()},
        "total_seconds": round(time.perf_counter() - t_start, 3),
        "total_cpu_seconds": round(time.process_time() - cpu_start, 3),
        "load_average_1m": {"start": load_start[0], "end": os.getloadavg()[0]},
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "config": {
            "format": a.format,
            "data": a.data,
            "category": a.category,
            "backbone": a.backbone,
            "weights": weights_desc,
            "layers": layers,
            "layer_shapes_chw": shapes,
            "total_channels": total,
            "dims": len(channels),
            "channel_source": a.channels if a.channels else f"random.Random({a.seed}).sample(range({total}), {a.dims}), sorted",
            "filter": a.filter,
            "preprocess": (f"Resize({a.resize}, {a.filter}) + CenterCrop({a.crop})" if a.format == "mvtec"
                           else f"Resize(({a.crop}, {a.crop}), {a.filter}) (squash, no crop)"),
            "mask_preprocess": "same geometry with NEAREST, then > 127",
            "covariance": "1/(N-1) + 0.01 I, float64 Cholesky inverse",
            "inv_dtype": a.inv_dtype,
            "sigma": a.sigma,
            "batch": a.batch,
            "threads": a.threads,
            "argv": sys.argv[1:],
        },
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "sklearn": sklearn.__version__,
            "pillow": PIL.__version__,
            "cpu_count": os.cpu_count(),
            "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE"),
            "threadpools": [
                {k: v for k, v in pool.items() if k in ("internal_api", "version", "architecture", "threading_layer", "num_threads")}
                for pool in threadpoolctl.threadpool_info()
            ],
            "host": socket.gethostname(),
            "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
        "channels": channels,
    }
    if a.dump_scores:
        report["per_image"] = [
            {"path": os.path.relpath(s.path, a.data), "label": s.label, "defect": s.defect, "score": float(v)}
            for s, v in zip(test, image_scores)
        ]
    write_atomic(a.out, json.dumps(report, indent=1) + "\n")
    m = report["metrics"]
    print(f"{a.out}: image AUROC {m['image_auroc']}, pixel AUROC {m['pixel_auroc']}, PRO {m['pro_0.3']}; "
          f"total {report['total_seconds']} s, peak RSS {report['peak_rss_mib']} MiB", file=sys.stderr)


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run(a)
    except InputError as e:
        print(f"padim_torch: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
