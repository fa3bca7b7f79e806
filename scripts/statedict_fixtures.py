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
import collections
import json
import os
import struct
import sys

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


def expected(name, t):
    """Reference values for tensor t: contiguous float32 as torch computes them."""
    d = os.path.join(SD, "expected")
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, name + ".npy"), t.detach().float().contiguous().numpy(), allow_pickle=False)


def mixed_state_dict(torch):
    """Float dtypes, non-contiguous tensors and views of one shared storage."""
    g = torch.Generator().manual_seed(1)
    sd = collections.OrderedDict()
    sd["conv.weight"] = torch.randn(4, 3, 2, 2, generator=g)
    sd["conv.bias"] = torch.randn(4, generator=g)
    # float16 with values that do not round-trip through float32 exactly,
    # including a subnormal.
    h = torch.randn(2, 5, generator=g).half()
    h[0, 0] = 3.0e-6
    sd["half.weight"] = h
    sd["bf16.weight"] = torch.randn(3, 2, generator=g).bfloat16()
    sd["double.weight"] = torch.randn(2, 2, generator=g, dtype=torch.float64) * 1e3
    # Non-contiguous: a transpose (strides (1, 3)) and a strided slice.
    sd["transposed.weight"] = torch.randn(3, 4, generator=g).t()
    sd["strided.weight"] = torch.randn(4, 6, generator=g)[:, 1::2]
    # Views sharing one storage, at non-zero offsets.
    base = torch.randn(12, generator=g)
    sd["shared.a"] = base[2:6]
    sd["shared.b"] = base[4:10].view(2, 3)
    sd["shared.c"] = base[11]  # 0-d tensor at offset 11
    sd["bn.num_batches_tracked"] = torch.tensor(7)
    sd["empty"] = torch.zeros(0, 3)
    return sd


def write_safetensors(path, tensors, metadata):
    """The safetensors layout, written by hand (the package is not installed):
    u64 LE header length, JSON header padded with spaces to 8 bytes, data."""
    dtypes = {
        "torch.float32": "F32", "torch.float16": "F16", "torch.bfloat16": "BF16",
        "torch.float64": "F64", "torch.int64": "I64",
    }
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.contiguous()
        dt = dtypes[str(t.dtype)]
        if dt == "BF16":
            raw = t.view(__import__("torch").int16).numpy().tobytes()
        else:
            raw = t.numpy().tobytes()
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def statedict_fixtures():
    import torch

    os.makedirs(SD, exist_ok=True)
    sd = mixed_state_dict(torch)
    torch.save(sd, os.path.join(SD, "mixed.pth"))
    for name, t in sd.items():
        if t.is_floating_point():
            expected(name, t)
    # The same tensors as safetensors (contiguous, as safetensors requires).
    write_safetensors(os.path.join(SD, "mixed.safetensors"), sd, {"format": "pt", "note": "fixture"})

    # A real module's state_dict: OrderedDict carrying a _metadata attribute,
    # with BatchNorm buffers.
    torch.manual_seed(2)
    m = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3))
    m.train()
    m(torch.randn(4, 2, 5, 5))  # non-trivial running stats
    msd = m.state_dict()
    torch.save(msd, os.path.join(SD, "module.pth"))
    for name, t in msd.items():
        if t.is_floating_point():
            expected("module." + name, t)

    # Plain dict root, holding an nn.Parameter (pickled via _rebuild_parameter).
    p = torch.nn.Parameter(torch.arange(6, dtype=torch.float32).reshape(2, 3) - 2.5)
    torch.save({"w": p, "b": torch.ones(2)}, os.path.join(SD, "plain_dict.pth"))
    expected("plain.w", p)

    # A training checkpoint: the weights sit under "state_dict" next to
    # other objects the loader must step over.
    torch.save({"epoch": 3, "arch": "tiny", "best": 0.5, "state_dict": msd,
                "optimizer": {"lr": 0.1, "momentum_buffer": [torch.ones(3)]}},
               os.path.join(SD, "checkpoint.pth"))

    # Pickle protocol 4 (frames, SHORT_BINUNICODE, MEMOIZE) and a non-default
    # archive folder name.
    torch.save(sd, os.path.join(SD, "mixed_proto4.pth"), pickle_protocol=4)

    # Non-finite values must be refused.
    torch.save({"ok": torch.ones(2), "bad.weight": torch.tensor([1.0, float("nan"), 2.0])},
               os.path.join(SD, "nan.pth"))
    torch.save({"bad.bias": torch.tensor([float("-inf")], dtype=torch.float16)},
               os.path.join(SD, "inf.pth"))
    write_safetensors(os.path.join(SD, "nan.safetensors"),
                      {"bad.weight": torch.tensor([0.0, float("nan")])}, None)


def main():
    what = sys.argv[1:] or ["npy", "statedict"]
    if "npy" in what:
        npy_fixtures()
    if "statedict" in what:
        statedict_fixtures()


if __name__ == "__main__":
    main()
