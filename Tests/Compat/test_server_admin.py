"""How the server is run and managed: its address from the environment, `swiftlm ps`, pull, the
bounded queue, and the generate fields beyond prompt (system, template, context, format)."""

from __future__ import annotations

import concurrent.futures
import json
import os
import random
import subprocess

import httpx
import ollama
import pytest

from conftest import GEMMA, QWEN, SMOL, TIMEOUT, ndjson_lines, swiftlm_binary

COUNTING = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,"


@pytest.mark.parametrize("env_address", [
    {"OLLAMA_HOST": "{addr}"},
    {"SWIFTLM_HOST": "http://{addr}"},
    # SWIFTLM_HOST wins over OLLAMA_HOST.
    {"SWIFTLM_HOST": "{addr}", "OLLAMA_HOST": "127.0.0.1:1"},
])
def test_address_from_the_environment(spawn_server, env_address):
    server = spawn_server(env_address=env_address, name="envhost")
    assert httpx.get(server.url + "/", timeout=TIMEOUT).text == "Ollama is running"


def test_swiftlm_ps_lists_loaded_models(base_url, ollama_client):
    ollama_client.generate(model=SMOL, prompt="", keep_alive="10m")
    env = {k: v for k, v in os.environ.items() if k not in ("SWIFTLM_HOST", "OLLAMA_HOST")}
    done = subprocess.run([str(swiftlm_binary()), "ps"], capture_output=True, text=True, timeout=60,
                          env={**env, "OLLAMA_HOST": base_url.removeprefix("http://")})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[0] == "NAME"
    assert any(line.split()[0] == SMOL for line in lines[1:]), done.stdout


def test_pull_of_a_present_model_streams_progress_to_success(http):
    r = http.post("/api/pull", json={"model": SMOL})
    assert r.status_code == 200, r.text
    lines = ndjson_lines(r)
    assert all("status" in line for line in lines)
    assert lines[-1] == {"status": "success"}
    whole = http.post("/api/pull", json={"model": SMOL, "stream": False})
    assert whole.json() == {"status": "success"}


def test_pull_of_an_unknown_model_is_a_response_error(ollama_client):
    with pytest.raises(ollama.ResponseError) as e:
        ollama_client.pull("no-such-model:1b")
    assert e.value.status_code in (400, 404)


def test_full_queue_answers_503_server_busy(spawn_server):
    # One slot, so of 4 requests at once one runs, one waits and the others find the queue full.
    server = spawn_server(["--max-queue", "1", "--parallel", "1"], name="queue")
    body = {"model": SMOL, "prompt": COUNTING, "raw": True, "stream": False,
            "options": {"temperature": 0, "num_predict": 40}}
    httpx.post(server.url + "/api/generate", json={"model": SMOL, "prompt": ""}, timeout=TIMEOUT)  # load first
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: httpx.post(server.url + "/api/generate", json=body, timeout=TIMEOUT),
                                range(4)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(200) >= 2, statuses
    busy = [a for a in answers if a.status_code == 503]
    assert busy, f"4 requests at once with --max-queue 1 (one running, one waiting): {statuses}"
    assert busy[0].json() == {"error": "server busy, please try again"}


def anonymous_resident_bytes(pid: int) -> int:
    """The process's resident anonymous memory (heap, KV caches, repacked weights; not the mapped GGUF)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no RssAnon in /proc/{pid}/status")


def test_four_slots_serve_many_rounds_without_growing(spawn_server):
    # 32 seeded requests at once through 4 slots, four times over: every round gives the same replies
    # (with several slots each row is batch-invariant, so a reply does not depend on its neighbours), and
    # the server does not grow from round to round. Measured in a server of its own, so nothing else
    # allocates in the process: an in-process check beside the other Swift suites was at their mercy.
    server = spawn_server(["--parallel", "4", "--max-queue", "64"], name="rounds")
    words = COUNTING.split() + ["apple", "river", "blue", "seven", "north", "quiet", "stone", "paper", "light"]

    def request(i: int) -> dict:
        rng = random.Random(1000 + i)
        prompt = " ".join(rng.choice(words) for _ in range(rng.randint(1, 60)))
        return {"model": SMOL, "prompt": prompt, "raw": True, "stream": False,
                "options": {"temperature": 0.9, "seed": i, "num_predict": rng.randint(1, 16), "num_ctx": 512}}

    bodies = [request(i) for i in range(32)]

    def post(body: dict) -> tuple[str, int]:
        answer = httpx.post(server.url + "/api/generate", json=body, timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
        reply = answer.json()
        return reply["response"], reply["eval_count"]

    rounds, resident = [], []
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        for _ in range(4):
            rounds.append(list(pool.map(post, bodies)))
            resident.append(anonymous_resident_bytes(server.proc.pid))
    assert sum(count for _, count in rounds[0]) > 2 * len(bodies), "the requests must actually decode"
    for n, replies in enumerate(rounds[1:], start=1):
        assert replies == rounds[0], f"round {n} differs from round 0"
    # Round 0 is the warm-up: slot caches are anonymous mappings whose pages become resident as positions
    # are first written, and the allocator's arenas settle (over 16 rounds the server grew 1.6 MiB from
    # round 1 to 3 and then stayed within 40 KiB). A leak is far above the bound: keeping each request's
    # written KV pages (23 KiB per smollm2 position) or one 192 KiB logits row per token (tried: 55 MiB a
    # round) costs that much for each of the 32 requests, every round.
    growth = resident[3] - resident[1]
    assert growth <= 8 << 20, f"resident anonymous memory grew by {growth >> 20} MiB over rounds 1-3: {resident}"


def test_max_loaded_evicts_the_least_recently_used(spawn_server):
    server = spawn_server(["--max-loaded", "2"], name="maxloaded")
    client = ollama.Client(host=server.url, timeout=TIMEOUT)
    client.generate(model=SMOL, prompt="")
    client.generate(model=GEMMA, prompt="")
    client.generate(model=SMOL, prompt="")  # SMOL used last: GEMMA is now the least recently used
    assert sorted(m.model for m in client.ps().models) == sorted([SMOL, GEMMA])
    client.generate(model=QWEN, prompt="")
    assert sorted(m.model for m in client.ps().models) == sorted([SMOL, QWEN])


def test_generate_system_and_template_fields(ollama_client):
    options = {"temperature": 0, "num_predict": 6}
    plain = ollama_client.generate(model=QWEN, prompt="Name a colour.", options=options)
    system = ollama_client.generate(model=QWEN, prompt="Name a colour.", system="Answer only in French.",
                                    options=options)
    # `system` is the system message of the chat the template renders.
    chat = ollama_client.chat(model=QWEN, options=options, messages=[
        {"role": "system", "content": "Answer only in French."}, {"role": "user", "content": "Name a colour."}])
    assert system.response == chat.message.content
    assert system.prompt_eval_count == chat.prompt_eval_count
    assert system.prompt_eval_count != plain.prompt_eval_count
    raw = ollama_client.generate(model=SMOL, prompt="The capital of France is", raw=True,
                                 options={"temperature": 0, "num_predict": 4})
    # A template of our own replaces the model's. Ollama's Go-template syntax: honoured, or refused by
    # name (SwiftLM's templates are Jinja, as GGUF files carry them), never misapplied.
    try:
        go = ollama_client.generate(model=SMOL, prompt="The capital of France is", template="{{ .Prompt }}",
                                    options={"temperature": 0, "num_predict": 4})
        assert go.response == raw.response
    except ollama.ResponseError as e:
        assert e.status_code == 400 and "template" in e.error
    # The same template in Jinja, over the messages a prompt becomes.
    jinja = ollama_client.generate(model=SMOL, prompt="The capital of France is",
                                   template="{% for m in messages %}{{ m.content }}{% endfor %}",
                                   options={"temperature": 0, "num_predict": 4})
    assert jinja.response == raw.response


def test_generate_context_continues_the_conversation(ollama_client):
    first = ollama_client.generate(model=SMOL, prompt="My name is Ada.", options={"temperature": 0, "num_predict": 4})
    assert first.context and all(isinstance(t, int) for t in first.context)
    second = ollama_client.generate(model=SMOL, prompt="What is my name?", context=first.context,
                                    options={"temperature": 0, "num_predict": 4})
    assert second.prompt_eval_count > 0
    assert len(second.context) > len(first.context)


def test_chat_accepts_tool_messages(ollama_client):
    r = ollama_client.chat(model=QWEN, options={"temperature": 0, "num_predict": 4}, messages=[
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": "",
         "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
        {"role": "tool", "content": "22 degrees and sunny"},
    ])
    assert r.done and r.message.role == "assistant"


def test_format_json_is_never_silently_ignored(http):
    r = http.post("/api/generate", json={"model": QWEN, "prompt": "Give a JSON object with a key a set to 1.",
                                         "format": "json", "stream": False,
                                         "options": {"temperature": 0, "num_predict": 64}})
    if r.status_code == 400:
        assert "format" in r.json()["error"]
        return
    assert r.status_code == 200
    assert r.json()["done_reason"] == "stop", r.json()["response"]
    assert isinstance(json.loads(r.json()["response"]), dict)
