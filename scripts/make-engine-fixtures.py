#!/usr/bin/env python3
"""Golden end-to-end fixtures from llama.cpp (via llama-cpp-python 0.3.36) for SwiftLM's engine tests.

For each model and prompt it records: the prompt token ids as llama.cpp's completion tokenizes them
(BOS per the model's metadata, special tokens parsed), the 32-token greedy continuation, and for every
position of prompt + continuation (teacher-forced) the top-20 (id, logit) pairs and the argmax.

Usage (from the repo root, with a venv outside the repo holding llama-cpp-python==0.3.36, gguf, jinja2):
  /path/to/venv/bin/python scripts/make-engine-fixtures.py \
      smollm2:135m=/path/smollm2-135m.gguf qwen2.5-coder:0.5b=/path/qwen.gguf gemma3:270m=/path/gemma3.gguf
Writes Tests/RuntimeTests/Fixtures/engine-<name>.json (name with ':' replaced by '-'). Models with a
sliding window also get "long_cases": a prompt longer than the window, with positions recorded from
"positions_from" on.
"""
import json
import os
import sys

import gguf
import jinja2
import numpy as np
from llama_cpp import Llama, __version__ as llama_cpp_version

CONTINUATION = 32
TOP = 20
N_CTX = 512
LONG_CTX = 1024
GGML_TYPE_F32 = 0

PROMPTS = [
    ("english", "The capital of France is Paris. The capital of Germany is"),
    ("chinese", "早上好！今天的天气非常好，我们一起去"),
    ("code", "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"),
]
CHAT_QUESTION = "Write a haiku about the sea."
SECOND_ENGLISH = ("english2", "Once upon a time, in a small village by the mountains, there lived")


def chat_template(path):
    reader = gguf.GGUFReader(path)
    field = reader.fields.get("tokenizer.chat_template")
    if field is None:
        return None
    return bytes(field.parts[-1]).decode("utf-8")


def render_chat(template, llm):
    env = jinja2.Environment(loader=jinja2.BaseLoader(), trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = lambda msg: (_ for _ in ()).throw(Exception(msg))
    bos = llm.detokenize([llm.token_bos()], special=True).decode("utf-8", "replace")
    eos = llm.detokenize([llm.token_eos()], special=True).decode("utf-8", "replace")
    return env.from_string(template).render(
        messages=[{"role": "user", "content": CHAT_QUESTION}],
        add_generation_prompt=True, bos_token=bos, eos_token=eos)


def top_pairs(row):
    idx = np.argpartition(-row, TOP)[:TOP]
    idx = idx[np.argsort(-row[idx], kind="stable")]
    return [[int(i), round(float(row[i]), 4)] for i in idx]


def run_case(llm, name, text, chunk=None):
    # add_bos=True means "add special tokens as the vocab says" (llama_tokenize add_special): BOS only
    # when tokenizer.ggml.add_bos_token allows it, exactly as llama.cpp's completion does.
    prompt = llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)
    llm.reset()
    step = chunk or len(prompt)
    for i in range(0, len(prompt), step):
        llm.eval(prompt[i:i + step])
    continuation = []
    eog = {llm.token_eos()}
    for _ in range(CONTINUATION):
        tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        continuation.append(tok)
        llm.eval([tok])
        if tok in eog:
            break
    n = llm.n_tokens
    scores = np.array(llm.scores[:n], dtype=np.float32)
    positions = [{"argmax": int(np.argmax(scores[i])), "top": top_pairs(scores[i])} for i in range(n)]
    return {"name": name, "text": text, "prompt_tokens": [int(t) for t in prompt],
            "continuation": continuation, "positions": positions}


def long_text():
    # Varied, deterministic text well past gemma3's 512-token sliding window.
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    lines = [f"Item {i}: the square of {i} is {i * i}, its last digit is {words[i % 10]}, and "
             f"{'even' if i % 2 == 0 else 'odd'} numbers like it appear in list {i % 7}." for i in range(1, 23)]
    return "\n".join(lines) + "\nItem 23: the square of 23 is"


def run_long_case(path, keep):
    """Prompt longer than the sliding window; positions kept only for the last `keep` prompt tokens
    and the continuation (positions_from says where they start) to keep the file small."""
    llm = Llama(model_path=path, logits_all=True, n_ctx=LONG_CTX, n_batch=256, n_ubatch=256, n_threads=2, seed=0, swa_full=True,
                flash_attn=False, type_k=GGML_TYPE_F32, type_v=GGML_TYPE_F32, verbose=False)
    n = len(llm.tokenize(long_text().encode("utf-8"), add_bos=True, special=True))
    assert n + CONTINUATION <= LONG_CTX, f"long prompt has {n} tokens; raise LONG_CTX"
    case = run_case(llm, "window", long_text(), chunk=256)
    start = len(case["prompt_tokens"]) - keep
    case["positions_from"] = start
    case["positions"] = case["positions"][start:]
    return case


def main(argv):
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "RuntimeTests", "Fixtures")
    for spec in argv:
        model_name, path = spec.split("=", 1)
        # F32 KV cache without flash attention: llama.cpp's most exact configuration, and the one that
        # matches SwiftLM's F32 cache (its default F16 cache alone moves smollm2's logits by up to ~0.8).
        llm = Llama(model_path=path, logits_all=True, n_ctx=N_CTX, n_batch=N_CTX, n_threads=2, seed=0,
                    flash_attn=False, type_k=GGML_TYPE_F32, type_v=GGML_TYPE_F32, verbose=False)
        template = chat_template(path)
        prompts = list(PROMPTS)
        prompts.append(("chat", render_chat(template, llm)) if template else SECOND_ENGLISH)
        cases = [run_case(llm, name, text) for name, text in prompts]
        doc = {"model": model_name, "file": os.path.basename(path),
               "generator": f"llama-cpp-python {llama_cpp_version}, F32 KV cache, no flash attention, greedy (argmax), teacher-forced logits",
               "vocab_size": int(llm.n_vocab()), "cases": cases}
        swa = gguf.GGUFReader(path).fields.get(f"{llm.metadata['general.architecture']}.attention.sliding_window")
        if swa is not None:
            del llm
            # Exercises the sliding window against llama.cpp: only meaningful when the prompt outgrows it.
            doc["long_cases"] = [run_long_case(path, keep=64)]
        dst = os.path.join(out_dir, "engine-" + model_name.replace(":", "-") + ".json")
        with open(dst, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        print(dst, os.path.getsize(dst), "bytes", [(c["name"], len(c["prompt_tokens"]), len(c["continuation"])) for c in cases])


if __name__ == "__main__":
    main(sys.argv[1:])
