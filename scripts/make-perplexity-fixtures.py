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

With --kv-types it instead runs only the binary, `llama-perplexity -ctk T -ctv T` for T in f32, f16,
q8_0, with flash attention off and on (llama.cpp needs flash attention for a quantized V cache, so q8_0
only has the "on" run): the spread between llama.cpp's own configurations is its noise floor, and the
tests compare SwiftLM's per-type perplexity with these values. That mode needs no llama-cpp-python, and reads
the long text, Tests/RuntimeTests/Fixtures/perplexity-long.txt (the GPL 3 as Debian ships it in
/usr/share/common-licenses/GPL-3: 7.5K tokens, 14 chunks of 512 with --ctx 512): seven times the short text's
scored tokens, which is what telling 0.2% apart takes (last-bit changes move a 500-token perplexity by 1-2%).

Usage: /work/venv/bin/python scripts/make-perplexity-fixtures.py MODEL_NAME=PATH.gguf ... [--ctx 128]
       python3 scripts/make-perplexity-fixtures.py --kv-types MODEL_NAME=PATH.gguf ... --ctx 512
Writes Tests/RuntimeTests/Fixtures/perplexity-expected.json, or with --kv-types
Tests/RuntimeTests/Fixtures/perplexity-kv-expected.json (merging with existing entries):
  {model: {"ctx": 128, "f32": {"fa_off": ppl, "fa_on": ppl}, "f16": {...}, "q8_0": {"fa_on": ppl}}}
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys

GGML_TYPE_F32 = 0
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "RuntimeTests", "Fixtures")
TEXT = os.path.join(FIXTURES, "perplexity.txt")
LONG_TEXT = os.path.join(FIXTURES, "perplexity-long.txt")
OUT = os.path.join(FIXTURES, "perplexity-expected.json")
KV_OUT = os.path.join(FIXTURES, "perplexity-kv-expected.json")
LLAMA_PERPLEXITY = os.environ.get("LLAMA_PERPLEXITY", "/work/llamacpp-build/bin/llama-perplexity")


def perplexity(path: str, text: str, n_ctx: int, threads: int) -> dict:
    import numpy as np
    from llama_cpp import Llama
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


def llama_perplexity_binary(path: str, n_ctx: int, threads: int, kv=None, fa=None, text=TEXT):
    """llama-perplexity's final estimate with cache type `kv` and flash attention `fa` ("on"/"off"),
    or its defaults for those left None; None when the binary is missing or prints no estimate."""
    if not os.access(LLAMA_PERPLEXITY, os.X_OK):
        return None
    cmd = [LLAMA_PERPLEXITY, "-m", path, "-f", text, "-c", str(n_ctx), "-b", str(n_ctx), "-t", str(threads)]
    if kv:
        cmd += ["-ctk", kv, "-ctv", kv]
    if fa:
        cmd += ["-fa", fa]
    r = subprocess.run(cmd, capture_output=True, text=True)
    m = re.search(r"Final estimate: PPL = ([0-9.]+)", r.stdout + r.stderr)
    if not m:
        print(f"{' '.join(cmd)}: no estimate (exit {r.returncode})", file=sys.stderr)
        return None
    return float(m.group(1))


def kv_types(path: str, n_ctx: int, threads: int) -> dict:
    entry = {"ctx": n_ctx}
    for kv in ("f32", "f16", "q8_0"):
        runs = {}
        for fa in (("on",) if kv == "q8_0" else ("off", "on")):
            value = llama_perplexity_binary(path, n_ctx, threads, kv, fa, LONG_TEXT)
            if value is not None:
                runs["fa_" + fa] = value
        entry[kv] = runs
    return entry


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+", help="name=path.gguf")
    ap.add_argument("--ctx", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--kv-types", action="store_true", help="llama-perplexity per KV cache type only")
    args = ap.parse_args()
    if args.kv_types and not os.access(LLAMA_PERPLEXITY, os.X_OK):
        sys.exit(f"{LLAMA_PERPLEXITY} not found: build llama.cpp or set LLAMA_PERPLEXITY")
    out = KV_OUT if args.kv_types else OUT
    text = open(TEXT, encoding="utf-8").read()
    expected = json.load(open(out)) if os.path.exists(out) else {}
    for spec in args.models:
        name, path = spec.split("=", 1)
        if args.kv_types:
            result = kv_types(path, args.ctx, args.threads)
        else:
            result = perplexity(path, text, args.ctx, args.threads)
            for key, (kv, fa) in (("llama_perplexity", ("f32", "off")), ("llama_perplexity_default", (None, None))):
                value = llama_perplexity_binary(path, args.ctx, args.threads, kv, fa)
                if value is not None:
                    result[key] = value
        print(name, result, flush=True)
        expected[name] = result
    with open(out, "w") as f:
        json.dump(expected, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
