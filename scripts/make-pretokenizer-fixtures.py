#!/usr/bin/env python3
"""Tokenizer vectors for pre-tokenizers that llama.cpp ships no vocabulary file for, made with
llama.cpp's own tokenizer.

Mistral Nemo / Ministral / Mistral Small 3 (`tokenizer.ggml.pre = tekken`) and Phi-4-mini
(`gpt-4o`) split words at lower-to-upper case changes, which no vocabulary in
Tests/TokenizerTests/Fixtures/vocab exercises. Their real vocabularies cannot be downloaded here, so
we take the Llama 3 vocabulary (ggml-vocab-llama-bpe.gguf, a byte-level BPE like theirs) and only
rewrite `tokenizer.ggml.pre`: the ids then depend on the pre-tokenizer's word splits, the merges and
the per-family flags (ignore_merges for tekken), exactly what we want to check.

Usage (from the repo root, in a venv with llama-cpp-python==0.3.36):
    python scripts/make-pretokenizer-fixtures.py

Writes Tests/TokenizerTests/Fixtures/vocab/ggml-vocab-NAME.gguf.inp / .out in llama.cpp's test format
(inputs separated by `\\n__ggml_vocab_test__\\n`, one line of ids per input, no BOS, no special
parsing). The test (VocabVectorTests) rebuilds the same GGUF in memory from the llama-bpe file.
"""
import os
import random
import struct
import sys
import tempfile

import llama_cpp

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = os.path.join(HERE, "..", "Tests", "TokenizerTests", "Fixtures", "vocab")
BASE = os.path.join(VOCAB, "ggml-vocab-llama-bpe.gguf")
SEP = "\n__ggml_vocab_test__\n"

PRE = ["tekken", "gpt-4o"]

# Case changes, contractions, digits, '/' after punctuation and newlines, marks and non-Latin case.
EXTRA = [
    "HELLOworld helloWorld HelloWorld XMLHttpRequest getHTTPResponseCode iPhone McDonald's",
    "DON'T don't I'LL we'Re They'VE it'S she'd O'Neil",
    "ÉCOLE école ÉcoleNormale ÜberStraße straßeSTRASSE",
    "Привет МИРу ПриветМир ΑΘΗΝΑ Αθήνα",
    "ǅungla ǈubljana ǋ Ǌ",
    "cafe\u0301 CAFE\u0301 nai\u0308ve re\u0301sume\u0301",
    "a/b/c http://example.com/path?q=1 !!\n/ ./\n\n/x //comment\r\n/",
    "1234567890 3.14159 x1y22z333 ١٢٣٤٥ 一二三",
    "\t\tTabbed\u00a0nbsp\u2003emspace\u3000ideo  \n  \n\nend   ",
    "日本語テキストとEnglishMixed 中文ABC混合",
    "snake_case_name kebab-case-name SCREAMING_SNAKE camelCaseName __dunder__",
    "🦙Llama 🤖ROBOTs ❤️Love",
    "def f(x):\n    return x**2  # SQUARE\n",
    "   leading spaces and trailing   ",
]


# Seeded random strings over the characters where the case-splitting pattern branches: ASCII and
# non-ASCII upper / lower / title case, marks, digits, apostrophes, '/', spaces, newlines, symbols.
ALPHABET = list("aAzZmM'sStTlLdD/ \n\r\t0123.,!-_") + ["é", "É", "ß", "ǅ", "\u0301", "\u0308", "Ж", "ж", "Ω", "ω",
                                                         "日", "١", "\u00a0", "\u3000", "🙂", "ʰ", "ª"]


def random_texts(seed=14, count=40):
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(4, 24))) for _ in range(count)]


def read_inputs(path):
    raw = open(path, "rb").read().decode("utf-8")
    out, pos = [], 0
    while pos < len(raw):
        nxt = raw.find(SEP, pos)
        if nxt < 0:
            out.append(raw[pos:])
            break
        out.append(raw[pos:nxt])
        pos = nxt + len(SEP)
    return out


def with_pre(src, pre):
    """The GGUF `src` with tokenizer.ggml.pre set to `pre` (a vocabulary-only file: no tensors)."""
    data = open(src, "rb").read()
    magic, version, n_tensors, n_kv = struct.unpack_from("<IIQQ", data, 0)
    assert magic == 0x46554747 and n_tensors == 0, "expected a vocabulary-only GGUF"
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    pos = 24

    def skip_value(t, p):
        if t == 8:
            (n,) = struct.unpack_from("<Q", data, p)
            return p + 8 + n
        if t == 9:
            et, n = struct.unpack_from("<IQ", data, p)
            p += 12
            if et in sizes:
                return p + sizes[et] * n
            for _ in range(n):
                p = skip_value(et, p)
            return p
        return p + sizes[t]

    out = bytearray(data[:24])
    for _ in range(n_kv):
        start = pos
        (klen,) = struct.unpack_from("<Q", data, pos)
        key = data[pos + 8:pos + 8 + klen].decode()
        pos += 8 + klen
        (t,) = struct.unpack_from("<I", data, pos)
        end = skip_value(t, pos + 4)
        if key == "tokenizer.ggml.pre":
            v = pre.encode()
            out += data[start:pos + 4] + struct.pack("<Q", len(v)) + v
        else:
            out += data[start:end]
        pos = end
    return bytes(out)


def main():
    texts = read_inputs(BASE + ".inp") + EXTRA + random_texts()
    for pre in PRE:
        with tempfile.NamedTemporaryFile(suffix=".gguf") as tmp:
            tmp.write(with_pre(BASE, pre))
            tmp.flush()
            llm = llama_cpp.Llama(model_path=tmp.name, vocab_only=True, verbose=False)
            lines = [" ".join(str(i) for i in llm.tokenize(t.encode("utf-8"), add_bos=False, special=False)) for t in texts]
            del llm
        stem = os.path.join(VOCAB, f"ggml-vocab-{pre}.gguf")
        with open(stem + ".inp", "w", encoding="utf-8", newline="") as f:
            f.write(SEP.join(texts) + SEP)
        with open(stem + ".out", "w", encoding="utf-8", newline="") as f:
            f.write("\n".join(lines) + "\n")
        print(f"wrote {stem}.inp/.out: {len(texts)} texts")


if __name__ == "__main__":
    sys.exit(main())
