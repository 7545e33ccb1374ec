"""Runs the schema corpus against a live `swiftlm serve` (see scripts/test-structured)."""
import json
import os
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import jsonschema
from jsonschema import Draft202012Validator, FormatChecker

URL, PID = sys.argv[1], int(sys.argv[2])
HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.environ.get("STRUCTURED_MODELS", "qwen2.5-coder:0.5b smollm2:135m").split()
SEEDS = [int(s) for s in os.environ.get("STRUCTURED_SEEDS", "1 2 3").split()]
LIMIT = int(os.environ.get("STRUCTURED_LIMIT", "0"))
# The unconstrained contrast runs on the first N schemas only (it mostly runs to the token limit: CI time).
CONTRAST = int(os.environ.get("STRUCTURED_CONTRAST", "30"))
# Enough for every schema's largest instance; the sampler steers the JSON to its end before the limit.
MAX_TOKENS = 160
# Requests in flight at once: the server decodes up to 4 sequences per model in one batch (`--parallel`).
PARALLEL = int(os.environ.get("STRUCTURED_PARALLEL", "4"))


def post(path, body, timeout=600):
    req = urllib.request.Request(URL + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def wait_for_server():
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            os.kill(PID, 0)
        except ProcessLookupError:
            sys.exit("test-structured: the server exited")
        try:
            urllib.request.urlopen(URL + "/", timeout=2)
            return
        except Exception:
            time.sleep(0.3)
    sys.exit("test-structured: the server did not start")


def prompt(schema):
    return ("Return one JSON instance that validates against this JSON Schema. Reply with the JSON only.\n"
            + json.dumps(schema, separators=(",", ":")))


def strip_fences(text):
    t = text.strip()
    if t.startswith("```"):
        t = t.split("\n", 1)[1] if "\n" in t else ""
        t = t.rsplit("```", 1)[0]
    return t.strip()


def check(validator, text):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        return f"does not parse: {e}"
    errors = sorted(validator.iter_errors(value), key=str)
    return f"invalid: {errors[0].message}" if errors else None


def main():
    wait_for_server()
    corpus = [json.loads(line) for line in open(os.path.join(HERE, "schemas.jsonl"))]
    if LIMIT:
        corpus = corpus[:LIMIT]
    validators = {}
    for case in corpus:
        Draft202012Validator.check_schema(case["schema"])
        validators[case["name"]] = Draft202012Validator(case["schema"], format_checker=FormatChecker())
    failures = []
    summary = []
    for model in MODELS:
        # One task per schema: its seeds under `format`, then (on the first CONTRAST schemas) the same prompt
        # without it, one after the other, so the server's slot that evaluated the prompt for the first
        # request reuses it for the next ones (prefix reuse: the prompt is most of the work). PARALLEL
        # schemas at a time keep the server's batch slots full; outputs do not depend on it (batch-invariant
        # decoding, a seeded sampler per request).
        def run(indexed):
            index, case = indexed
            messages = [{"role": "user", "content": prompt(case["schema"])}]
            results = []
            runs = [(seed, True) for seed in SEEDS] + ([(SEEDS[0], False)] if index < CONTRAST else [])
            for seed, constrained in runs:
                body = {"model": model, "messages": messages, "stream": False,
                        "options": {"temperature": 0.8, "seed": seed, "num_predict": MAX_TOKENS}}
                if constrained:
                    body["format"] = case["schema"]
                results.append((seed, constrained, post("/api/chat", body)))
            return case, results

        started = time.monotonic()
        ok = total = tokens = 0
        prompt_seconds = 0.0
        free_ok = free_total = 0
        with ThreadPoolExecutor(PARALLEL) as pool:
            for case, results in pool.map(run, enumerate(corpus)):
                validator = validators[case["name"]]
                for seed, constrained, (status, r) in results:
                    if status == 200:
                        prompt_seconds += r.get("prompt_eval_duration", 0) / 1e9
                    if not constrained:
                        free_total += 1
                        if status == 200 and check(validator, strip_fences(r["message"]["content"])) is None:
                            free_ok += 1
                        continue
                    total += 1
                    if status != 200:
                        failures.append(f"{model} {case['name']} seed {seed}: HTTP {status} {r}")
                        print("FAIL", failures[-1], flush=True)
                        continue
                    text = r["message"]["content"]
                    tokens += r.get("eval_count", 0)
                    problem = check(validator, text)
                    if problem:
                        failures.append(f"{model} {case['name']} seed {seed} ({r.get('done_reason')}): {problem}: {text!r}")
                        print("FAIL", failures[-1], flush=True)
                    else:
                        ok += 1
        elapsed = time.monotonic() - started
        line = (f"{model}: constrained {ok}/{total} valid ({100 * ok / max(total, 1):.1f}%), "
                f"{tokens / max(total, 1):.0f} tokens on average")
        if free_total:
            line += f"; unconstrained {free_ok}/{free_total} ({100 * free_ok / max(free_total, 1):.1f}%)"
        line += f"; {len(corpus)} schemas in {elapsed:.0f} s (prompt evaluation {prompt_seconds:.0f} s, summed over requests)"
        summary.append(line)
        print(line, flush=True)
    if failures:
        print(f"{len(failures)} failures (listed above)")
    print("\n".join(summary))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
