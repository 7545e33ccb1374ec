"""Client disconnects and SIGTERM: generation stops when nobody listens, and shutdown is clean."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
import urllib.parse

import httpx
import pytest

from conftest import SMOL, TIMEOUT, running_requests

# A raw completion that keeps going: the model counts on rather than ending the text.
COUNTING = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,"
LONG = {"temperature": 0, "num_predict": 400, "num_ctx": 2048}


class RawStream:
    """An HTTP/1.1 streaming request on a bare socket, so closing it is a real TCP close."""

    def __init__(self, base_url: str, path: str, body: dict):
        url = urllib.parse.urlparse(base_url)
        self.sock = socket.create_connection((url.hostname, url.port), timeout=TIMEOUT)
        payload = json.dumps(body).encode()
        self.sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {url.hostname}:{url.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
        self.buffer = b""

    def read_until(self, count: int, marker: bytes) -> bytes:
        """Reads until `marker` occurred `count` times in the body so far (or the server closed)."""
        while self.buffer.count(marker) < count:
            data = self.sock.recv(65536)
            if not data:
                break
            self.buffer += data
        return self.buffer

    def close(self) -> None:
        self.sock.close()


def wait_for_running(base_url: str, want: float, within: float) -> tuple[float, float]:
    """Polls the running-requests gauge until it equals `want`; returns (value, seconds waited)."""
    start = time.monotonic()
    while True:
        value = running_requests(base_url)
        waited = time.monotonic() - start
        if value == want or waited > within:
            return value, waited
        time.sleep(0.05)


def test_disconnect_after_two_chunks_stops_generation(base_url):
    stream = RawStream(base_url, "/api/generate", {"model": SMOL, "prompt": COUNTING, "raw": True, "options": LONG})
    head = stream.read_until(2, b'"response"')
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    assert head.count(b'"response"') >= 2 and b'"done":true' not in head.replace(b" ", b"")
    assert running_requests(base_url) >= 1
    stream.close()
    value, waited = wait_for_running(base_url, 0, within=2.0)
    assert value == 0, f"a request still running {waited:.1f} s after the client closed its stream"
    # The server is fine afterwards.
    r = httpx.post(base_url + "/api/generate", timeout=TIMEOUT,
                   json={"model": SMOL, "prompt": "Hi", "stream": False, "options": {"num_predict": 2}})
    assert r.status_code == 200 and r.json()["eval_count"] == 2


def test_disconnect_during_openai_stream_stops_generation(base_url):
    stream = RawStream(base_url, "/v1/completions", {"model": SMOL, "prompt": COUNTING, "stream": True,
                                                     "max_tokens": 400})
    head = stream.read_until(3, b"data: ")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    stream.close()
    value, waited = wait_for_running(base_url, 0, within=2.0)
    assert value == 0, f"a request still running {waited:.1f} s after the client closed its SSE stream"


def test_disconnect_during_prompt_processing_stops_it(base_url):
    # About 3,100 prompt tokens (smollm2 splits numbers into digits): 10 s or more of prompt evaluation
    # on 2 cores, so the close lands while the prompt is still being processed. (It costs nothing when
    # cancellation works.)
    prompt = " ".join(str(i) for i in range(1, 800))
    stream = RawStream(base_url, "/api/generate", {"model": SMOL, "prompt": prompt, "raw": True,
                                                   "options": {**LONG, "num_ctx": 4096}})
    deadline = time.monotonic() + 30
    while running_requests(base_url) < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert running_requests(base_url) >= 1, "the request never showed as running"
    stream.close()
    value, waited = wait_for_running(base_url, 0, within=2.0)
    assert value == 0, f"prompt processing still running {waited:.1f} s after the client went away"


def test_sigterm_during_a_stream_ends_it_cleanly_and_exits_zero(spawn_server):
    server = spawn_server(name="sigterm")
    lines: list[dict] = []
    failure: list[BaseException] = []
    two_chunks = threading.Event()

    def consume():
        try:
            with httpx.stream("POST", server.url + "/api/generate", timeout=TIMEOUT,
                              json={"model": SMOL, "prompt": COUNTING, "raw": True, "options": LONG}) as r:
                assert r.status_code == 200
                for line in r.iter_lines():
                    assert line.strip(), "blank line in NDJSON stream"
                    lines.append(json.loads(line))
                    if len(lines) == 2:
                        two_chunks.set()
        except BaseException as e:  # noqa: BLE001 - reported by the test thread below
            failure.append(e)
        finally:
            two_chunks.set()

    reader = threading.Thread(target=consume)
    reader.start()
    assert two_chunks.wait(TIMEOUT)
    assert not failure, failure
    server.proc.send_signal(signal.SIGTERM)
    reader.join(60)
    assert not reader.is_alive(), "the stream did not end after SIGTERM"
    # The chunked body ended properly (httpx raises on a cut-off stream) and its last line says how:
    # a final done object, or an error line.
    assert not failure, f"stream ended uncleanly: {failure[0]!r}"
    last = lines[-1]
    assert last.get("done") is True or "error" in last, f"last line after SIGTERM: {last}"
    try:
        code = server.proc.wait(30)
    except Exception:  # noqa: BLE001
        pytest.fail("swiftlm serve still running 30 s after SIGTERM")
    assert code == 0, f"exit status {code} after SIGTERM:\n{server.log_tail()}"
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/", timeout=5)


def test_sigint_when_idle_exits_zero(spawn_server):
    server = spawn_server(name="sigint")
    assert httpx.get(server.url + "/api/tags", timeout=TIMEOUT).status_code == 200
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(30) == 0, server.log_tail()
