#!/usr/bin/env python3
"""Writes Tests/CLITests/Fixtures/show-<model>.json: what `swiftlm show NAME --json` must print.

The values come from the `gguf` PyPI package (llama.cpp's own Python GGUF reader), independently of
SwiftLM's reader, so the CLI test checks our parser and summary against a second implementation.

Usage (any Python with `pip install gguf`):
    python scripts/make-show-fixtures.py smollm2:135m=PATH qwen2.5-coder:0.5b=PATH gemma3:270m=PATH

PATH is the model's GGUF file, e.g. the store blob `swiftlm show` resolves, or a llama.cpp download.
"""
import json
import os
import sys

from gguf import GGUFReader, GGMLQuantizationType, LlamaFileType
from gguf.constants import GGUFValueType

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "CLITests", "Fixtures")


def value(reader, key):
    """The field's value as a Python scalar / string / list, or None when absent."""
    field = reader.fields.get(key)
    if field is None:
        return None
    return field.contents()


def int_or_max(v):
    """Per-layer head counts are arrays in some architectures; `show` reports the largest."""
    if isinstance(v, list):
        return max(v) if v else None
    return v


def file_type_name(ft):
    if ft is None:
        return None
    name = LlamaFileType(ft).name  # MOSTLY_Q4_K_M, ALL_F32, ...
    for prefix in ("MOSTLY_", "ALL_"):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def summary(path):
    r = GGUFReader(path, "r")
    arch = value(r, "general.architecture") or ""
    tensor_types = {}
    for t in r.tensors:
        name = GGMLQuantizationType(t.tensor_type).name
        tensor_types[name] = tensor_types.get(name, 0) + 1
    vocab = value(r, f"{arch}.vocab_size")
    if vocab is None and "tokenizer.ggml.tokens" in r.fields:
        vocab = len(r.fields["tokenizer.ggml.tokens"].data)
    version = int(r.fields["GGUF.version"].parts[0][0])
    return {
        "architecture": arch,
        "name": value(r, "general.name"),
        "parameters": int(sum(int(t.n_elements) for t in r.tensors)),
        "context_length": value(r, f"{arch}.context_length"),
        "embedding_length": value(r, f"{arch}.embedding_length"),
        "block_count": value(r, f"{arch}.block_count"),
        "head_count": int_or_max(value(r, f"{arch}.attention.head_count")),
        "head_count_kv": int_or_max(value(r, f"{arch}.attention.head_count_kv")),
        "file_type": file_type_name(value(r, "general.file_type")),
        "tensor_types": tensor_types,
        "tensor_count": len(r.tensors),
        "vocab_size": vocab,
        "tokenizer": value(r, "tokenizer.ggml.model"),
        "tokenizer_pre": value(r, "tokenizer.ggml.pre"),
        "chat_template": value(r, "tokenizer.chat_template"),
        "license": value(r, "general.license"),
        "file_size": os.path.getsize(path),
        "gguf_version": version,
    }


def main(args):
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    os.makedirs(FIXTURES, exist_ok=True)
    for arg in args:
        name, _, path = arg.partition("=")
        if not path:
            print(f"expected NAME=PATH, got {arg!r}", file=sys.stderr)
            return 2
        fixture = {"model": name, "expected": summary(path)}
        out = os.path.join(FIXTURES, "show-" + name.replace(":", "-") + ".json")
        with open(out, "w", encoding="utf-8") as f:
            json.dump(fixture, f, indent=2, sort_keys=True, ensure_ascii=False)
            f.write("\n")
        print(f"wrote {os.path.relpath(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
