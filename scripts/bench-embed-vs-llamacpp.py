#!/usr/bin/env python3
"""Embedding throughput, SwiftLM against llama.cpp, back to back on the same GGUF.

Usage (in a venv with llama-cpp-python==0.3.36, from the repo root after a release build):
    python scripts/bench-embed-vs-llamacpp.py MODEL.gguf [-r 3] [-t 2]

SwiftLM: `swiftlm bench MODEL --embed --json` (batches of 1, 32 and 256 distinct sentences of 18 random
words, about 20 tokens). llama.cpp: `Llama.embed` of the llama-cpp-python bindings on the same kind of
sentences and batch sizes, which packs a batch's sentences as separate sequences into one llama_decode
(n_batch = n_ubatch = 512, llama.cpp's default ubatch; a larger one makes its masked attention over the
whole batch quadratic in the batch). Both: one warm-up call, then the mean of sentences/s over the repetitions,
tokenization included.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

from llama_cpp import Llama, LLAMA_POOLING_TYPE_MEAN

WORDS = ("the model runs on a laptop and answers questions about documents with care search finds similar "
         "sentences quickly every morning team ships new features users ask for better results in their own "
         "language data stays local fast vectors compare meaning city river weather report market price rises "
         "falls").split()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("-r", type=int, default=3)
    ap.add_argument("-t", type=int, default=2)
    ap.add_argument("--swiftlm", default=os.environ.get("SWIFTLM", ".build/release/swiftlm"))
    args = ap.parse_args()

    env = dict(os.environ, SWIFTLM_THREADS=str(args.t))
    out = subprocess.run([args.swiftlm, "bench", args.model, "--embed", "--json", "-r", str(args.r),
                          "--threads", str(args.t)], capture_output=True, text=True, env=env, check=True)
    ours = {row["batch"]: row for row in json.loads(out.stdout)["embed"]}

    llm = Llama(model_path=args.model, embedding=True, pooling_type=LLAMA_POOLING_TYPE_MEAN, n_ctx=512,
                n_batch=512, n_ubatch=512, n_threads=args.t, n_threads_batch=args.t, verbose=False)
    rng = random.Random(42)

    def sentence():
        s = " ".join(rng.choice(WORDS) for _ in range(18))
        return s[0].upper() + s[1:] + "."

    print("| batch | tokens/sentence | llama.cpp sentences/s | SwiftLM sentences/s | SwiftLM / llama.cpp |")
    print("|---|---|---|---|---|")
    for size in (1, 32, 256):
        llm.embed([sentence() for _ in range(size)])
        rates = []
        for _ in range(args.r):
            batch = [sentence() for _ in range(size)]
            t0 = time.perf_counter()
            llm.embed(batch)
            rates.append(size / (time.perf_counter() - t0))
        ref = statistics.mean(rates)
        sd = statistics.stdev(rates) if len(rates) > 1 else 0
        o = ours[size]
        print(f"| {size} | {o['tokens_per_sentence']:.1f} | {ref:.2f} ± {sd:.2f} | "
              f"{o['sentences_per_s']:.2f} ± {o['sentences_per_s_sd']:.2f} | {o['sentences_per_s'] / ref:.2f}x |")


if __name__ == "__main__":
    sys.exit(main())
