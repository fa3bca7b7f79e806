#!/usr/bin/python3
"""Writes the reference fixtures for internal/npy and internal/statedict.

Run from the repository root with the system Python (numpy, torch 1.13):

    /usr/bin/python3 scripts/statedict_fixtures.py

Values are simple closed-form functions of the element's C-order flat index
so the Go tests can recompute the expected numbers themselves instead of
trusting the code under test:

    float arrays: v[i] = (i - 7) * 0.25        (exact in float16 too)
    int arrays:   v[i] = i * 1000003 - 5
    bool arrays:  v[i] = i % 3 == 0
    uint8 arrays: v[i] = (i * 37) % 256

Outputs (all small): internal/npy/testdata/*.npy and
internal/statedict/testdata/*.{pth,safetensors}.
"""
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NPY = os.path.join(ROOT, "internal", "npy", "testdata")
SD = os.path.join(ROOT, "internal", "statedict", "testdata")


def fval(shape, dtype):
    n = int(np.prod(shape)) if len(shape) else 1
    return ((np.arange(n, dtype=np.float64) - 7) * 0.25).astype(dtype).reshape(shape)


def ival(shape):
    n = int(np.prod(shape)) if len(shape) else 1
    return (np.arange(n, dtype=np.int64) * 1000003 - 5).reshape(shape)


def bval(shape):
    n = int(np.prod(shape)) if len(shape) else 1
    return (np.arange(n) % 3 == 0).reshape(shape)


def uval(shape):
    n = int(np.prod(shape)) if len(shape) else 1
    return ((np.arange(n) * 37) % 256).astype(np.uint8).reshape(shape)


def save(name, arr, version=None):
    path = os.path.join(NPY, name)
    if version is None:
        np.save(path, arr, allow_pickle=False)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, arr, version=version, allow_pickle=False)


def npy_fixtures():
    os.makedirs(NPY, exist_ok=True)
    # Files np.save writes by default; Go's writer must reproduce them byte for byte.
    save("f4_2x3.npy", fval((2, 3), np.float32))
    save("f8_2x3x4.npy", fval((2, 3, 4), np.float64))
    save("f4_5.npy", fval((5,), np.float32))
    save("f4_scalar.npy", fval((), np.float32))
    save("f4_0x3.npy", fval((0, 3), np.float32))
    save("b1_3x4.npy", bval((3, 4)))
    save("u1_4x5.npy", uval((4, 5)))
    save("i8_7.npy", ival((7,)))
    # Variants Go only has to read.
    save("f4_fortran_3x4x2.npy", np.asfortranarray(fval((3, 4, 2), np.float32)))
    save("b1_fortran_3x4.npy", np.asfortranarray(bval((3, 4))))
    save("f8_bigendian_2x3.npy", fval((2, 3), ">f8"))
    save("f4_v2_2x3.npy", fval((2, 3), np.float32), version=(2, 0))
    save("f4_v3_2x3.npy", fval((2, 3), np.float32), version=(3, 0))
    save("i4_unsupported.npy", np.arange(3, dtype=np.int32))
    save("c8_unsupported.npy", np.arange(3, dtype=np.complex64))


def main():
    npy_fixtures()


if __name__ == "__main__":
    main()
