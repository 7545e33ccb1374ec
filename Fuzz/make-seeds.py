#!/usr/bin/env python3
"""Writes the small seed files in Fuzz/corpus/ with llama.cpp's `gguf` package (pip install gguf numpy).

They give libFuzzer valid starting points (every metadata value type, nested arrays, several tensor
types, a custom alignment) that it then mutates. Run: python Fuzz/make-seeds.py
"""
import os

import numpy as np
from gguf import GGUFWriter, GGMLQuantizationType

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(name, alignment=None, tensors=True):
    path = os.path.join(OUT, name)
    w = GGUFWriter(path, "llama")
    if alignment:
        w.add_custom_alignment(alignment)
    w.add_block_count(1)
    w.add_context_length(64)
    w.add_embedding_length(32)
    w.add_head_count(2)
    w.add_head_count_kv(1)
    w.add_file_type(7)
    w.add_tokenizer_model("gpt2")
    w.add_token_list(["<s>", "</s>", "a", "b", "ab"])
    w.add_token_scores([0.0, 0.0, -1.0, -2.0, -3.0])
    w.add_token_types([3, 3, 1, 1, 1])
    w.add_token_merges(["a b"])
    w.add_chat_template("{% for m in messages %}{{ m.content }}{% endfor %}")
    w.add_bool("test.flag", True)
    w.add_uint64("test.u64", 2**63 + 5)
    w.add_int8("test.i8", -5)
    w.add_float64("test.f64", 0.125)
    w.add_array("test.nested", [[1, 2], ["x", "y"]])
    if tensors:
        w.add_tensor("token_embd.weight", np.zeros((5, 32), dtype=np.float16))
        w.add_tensor("output_norm.weight", np.ones(32, dtype=np.float32))
        q8 = np.zeros((1, 34), dtype=np.uint8)  # one Q8_0 block: 32 elements
        w.add_tensor("blk.0.attn_q.weight", q8, raw_dtype=GGMLQuantizationType.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    write("tiny-v3")
    write("tiny-align64", alignment=64)
    write("metadata-only", tensors=False)
    print("wrote", sorted(os.listdir(OUT)))
