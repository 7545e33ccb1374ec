#!/usr/bin/env python3
"""Golden fixtures for tool calling: qwen2.5-coder:0.5b's own chat template (read from the GGUF) rendered
by Python jinja2 exactly as transformers' apply_chat_template(messages, tools=...) renders it, for a
weather tool round trip, plus llama.cpp's greedy reply to the first turn.

Run from the repository root with the llama.cpp venv (jinja2, gguf, llama_cpp):

    . /work/venv-llama/bin/activate && python scripts/make-tool-fixtures.py [MODEL.gguf]

MODEL defaults to the store's qwen2.5-coder:0.5b (resolved with `swiftlm`'s manifest layout under
$SWIFTLM_MODELS or ~/.swiftlm/models). Writes Tests/RuntimeTests/Fixtures/tools-qwen2.5-coder-0.5b.json:

    {"tools": [...], "turns": {NAME: {"messages": [...], "prompt": "..."}},
     "requests": {NAME: "<the OpenAI request body, as a client sends it>"},
     "llama_cpp_first_reply": "..."}

The tests render the same conversations through ChatSession and the server's PromptBuilder and require
byte-identical prompts. The request bodies keep their key order (tools are printed with tojson, in the
order the client wrote them), and send past arguments as a string of JSON, as OpenAI's SDK does.
"""
import json
import os
import sys

from gguf import GGUFReader

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
make_template_fixtures = __import__("make-template-fixtures")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "RuntimeTests", "Fixtures", "tools-qwen2.5-coder-0.5b.json")


def store_model(name):
    store = os.environ.get("SWIFTLM_MODELS") or os.path.expanduser("~/.swiftlm/models")
    with open(os.path.join(store, "manifests", name + ".json")) as f:
        digest = json.load(f)["digest"].replace(":", "-")
    return os.path.join(store, "blobs", digest)


# Keys deliberately not in alphabetical order: the prompt must keep the client's order.
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a given city",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "The city, e.g. Paris"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    }
]
QUESTION = {"role": "user", "content": "What is the weather like in Paris today?"}
CALL = {"id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}
RESULT = {"role": "tool", "tool_call_id": "call_0", "name": "get_weather", "content": '{"temperature": 21, "condition": "sunny"}'}

TURNS = {
    "first": [QUESTION],
    "with_system": [{"role": "system", "content": "You are a weather bot."}, QUESTION],
    "after_call": [QUESTION, {"role": "assistant", "content": "", "tool_calls": [CALL]}, RESULT],
}


def openai_body(messages):
    """The request as the openai SDK sends it: arguments of past calls as a string of JSON."""
    out = []
    for m in messages:
        m = dict(m)
        if "tool_calls" in m:
            m["content"] = None
            m["tool_calls"] = [
                {**c, "function": {**c["function"], "arguments": json.dumps(c["function"]["arguments"])}} for c in m["tool_calls"]
            ]
        out.append(m)
    return json.dumps({"model": "qwen2.5-coder:0.5b", "messages": out, "tools": TOOLS}, ensure_ascii=False)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else store_model("qwen2.5-coder:0.5b")
    field = GGUFReader(path).fields["tokenizer.chat_template"]
    source = bytes(field.parts[field.data[0]]).decode("utf-8")
    template = make_template_fixtures.make_environment().from_string(source)
    turns = {}
    for name, messages in TURNS.items():
        prompt = template.render(messages=messages, tools=TOOLS, add_generation_prompt=True,
                                 bos_token="<|endoftext|>", eos_token="<|im_end|>")
        turns[name] = {"messages": messages, "prompt": prompt}

    from llama_cpp import Llama

    llm = Llama(model_path=path, n_ctx=2048, n_threads=2, verbose=False)
    reply = llm(turns["first"]["prompt"], max_tokens=64, temperature=0)["choices"][0]["text"]
    fixture = {
        "tools": TOOLS,
        "turns": turns,
        "requests": {name: openai_body(messages) for name, messages in TURNS.items()},
        "llama_cpp_first_reply": reply,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=1)
    print(f"wrote {OUT}; llama.cpp's first reply: {reply!r}")


if __name__ == "__main__":
    main()
