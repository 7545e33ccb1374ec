#!/usr/bin/env python3
"""Golden tokenizer fixtures for the three real models, made with llama.cpp's own tokenizer.

Usage (from the repo root, in a venv with llama-cpp-python==0.3.36):
    python scripts/make-tokenizer-fixtures.py [--models-dir DIR] [--out PATH]

For every model and every input text it records the ids llama.cpp gives for
    plain:   add_special=False, parse_special=False
    bos:     add_special=True,  parse_special=False
    special: add_special=False, parse_special=True
The inputs are llama.cpp's tokenizer test inputs (Fixtures/vocab/ggml-vocab-qwen2.gguf.inp)
plus Chinese, code, emoji, whitespace-heavy and chat-markup text.
Only the vocabulary is loaded (vocab_only=True), so this takes seconds.
"""
import argparse
import json
import os
import sys

import llama_cpp

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Tests", "TokenizerTests", "Fixtures")

MODELS = {
    # catalog name -> file name in --models-dir
    "smollm2:135m": "smollm2-135m.gguf",
    "qwen2.5-coder:0.5b": "qwen2.5-coder-0.5b.gguf",
    "gemma3:270m": "gemma3-270m.gguf",
}

EXTRA = [
    # Chinese
    "早上好",
    "我们的目标是让大型语言模型在普通电脑上运行得又快又好。今天天气很好，我们去公园散步吧！",
    "人工智能（AI）正在改变世界——从医疗到教育，无处不在。",
    # Japanese, Korean, other scripts
    "東京は日本の首都です。カタカナとひらがな。",
    "안녕하세요, 세계! 한국어 텍스트입니다.",
    "مرحبا بالعالم! هذا نص عربي.",
    "नमस्ते दुनिया, यह हिंदी पाठ है।",
    "สวัสดีชาวโลก ภาษาไทย",
    "Привет, мир! Ёжик в тумане.",
    "Ελληνικά: Καλημέρα κόσμε",
    "e\u0301te\u0301 cafe\u0301 naïve résumé Zürich",
    # code
    "func fib(_ n: Int) -> Int {\n    if n < 2 { return n }\n    return fib(n - 1) + fib(n - 2)\n}\n",
    "def main():\n\tfor i in range(10):\n\t\tprint(f\"{i:>3d} -> {i**2}\")  # squares\n\nif __name__ == '__main__':\n    main()\n",
    "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); return 0; }\n",
    "const x = arr.map((v) => v * 2).filter(Boolean); // ok?\r\n",
    "SELECT id, name FROM users WHERE age >= 18 AND name LIKE '%son';",
    "<div class=\"a\">&nbsp;<br/></div>",
    "x+=1;y-=2;z*=3;w/=4;a==b!=c<=d>=e&&f||g",
    "0x1F600 1234567890 3.14159 -2.5e-10 1,000,000 12:30 2026-11-29",
    # emoji
    "Hello 👋 world 🌍!",
    "👨‍👩‍👧‍👦 🏳️‍🌈 🇫🇷🇯🇵 👍🏽 ❤️‍🔥",
    "🦙🦙🦙 llama llama",
    # whitespace-heavy
    "   leading and trailing   ",
    "\n\n\n\tindented\n\t\tmore\n\n",
    "a  b   c    d     e\t\tf\r\n\r\ng",
    " \u00a0\u2003\u3000 nbsp-and-friends \u2028 \u0085",
    "                                        ",
    # contractions, case
    "I'M HERE, YOU'RE THERE, WE'LL SEE, IT'S DONE, THEY'VE GONE, HE'D GO",
    "don't won't can't shouldn't y'all 'quoted'",
    # chat markup (special tokens of each family)
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
    "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n",
    "<bos><eos><pad><unk> <|endoftext|> </s> <s>",
    "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>",
    "text<|im_end|>more<|im_start|>",
]


def read_inputs(path):
    raw = open(path, "rb").read().decode("utf-8")
    sep = "\n__ggml_vocab_test__\n"
    out = []
    pos = 0
    while pos < len(raw):
        nxt = raw.find(sep, pos)
        if nxt < 0:
            out.append(raw[pos:])
            break
        out.append(raw[pos:nxt])
        pos = nxt + len(sep)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models-dir", default="/work/models")
    ap.add_argument("--out", default=os.path.join(FIXTURES, "real-models.json"))
    args = ap.parse_args()

    texts = read_inputs(os.path.join(FIXTURES, "vocab", "ggml-vocab-qwen2.gguf.inp")) + EXTRA
    result = {"generator": "scripts/make-tokenizer-fixtures.py", "llama_cpp_python": llama_cpp.__version__, "models": {}}
    for name, fname in MODELS.items():
        path = os.path.join(args.models_dir, fname)
        if not os.path.exists(path):
            sys.exit(f"missing model {path}")
        llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
        cases = []
        for t in texts:
            b = t.encode("utf-8")
            cases.append({
                "text": t,
                "plain": llm.tokenize(b, add_bos=False, special=False),
                "bos": llm.tokenize(b, add_bos=True, special=False),
                "special": llm.tokenize(b, add_bos=False, special=True),
            })
        result["models"][name] = {"file": fname, "cases": cases}
        del llm
    # One case per line keeps diffs of regenerated fixtures readable.
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("{\"generator\": %s, \"llama_cpp_python\": %s, \"models\": {\n" % (
            json.dumps(result["generator"]), json.dumps(result["llama_cpp_python"])))
        for i, (name, m) in enumerate(result["models"].items()):
            f.write("%s: {\"file\": %s, \"cases\": [\n" % (json.dumps(name), json.dumps(m["file"])))
            f.write(",\n".join(json.dumps(c, ensure_ascii=False) for c in m["cases"]))
            f.write("\n]}%s\n" % ("," if i + 1 < len(result["models"]) else ""))
        f.write("}}\n")
    print(f"wrote {args.out}: {len(texts)} texts x {len(MODELS)} models")


if __name__ == "__main__":
    main()
