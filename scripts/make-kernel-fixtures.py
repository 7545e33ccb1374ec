#!/usr/bin/env python3
"""Golden dequantization fixtures for Tests/KernelsTests, from the gguf Python package.

For each real model, takes one tensor of every quant type it holds (plus blk.0.ffn_down.weight,
named by the issue), dequantizes a few rows with gguf.quants.dequantize and writes them as
little-endian float32 files with a manifest.json. Usage (venv with `gguf` and `numpy`):

    /work/venv/bin/python scripts/make-kernel-fixtures.py NAME=PATH.gguf [...]

e.g. qwen2.5-coder:0.5b=/work/models/qwen2.5-coder-0.5b.gguf
"""
import json
import os
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "KernelsTests", "Fixtures")
ALWAYS = {"blk.0.ffn_down.weight"}


def rows_of(t):
    # ggml order: shape[0] is the contiguous axis (cols); everything else is rows.
    cols = int(t.shape[0])
    rows = int(np.prod(t.shape[1:])) if len(t.shape) > 1 else 1
    return rows, cols


def main(args):
    os.makedirs(OUT, exist_ok=True)
    manifest = []
    for arg in args:
        name, path = arg.split("=", 1)
        reader = GGUFReader(path)
        seen = set()
        for t in reader.tensors:
            tname = t.tensor_type.name
            if len(t.shape) != 2 or (tname in seen and t.name not in ALWAYS):
                continue
            seen.add(tname)
            rows, cols = rows_of(t)
            picks = sorted({0, 1, rows // 2, rows - 1})
            full = dequantize(t.data, t.tensor_type).reshape(rows, cols)
            values = np.stack([full[r] for r in picks]).astype("<f4")
            fname = f"{name.replace(':', '_')}--{t.name}.f32"
            values.tofile(os.path.join(OUT, fname))
            manifest.append({"model": name, "tensor": t.name, "type": tname, "rows": rows, "cols": cols,
                             "pickedRows": picks, "file": fname})
            print(f"{name} {t.name} {tname} {rows}x{cols} rows {picks}")
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
