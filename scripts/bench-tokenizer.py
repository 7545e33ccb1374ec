#!/usr/bin/env python3
"""Tokenizer speed, SwiftLM against llama.cpp, in one run on the same 1 MB of mixed text.

Usage (repo root; a venv with llama-cpp-python==0.3.36; a release build of swiftlm):
    swift build -c release --product swiftlm
    python scripts/bench-tokenizer.py [--swiftlm .build/release/swiftlm] [--model PATH_OR_NAME ...]

The corpus is built deterministically: English prose (DEVELOPERS.md, README.md, docs/), Swift
code (Sources/), and Chinese sentences drawn with a fixed seed, interleaved paragraph by
paragraph up to 1 MiB. SwiftLM's time comes from `swiftlm tokenize --file X --time` (tokenizing
only, load excluded); llama.cpp's from `Llama(vocab_only=True).tokenize` around the same bytes.
Each side runs --runs times and the best run counts. The ids must be identical (else MISMATCH).
"""
import argparse
import glob
import json
import os
import random
import re
import subprocess
import sys
import time

import llama_cpp

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

CHINESE = (
    "我们 今天 明天 昨天 天气 很好 非常 喜欢 学习 工作 中国 北京 上海 城市 人民 政府 经济 发展 科技 人工智能 模型 "
    "语言 计算机 程序 代码 数据 网络 世界 历史 文化 音乐 电影 朋友 家人 孩子 老师 学生 医生 问题 答案 时间 地方 "
    "因为 所以 但是 如果 虽然 已经 可能 应该 需要 开始 结束 重要 简单 复杂 快速 安全 开放 研究 方法 结果 系统"
).split()
PUNCT = ["，", "。", "！", "？", "、", "；", "：", "“", "”"]


def corpus(size):
    rnd = random.Random(20261129)
    english = []
    for pat in ["DEVELOPERS.md", "README.md", "docs/*.md"]:
        for p in sorted(glob.glob(os.path.join(ROOT, pat))):
            english += [x for x in open(p, encoding="utf-8").read().split("\n\n") if x.strip()]
    code = []
    for p in sorted(glob.glob(os.path.join(ROOT, "Sources", "**", "*.swift"), recursive=True)):
        code += [x for x in re.split(r"\n\s*\n", open(p, encoding="utf-8").read()) if x.strip()]
    out, n, i = [], 0, 0
    while n < size:
        zh = "".join(rnd.choice(CHINESE) + (rnd.choice(PUNCT) if rnd.random() < 0.3 else "") for _ in range(rnd.randint(20, 80)))
        for part in (english[i % len(english)], code[i % len(code)], zh):
            out.append(part)
            n += len(part.encode("utf-8")) + 2
        i += 1
    return "\n\n".join(out).encode("utf-8")[:size].decode("utf-8", "ignore").encode("utf-8")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--swiftlm", default=os.path.join(ROOT, ".build", "release", "swiftlm"))
    ap.add_argument("--model", action="append", help="model path (repeatable); default: the three catalog models in /work/models")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size", type=int, default=1 << 20)
    args = ap.parse_args()
    models = args.model or [f"/work/models/{m}" for m in ("qwen2.5-coder-0.5b.gguf", "smollm2-135m.gguf", "gemma3-270m.gguf")]

    data = corpus(args.size)
    path = "/tmp/swiftlm-tokenizer-bench.txt"
    open(path, "wb").write(data)
    print(f"corpus: {len(data)} bytes (English, Swift code, Chinese), {path}")
    # llama-cpp-python's Llama.tokenize calls llama_tokenize twice when the text has more tokens than
    # the model's context length (the first call only learns the count), so we also time one direct
    # llama_tokenize call with a big enough buffer: the ratio is taken against that, the stricter figure.
    print(f"{'model':<26} {'Llama.tokenize ms':>17} {'llama_tokenize ms':>17} {'SwiftLM ms':>11} {'speed-up':>9} {'tokens':>8}")
    for m in models:
        llm = llama_cpp.Llama(model_path=m, vocab_only=True, verbose=False)
        best_ref, ref_ids = float("inf"), []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            ref_ids = llm.tokenize(data, add_bos=False, special=False)
            best_ref = min(best_ref, time.perf_counter() - t0)
        n_ref = len(ref_ids)
        cap = len(data) + 16
        buf = (llama_cpp.llama_token * cap)()
        best_core = float("inf")
        for _ in range(args.runs):
            t0 = time.perf_counter()
            n = llama_cpp.llama_tokenize(llm._model.vocab, data, len(data), buf, cap, False, False)
            best_core = min(best_core, time.perf_counter() - t0)
            assert n == n_ref, (n, n_ref)
        del llm
        best_ours, ours = float("inf"), []
        for _ in range(args.runs):
            r = subprocess.run([args.swiftlm, "tokenize", m, "--file", path, "--json", "--time"], capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(r.stderr)
            ms = float(re.search(r"in ([0-9.]+) ms", r.stderr).group(1))
            best_ours = min(best_ours, ms / 1000)
            ours = json.loads(r.stdout)
        same = "" if ours == ref_ids else f"  MISMATCH ({len(ours)} vs {n_ref} tokens)"
        print(f"{os.path.basename(m):<26} {best_ref * 1000:>17.1f} {best_core * 1000:>17.1f} {best_ours * 1000:>11.1f} "
              f"{best_core / best_ours:>8.1f}x {n_ref:>8}{same}")


if __name__ == "__main__":
    main()
