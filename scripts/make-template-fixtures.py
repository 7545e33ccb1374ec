#!/usr/bin/env python3
"""Golden fixtures for the Template module: every reference chat template rendered by Python jinja2,
set up exactly as Hugging Face transformers sets it up for apply_chat_template.

Run from the repository root with a Python that has jinja2 and gguf (e.g. /work/venv/bin/python):

    python scripts/make-template-fixtures.py [TEMPLATES_DIR] [MODELS_DIR]
    python scripts/make-template-fixtures.py --check-cases

--check-cases renders every Case(...) of Tests/TemplateTests/ConstructTests.swift with the same jinja2
environment and reports any expected string that differs from jinja2's output.

TEMPLATES_DIR defaults to /work/shared/reference/templates (llama.cpp's models/templates/*.jinja);
MODELS_DIR to /work/models, where the real models' own templates (tokenizer.chat_template) are read
with the gguf package. Writes into Tests/TemplateTests/Fixtures/:

    templates/NAME.jinja       the template sources (copied, so the tests never read outside the repo)
    contexts/NAME.json         the conversations, one JSON object of template variables each
    expected/NAME.json         {"<context>": {"output": "..."} or {"error": "..."}} per template

strftime_now is pinned: it formats PINNED_TIME (Unix seconds) in UTC. The Swift tests pin the same
instant with ChatTemplate.pinnedTime; the CLI honours the SWIFTLM_TEMPLATE_NOW environment variable.
"""
import datetime
import json
import os
import shutil
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

PINNED_TIME = 1768480496  # 2026-01-15 12:34:56 UTC

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "TemplateTests", "Fixtures")
TEMPLATES = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/reference/templates"
MODELS = sys.argv[2] if len(sys.argv) > 2 else "/work/models"
MODEL_TEMPLATES = {"model-qwen2.5-coder-0.5b": "qwen2.5-coder-0.5b.gguf", "model-smollm2-135m": "smollm2-135m.gguf"}


def make_environment():
    """transformers.utils.chat_template_utils._compile_jinja_template, replicated."""

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.datetime.fromtimestamp(PINNED_TIME, tz=datetime.timezone.utc).replace(tzinfo=None).strftime(format)

    class AssistantTracker(jinja2.ext.Extension):
        # {% generation %} marks assistant text for training masks; for rendering it is transparent.
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

        def _render(self, caller):
            return caller()

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
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
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Heure locale d'une ville — données « exactes ».",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]},
    },
}

CONTEXTS = {
    "system_user": {
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
        "add_generation_prompt": True,
    },
    "user_only_no_prompt": {
        "messages": [{"role": "user", "content": "Hello!"}],
        "add_generation_prompt": False,
    },
    "multi_turn": {
        "messages": [
            {"role": "user", "content": "Hi, who are you?"},
            {"role": "assistant", "content": "I am an assistant.  How can I help?"},
            {"role": "user", "content": "Write a haiku\nabout the sea."},
        ],
        "add_generation_prompt": True,
    },
    "multi_turn_no_prompt": {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": "4"},
        ],
        "add_generation_prompt": False,
    },
    "tools": {
        "messages": [
            {"role": "system", "content": "You can call tools."},
            {"role": "user", "content": "What's the weather in Paris?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call12345", "type": "function",
                 "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}},
            ]},
            {"role": "tool", "tool_call_id": "call12345", "name": "get_weather",
             "content": "{\"temperature\": 21.5, \"sky\": \"clear\"}"},
        ],
        "tools": [WEATHER_TOOL, TIME_TOOL],
        "add_generation_prompt": True,
    },
    "non_ascii": {
        "messages": [
            {"role": "user", "content": "早上好！Ça va? Привет 👋"},
            {"role": "assistant", "content": "早上好 — très bien, merci. ∑ \"quoted\" 'single' \\ back\tslash"},
            {"role": "user", "content": "  Ünïcödé with spaces  "},
        ],
        "add_generation_prompt": True,
    },
    "tool_calls_multi": {
        "messages": [
            {"role": "user", "content": "Weather in Oslo and the time in Tokyo?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "callA0001", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}},
                {"id": "callB0002", "type": "function",
                 "function": {"name": "get_time", "arguments": {"zone": "Asia/Tokyo"}}},
            ]},
            {"role": "tool", "tool_call_id": "callA0001", "name": "get_weather", "content": "-3 °C, snow"},
            {"role": "tool", "tool_call_id": "callB0002", "name": "get_time", "content": "21:07"},
            {"role": "assistant", "content": "Oslo: -3 °C with snow. Tokyo: 21:07."},
        ],
        "tools": [WEATHER_TOOL, TIME_TOOL],
        "add_generation_prompt": False,
    },
    # A whole tool round trip as the server passes it (content "", arguments an object), then a
    # follow-up question: the branches after a tool result that "tools" (which stops there) never reaches.
    "tools_round_trip": {
        "messages": [
            {"role": "system", "content": "You can call tools."},
            {"role": "user", "content": "What's the weather in Paris?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call12345", "type": "function",
                 "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}},
            ]},
            {"role": "tool", "tool_call_id": "call12345", "name": "get_weather",
             "content": "{\"temperature\": 21.5, \"sky\": \"clear\"}"},
            {"role": "assistant", "content": "It is 21.5 °C and clear in Paris."},
            {"role": "user", "content": "And in Oslo?"},
        ],
        "tools": [WEATHER_TOOL, TIME_TOOL],
        "add_generation_prompt": True,
    },
    # Tools without a system message: Llama 3.x moves them into the first user turn, Qwen builds a system turn.
    "tools_user_only": {
        "messages": [{"role": "user", "content": "What time is it in Tokyo?"}],
        "tools": [WEATHER_TOOL, TIME_TOOL],
        "add_generation_prompt": True,
    },
    "content_parts": {
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "Answer in one word."}]},
            {"role": "user", "content": [{"type": "text", "text": "Colour of the sky?"}]},
        ],
        "add_generation_prompt": True,
    },
    "thinking": {
        "messages": [
            {"role": "user", "content": "Is 17 prime?"},
            {"role": "assistant", "content": "Yes.", "reasoning_content": "17 has no divisors but 1 and 17."},
            {"role": "user", "content": "And 21?"},
        ],
        "add_generation_prompt": True,
        "enable_thinking": False,
    },
}
COMMON = {"bos_token": "<s>", "eos_token": "</s>"}


def model_templates():
    from gguf import GGUFReader

    out = {}
    for name, file in MODEL_TEMPLATES.items():
        path = os.path.join(MODELS, file)
        field = GGUFReader(path).fields["tokenizer.chat_template"]
        out[name] = bytes(field.parts[field.data[0]]).decode("utf-8")
    return out


# Mirrors sharedContext in Tests/TemplateTests/ConstructTests.swift.
CASE_CONTEXT = {
    "items": ["b", "a", "c"],
    "nums": [3, 1, 2],
    "user": {"name": "Ann", "age": 30, "tags": ["x", "y"]},
    "msgs": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}, {"role": "user", "content": "bye"}],
    "text": "  Hello World  ",
    "n": 7,
    "f": 2.5,
    "empty": [],
    "nothing": None,
    "flag": True,
    "tools": [{"type": "function", "function": {"name": "get", "description": "Gets ü", "parameters": {"a": 1, "b": [True, None]}}}],
}


def swift_literal(raw, text):
    if raw:
        return text.replace("\\#n", "\n").replace("\\#t", "\t")
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            e = text[i + 1]
            if e == "u":
                end = text.index("}", i)
                out.append(chr(int(text[i + 3:end], 16)))
                i = end + 1
                continue
            out.append({"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "0": "\0"}[e])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def check_cases():
    import re

    path = os.path.join(ROOT, "Tests", "TemplateTests", "ConstructTests.swift")
    lit = r'(#"(?:.*?)"#|"(?:[^"\\]|\\.)*")'
    pattern = re.compile(r"Case\(" + lit + r", " + lit + r"\)")
    env = make_environment()
    bad = 0
    cases = pattern.findall(open(path, encoding="utf-8").read())
    for src, exp in cases:
        decode = lambda t: swift_literal(True, t[2:-2]) if t.startswith("#") else swift_literal(False, t[1:-1])
        source, expected = decode(src), decode(exp)
        try:
            got = env.from_string(source).render(**CASE_CONTEXT)
        except Exception as e:
            got = f"<error {type(e).__name__}: {e}>"
        if got != expected:
            bad += 1
            print(f"MISMATCH {source!r}\n  jinja2:   {got!r}\n  expected: {expected!r}")
    print(f"{len(cases)} cases, {bad} mismatches")
    return bad == 0


def main():
    if "--check-cases" in sys.argv:
        sys.exit(0 if check_cases() else 1)
    for sub in ("templates", "contexts", "expected"):
        shutil.rmtree(os.path.join(OUT, sub), ignore_errors=True)
        os.makedirs(os.path.join(OUT, sub))
    sources = {}
    for file in sorted(os.listdir(TEMPLATES)):
        if file.endswith(".jinja"):
            with open(os.path.join(TEMPLATES, file), encoding="utf-8") as f:
                sources[file[: -len(".jinja")]] = f.read()
    sources.update(model_templates())

    contexts = {name: {**COMMON, **ctx} for name, ctx in CONTEXTS.items()}
    for name, ctx in contexts.items():
        with open(os.path.join(OUT, "contexts", name + ".json"), "w", encoding="utf-8") as f:
            json.dump(ctx, f, ensure_ascii=False, indent=2)

    env = make_environment()
    errors = 0
    for name, source in sources.items():
        with open(os.path.join(OUT, "templates", name + ".jinja"), "w", encoding="utf-8", newline="") as f:
            f.write(source)
        results = {}
        try:
            template = env.from_string(source)
        except jinja2.exceptions.TemplateError as e:
            template = None
            compile_error = f"{type(e).__name__}: {e}"
        for cname, ctx in contexts.items():
            if template is None:
                results[cname] = {"error": compile_error}
                continue
            try:
                results[cname] = {"output": template.render(**json.loads(json.dumps(ctx)))}
            except Exception as e:  # jinja2 surfaces Python errors (TypeError...) from templates too
                results[cname] = {"error": f"{type(e).__name__}: {e}"}
                errors += 1
        with open(os.path.join(OUT, "expected", name + ".json"), "w", encoding="utf-8") as f:
            json.dump(results, f, ensure_ascii=False, indent=1)
    print(f"{len(sources)} templates x {len(contexts)} contexts; {errors} renders raise errors")


if __name__ == "__main__":
    main()
