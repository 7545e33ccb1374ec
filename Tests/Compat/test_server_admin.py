"""How the server is run and managed: its address from the environment, `swiftlm ps`, pull, the
bounded queue, and the generate fields beyond prompt (system, template, context, format)."""

from __future__ import annotations

import concurrent.futures
import json
import os
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
