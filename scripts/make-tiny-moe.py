#!/usr/bin/env python3
"""A tiny-but-not-trivial random-weight qwen3moe GGUF for speed comparisons (issue 14, item 3).

Usage (from the repo root, in a venv with `gguf` and `numpy`, e.g. /work/venv-llama):
    python scripts/make-tiny-moe.py OUT.gguf [--type f32|q8_0|q4_k] [--seed 14] [--layers 4]
    scripts/bench-vs-llamacpp OUT.gguf -t 2

Shape: 256 hidden, 4 query heads / 2 KV heads of 64, 8 experts of width 512 with 2 used per token,
per-head Q/K norms, 4 layers, the first 2048 tokens of llama.cpp's SentencePiece test vocabulary
(Tests/TokenizerTests/Fixtures/vocab/ggml-vocab-llama-spm.gguf). The experts hold ~87% of the weights
so the FFN, not the output projection, dominates both prompt and generation time. Weights are
N(0, 1/sqrt(fan_in)) from numpy's PCG64 with --seed, so the file is the same on every run; --type
quantizes with llama.cpp's llama-quantize --pure (LLAMA_QUANTIZE, default
/work/llamacpp-build/bin/llama-quantize). The file is 58 MB in F32 (15 MB Q8_0, 8 MB Q4_K): keep it outside the repository.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import gguf
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB_FILE = os.path.join(HERE, "..", "Tests", "TokenizerTests", "Fixtures", "vocab", "ggml-vocab-llama-spm.gguf")
QUANTIZE = os.environ.get("LLAMA_QUANTIZE", "/work/llamacpp-build/bin/llama-quantize")
ARCH = "qwen3moe"
EMBD, HEADS, KV_HEADS, HEAD_DIM = 256, 4, 2, 64
EXPERTS, USED, EXPERT_FF = 8, 2, 512
VOCAB = 2048


def write(path, seed, layers):
    rng = np.random.default_rng(seed)

    def weight(*shape):  # numpy shape: the reverse of GGUF's dims; the last axis is the input
        return (rng.standard_normal(shape, dtype=np.float32) / np.float32(np.sqrt(shape[-1]))).astype(np.float32)

    def norm(n):
        return (1.0 + 0.1 * rng.standard_normal(n, dtype=np.float32)).astype(np.float32)

    src = gguf.GGUFReader(VOCAB_FILE)

    def field(name):
        f = src.fields[name]
        return [f.contents(i) for i in range(len(f.data))]

    w = gguf.GGUFWriter(path, ARCH)
    w.add_name("tiny-qwen3moe")
    w.add_context_length(4096)
    w.add_embedding_length(EMBD)
    w.add_block_count(layers)
    w.add_feed_forward_length(EXPERT_FF * USED)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_key_length(HEAD_DIM)
    w.add_value_length(HEAD_DIM)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_rope_freq_base(1000000.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_expert_count(EXPERTS)
    w.add_expert_used_count(USED)
    w.add_expert_feed_forward_length(EXPERT_FF)
    w.add_vocab_size(VOCAB)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(field("tokenizer.ggml.tokens")[:VOCAB])
    w.add_token_scores(field("tokenizer.ggml.scores")[:VOCAB])
    w.add_token_types(field("tokenizer.ggml.token_type")[:VOCAB])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)

    w.add_tensor("token_embd.weight", weight(VOCAB, EMBD))
    w.add_tensor("output_norm.weight", norm(EMBD))
    w.add_tensor("output.weight", weight(VOCAB, EMBD))
    for i in range(layers):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", norm(EMBD))
        w.add_tensor(p + "attn_q.weight", weight(HEADS * HEAD_DIM, EMBD))
        w.add_tensor(p + "attn_k.weight", weight(KV_HEADS * HEAD_DIM, EMBD))
        w.add_tensor(p + "attn_v.weight", weight(KV_HEADS * HEAD_DIM, EMBD))
        w.add_tensor(p + "attn_output.weight", weight(EMBD, HEADS * HEAD_DIM))
        w.add_tensor(p + "attn_q_norm.weight", norm(HEAD_DIM))
        w.add_tensor(p + "attn_k_norm.weight", norm(HEAD_DIM))
        w.add_tensor(p + "ffn_norm.weight", norm(EMBD))
        # A sharper router than N(0, 1/sqrt(n)) so that tokens do not spread evenly over the experts.
        w.add_tensor(p + "ffn_gate_inp.weight", 3 * weight(EXPERTS, EMBD))
        w.add_tensor(p + "ffn_gate_exps.weight", weight(EXPERTS, EXPERT_FF, EMBD))
        w.add_tensor(p + "ffn_up_exps.weight", weight(EXPERTS, EXPERT_FF, EMBD))
        w.add_tensor(p + "ffn_down_exps.weight", weight(EXPERTS, EMBD, EXPERT_FF))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--type", default="f32", choices=["f32", "q8_0", "q4_k"])
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--layers", type=int, default=4)
    a = ap.parse_args()
    if a.type == "f32":
        write(a.out, a.seed, a.layers)
    else:
        with tempfile.TemporaryDirectory() as d:
            f32 = os.path.join(d, "f32.gguf")
            write(f32, a.seed, a.layers)
            ftype = {"q8_0": "Q8_0", "q4_k": "Q4_K"}[a.type]
            subprocess.run([QUANTIZE, "--pure", f32, a.out, ftype], check=True, capture_output=True)
    print(f"wrote {a.out} ({os.path.getsize(a.out)} bytes)")


if __name__ == "__main__":
    sys.exit(main())
