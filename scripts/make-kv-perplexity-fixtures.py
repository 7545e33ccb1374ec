#!/usr/bin/env python3
"""llama-perplexity per KV cache type, for Tests/RuntimeTests/Fixtures/perplexity.txt.

Runs llama.cpp's `llama-perplexity -ctk T -ctv T` for T in f32, f16, q8_0 on the same text and ctx as
scripts/make-perplexity-fixtures.py, once with flash attention off and once on (llama.cpp needs flash
attention for a quantized V cache, so q8_0 only has the "on" run). The spread between llama.cpp's own
configurations is its noise floor: the tests compare SwiftLM's per-type perplexity with these values.

Usage: python3 scripts/make-kv-perplexity-fixtures.py NAME=PATH.gguf ... [--ctx 128] [--threads 2]
Needs $LLAMA_PERPLEXITY (default /work/llamacpp-build/bin/llama-perplexity).
Writes Tests/RuntimeTests/Fixtures/perplexity-kv-expected.json (merging with existing entries):
  {model: {"ctx": 128, "f32": {"fa_off": ppl, "fa_on": ppl}, "f16": {...}, "q8_0": {"fa_on": ppl}}}
"""
import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "RuntimeTests", "Fixtures")
TEXT = os.path.join(FIXTURES, "perplexity.txt")
OUT = os.path.join(FIXTURES, "perplexity-kv-expected.json")


def run(exe, path, ctx, threads, kv, fa):
    cmd = [exe, "-m", path, "-f", TEXT, "-c", str(ctx), "-b", str(ctx), "-t", str(threads),
           "-ctk", kv, "-ctv", kv, "-fa", fa]
    r = subprocess.run(cmd, capture_output=True, text=True)
    m = re.search(r"Final estimate: PPL = ([0-9.]+)", r.stdout + r.stderr)
    if not m:
        print(f"{' '.join(cmd)}: no estimate (exit {r.returncode})", file=sys.stderr)
        return None
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+", help="name=path.gguf")
    ap.add_argument("--ctx", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    exe = os.environ.get("LLAMA_PERPLEXITY", "/work/llamacpp-build/bin/llama-perplexity")
    if not os.access(exe, os.X_OK):
        sys.exit(f"{exe} not found: build llama.cpp or set LLAMA_PERPLEXITY")
    expected = json.load(open(OUT)) if os.path.exists(OUT) else {}
    for spec in args.models:
        name, path = spec.split("=", 1)
        entry = {"ctx": args.ctx}
        for kv in ("f32", "f16", "q8_0"):
            runs = {}
            for fa in (("on",) if kv == "q8_0" else ("off", "on")):
                value = run(exe, path, args.ctx, args.threads, kv, fa)
                if value is not None:
                    runs["fa_" + fa] = value
            entry[kv] = runs
        print(name, entry, flush=True)
        expected[name] = entry
    with open(OUT, "w") as f:
        json.dump(expected, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
