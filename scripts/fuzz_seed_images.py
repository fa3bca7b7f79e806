#!/usr/bin/env python3
"""Tiny png/jpeg/bmp files (every PIL mode the loaders meet) as the seed
corpus of datasets.FuzzDecodeImage, written in Go's fuzz corpus format to
datasets/testdata/fuzz/FuzzDecodeImage/. Each file is well under 1 KB."""
import io
import os

from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "..", "datasets", "testdata", "fuzz", "FuzzDecodeImage")


def pattern(mode, w, h):
    im = Image.new(mode, (w, h))
    px = im.load()
    for y in range(h):
        for x in range(w):
            v = (x * 37 + y * 91) % 256
            if mode in ("RGB", "YCbCr"):
                px[x, y] = (v, 255 - v, (v * 3) % 256)
            elif mode == "RGBA":
                px[x, y] = (v, 255 - v, 7, (x * 60) % 256)
            elif mode == "LA":
                px[x, y] = (v, 255 - v)
            elif mode == "I;16":
                px[x, y] = v * 250
            elif mode == "1":
                px[x, y] = 255 if (x + y) % 2 else 0
            else:
                px[x, y] = v
    return im


def encode(im, fmt, **kw):
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


def go_corpus(data):
    s = "".join(chr(c) if 32 <= c < 127 and c not in (34, 92) else "\\x%02x" % c for c in data)
    return 'go test fuzz v1\n[]byte("%s")\n' % s


seeds = {
    "rgb.png": encode(pattern("RGB", 5, 4), "PNG"),
    "rgba.png": encode(pattern("RGBA", 4, 3), "PNG"),
    "la.png": encode(pattern("LA", 3, 3), "PNG"),
    "gray.png": encode(pattern("L", 4, 4), "PNG"),
    "gray16.png": encode(pattern("I;16", 3, 2), "PNG"),
    "bilevel.png": encode(pattern("1", 9, 2), "PNG"),
    "palette.png": encode(pattern("RGB", 4, 4).convert("P", palette=Image.ADAPTIVE, colors=4), "PNG"),
    "baseline420.jpg": encode(pattern("RGB", 16, 16), "JPEG", quality=75, subsampling=2),
    "baseline444.jpg": encode(pattern("RGB", 8, 8), "JPEG", quality=90, subsampling=0),
    "progressive.jpg": encode(pattern("RGB", 16, 8), "JPEG", progressive=True),
    "gray.jpg": encode(pattern("L", 8, 8), "JPEG"),
    "cmyk.jpg": encode(pattern("RGB", 8, 8).convert("CMYK"), "JPEG"),
    "rgb.bmp": encode(pattern("RGB", 3, 2), "BMP"),
    "palette.bmp": encode(pattern("RGB", 4, 4).convert("P", palette=Image.ADAPTIVE, colors=4), "BMP"),
    "gray.bmp": encode(pattern("L", 5, 3), "BMP"),
}
os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name.replace(".", "_")), "w") as f:
        f.write(go_corpus(data))
    print(name, len(data), "bytes")
