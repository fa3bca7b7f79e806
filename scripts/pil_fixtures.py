#!/usr/bin/env python3
"""Reference fixtures for package datasets: PIL 9.4 decoding and resampling.

Writes testdata/datasets/pil/manifest.json plus small input images and PIL's
outputs. Go tests read these; CI never runs this script.

Run from the repository root:  /usr/bin/python3 scripts/pil_fixtures.py

Inputs are odd-sized images with pseudo-random content (noise plus smooth
ramps, so every rounding branch of the fixed-point resampler is exercised),
one per PIL mode the harness must accept: RGB, L, RGBA, P, I;16 (saved as a
16-bit PNG, which PIL reopens as mode I), LA, 1-bit, 16-bit RGB PNG,
24-bit and 8-bit palette BMP, and baseline, progressive, 4:2:0 and CMYK JPEG.

Each "decode" case stores np.array(Image.open(p).convert('RGB')) as a
lossless RGB PNG. Each "resize" case stores the uint8 result of

  paper:  T.Resize(R, interpolation=F) + T.CenterCrop(C)   (torchvision 0.14)
  squash: img.resize((W, H), F)

applied to the converted RGB image, also as a PNG. "mask" cases do the same
with NEAREST on the grayscale ('L') image, as the PaDiM reference code does
for ground-truth masks. One "normalize" case also stores
T.Normalize(ImageNet)(T.ToTensor()(...)) as raw float32 little-endian CHW.
"""
import json
import os

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image

OUT = os.path.join("testdata", "datasets", "pil")
FILTERS = {"lanczos": Image.LANCZOS, "bilinear": Image.BILINEAR,
           "bicubic": Image.BICUBIC, "nearest": Image.NEAREST}


def content(h, w, c, seed):
    """Noise plus ramps: smooth areas and sharp edges, all 256 levels."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w]
    out = np.empty((h, w, c), np.float64)
    for k in range(c):
        ramp = 127.5 + 127.5 * np.sin((x * (k + 1) + y * (3 - k)) / 7.0)
        out[..., k] = 0.6 * ramp + 0.4 * rng.randint(0, 256, (h, w))
    out[h // 3:h // 2, :, :] = 255 * (x[h // 3:h // 2, :, None] % 5 < 2)  # hard edges
    return np.clip(out, 0, 255).astype(np.uint8)


def save(name, img, **kw):
    path = os.path.join(OUT, name)
    img.save(path, **kw)
    return name


def inputs():
    cases = {}
    rgb = content(41, 37, 3, 1)
    cases["rgb.png"] = save("rgb.png", Image.fromarray(rgb, "RGB"))
    cases["gray.png"] = save("gray.png", Image.fromarray(content(29, 53, 1, 2)[..., 0], "L"))
    rgba = np.concatenate([content(31, 27, 3, 3), content(31, 27, 1, 4)], axis=2)
    cases["rgba.png"] = save("rgba.png", Image.fromarray(rgba, "RGBA"))
    pal = Image.fromarray(content(27, 33, 3, 5), "RGB").quantize(colors=50)
    cases["palette.png"] = save("palette.png", pal)
    g16 = (np.random.RandomState(6).randint(0, 400, (25, 19))).astype(np.uint16)
    g16[0, :5] = [0, 127, 255, 256, 65535]
    cases["gray16.png"] = save("gray16.png", Image.fromarray(g16, "I;16"))
    la = np.concatenate([content(17, 23, 1, 7), content(17, 23, 1, 8)], axis=2)
    cases["la.png"] = save("la.png", Image.fromarray(la, "LA"))
    bits = (content(21, 30, 1, 9)[..., 0] > 127)
    cases["bilevel.png"] = save("bilevel.png", Image.fromarray(bits).convert("1"))
    # 16-bit RGB PNG: PIL keeps the high byte of each sample.
    rgb16 = (content(13, 11, 3, 10).astype(np.uint16) * 257 + 77).astype(">u2")
    path = os.path.join(OUT, "rgb16.png")
    write_png16_rgb(path, rgb16)
    cases["rgb16.png"] = "rgb16.png"
    cases["rgb.bmp"] = save("rgb.bmp", Image.fromarray(content(19, 22, 3, 11), "RGB"))
    cases["palette.bmp"] = save("palette.bmp", Image.fromarray(content(23, 18, 3, 12), "RGB").quantize(colors=16))
    big = content(277, 311, 3, 13)
    cases["big.png"] = save("big.png", Image.fromarray(big, "RGB"))
    cases["baseline.jpg"] = save("baseline.jpg", Image.fromarray(content(47, 61, 3, 14), "RGB"),
                                 quality=90, subsampling=0)
    cases["sub420.jpg"] = save("sub420.jpg", Image.fromarray(content(47, 61, 3, 15), "RGB"),
                               quality=85, subsampling=2)
    cases["progressive.jpg"] = save("progressive.jpg", Image.fromarray(content(40, 33, 1, 16)[..., 0], "L"),
                                    quality=80, progressive=True)
    cmyk = Image.fromarray(content(24, 29, 3, 17), "RGB").convert("CMYK")
    cases["cmyk.jpg"] = save("cmyk.jpg", cmyk, quality=95)
    return cases


def write_png16_rgb(path, arr):
    """PIL cannot write 16-bit RGB PNGs; write one by hand (filter 0, zlib)."""
    import struct
    import zlib
    h, w, _ = arr.shape
    raw = b"".join(b"\x00" + arr[y].tobytes() for y in range(h))

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    files = inputs()
    manifest = {"pil": Image.__version__ if hasattr(Image, "__version__") else "", "cases": []}
    import PIL
    manifest["pil"] = PIL.__version__

    for name in sorted(files):
        im = Image.open(os.path.join(OUT, name))
        rgb = im.convert("RGB")
        exp = "decode_" + name.replace(".", "_") + ".png"
        rgb.save(os.path.join(OUT, exp))
        manifest["cases"].append({"kind": "decode", "input": name, "pil_mode": im.mode,
                                  "expected": exp, "exact": not name.endswith(".jpg")})

    resize_inputs = ["rgb.png", "gray.png", "rgba.png", "palette.png", "gray16.png", "big.png"]
    geoms = [("paper", 64, 56, 0, 0), ("squash", 0, 0, 23, 29), ("squash", 0, 0, 61, 97)]
    for name in resize_inputs:
        rgb = Image.open(os.path.join(OUT, name)).convert("RGB")
        for fname, f in sorted(FILTERS.items()):
            g = list(geoms)
            if name == "big.png":
                g.append(("paper", 256, 224, 0, 0))
                g.append(("squash", 0, 0, 224, 224))
            for mode, r, c, h, w in g:
                if mode == "paper":
                    out = T.CenterCrop(c)(T.Resize(r, interpolation=f)(rgb))
                    tag = f"paper{r}_{c}"
                else:
                    out = rgb.resize((w, h), f)
                    tag = f"squash{h}x{w}"
                exp = f"resize_{name.split('.')[0]}_{fname}_{tag}.png"
                out.save(os.path.join(OUT, exp))
                manifest["cases"].append({"kind": "resize", "input": name, "filter": fname,
                                          "mode": mode, "resize": r, "crop": c, "height": h,
                                          "width": w, "expected": exp, "exact": True})

    # Masks: NEAREST on the single-channel image, then > 127.
    for name in ["gray.png", "big.png"]:
        m = Image.open(os.path.join(OUT, name)).convert("L")
        for mode, r, c, h, w in [("paper", 64, 56, 0, 0), ("squash", 0, 0, 61, 97), ("paper", 256, 224, 0, 0)]:
            if mode == "paper":
                out = T.CenterCrop(c)(T.Resize(r, interpolation=Image.NEAREST)(m))
                tag = f"paper{r}_{c}"
            else:
                out = m.resize((w, h), Image.NEAREST)
                tag = f"squash{h}x{w}"
            exp = f"mask_{name.split('.')[0]}_{tag}.png"
            Image.fromarray(((np.array(out) > 127) * 255).astype(np.uint8), "L").save(os.path.join(OUT, exp))
            manifest["cases"].append({"kind": "mask", "input": name, "mode": mode, "resize": r,
                                      "crop": c, "height": h, "width": w, "expected": exp,
                                      "exact": True})

    # Full tensor for the paper protocol on one image: ToTensor + Normalize in float32.
    rgb = Image.open(os.path.join(OUT, "rgb.png")).convert("RGB")
    tf = T.Compose([T.Resize(64, interpolation=Image.LANCZOS), T.CenterCrop(56), T.ToTensor(),
                    T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
    x = tf(rgb).numpy().astype("<f4")
    x.tofile(os.path.join(OUT, "normalize_rgb_lanczos_paper64_56.f32"))
    manifest["cases"].append({"kind": "normalize", "input": "rgb.png", "filter": "lanczos",
                              "mode": "paper", "resize": 64, "crop": 56, "height": 0, "width": 0,
                              "expected": "normalize_rgb_lanczos_paper64_56.f32", "exact": True})

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
