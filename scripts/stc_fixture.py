#!/usr/bin/env python3
"""Tiny ShanghaiTech Campus fixture in the official layout, for datasets tests.

Run from the repository root:  /usr/bin/python3 scripts/stc_fixture.py
Writes testdata/datasets/stc/:

  training/frames/01_001/000.jpg .. 003.jpg     (scene 01, 4 frames)
  training/frames/02_001/000.jpg .. 005.jpg     (scene 02, 6 frames)
  testing/frames/01_0014/000.jpg .. 004.jpg
  testing/frames/02_0128/000.jpg .. 002.jpg
  testing/test_frame_mask/<video>.npy           int64, 1 = anomalous frame
  testing/test_pixel_mask/<video>.npy           frames x 24 x 32; uint8 for
                                                01_0014, bool for 02_0128

Frames are 32x24 gray-noise jpgs; an anomalous frame has a bright block
exactly where its pixel mask is 1, so a test can check both agree.
The official release has 856x480 frames and ships training videos as .avi;
datasets/stc.go documents the ffmpeg command that extracts them.
"""
import os

import numpy as np
from PIL import Image

ROOT = os.path.join("testdata", "datasets", "stc")
H, W = 24, 32


def frame(rng, box=None):
    img = rng.randint(40, 90, (H, W)).astype(np.uint8)
    if box is not None:
        y0, y1, x0, x1 = box
        img[y0:y1, x0:x1] = 250
    return np.stack([img] * 3, axis=2)


def main():
    rng = np.random.RandomState(0)
    for video, n in [("01_001", 4), ("02_001", 6)]:
        d = os.path.join(ROOT, "training", "frames", video)
        os.makedirs(d, exist_ok=True)
        for i in range(n):
            Image.fromarray(frame(rng)).save(os.path.join(d, "%03d.jpg" % i), quality=95)
    tests = [("01_0014", [0, 1, 1, 0, 1], np.uint8), ("02_0128", [0, 0, 1], np.bool_)]
    for video, labels, dtype in tests:
        d = os.path.join(ROOT, "testing", "frames", video)
        os.makedirs(d, exist_ok=True)
        masks = np.zeros((len(labels), H, W), dtype)
        for i, lab in enumerate(labels):
            box = None
            if lab:
                y0, x0 = 2 + 3 * i, 4 + 5 * i
                box = (y0, y0 + 6, x0, x0 + 9)
                masks[i, box[0]:box[1], box[2]:box[3]] = 1
            Image.fromarray(frame(rng, box)).save(os.path.join(d, "%03d.jpg" % i), quality=95)
        os.makedirs(os.path.join(ROOT, "testing", "test_frame_mask"), exist_ok=True)
        os.makedirs(os.path.join(ROOT, "testing", "test_pixel_mask"), exist_ok=True)
        np.save(os.path.join(ROOT, "testing", "test_frame_mask", video + ".npy"), np.array(labels, np.int64))
        np.save(os.path.join(ROOT, "testing", "test_pixel_mask", video + ".npy"), masks)


if __name__ == "__main__":
    main()
