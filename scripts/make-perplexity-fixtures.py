#!/usr/bin/env python3
"""Expected perplexities for Tests/RuntimeTests/Fixtures/perplexity.txt, computed by llama.cpp.

Reproduces llama-perplexity's default method (tools/perplexity/perplexity.cpp, ppl_stride 0):
tokenize the whole text with add_special=true (BOS if the vocab says so), split it into
floor(n_tokens / n_ctx) non-overlapping chunks of n_ctx tokens, replace the first token of each chunk
with BOS when the model adds BOS, evaluate each chunk from an empty cache, and score only the second
half: logits at positions first .. n_ctx-2 (first = n_ctx // 2) predict tokens first+1 .. n_ctx-1.
PPL = exp(mean NLL).

Uses llama-cpp-python's per-position logits with llama.cpp's most exact configuration (F32 KV cache,
no flash attention: SwiftLM's cache is F32). If the llama-perplexity binary exists ($LLAMA_PERPLEXITY,
default /work/llamacpp-build/bin/llama-perplexity) it is run twice: with that same configuration
("llama_perplexity", what the tests compare against) and with its defaults ("llama_perplexity_default":
F16 cache, flash attention auto, which alone moves gemma3's value by ~2%).

Usage: /work/venv/bin/python scripts/make-perplexity-fixtures.py MODEL_NAME=PATH.gguf ... [--ctx 128]
Writes Tests/RuntimeTests/Fixtures/perplexity-expected.json (merging with existing entries).
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys

import numpy as np
from llama_cpp import Llama

GGML_TYPE_F32 = 0
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "RuntimeTests", "Fixtures")
TEXT = os.path.join(FIXTURES, "perplexity.txt")
OUT = os.path.join(FIXTURES, "perplexity-expected.json")


def perplexity(path: str, text: str, n_ctx: int, threads: int) -> dict:
    llm = Llama(model_path=path, n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx, logits_all=True,
                n_threads=threads, flash_attn=False, type_k=GGML_TYPE_F32, type_v=GGML_TYPE_F32, verbose=False)
    tokens = llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)
    add_bos = llm._model.add_bos_token() if hasattr(llm._model, "add_bos_token") else tokens[:1] == [llm.token_bos()]
    n_chunk = len(tokens) // n_ctx
    if n_chunk < 2:
        sys.exit(f"{path}: {len(tokens)} tokens, need at least {2 * n_ctx}")
    first = n_ctx // 2
    nll, count = 0.0, 0
    for i in range(n_chunk):
        chunk = list(tokens[i * n_ctx:(i + 1) * n_ctx])
        if add_bos:
            chunk[0] = llm.token_bos()
        llm.reset()
        llm.eval(chunk)
        logits = np.asarray(llm.scores[:n_ctx], dtype=np.float64)
        for j in range(first, n_ctx - 1):
            row = logits[j]
            m = row.max()
            lse = m + math.log(np.exp(row - m).sum())
            nll += lse - row[chunk[j + 1]]
            count += 1
    return {"ctx": n_ctx, "tokens": len(tokens), "chunks": n_chunk, "add_bos": bool(add_bos),
            "perplexity": math.exp(nll / count)}


def llama_perplexity_binary(path: str, n_ctx: int, threads: int, exact: bool):
    exe = os.environ.get("LLAMA_PERPLEXITY", "/work/llamacpp-build/bin/llama-perplexity")
    if not os.access(exe, os.X_OK):
        return None
    extra = ["-fa", "off", "-ctk", "f32", "-ctv", "f32"] if exact else []
    r = subprocess.run([exe, "-m", path, "-f", TEXT, "-c", str(n_ctx), "-b", str(n_ctx), "-t", str(threads)] + extra,
                       capture_output=True, text=True)
    m = re.search(r"Final estimate: PPL = ([0-9.]+)", r.stdout + r.stderr)
    return float(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+", help="name=path.gguf")
    ap.add_argument("--ctx", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    text = open(TEXT, encoding="utf-8").read()
    expected = json.load(open(OUT)) if os.path.exists(OUT) else {}
    for spec in args.models:
        name, path = spec.split("=", 1)
        result = perplexity(path, text, args.ctx, args.threads)
        for key, exact in (("llama_perplexity", True), ("llama_perplexity_default", False)):
            value = llama_perplexity_binary(path, args.ctx, args.threads, exact)
            if value is not None:
                result[key] = value
        print(name, result, flush=True)
        expected[name] = result
    with open(OUT, "w") as f:
        json.dump(expected, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
