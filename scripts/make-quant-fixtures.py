#!/usr/bin/env python3
"""Quant-conformance fixtures: one tiny random-weight llama model in every weight type, and llama.cpp's
log-probabilities for it, for Tests/ModelsTests/QuantConformanceTests.swift.

1. Writes a seeded, deterministic F32 llama GGUF (2 layers, 256 wide, 512 FFN, 4 heads / 2 KV heads of 64)
   with the `gguf` package. Its vocabulary is the first VOCAB entries of llama.cpp's llama-spm test vocab
   (<unk>, <s>, </s>, the 256 byte tokens, then merges): the tests feed token ids, so a short vocab keeps
   every file small while staying a valid SentencePiece vocab for llama.cpp.
2. Converts it with llama.cpp's own `llama-quantize --pure` to each type in TYPES (every tensor but the
   1-D norms in that type, embeddings included).
3. Runs each file (and the F32 source) in llama.cpp through llama-cpp-python: F32 KV cache, no flash
   attention, logits for every position. It evaluates a 30-token prompt in one batch, then 8 greedy
   steps one token at a time, and records the top-TOP log-probabilities of all 38 positions. As a noise
   floor it also evaluates the same tokens one at a time and records the largest log-probability change.

Usage (from the repo root, with the llama.cpp venv that holds llama-cpp-python 0.3.36, gguf and numpy):
  . /work/venv-llama/bin/activate
  python scripts/make-quant-fixtures.py --quantize /path/to/llama-quantize --vocab /path/to/ggml-vocab-llama-spm.gguf
Writes Tests/ModelsTests/Fixtures/quant/tiny-<type>.gguf and quant-expected.json (the F32 source is only
used for its numbers). For every type the JSON also holds the batch-versus-sequential noise floor and the
distance to the F32 model's log-probabilities, the F16/BF16 bound.
Re-running reproduces the same bytes for the same llama.cpp build.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import gguf
import numpy as np
from llama_cpp import Llama, __version__ as llama_cpp_version

SEED = 20261130
VOCAB = 512
EMBD, FFN, LAYERS, HEADS, KV_HEADS, HEAD_DIM = 256, 512, 2, 4, 2, 64
PROMPT_LEN = 30
STEPS = 8
TOP = 20
N_CTX = 64
GGML_TYPE_F32 = 0
TYPES = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "F16", "BF16"]


# Weight scales (standard deviations relative to 1/sqrt(fan-in); the embedding's is absolute). The tied
# embedding is also the output matrix, so its scale sets the logits' scale and with it how far one
# flipped Q8 activation rounding moves a log-prob. A random model has no trained robustness: at 0.15
# (logits ~2.4 apart) one flip moves later positions by ~0.05-0.2 nats, and llama.cpp's own batched and
# token-by-token runs differ by up to 0.16 on Q4_1/Q3_K/Q4_K/Q5_K files. At 0.01 a flip costs < 0.01
# nats while every quant type still sits 0.02 (Q8_0) to 0.66 (Q2_K) nats from the F32 model.
GAINS = {"embd": 0.01, "qk": 1.5, "v": 1.0, "o": 1.0, "ffn": 1.0}


def write_f32_model(path, vocab_path):
    rng = np.random.default_rng(SEED)
    src = gguf.GGUFReader(vocab_path)

    def field(name):
        f = src.fields[name]
        return [f.contents(i) for i in range(len(f.data))] if len(f.data) > 1 else f.contents()

    tokens = field("tokenizer.ggml.tokens")[:VOCAB]
    scores = field("tokenizer.ggml.scores")[:VOCAB]
    types = field("tokenizer.ggml.token_type")[:VOCAB]

    w = gguf.GGUFWriter(path, "llama")
    w.add_name("quant-conformance-tiny")
    w.add_context_length(2048)
    w.add_embedding_length(EMBD)
    w.add_block_count(LAYERS)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(VOCAB)
    w.add_file_type(0)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)

    def mat(rows, cols, std):  # numpy shape [rows][cols] = GGUF dims [cols, rows]
        # Uniform with the given standard deviation (bounded, like TinyModels.swift's weights).
        return (rng.uniform(-1, 1, (rows, cols)) * std * 3 ** 0.5).astype(np.float32)

    def norm():
        return (1 + 0.2 * rng.uniform(-1, 1, EMBD)).astype(np.float32)

    # Tied embeddings (no output.weight): the logits go through the quantized token_embd as well.
    w.add_tensor("token_embd.weight", mat(VOCAB, EMBD, GAINS["embd"]))
    w.add_tensor("output_norm.weight", norm())
    q, kv = HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM
    for i in range(LAYERS):
        w.add_tensor(f"blk.{i}.attn_norm.weight", norm())
        w.add_tensor(f"blk.{i}.attn_q.weight", mat(q, EMBD, GAINS["qk"] / EMBD ** 0.5))
        w.add_tensor(f"blk.{i}.attn_k.weight", mat(kv, EMBD, GAINS["qk"] / EMBD ** 0.5))
        w.add_tensor(f"blk.{i}.attn_v.weight", mat(kv, EMBD, GAINS["v"] / EMBD ** 0.5))
        w.add_tensor(f"blk.{i}.attn_output.weight", mat(EMBD, q, GAINS["o"] / q ** 0.5))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", norm())
        w.add_tensor(f"blk.{i}.ffn_gate.weight", mat(FFN, EMBD, GAINS["ffn"] / EMBD ** 0.5))
        w.add_tensor(f"blk.{i}.ffn_up.weight", mat(FFN, EMBD, GAINS["ffn"] / EMBD ** 0.5))
        w.add_tensor(f"blk.{i}.ffn_down.weight", mat(EMBD, FFN, GAINS["ffn"] / FFN ** 0.5))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return rng


def log_softmax(rows):
    rows = rows.astype(np.float64)
    m = rows.max(axis=1, keepdims=True)
    return rows - m - np.log(np.exp(rows - m).sum(axis=1, keepdims=True))


def top_pairs(row):
    idx = np.argsort(-row, kind="stable")[:TOP]
    return [[int(i), round(float(row[i]), 6)] for i in idx]


def run(path, prompt, continuation=None, sequential=False):
    """(greedy continuation, log-probs of every position) with the prompt in one batch, then one step at
    a time (`continuation` given: teacher-forced on it); `sequential`: every token one at a time."""
    llm = Llama(model_path=path, logits_all=True, n_ctx=N_CTX, n_batch=N_CTX, n_threads=2, seed=0,
                flash_attn=False, type_k=GGML_TYPE_F32, type_v=GGML_TYPE_F32, verbose=False)
    llm.reset()
    if sequential:
        for tok in prompt + continuation:
            llm.eval([tok])
    else:
        llm.eval(prompt)
        forced, continuation = continuation, []
        for i in range(STEPS):
            tok = int(np.argmax(llm.scores[llm.n_tokens - 1])) if forced is None else forced[i]
            continuation.append(tok)
            llm.eval([tok])
    logprobs = log_softmax(np.array(llm.scores[:llm.n_tokens], dtype=np.float32))
    del llm
    return continuation, logprobs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quantize", required=True, help="llama.cpp's llama-quantize binary")
    ap.add_argument("--vocab", required=True, help="ggml-vocab-llama-spm.gguf from llama.cpp's models/")
    ap.add_argument("--out", help="output directory (default: Tests/ModelsTests/Fixtures/quant)")
    ap.add_argument("--keep-f32", action="store_true", help="also write tiny-F32.gguf to the output directory")
    args = ap.parse_args()
    out_dir = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ModelsTests", "Fixtures", "quant")
    os.makedirs(out_dir, exist_ok=True)
    # The F32 source stays out of the repo (5 MB): the tests only need its numbers, for the F16/BF16 bound.
    tmp = tempfile.TemporaryDirectory()
    f32 = os.path.join(out_dir if args.keep_f32 else tmp.name, "tiny-F32.gguf")
    rng = write_f32_model(f32, args.vocab)
    prompt = [1] + [int(t) for t in rng.integers(3, VOCAB, PROMPT_LEN - 1)]

    doc = {"generator": f"scripts/make-quant-fixtures.py, llama-cpp-python {llama_cpp_version}, F32 KV cache, "
                        "no flash attention, prompt in one batch then greedy steps one at a time",
           "seed": SEED, "vocab_size": VOCAB, "top": TOP, "prompt": prompt, "types": {}}
    for name in ["F32"] + TYPES:
        path = f32 if name == "F32" else os.path.join(out_dir, f"tiny-{name}.gguf")
        if name != "F32":
            with tempfile.TemporaryFile() as log:
                r = subprocess.run([args.quantize, "--pure", f32, path, name], stdout=log, stderr=log)
                if r.returncode != 0:
                    log.seek(0)
                    sys.exit(f"llama-quantize {name} failed:\n{log.read().decode()}")
        continuation, lp = run(path, prompt)
        _, seq = run(path, prompt, continuation, sequential=True)
        if name == "F32":
            f32_tokens, f32_lp = continuation, lp
            f32_top = np.argsort(-lp, axis=1, kind="stable")[:, :TOP]
        # Distance to the F32 model on the F32 model's tokens, over its top-TOP ids at every position:
        # the bound the float types are held to (llama.cpp rounds their activations to 16 bits).
        _, on_f32 = run(path, prompt, f32_tokens)
        distance = np.abs(np.take_along_axis(on_f32, f32_top, 1) - np.take_along_axis(f32_lp, f32_top, 1)).max()
        doc["types"][name] = {
            "file": os.path.basename(path) if name != "F32" or args.keep_f32 else None, "continuation": continuation,
            "sequential_max_delta": round(float(np.abs(lp - seq).max()), 6),
            "f32_distance": round(float(distance), 6),
            "positions": [top_pairs(row) for row in lp],
        }
        print(name, os.path.getsize(path), "bytes, continuation", continuation,
              "batch vs sequential", doc["types"][name]["sequential_max_delta"],
              "distance to F32", doc["types"][name]["f32_distance"])
    dst = os.path.join(out_dir, "quant-expected.json")
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(dst, os.path.getsize(dst), "bytes")


if __name__ == "__main__":
    main()
