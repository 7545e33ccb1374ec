#!/usr/bin/env python3
"""Golden fixtures for `swiftlm create` (issue 13, import half).

1. Quantizer fixtures (Tests/KernelsTests/Fixtures/quantize/): random F32 rows and the blocks that
   ggml's own scalar reference (`quantize_row_{q8_0,q5_0,q4_0,q4_K}_ref`, `ggml_fp32_to_fp16_row`) makes of
   them, called through ctypes from llama.cpp's libggml-base.so. SwiftLM's quantizers must match byte
   for byte.
2. A tiny random-weight llama folder in Hugging Face layout (Tests/ImportTests/Fixtures/tiny-llama/:
   sharded BF16/F16/F32 safetensors, config.json, a small byte-level BPE tokenizer.json), plus the
   reference for the decoder round trip: the same weights written as GGUF by the `gguf` Python
   package in llama.cpp's layout (Q/K rows permuted as convert_hf_to_gguf.py does), run by llama.cpp
   (llama-cpp-python) on fixed token ids; its logits go to tiny-llama-logits.json.

Run with llama.cpp's venv: `. /work/venv-llama/bin/activate && python scripts/make-import-fixtures.py`
(LLAMA_CPP_LIB_PATH, which that venv exports, points at the directory holding libggml-base.so).
"""
import ctypes
import json
import os
import struct
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
QUANT_DIR = ROOT / "Tests/KernelsTests/Fixtures/quantize"
IMPORT_DIR = ROOT / "Tests/ImportTests/Fixtures"


def lib_dir() -> Path:
    return Path(os.environ.get("LLAMA_CPP_LIB_PATH", "/work/llamacpp-build/bin"))


def quant_rows() -> np.ndarray:
    """16 rows of 512: Gaussian at several scales, plus the corner cases a block quantizer can get
    wrong (all zero, constant, all positive so the min clamps to 0, one huge outlier, subnormal-ish
    magnitudes that underflow fp16 scales, exact ties at half steps)."""
    rng = np.random.default_rng(13)
    n = 512
    rows = [rng.standard_normal(n) * s for s in (1.0, 0.02, 30.0, 1e-3)]
    rows.append(np.zeros(n))
    rows.append(np.full(n, 0.75))
    rows.append(np.full(n, -2.5))
    rows.append(np.abs(rng.standard_normal(n)) + 0.5)           # all positive
    rows.append(-np.abs(rng.standard_normal(n)) - 0.1)          # all negative
    r = rng.standard_normal(n) * 0.1
    r[::97] = 40.0                                               # outliers
    rows.append(r)
    rows.append(rng.standard_normal(n) * 1e-6)                   # scales underflow fp16
    rows.append(np.round(rng.standard_normal(n) * 8) / 2)        # many exact half steps
    rows.append(rng.uniform(-1, 1, n))
    rows.append(rng.standard_normal(n) * 1e4)
    rows.append(np.tile(np.arange(32) - 16.0, n // 32))          # exact integers
    rows.append(rng.laplace(size=n))
    return np.stack(rows).astype(np.float32)


def make_quant_fixtures() -> None:
    ggml = ctypes.CDLL(str(lib_dir() / "libggml-base.so"))
    x = np.ascontiguousarray(quant_rows())
    QUANT_DIR.mkdir(parents=True, exist_ok=True)
    (QUANT_DIR / "input.f32").write_bytes(x.tobytes())
    # bytes per 32 / 256 elements: q8_0 34/32, q4_0 18/32, q4_K 144/256, f16 2/1.
    kinds = {
        "f16": ("ggml_fp32_to_fp16_row", lambda n: 2 * n),
        "q8_0": ("quantize_row_q8_0_ref", lambda n: n // 32 * 34),
        "q4_0": ("quantize_row_q4_0_ref", lambda n: n // 32 * 18),
        "q5_0": ("quantize_row_q5_0_ref", lambda n: n // 32 * 22),
        "q4_K": ("quantize_row_q4_K_ref", lambda n: n // 256 * 144),
    }
    manifest = {"rows": int(x.shape[0]), "columns": int(x.shape[1]), "types": {}}
    for name, (symbol, size) in kinds.items():
        fn = getattr(ggml, symbol)
        fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        fn.restype = None
        out = bytearray()
        for row in x:
            buf = ctypes.create_string_buffer(size(row.size))
            fn(row.ctypes.data, buf, row.size)
            out += buf.raw
        (QUANT_DIR / f"{name}.bin").write_bytes(bytes(out))
        manifest["types"][name] = {"file": f"{name}.bin", "bytes": len(out), "source": symbol}
    (QUANT_DIR / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"quantizer fixtures: {x.shape[0]} rows x {x.shape[1]} -> {QUANT_DIR}")


if __name__ == "__main__":
    what = sys.argv[1:] or ["quant", "llama"]
    if "quant" in what:
        make_quant_fixtures()
    if "llama" in what:
        from tiny_llama_fixture import make_tiny_llama  # noqa: E402  (same folder)
        make_tiny_llama(IMPORT_DIR)
