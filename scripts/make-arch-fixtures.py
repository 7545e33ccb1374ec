#!/usr/bin/env python3
"""Architecture fixtures: one tiny random-weight GGUF per architecture variant, with the metadata keys and
tensor names llama.cpp's converter writes, and llama.cpp's logits on it, for
Tests/ModelsTests/ArchitectureFixtureTests.swift.

The GGUFs are not committed. Each fixture JSON carries a *spec* of its file instead: every metadata key
with its GGUF type, and every tensor's name, GGUF dims and how its values were made. Values come from a
counter-based generator (splitmix64 of seed + index, 24 bits to a float32 in [-1, 1), times a scale, plus an
offset), computed exactly in float32, so the Swift test rebuilds the identical file from the spec with
TestSupport's GGUF writer. Tensors whose values carry meaning (llama3 rope_freqs, LongRoPE factors,
hand-made MoE routers) are stored literally. The spec also holds the sum of every tensor's values, which the
test checks so a drift between the two generators cannot pass unnoticed.

For each variant llama.cpp (llama-cpp-python 0.3.36, F32 KV cache, no flash attention, logits for every
position) evaluates a PROMPT_LEN-token prompt in one batch, then STEPS greedy tokens one at a time, and the
fixture keeps the top-TOP (id, logit) pairs of every position. Variants with scaled RoPE also get a long case:
LONG_LEN tokens (past the original context the scaling stretches), positions recorded from LONG_FROM on. As a
noise floor the same tokens are evaluated one at a time and the largest logit change is recorded.

Usage (from the repo root):
  . /work/venv-llama/bin/activate
  python scripts/make-arch-fixtures.py --vocab /path/to/ggml-vocab-llama-spm.gguf [--keep DIR] [variant ...]
Writes Tests/ModelsTests/Fixtures/arch/<variant>.json (a few tens of KB each). The vocabulary is the first VOCAB
entries of llama.cpp's llama-spm test vocab: the tests feed token ids, so only llama.cpp needs it (it is not in
the spec). Re-running reproduces the same numbers for the same llama.cpp build.
"""
import argparse
import json
import math
import os
import subprocess
import tempfile

import gguf
import numpy as np
from llama_cpp import Llama, __version__ as llama_cpp_version

VOCAB = 512
PROMPT_LEN = 24
STEPS = 8
TOP = 20
N_CTX = 128
LONG_LEN = 1100
LONG_FROM = LONG_LEN - 24
GGML_TYPE_F32 = 0
MASK = (1 << 64) - 1

# GGUF value types the spec names (gguf.GGUFValueType).
VT = {"u32": gguf.GGUFValueType.UINT32, "f32": gguf.GGUFValueType.FLOAT32, "str": gguf.GGUFValueType.STRING,
      "bool": gguf.GGUFValueType.BOOL}


def splitmix_values(seed, count, scale, offset):
    """float32 values in offset + scale * [-1, 1): splitmix64(seed + (i + 1) * golden), top 24 bits."""
    i = np.arange(1, count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float32)  # exact: 24 bits
    unit = u / np.float32(1 << 23) - np.float32(1)  # exact: k / 2^23 - 1 in [-1, 1)
    return (unit * np.float32(scale) + np.float32(offset)).astype(np.float32)


class Spec:
    """Metadata and tensors of one variant, written both to a GGUF and to the fixture JSON."""

    def __init__(self, arch, seed):
        self.arch, self.seed = arch, seed
        self.meta = [("general.architecture", "str", arch)]
        self.tensors = []  # dicts: name, dims (GGUF order), and either values or (seed, scale, offset)

    def kv(self, key, vtype, value):
        self.meta.append((key.replace("{arch}", self.arch), vtype, value))

    def random(self, name, dims, scale, offset=0.0):
        self.tensors.append({"name": name, "dims": dims, "seed": self.seed + len(self.tensors) * 7919,
                             "scale": scale, "offset": offset})

    def literal(self, name, dims, values):
        self.tensors.append({"name": name, "dims": dims, "values": [float(np.float32(v)) for v in values]})

    def array(self, t):
        count = int(np.prod(t["dims"]))
        if "values" in t:
            return np.array(t["values"], dtype=np.float32)
        return splitmix_values(t["seed"], count, t["scale"], t["offset"])

    def write(self, path, vocab_path):
        src = gguf.GGUFReader(vocab_path)

        def field(name):
            f = src.fields[name]
            return [f.contents(i) for i in range(len(f.data))] if len(f.data) > 1 else f.contents()

        w = gguf.GGUFWriter(path, self.arch)
        for key, vtype, value in self.meta:
            if key == "general.architecture":
                continue
            w.add_key_value(key, value, VT[vtype])
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
        for t in self.tensors:
            # numpy shape is the reverse of GGUF dims (dims[0] innermost).
            w.add_tensor(t["name"], self.array(t).reshape(list(reversed(t["dims"]))))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()

    def json(self):
        tensors = []
        for t in self.tensors:
            d = dict(t)
            d["sum"] = round(float(self.array(t).astype(np.float64).sum()), 6)
            tensors.append(d)
        return {"metadata": [{"key": k, "type": v, "value": x} for k, v, x in self.meta], "tensors": tensors}


# ---- Architectures -------------------------------------------------------------------------------------

EMBD, HEADS, KV_HEADS, HEAD_DIM, FFN, LAYERS = 128, 4, 2, 64, 256, 2


def common(s, *, ctx=4096, embd=EMBD, heads=HEADS, kv=KV_HEADS, head_dim=HEAD_DIM, ffn=FFN, layers=LAYERS,
           explicit_head=True, eps=1e-6, base=10000.0):
    s.kv("{arch}.context_length", "u32", ctx)
    s.kv("{arch}.embedding_length", "u32", embd)
    s.kv("{arch}.block_count", "u32", layers)
    s.kv("{arch}.feed_forward_length", "u32", ffn)
    s.kv("{arch}.attention.head_count", "u32", heads)
    s.kv("{arch}.attention.head_count_kv", "u32", kv)
    if explicit_head:
        s.kv("{arch}.attention.key_length", "u32", head_dim)
        s.kv("{arch}.attention.value_length", "u32", head_dim)
    s.kv("{arch}.rope.dimension_count", "u32", head_dim)
    s.kv("{arch}.rope.freq_base", "f32", base)
    s.kv("{arch}.attention.layer_norm_rms_epsilon", "f32", eps)
    s.kv("{arch}.vocab_size", "u32", VOCAB)


def norm(s, name, n):
    s.random(name, [n], 0.2, 1.0)


def globals_(s, embd=EMBD, tied=False, emb_scale=1.0):
    s.random("token_embd.weight", [embd, VOCAB], emb_scale)
    norm(s, "output_norm.weight", embd)
    if not tied:
        s.random("output.weight", [embd, VOCAB], 2.0 / math.sqrt(embd))


def attention(s, i, *, embd=EMBD, heads=HEADS, kv=KV_HEADS, head_dim=HEAD_DIM, fused=False, bias=False):
    q, k = heads * head_dim, kv * head_dim
    a = 1.5 / math.sqrt(embd)
    if fused:
        s.random(f"blk.{i}.attn_qkv.weight", [embd, q + 2 * k], a)
    else:
        s.random(f"blk.{i}.attn_q.weight", [embd, q], a)
        s.random(f"blk.{i}.attn_k.weight", [embd, k], a)
        s.random(f"blk.{i}.attn_v.weight", [embd, k], a)
    if bias:
        s.random(f"blk.{i}.attn_q.bias", [q], 0.1)
        s.random(f"blk.{i}.attn_k.bias", [k], 0.1)
        s.random(f"blk.{i}.attn_v.bias", [k], 0.1)
    s.random(f"blk.{i}.attn_output.weight", [q, embd], 1.5 / math.sqrt(q))


def ffn(s, i, *, embd=EMBD, ff=FFN, fused=False):
    a = 1.7 / math.sqrt(embd)
    if fused:  # phi3: ffn_up holds gate then up
        s.random(f"blk.{i}.ffn_up.weight", [embd, 2 * ff], a)
    else:
        s.random(f"blk.{i}.ffn_gate.weight", [embd, ff], a)
        s.random(f"blk.{i}.ffn_up.weight", [embd, ff], a)
    s.random(f"blk.{i}.ffn_down.weight", [ff, embd], 1.7 / math.sqrt(ff))


def llama3_factors(head_dim, base, factor, low, high, old_ctx):
    """What convert_hf_to_gguf writes as rope_freqs for rope_type llama3 (its formula, our code)."""
    out = []
    for j in range(0, head_dim, 2):
        freq = 1.0 / (base ** (j / head_dim))
        wavelen = 2 * math.pi / freq
        if wavelen < old_ctx / high:
            out.append(1.0)
        elif wavelen > old_ctx / low:
            out.append(factor)
        else:
            smooth = (old_ctx / wavelen - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return out


def dense(arch, seed, *, qk_norm=False, bias=False, tied=False, extra=None, ctx=4096, base=10000.0):
    s = Spec(arch, seed)
    common(s, ctx=ctx, base=base)
    if extra:
        extra(s)
    globals_(s, tied=tied)
    for i in range(LAYERS):
        norm(s, f"blk.{i}.attn_norm.weight", EMBD)
        attention(s, i, bias=bias)
        if qk_norm:
            norm(s, f"blk.{i}.attn_q_norm.weight", HEAD_DIM)
            norm(s, f"blk.{i}.attn_k_norm.weight", HEAD_DIM)
        norm(s, f"blk.{i}.ffn_norm.weight", EMBD)
        ffn(s, i)
    return s


def qwen3():
    return dense("qwen3", 1001, qk_norm=True)


def llama_llama3():
    """Llama 3.1/3.2: no scaling-type key; the converter writes the llama3 factors as rope_freqs.weight."""
    s = dense("llama", 1002, base=500000.0, ctx=131072)
    s.literal("rope_freqs.weight", [HEAD_DIM // 2], llama3_factors(HEAD_DIM, 500000.0, 8.0, 1.0, 4.0, 256))
    return s


def llama_yarn():
    def extra(s):
        s.kv("{arch}.rope.scaling.type", "str", "yarn")
        s.kv("{arch}.rope.scaling.factor", "f32", 4.0)
        s.kv("{arch}.rope.scaling.original_context_length", "u32", 256)
    return dense("llama", 1003, ctx=1024, extra=extra)


def llama_linear():
    def extra(s):
        s.kv("{arch}.rope.scaling.type", "str", "linear")
        s.kv("{arch}.rope.scaling.factor", "f32", 4.0)
    return dense("llama", 1004, ctx=1024, extra=extra)


def qwen3moe(router=None):
    experts, used, ff_exp = 8, 2, 64
    s = Spec("qwen3moe", 1005)
    common(s, ffn=ff_exp * used)
    s.kv("{arch}.expert_count", "u32", experts)
    s.kv("{arch}.expert_used_count", "u32", used)
    s.kv("{arch}.expert_feed_forward_length", "u32", ff_exp)
    globals_(s)
    for i in range(LAYERS):
        norm(s, f"blk.{i}.attn_norm.weight", EMBD)
        attention(s, i)
        norm(s, f"blk.{i}.attn_q_norm.weight", HEAD_DIM)
        norm(s, f"blk.{i}.attn_k_norm.weight", HEAD_DIM)
        norm(s, f"blk.{i}.ffn_norm.weight", EMBD)
        s.random(f"blk.{i}.ffn_gate_inp.weight", [EMBD, experts], 3.0 / math.sqrt(EMBD))
        a = 1.7 / math.sqrt(EMBD)
        s.random(f"blk.{i}.ffn_gate_exps.weight", [EMBD, ff_exp, experts], a)
        s.random(f"blk.{i}.ffn_up_exps.weight", [EMBD, ff_exp, experts], a)
        s.random(f"blk.{i}.ffn_down_exps.weight", [ff_exp, EMBD, experts], 1.7 / math.sqrt(ff_exp))
    return s


def gemma2():
    s = Spec("gemma2", 1006)
    common(s, eps=1e-6)
    s.kv("{arch}.attention.sliding_window", "u32", 8)
    s.kv("{arch}.attn_logit_softcapping", "f32", 5.0)
    s.kv("{arch}.final_logit_softcapping", "f32", 3.0)
    globals_(s, tied=True, emb_scale=0.15)
    for i in range(LAYERS):
        norm(s, f"blk.{i}.attn_norm.weight", EMBD)
        attention(s, i)
        norm(s, f"blk.{i}.post_attention_norm.weight", EMBD)
        norm(s, f"blk.{i}.ffn_norm.weight", EMBD)
        ffn(s, i)
        norm(s, f"blk.{i}.post_ffw_norm.weight", EMBD)
    return s


def olmo2():
    s = Spec("olmo2", 1007)
    common(s, explicit_head=False, heads=2, kv=2)  # olmo2's head size is n_embd / n_head
    globals_(s)
    for i in range(LAYERS):
        attention(s, i, heads=2, kv=2)
        norm(s, f"blk.{i}.attn_q_norm.weight", EMBD)
        norm(s, f"blk.{i}.attn_k_norm.weight", EMBD)
        norm(s, f"blk.{i}.post_attention_norm.weight", EMBD)
        ffn(s, i)
        norm(s, f"blk.{i}.post_ffw_norm.weight", EMBD)
    return s


def granite():
    def extra(s):
        s.kv("{arch}.embedding_scale", "f32", 2.0)
        s.kv("{arch}.residual_scale", "f32", 0.3)
        s.kv("{arch}.attention.scale", "f32", 0.05)
        s.kv("{arch}.logit_scale", "f32", 4.0)
    s = dense("granite", 1008, extra=extra)
    return s


def phi3():
    """Phi-3 mini 128k layout: fused QKV and gate-up, LongRoPE short/long factors, head size embd / heads."""
    s = Spec("phi3", 1009)
    common(s, ctx=4096, heads=2, kv=2, explicit_head=False)
    s.kv("{arch}.rope.scaling.type", "str", "longrope")
    s.kv("{arch}.rope.scaling.original_context_length", "u32", 256)
    s.kv("{arch}.rope.scaling.attn_factor", "f32", 1.19)
    globals_(s)
    half = HEAD_DIM // 2
    s.literal("rope_factors_short.weight", [half], [1.0 + 0.05 * j for j in range(half)])
    s.literal("rope_factors_long.weight", [half], [1.0 + 1.5 * j for j in range(half)])
    for i in range(LAYERS):
        norm(s, f"blk.{i}.attn_norm.weight", EMBD)
        attention(s, i, heads=2, kv=2, fused=True)
        norm(s, f"blk.{i}.ffn_norm.weight", EMBD)
        ffn(s, i, fused=True)
    return s


SWA_WINDOW = 8


def llama_swa():
    """Mistral 7B v0.1-style: llama with a sliding window on every layer (llama.attention.sliding_window)."""
    def extra(s):
        s.kv("{arch}.attention.sliding_window", "u32", SWA_WINDOW)
    return dense("llama", 1010, extra=extra)


def mistral3():
    """Ministral 3 / Mistral Small 3.x text: llama plus Llama 4's attention temperature, Q times
    1 + scale * ln(floor(pos / original_context) + 1); a small original context makes it grow within the prompt."""
    def extra(s):
        s.kv("{arch}.attention.temperature_scale", "f32", 0.5)
        s.kv("{arch}.rope.scaling.original_context_length", "u32", 4)
    return dense("mistral3", 1011, extra=extra)


# name: (builder, long case?)
VARIANTS = {
    "qwen3": (qwen3, False),
    "qwen3moe": (qwen3moe, False),
    "llama-llama3": (llama_llama3, True),
    "llama-yarn": (llama_yarn, True),
    "llama-linear": (llama_linear, True),
    "gemma2": (gemma2, False),
    "olmo2": (olmo2, False),
    "granite": (granite, False),
    "phi3": (phi3, True),
    "llama-swa": (llama_swa, False),
    "mistral3": (mistral3, False),
}

# Variants whose reference is not llama.cpp's own graph for the file's architecture: llama.cpp's llama graph
# ignores `attention.sliding_window`, so the window is applied by evaluating one token at a time and removing,
# before each, the cache positions the window no longer sees (llama_memory_seq_rm): every layer of position p
# then attends to p - window + 1 ... p exactly, which is the sliding window's definition.
WINDOWED = {"llama-swa": SWA_WINDOW}


# Quantized variants, "<variant>-<suffix>": the F32 file through llama-quantize --pure (one type for every
# matrix; llama-quantize falls back to Q5_0 where a row is not a whole number of 256-blocks, so the Q4_K files
# hold Q4_K and Q5_0). The spec lists each quantized tensor's type and an FNV-1a 64 hash of its bytes: the
# test quantizes the regenerated F32 values with SwiftLM's own quantizer (bit-exact with ggml's reference)
# and checks the hash, so the two files are provably the same.
QUANTS = {"q8_0": "Q8_0", "q4_k": "Q4_K_S"}
QUANTIZE = os.environ.get("LLAMA_QUANTIZE", "/work/llamacpp-build/bin/llama-quantize")


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & MASK
    return f"{h:016x}"


def quantize(src, dst, ftype):
    """Runs llama-quantize; returns [{name, type, fnv}] for every tensor it did not leave F32."""
    subprocess.run([QUANTIZE, "--pure", src, dst, ftype], check=True, capture_output=True)
    out = []
    for t in gguf.GGUFReader(dst).tensors:
        if t.tensor_type.name != "F32":
            out.append({"name": t.name, "type": t.tensor_type.name, "fnv": fnv1a64(bytes(t.data.tobytes()))})
    return out


def all_variants():
    return list(VARIANTS) + [f"{v}-{q}" for v in VARIANTS for q in QUANTS]


# ---- llama.cpp ----------------------------------------------------------------------------------------

def top_pairs(row):
    idx = np.argsort(-row, kind="stable")[:TOP]
    return [[int(i), round(float(row[i]), 5)] for i in idx]


def evaluate(path, tokens, n_ctx, prompt_len, steps, sequential=False):
    """(continuation, logits of every position): prompt in one batch, then greedy steps one at a time."""
    llm = Llama(model_path=path, logits_all=True, n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx, n_threads=2, seed=0,
                flash_attn=False, type_k=GGML_TYPE_F32, type_v=GGML_TYPE_F32, verbose=False)
    llm.reset()
    continuation = []
    if sequential:
        for t in tokens:
            llm.eval([t])
    else:
        llm.eval(tokens[:prompt_len])
        for _ in range(steps):
            tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            continuation.append(tok)
            llm.eval([tok])
    logits = np.array(llm.scores[:llm.n_tokens], dtype=np.float32)
    del llm
    return continuation, logits


def evaluate_windowed(path, tokens, n_ctx, prompt_len, steps, window):
    """evaluate()'s (continuation, logits) under a sliding window, token by token with the cache pruned."""
    llm = Llama(model_path=path, logits_all=True, n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx, n_threads=2, seed=0,
                flash_attn=False, type_k=GGML_TYPE_F32, type_v=GGML_TYPE_F32, verbose=False)
    llm.reset()
    rows, continuation = [], []

    def step(t):
        first_visible = llm.n_tokens - window + 1
        if first_visible > 0:
            assert llm._ctx.kv_cache_seq_rm(0, 0, first_visible)
        llm.eval([t])
        rows.append(np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32))

    for t in tokens[:prompt_len]:
        step(t)
    for _ in range(steps):
        tok = int(np.argmax(rows[-1]))
        continuation.append(tok)
        step(tok)
    del llm
    return continuation, np.stack(rows)


def prompt_tokens(seed, n):
    rng = np.random.default_rng(seed)
    return [1] + [int(t) for t in rng.integers(3, VOCAB, n - 1)]


def make(name, vocab, out_dir, keep):
    base, quant = name, None
    for q in QUANTS:
        if name.endswith("-" + q):
            base, quant = name[: -len(q) - 1], q
    build, long_case = VARIANTS[base]
    spec = build()
    tmp = tempfile.TemporaryDirectory()
    path = os.path.join(keep or tmp.name, f"{name}.gguf")
    quantized = None
    if quant:
        f32 = os.path.join(tmp.name, f"{name}.f32.gguf")
        spec.write(f32, vocab)
        quantized = quantize(f32, path, QUANTS[quant])
        long_case = False
    else:
        spec.write(path, vocab)
    prompt = prompt_tokens(spec.seed, PROMPT_LEN)
    if base in WINDOWED:
        continuation, logits = evaluate_windowed(path, prompt, N_CTX, PROMPT_LEN, STEPS, WINDOWED[base])
        _, full = evaluate(path, prompt + continuation, N_CTX, 0, 0, sequential=True)
        print(f"{name}: the window moves llama.cpp's logits by {float(np.abs(logits - full).max()):.3f} against full attention")
        seq = logits  # the windowed reference is itself token by token
    else:
        continuation, logits = evaluate(path, prompt, N_CTX, PROMPT_LEN, STEPS)
        _, seq = evaluate(path, prompt + continuation, N_CTX, 0, 0, sequential=True)
    doc = {"generator": f"scripts/make-arch-fixtures.py, llama-cpp-python {llama_cpp_version}, F32 KV cache, "
                        "no flash attention, prompt in one batch then greedy steps one at a time",
           "variant": name, "architecture": spec.arch, "top": TOP, "spec": dict(spec.json(), quantized=quantized),
           "cases": [{"name": "short", "context": N_CTX, "prompt": prompt, "continuation": continuation,
                      "positions_from": 0,
                      "sequential_max_delta": None if base in WINDOWED else round(float(np.abs(logits - seq).max()), 6),
                      "positions": [top_pairs(r) for r in logits]}]}
    if long_case:
        long_prompt = prompt_tokens(spec.seed + 1, LONG_LEN)
        ctx = LONG_LEN + 4
        _, long_logits = evaluate(path, long_prompt, ctx, LONG_LEN, 0)
        doc["cases"].append({"name": "long", "context": ctx, "prompt": long_prompt, "continuation": [],
                             "positions_from": LONG_FROM, "sequential_max_delta": None,
                             "positions": [top_pairs(r) for r in long_logits[LONG_FROM:]]})
    dst = os.path.join(out_dir, f"{name}.json")
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"{name}: {os.path.getsize(path)} byte GGUF, continuation {continuation}, llama.cpp batch vs sequential "
          f"{doc['cases'][0]['sequential_max_delta']}, {dst} {os.path.getsize(dst)} bytes")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", required=True, help="ggml-vocab-llama-spm.gguf from llama.cpp's models/")
    ap.add_argument("--out", help="output directory (default: Tests/ModelsTests/Fixtures/arch)")
    ap.add_argument("--keep", help="also keep the GGUFs in this directory (outside the repo)")
    ap.add_argument("variants", nargs="*", help=f"default: all of {', '.join(all_variants())}")
    args = ap.parse_args()
    out_dir = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ModelsTests", "Fixtures", "arch")
    os.makedirs(out_dir, exist_ok=True)
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    for name in args.variants or all_variants():
        make(name, args.vocab, out_dir, args.keep)


if __name__ == "__main__":
    main()
