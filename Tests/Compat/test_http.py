"""Wire-level behaviour the clients rely on without showing it: stream framing, CORS, the Host check,
the API key, health and metrics. Plain httpx, so every header and byte is visible."""

from __future__ import annotations

import json
import urllib.parse
from http.client import HTTPConnection

import httpx
import ollama
import openai
import pytest

from conftest import QWEN, SMOL, TIMEOUT, metric_values, ndjson_lines

SHORT = {"temperature": 0, "num_predict": 4}


def test_root_head_version_health(http):
    r = http.get("/")
    assert r.status_code == 200 and r.text == "Ollama is running"
    assert http.head("/").status_code == 200
    version = http.get("/api/version")
    assert version.status_code == 200 and version.json()["version"]
    assert http.get("/health").status_code == 200


def test_generate_stream_is_ndjson_with_full_final_object(http):
    r = http.post("/api/generate", json={"model": SMOL, "prompt": "Hi", "options": SHORT})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = ndjson_lines(r)
    assert all(line["model"] == SMOL and "created_at" in line for line in lines)
    assert [line["done"] for line in lines] == [False] * (len(lines) - 1) + [True]
    final = lines[-1]
    assert final["done_reason"] == "length"
    for field in ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration",
                  "eval_count", "eval_duration"):
        assert isinstance(final[field], int), f"{field} missing or not an integer: {final}"
    assert final["eval_count"] == 4
    # Nanoseconds, consistent with each other: a unit slip (µs, ms) lands far outside these bounds.
    assert final["total_duration"] >= final["prompt_eval_duration"] + final["eval_duration"]
    assert 1e5 <= final["eval_duration"] / final["eval_count"] <= 1e10
    assert final["prompt_eval_duration"] > 1e5


def test_stream_false_is_one_json_object(http):
    r = http.post("/api/chat", json={"model": QWEN, "stream": False, "options": SHORT,
                                     "messages": [{"role": "user", "content": "Hi"}]})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["done"] is True and body["message"]["role"] == "assistant"


def test_openai_stream_is_sse_ending_with_done(http):
    r = http.post("/v1/chat/completions", json={
        "model": QWEN, "stream": True, "max_tokens": 3, "messages": [{"role": "user", "content": "Hi"}],
        "stream_options": {"include_usage": True}})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = r.text.split("\n\n")
    assert events[-1] == "", "SSE stream must end with a blank line"
    events = events[:-1]
    assert all(e.startswith("data: ") for e in events), events
    assert events[-1] == "data: [DONE]"
    payloads = [json.loads(e[len("data: "):]) for e in events[:-1]]
    assert payloads[0]["choices"][0]["delta"]["role"] == "assistant"
    assert payloads[-1]["usage"]["completion_tokens"] == 3


def test_max_completion_tokens_is_honoured(http):
    # OpenAI's current name for max_tokens, the one LangChain and new clients send.
    r = http.post("/v1/chat/completions", json={
        "model": QWEN, "max_completion_tokens": 3, "messages": [{"role": "user", "content": "Tell a story."}]})
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["completion_tokens"] == 3
    assert r.json()["choices"][0]["finish_reason"] == "length"


def test_json_body_accepted_whatever_the_content_type(http):
    # curl -d sends application/x-www-form-urlencoded.
    r = http.post("/api/show", content=json.dumps({"model": SMOL}),
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text
    assert r.json()["details"]["family"] == "llama"


def test_missing_model_field_is_400_naming_it(http):
    r = http.post("/api/generate", json={"prompt": "hi"})
    assert r.status_code == 400
    assert "model" in r.json()["error"]


def test_prompt_longer_than_num_ctx_is_rejected_not_truncated(http):
    r = http.post("/api/generate", json={"model": SMOL, "prompt": "word " * 600, "stream": False,
                                         "options": {"num_ctx": 256, "num_predict": 2}})
    assert r.status_code == 400, r.text[:300]
    message = r.json()["error"]
    assert "256" in message, message


def test_metrics_has_counters_histograms_and_gauges(http):
    http.post("/api/generate", json={"model": SMOL, "prompt": "Hi", "stream": False, "options": SHORT})
    r = http.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    for pattern in (r"^swiftlm_requests_total$", r"^swiftlm_prompt_tokens_total$", r"^swiftlm_generated_tokens_total$",
                    r"^swiftlm_time_to_first_token_seconds_(bucket|count|sum)$",
                    r"^swiftlm_token_latency_seconds_(bucket|count|sum)$",
                    r"^swiftlm_requests_running$", r"^swiftlm_requests_queued$", r"^swiftlm_models_loaded$",
                    r"^swiftlm_kv_cache_tokens$"):
        assert metric_values(text, pattern), f"/metrics lacks {pattern}"
    assert sum(metric_values(text, r"^swiftlm_generated_tokens_total$").values()) >= 4
    assert sum(metric_values(text, r"^swiftlm_models_loaded$").values()) >= 1


# --- CORS -------------------------------------------------------------------------------------------

def preflight(client: httpx.Client, origin: str, path: str = "/api/chat") -> httpx.Response:
    return client.options(path, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,authorization,x-stainless-os,x-stainless-retry-count"})


@pytest.mark.parametrize("origin", ["http://localhost", "http://localhost:3000", "https://127.0.0.1:8080",
                                    "http://0.0.0.0:5173", "vscode-webview://abc123", "app://obsidian.md"])
def test_cors_preflight_allowed_for_local_origins(http, origin):
    r = preflight(http, origin)
    assert r.status_code in (200, 204), r.text
    assert r.headers.get("access-control-allow-origin") in (origin, "*")
    allowed = r.headers.get("access-control-allow-headers", "").lower()
    for header in ("content-type", "authorization", "x-stainless-os", "x-stainless-retry-count"):
        assert header in allowed, f"{header} not in Access-Control-Allow-Headers: {allowed}"
    assert "post" in r.headers.get("access-control-allow-methods", "").lower()

    simple = http.get("/api/tags", headers={"Origin": origin})
    assert simple.status_code == 200
    assert simple.headers.get("access-control-allow-origin") in (origin, "*")


@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost.evil.example", "null"])
def test_cors_refused_for_other_origins(http, origin):
    r = preflight(http, origin)
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers
    simple = http.get("/api/tags", headers={"Origin": origin})
    assert simple.status_code == 403
    assert "access-control-allow-origin" not in simple.headers


# --- Host header check (DNS rebinding) --------------------------------------------------------------

@pytest.mark.parametrize("host", ["localhost", "localhost:11434", "127.0.0.1", "127.0.0.1:8080", "[::1]:11434",
                                  "myapp.localhost", "box.local", "svc.internal", "192.168.1.10", "10.0.0.2:80"])
def test_host_header_allowed(http, host):
    assert http.get("/api/version", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:11434", "localhost.evil.example", "8.8.8.8"])
def test_host_header_refused_on_loopback(http, host):
    assert http.get("/api/version", headers={"Host": host}).status_code == 403
    assert http.post("/api/generate", json={"model": SMOL, "prompt": "x"}, headers={"Host": host}).status_code == 403


# --- API key and extra origins: a server of its own -------------------------------------------------

def test_api_key_and_extra_origins(spawn_server):
    server = spawn_server(["--api-key", "s3cret"], env={"OLLAMA_ORIGINS": "https://app.example.com",
                                                        "SWIFTLM_ORIGINS": "https://other.example.org"})
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as raw:
        assert raw.get("/api/tags").status_code == 401
        assert raw.get("/api/tags", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert raw.get("/api/tags", headers={"Authorization": "s3cret"}).status_code == 401
        assert raw.get("/api/tags", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert raw.post("/api/generate", json={"model": SMOL, "prompt": "x"}).status_code == 401
        # Browsers send preflights without credentials: they must pass.
        for origin in ("https://app.example.com", "https://other.example.org", "http://localhost:3000"):
            r = preflight(raw, origin)
            assert r.status_code in (200, 204)
            assert r.headers.get("access-control-allow-origin") in (origin, "*")
        assert preflight(raw, "https://evil.example").status_code == 403

    good = openai.OpenAI(base_url=server.url + "/v1", api_key="s3cret", max_retries=0, timeout=TIMEOUT)
    assert SMOL in [m.id for m in good.models.list().data]
    bad = openai.OpenAI(base_url=server.url + "/v1", api_key="wrong", max_retries=0, timeout=TIMEOUT)
    with pytest.raises(openai.AuthenticationError) as e:
        bad.models.list()
    assert e.value.response.json()["error"]["type"]

    client = ollama.Client(host=server.url, headers={"Authorization": "Bearer s3cret"}, timeout=TIMEOUT)
    assert SMOL in [m.model for m in client.list().models]
    r = client.generate(model=SMOL, prompt="Hi", options=SHORT)
    assert r.done and r.eval_count == 4
    with pytest.raises(ollama.ResponseError) as e:
        ollama.Client(host=server.url, timeout=TIMEOUT).list()
    assert e.value.status_code == 401


def test_chat_truncation_only_when_asked_and_said(http):
    history = [{"role": "system", "content": "You are terse."}]
    for i in range(12):
        history += [{"role": "user", "content": f"Tell me fact number {i} about the sea, at length. " * 3},
                    {"role": "assistant", "content": f"Fact {i}: the sea is large and salty and deep. " * 3}]
    history.append({"role": "user", "content": "Thanks."})
    body = {"model": QWEN, "messages": history, "stream": False, "options": {"num_ctx": 256, "num_predict": 2}}
    refused = http.post("/api/chat", json=body)
    assert refused.status_code == 400, refused.text[:300]
    assert "256" in refused.json()["error"]

    r = http.post("/api/chat", json={**body, "truncate": True})
    assert r.status_code == 200, r.text[:300]
    final = r.json()
    assert final["truncated"] is True
    assert final["prompt_eval_count"] <= 256
    # Without a need to truncate, the field is absent (or false).
    short = http.post("/api/chat", json={**body, "messages": history[:1] + history[-1:], "truncate": True})
    assert short.status_code == 200
    assert not short.json().get("truncated", False)


def test_generation_responses_keep_the_connection_alive(base_url):
    # Every official client pools connections: after a generation (streamed or not, Ollama or OpenAI)
    # the same connection must serve the next request, as Ollama's does.
    url = urllib.parse.urlparse(base_url)
    conn = HTTPConnection(url.hostname, url.port, timeout=TIMEOUT)
    requests = [
        ("POST", "/api/generate", {"model": SMOL, "prompt": "Hi", "stream": False, "options": SHORT}),
        ("POST", "/api/generate", {"model": SMOL, "prompt": "Hi", "options": SHORT}),
        ("POST", "/v1/chat/completions", {"model": SMOL, "max_tokens": 2, "stream": True,
                                          "messages": [{"role": "user", "content": "Hi"}]}),
        ("POST", "/api/chat", {"model": QWEN, "stream": False, "options": SHORT,
                               "messages": [{"role": "user", "content": "Hi"}]}),
        ("GET", "/api/ps", None),
    ]
    sockets = set()
    for method, path, body in requests:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json"})
        sockets.add(id(conn.sock))
        response = conn.getresponse()
        response.read()
        assert response.status == 200, (path, response.status)
        assert (response.getheader("connection") or "").lower() != "close", f"{path} closes the connection"
    assert len(sockets) == 1, "the client had to reconnect"
    conn.close()
