#!/usr/bin/env python3
"""Sends well over 1,000 malformed or hostile requests to a running `swiftlm serve` and checks that
every one gets a 4xx answer, that the server stays up, and that normal requests still work afterwards.

    scripts/bad-requests.py --url http://127.0.0.1:PORT [--model smollm2:135m] [--seed 1]

The cases are generated deterministically from --seed: truncated JSON, wrong types, huge numbers,
unknown fields, invalid UTF-8, 10 MB bodies, broken HTTP framing, and slow clients that trickle their
bytes. Every request is written byte by byte on a raw socket, so the server sees exactly what a hostile
client would send. Only loopback addresses are accepted; all loops are bounded.

Standard library only. Exits 0 when every case passed, 1 otherwise, listing each failing request.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import ipaddress
import json
import random
import re
import select
import socket
import sys
import time
import urllib.parse
from dataclasses import dataclass, field

MB = 1024 * 1024


@dataclass
class Case:
    category: str
    method: str
    path: str
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    # raw: the whole request bytes as given (no request line, headers or framing added).
    raw: bytes | None = None
    # slow: seconds between the pieces the request is sent in (0: all at once).
    trickle: float = 0.0
    pieces: int = 1
    pause_before: float = 0.0

    def wire(self, host: str) -> bytes:
        if self.raw is not None:
            return self.raw
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}", "Connection: close"]
        names = {name.lower() for name, _ in self.headers}
        if "content-length" not in names and "transfer-encoding" not in names:
            lines.append(f"Content-Length: {len(self.body)}")
        if "content-type" not in names:
            lines.append("Content-Type: application/json")
        lines += [f"{name}: {value}" for name, value in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body

    def describe(self, limit: int = 300) -> str:
        body = self.raw if self.raw is not None else self.body
        shown = body[:limit]
        more = f" … ({len(body)} bytes in all)" if len(body) > limit else ""
        head = "RAW" if self.raw is not None else f"{self.method} {self.path}"
        extra = "".join(f"\n      {n}: {v[:120]}" for n, v in self.headers)
        slow = f" [trickled in {self.pieces} pieces, {self.trickle}s apart]" if self.pieces > 1 else ""
        return f"{head}{slow}{extra}\n      body: {shown!r}{more}"


# --- the cases ----------------------------------------------------------------------------------------

def base_bodies(model: str) -> dict[str, dict]:
    """One valid request per endpoint; the cases break them."""
    chat = [{"role": "user", "content": "hi"}]
    return {
        "/api/generate": {"model": model, "prompt": "hi", "stream": False, "options": {"num_predict": 1}},
        "/api/chat": {"model": model, "messages": chat, "stream": False, "options": {"num_predict": 1}},
        "/api/embed": {"model": model, "input": "hi"},
        "/api/embeddings": {"model": model, "prompt": "hi"},
        "/api/show": {"model": model},
        "/v1/chat/completions": {"model": model, "messages": chat, "max_tokens": 1},
        "/v1/completions": {"model": model, "prompt": "hi", "max_tokens": 1},
        "/v1/embeddings": {"model": model, "input": "hi"},
    }


# Endpoints that change the store: only bodies that cannot parse as a valid request are sent there.
STORE_ENDPOINTS = {
    "/api/copy": {"source": "no-such-model:1b", "destination": "bad-requests-copy:latest"},
    "/api/delete": {"model": "no-such-model:1b"},
    "/api/pull": {"model": "no-such-model:1b", "stream": False},
}

WRONG_STRING = [5, 1.5, True, [], {}, ["x"], {"a": 1}]
WRONG_BOOL = ["yes", "true", 1, 0, [], {}]
WRONG_NUMBER = ["many", "1", True, [], {}, [1], {"v": 1}]
WRONG_OBJECT = ["x", 5, [], True, [1, 2]]
WRONG_MESSAGES = ["hi", 5, {}, True, [5], ["hi"], [{"role": 5, "content": "x"}],
                  [{"role": "user", "content": {"x": 1}}], [{"role": "user", "content": 5}],
                  [[{"role": "user", "content": "x"}]], [{"role": ["user"], "content": "x"}]]
# (No bare token arrays such as [5]: OpenAI accepts those for embeddings.)
WRONG_INPUT = [5, {}, True, [[1.5]], [{"a": 1}], [None], ["ok", 5], [True]]

INT_OPTIONS = ["num_predict", "num_ctx", "top_k", "seed", "repeat_last_n", "num_thread", "num_batch"]
FLOAT_OPTIONS = ["temperature", "top_p", "min_p", "repeat_penalty", "presence_penalty", "frequency_penalty"]


def wrong_values_for(key: str, value, path: str = "") -> list:
    if key == "prompt" and path == "/v1/completions":
        return [w for w in WRONG_STRING if w != ["x"]]  # OpenAI takes a list of prompts there
    if key == "model":
        return WRONG_STRING + [None, ""]
    if key == "messages":
        return WRONG_MESSAGES
    if key == "input":
        return WRONG_INPUT
    if isinstance(value, bool):
        return WRONG_BOOL
    if isinstance(value, str):
        return WRONG_STRING
    if isinstance(value, int):
        return WRONG_NUMBER
    if isinstance(value, dict):
        return WRONG_OBJECT
    return WRONG_STRING


def dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def truncated_json(model: str, rng: random.Random) -> list[Case]:
    cases = []
    bodies = {**base_bodies(model), **STORE_ENDPOINTS}
    for path, body in bodies.items():
        text = dumps(body)
        cuts = sorted(set([0, 1, len(text) - 1] + [rng.randrange(1, len(text)) for _ in range(22)]))
        for cut in cuts:
            cases.append(Case("truncated JSON", "POST", path, text[:cut]))
    return cases


def wrong_types(model: str, rng: random.Random) -> list[Case]:
    cases = []
    for path, body in base_bodies(model).items():
        for key, value in body.items():
            for wrong in wrong_values_for(key, value, path):
                cases.append(Case("wrong type", "POST", path, dumps({**body, key: wrong})))
        if "options" in body or path.startswith("/api/generate") or path.startswith("/api/chat"):
            for option in INT_OPTIONS + FLOAT_OPTIONS + ["stop"]:
                wrongs = WRONG_NUMBER if option != "stop" else [5, [5], {}, [["x"]], True]
                for wrong in wrongs[:4]:
                    cases.append(Case("wrong type", "POST", path,
                                      dumps({**body, "options": {**body.get("options", {}), option: wrong}})))
        if path in ("/api/generate", "/api/chat"):
            for key, wrongs in {"keep_alive": [[], {}, True, "soon", "5 minutes", "1x"],
                                "format": [5, [], True, "yaml"], "logprobs": ["yes", 1, []],
                                "top_logprobs": ["3", 1.5, [], 21, -1], "raw": ["no", 2],
                                "system": [5, []], "template": [5, {}], "context": ["x", [1.5], {}, [[1]]],
                                "images": ["x", 5, [5], "not base64!"]}.items():
                if path == "/api/chat" and key in ("system", "template", "context", "raw", "images"):
                    continue
                for wrong in wrongs:
                    cases.append(Case("wrong type", "POST", path, dumps({**body, key: wrong})))
        if path.startswith("/v1/"):
            extras = {"stream": ["yes", 1], "stream_options": ["x", 5], "stop": [5, [5], {}],
                      "seed": ["x", 1.5], "temperature": ["hot", []], "top_p": ["x", {}]}
            if "chat" in path:
                # (Legacy /v1/completions has no response_format: there it is an unknown field.)
                extras.update({"logprobs": ["yes", 5], "top_logprobs": [21, -1, "2"],
                               "response_format": ["json", 5, {"type": "bogus"}, {"type": 5}]})
            if "embeddings" in path:
                extras = {"encoding_format": ["hex", 5], "dimensions": ["x", 1.5]}
            for key, wrongs in extras.items():
                for wrong in wrongs:
                    cases.append(Case("wrong type", "POST", path, dumps({**body, key: wrong})))
    for path, body in STORE_ENDPOINTS.items():
        for key in body:
            for wrong in ([5, [], {}, True, None] if key != "stream" else ["no", 5, [], {}, "x"]):
                cases.append(Case("wrong type", "POST", path, dumps({**body, key: wrong})))
    return cases


def huge_numbers(model: str, rng: random.Random) -> list[Case]:
    """Numbers no field can hold. Written as raw JSON text: Python's json cannot express most of them."""
    cases = []
    int_huge = ["1e30", "18446744073709551616", "-18446744073709551617", "99999999999999999999999999999999",
                "1.5", "1e400", "-1e400", "1" + "0" * 400, "NaN", "Infinity", "-Infinity", "0x10", "1_000", "+1",
                "01", ".5", "1.", "--1", "1e", "Infinity1"]
    float_huge = ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1" + "0" * 400 + ".0", "0x1p3", "1e+", ".e1"]
    for path in ("/api/generate", "/api/chat"):
        body = base_bodies(model)[path]
        prefix = dumps({k: v for k, v in body.items() if k != "options"})[:-1]
        for option in INT_OPTIONS:
            for text in int_huge:
                cases.append(Case("huge number", "POST", path,
                                  prefix + f', "options": {{"{option}": {text}}}}}'.encode()))
        for option in FLOAT_OPTIONS:
            for text in float_huge:
                cases.append(Case("huge number", "POST", path,
                                  prefix + f', "options": {{"{option}": {text}}}}}'.encode()))
        for key in ("keep_alive", "top_logprobs"):
            # (A huge but finite keep_alive is a legitimate "forever"; only unreadable numbers here.)
            extra = ["21", "1000000", "18446744073709551616"] if key == "top_logprobs" else []
            for text in ["1e400", "NaN", "-1e400", "Infinity"] + extra:
                cases.append(Case("huge number", "POST", path, prefix + f', "{key}": {text}}}'.encode()))
    for path, key in (("/v1/chat/completions", "max_tokens"), ("/v1/completions", "max_tokens"),
                      ("/v1/chat/completions", "seed"), ("/v1/chat/completions", "max_completion_tokens"),
                      ("/v1/chat/completions", "temperature"), ("/v1/completions", "seed")):
        body = dict(base_bodies(model)[path])
        body.pop(key, None)
        prefix = dumps(body)[:-1]
        numbers = ["1e400", "-1e400", "NaN"] + (["18446744073709551616", "1e30"] if key != "temperature" else ["Infinity"])
        for text in numbers:
            cases.append(Case("huge number", "POST", path, prefix + f', "{key}": {text}}}'.encode()))
    return cases


def unknown_fields(model: str, rng: random.Random) -> list[Case]:
    """Unknown fields around an error the server must still find: a missing model (404) or a bad field (400).

    Unknown fields alone are ignored, as Ollama and OpenAI clients rely on; here they must not hide or
    crash the real validation, whatever their size, name or depth.
    """
    cases = []
    names = ["bogus", "", "__proto__", "constructor", "$where", "model ", "MODEL", "ünïcødé", "🦙", "a" * 10000,
             "options.num_predict", "\u0000", "\\", "\"", "prompt\u0000x"]
    values = [1, "x" * 1000, None, [], {}, {"nested": {"deeper": [1, {"x": None}]}}, [list(range(100))] * 10, True,
              -1.5e300]
    bodies = base_bodies(model)
    for i in range(160):
        path = rng.choice(list(bodies))
        body = dict(bodies[path])
        for _ in range(rng.randint(1, 4)):
            body[rng.choice(names) + (str(rng.randrange(1000)) if rng.random() < 0.5 else "")] = rng.choice(values)
        if i % 2 == 0:
            body["model"] = f"no-such-model-{i}:latest"
        elif "options" in body:
            body["options"] = {**body["options"], "bogus_option": 1, "num_predict": "x"}
        else:
            body["model"] = rng.choice([5, [], {}, ""])
        cases.append(Case("unknown fields", "POST", path, dumps(body)))
    # Deep nesting inside an unknown field: must not blow the parser's stack.
    for depth in (1000, 100_000, 1_000_000):
        for path in ("/api/generate", "/v1/chat/completions"):
            deep = b"[" * depth + b"]" * depth
            cases.append(Case("unknown fields", "POST", path,
                              b'{"model": "no-such-model:1b", "prompt": "hi", "deep": ' + deep + b"}"))
            deep_obj = b'{"a":' * depth + b"1" + b"}" * depth
            cases.append(Case("unknown fields", "POST", path,
                              b'{"model": "no-such-model:1b", "prompt": "hi", "deep": ' + deep_obj + b"}"))
    # Duplicate keys where the last one is invalid.
    for path in ("/api/generate", "/api/chat", "/v1/completions"):
        body = dumps(bodies[path])[:-1]
        cases.append(Case("unknown fields", "POST", path, body + b', "model": 5}'))
        cases.append(Case("unknown fields", "POST", path, body + b', "model": "no-such-model:1b"}'))
    return cases


def invalid_utf8(model: str, rng: random.Random) -> list[Case]:
    bad_sequences = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xe2\x82", b"\xf0\x28\x8c\xbc",
                     b"\xf8\xa1\xa1\xa1\xa1", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xed\xbf\xbf",
                     b"\xf4\x90\x80\x80", b"hi\x80there"]
    cases = []
    bodies = base_bodies(model)
    for path, body in bodies.items():
        text = dumps(body)
        for seq in bad_sequences:
            # Inside the prompt / content / input string, with a valid model.
            for anchor in (b'"hi"', b'"model"'):
                if anchor in text:
                    at = text.index(anchor) + 2
                    cases.append(Case("invalid UTF-8", "POST", path, text[:at] + seq + text[at:]))
            # Inside the model name, and outside any string.
            at = text.index(model.encode()) + 3
            cases.append(Case("invalid UTF-8", "POST", path, text[:at] + seq + text[at:]))
            cases.append(Case("invalid UTF-8", "POST", path, b"{" + seq + text[1:]))
    # JSON escapes that decode to no valid Unicode scalar: lone or reversed surrogates, in the model name.
    for path in bodies:
        for escape in ("\\ud800", "\\udfff", "\\udc00\\ud800", "\\ud83d", "\\uZZZZ", "\\u12", "\\x41", "\\"):
            body = dumps({**bodies[path], "model": "MODEL"}).replace(b"MODEL", f"smol{escape}lm".encode())
            cases.append(Case("invalid UTF-8", "POST", path, body))
    return cases


def big_bodies(model: str, rng: random.Random) -> list[Case]:
    ten = 10 * MB
    cases = [
        Case("10 MB body", "POST", "/api/generate", b"A" * ten),
        Case("10 MB body", "POST", "/api/generate", b" " * ten),
        Case("10 MB body", "POST", "/api/generate", b'{"model": "' + model.encode() + b'", "prompt": "' + b"a" * ten),
        Case("10 MB body", "POST", "/api/chat",
             b'{"model": "' + model.encode() + b'", "messages": "' + b"b" * ten + b'"}'),
        Case("10 MB body", "POST", "/api/generate",
             b'{"model": "no-such-model:1b", "prompt": "' + b"hello " * (ten // 6) + b'"}'),
        Case("10 MB body", "POST", "/v1/chat/completions", b"[" * ten),
        Case("10 MB body", "POST", "/v1/embeddings",
             b'{"model": "' + model.encode() + b'", "input": [' + b"true," * (ten // 5) + b"true]}"),
        Case("10 MB body", "POST", "/api/embed",
             b'{"model": "no-such-model:1b", "input": ["' + b'x", "' * (ten // 5) + b'"]}'),
        Case("10 MB body", "POST", "/api/show", b'{"model": "' + b"m" * ten + b'"}'),
        Case("10 MB body", "POST", "/api/generate", bytes(rng.getrandbits(8) for _ in range(MB)) * 10),
    ]
    return cases


def broken_http(model: str, rng: random.Random, host: str) -> list[Case]:
    good = dumps(base_bodies(model)["/api/generate"])
    h = f"Host: {host}\r\nConnection: close\r\n"
    post = b"POST /api/generate HTTP/1.1\r\n" + h.encode()  # request line and headers, more to add
    raw = [
        b"GARBAGE\r\n\r\n",
        post + b"Content-Length: abc\r\n\r\n{}",
        post + b"Content-Length: -5\r\n\r\n{}",
        post + b"Content-Length: 99999999999999999999999\r\n\r\n{}",
        post + b"Content-Length: 2\r\nContent-Length: 5\r\n\r\n{}",
        post + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        post + b"Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        post + b"Transfer-Encoding: gzip\r\n\r\n{}",
        post + b"NoColonHeader\r\nContent-Length: 2\r\n\r\n{}",
        post + b"Bad Header Name: x\r\nContent-Length: 2\r\n\r\n{}",
        post + b"X-Null: a\x00b\r\nContent-Length: 2\r\n\r\n{}",
        b"POST /api/gen\x00erate HTTP/1.1\r\n" + h.encode() + b"Content-Length: 2\r\n\r\n{}",
        b"POST  /api/generate  HTTP/1.1\r\n" + h.encode() + b"Content-Length: 2\r\n\r\n{}",
        b"POST /api/generate HTTP/1.1\n" + h.replace("\r\n", "\n").encode() + b"Content-Length: 2\n\n{}",
        post + b"X-Huge: " + b"h" * (200 * 1024) + b"\r\nContent-Length: 2\r\n\r\n{}",
        post + b"".join(b"X-Many-%d: v\r\n" % i for i in range(20000)) + b"Content-Length: 2\r\n\r\n{}",
        b"POST /" + b"a" * (100 * 1024) + b" HTTP/1.1\r\n" + h.encode() + b"Content-Length: 2\r\n\r\n{}",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(32)) * 4,  # a TLS ClientHello
    ]
    cases = [Case("broken HTTP", "RAW", "", raw=r) for r in raw]
    # Wrong methods and paths: 404 / 405.
    for method, path in [("GET", "/api/generate"), ("PUT", "/api/chat"), ("DELETE", "/api/generate"),
                         ("PATCH", "/v1/chat/completions"), ("GET", "/v1/completions"), ("POST", "/api/nope"),
                         ("POST", "/v1/nope"), ("GET", "/api/gen%ffrate"), ("GET", "/v1/models/no-such-model:1b"),
                         ("GET", "/api/../../etc/passwd"), ("GET", "/%2e%2e/%2e%2e/etc/passwd"),
                         ("POST", "/api/generate/extra"), ("TRACE", "/"), ("BREW", "/api/tags")]:
        cases.append(Case("broken HTTP", method, path, good if method != "GET" else b""))
    # Content types that are not JSON, with a body that is not JSON either.
    for ctype in ("text/plain", "multipart/form-data; boundary=x", "application/xml", "application/x-www-form-urlencoded"):
        cases.append(Case("broken HTTP", "POST", "/api/chat", b"model=smollm2&prompt=hi", [("Content-Type", ctype)]))
    # Chunked bodies that are well framed but carry broken JSON.
    for body in (good[:-1], b"{}", b"null", b"[]", b'"str"', b"42"):
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7]) for i in range(0, len(body), 7))
        cases.append(Case("broken HTTP", "POST", "/api/generate", chunks + b"0\r\n\r\n",
                          [("Transfer-Encoding", "chunked")]))
    # JSON values that are not objects.
    for path in base_bodies(model):
        for body in (b"null", b"[]", b"42", b'"text"', b"true", b"{}", b"[{}]"):
            cases.append(Case("broken HTTP", "POST", path, body))
    return cases


def slow_clients(model: str, rng: random.Random) -> list[Case]:
    """Clients that trickle a broken request over a few seconds, or wait before sending it."""
    cases = []
    bodies = base_bodies(model)
    for i in range(24):
        path = list(bodies)[i % len(bodies)]
        text = dumps(bodies[path])
        body = text[: rng.randrange(1, len(text))]  # truncated: must be a 400 once it has all arrived
        if i % 3 == 0:
            cases.append(Case("slow client", "POST", path, body, trickle=0.1, pieces=30))
        elif i % 3 == 1:
            cases.append(Case("slow client", "POST", path, body, trickle=1.0, pieces=4))
        else:
            cases.append(Case("slow client", "POST", path, body, pause_before=3.0))
    return cases


# --- sending ------------------------------------------------------------------------------------------

@dataclass
class Result:
    case: Case
    status: int | None
    detail: str
    seconds: float


STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3})")


def send(case: Case, address: tuple[str, int], host: str, timeout: float) -> Result:
    """Writes the case and reads the answer's head. Reads while writing: a server may answer (413, 404)
    and stop reading a big body, and a client that only writes would then wait forever."""
    start = time.monotonic()
    data = case.wire(host)
    received = b""
    deadline = start + timeout
    try:
        with socket.create_connection(address, timeout=timeout) as sock:
            if case.pause_before:
                time.sleep(case.pause_before)
            if case.pieces > 1:
                step = max(1, -(-len(data) // case.pieces))
                for i in range(0, len(data), step):
                    sock.sendall(data[i:i + step])
                    time.sleep(case.trickle)
                data = b""
            sock.setblocking(False)
            sent = 0
            while b"\r\n\r\n" not in received and len(received) < 65536:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise socket.timeout
                want_write = [sock] if sent < len(data) else []
                readable, writable, _ = select.select([sock], want_write, [], min(left, 1.0))
                if readable:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    received += chunk
                elif writable:
                    try:
                        sent += sock.send(data[sent:sent + 262144])
                    except (BrokenPipeError, ConnectionResetError):
                        sent = len(data)  # the server stopped reading; its answer may be waiting
                        if not received:
                            sock.setblocking(True)
                            sock.settimeout(min(5.0, max(0.1, deadline - time.monotonic())))
                            try:
                                received += sock.recv(65536)
                            except OSError:
                                pass
                            break
    except (ConnectionResetError, BrokenPipeError) as e:
        if not received:
            return Result(case, None, f"connection reset without an answer ({e.__class__.__name__})",
                          time.monotonic() - start)
    except socket.timeout:
        return Result(case, None, f"no answer within {timeout:.0f} s", time.monotonic() - start)
    except OSError as e:
        return Result(case, None, f"socket error: {e}", time.monotonic() - start)
    m = STATUS.match(received)
    if not m:
        what = "connection closed without an answer" if not received else f"not an HTTP response: {received[:120]!r}"
        return Result(case, None, what, time.monotonic() - start)
    return Result(case, int(m.group(1)), received[:400].decode("latin-1"), time.monotonic() - start)


def http_json(address: tuple[str, int], host: str, method: str, path: str, body: dict | None, timeout: float):
    case = Case("check", method, path, dumps(body) if body is not None else b"")
    data = case.wire(host)
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, payload = received.partition(b"\r\n\r\n")
    m = STATUS.match(head)
    if b"transfer-encoding: chunked" in head.lower():
        decoded, rest = b"", payload
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            decoded, rest = decoded + rest[:size], rest[size + 2:]
        payload = decoded
    return (int(m.group(1)) if m else None), payload


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:11434 (loopback only)")
    parser.add_argument("--model", default="smollm2:135m", help="a model in the server's store")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for each answer")
    parser.add_argument("--list", action="store_true", help="print the cases and exit")
    args = parser.parse_args()

    url = urllib.parse.urlparse(args.url)
    address = (url.hostname or "127.0.0.1", url.port or 11434)
    resolved = socket.getaddrinfo(address[0], address[1], type=socket.SOCK_STREAM)[0][4][0]
    if not ipaddress.ip_address(resolved).is_loopback:
        print(f"refusing to send hostile traffic to {resolved}: loopback addresses only", file=sys.stderr)
        return 2
    host = f"{address[0]}:{address[1]}"

    rng = random.Random(args.seed)
    cases = (truncated_json(args.model, rng) + wrong_types(args.model, rng) + huge_numbers(args.model, rng)
             + unknown_fields(args.model, rng) + invalid_utf8(args.model, rng) + big_bodies(args.model, rng)
             + broken_http(args.model, rng, host) + slow_clients(args.model, rng))
    if args.list:
        for case in cases:
            print(f"[{case.category}] {case.describe(160)}")
        print(f"{len(cases)} cases")
        return 0

    status, _ = http_json(address, host, "GET", "/", None, args.timeout)
    if status != 200:
        print(f"the server at {args.url} does not answer GET / with 200 (got {status})", file=sys.stderr)
        return 2

    # Slow clients run alongside everything else: the fast requests must not wait for them.
    slow = [c for c in cases if c.category == "slow client"]
    fast = [c for c in cases if c.category != "slow client"]
    results: list[Result] = []
    start = time.monotonic()
    alive_failures: list[str] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.workers + len(slow)) as pool:
        futures = [pool.submit(send, c, address, host, args.timeout) for c in slow]
        # While the slow clients hold their connections, a normal request is answered promptly.
        time.sleep(0.5)
        t0 = time.monotonic()
        status, _ = http_json(address, host, "GET", "/api/version", None, 10)
        if status != 200 or time.monotonic() - t0 > 5:
            alive_failures.append(f"GET /api/version during slow clients: {status} after {time.monotonic() - t0:.1f} s")
        # In batches, checking every 200 requests that the server still answers.
        batch, next_check = [], 200
        for i, case in enumerate(fast):
            batch.append(pool.submit(send, case, address, host, args.timeout))
            if len(batch) >= args.workers * 4 or i == len(fast) - 1:
                results.extend(f.result() for f in batch)
                batch = []
                if len(results) >= next_check:
                    next_check += 200
                    s, _ = http_json(address, host, "GET", "/", None, 10)
                    if s != 200:
                        alive_failures.append(f"GET / after {len(results)} requests: {s}")
        for f in futures:
            results.append(f.result())
    elapsed = time.monotonic() - start

    failures = [r for r in results if r.status is None or not 400 <= r.status < 500]

    # The server is still up, not busy with stray work, and serves normal requests.
    try:
        s, _ = http_json(address, host, "GET", "/", None, 10)
        if s != 200:
            alive_failures.append(f"GET / at the end: {s}")
        s, payload = http_json(address, host, "POST", "/api/generate",
                               {"model": args.model, "prompt": "Hi", "stream": False, "options": {"num_predict": 2}},
                               args.timeout)
        if s != 200 or json.loads(payload).get("eval_count") != 2:
            alive_failures.append(f"normal /api/generate afterwards: {s} {payload[:300]!r}")
        s, payload = http_json(address, host, "POST", "/v1/chat/completions",
                               {"model": args.model, "max_tokens": 2, "messages": [{"role": "user", "content": "Hi"}]},
                               args.timeout)
        if s != 200 or json.loads(payload)["usage"]["completion_tokens"] != 2:
            alive_failures.append(f"normal /v1/chat/completions afterwards: {s} {payload[:300]!r}")
        deadline = time.monotonic() + 5
        while True:
            s, payload = http_json(address, host, "GET", "/metrics", None, 10)
            running = [float(v) for v in re.findall(rb"^swiftlm_requests_running(?:\{[^}]*\})?\s+(\S+)", payload, re.M)]
            if (running and sum(running) == 0) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if not running or sum(running) != 0:
            alive_failures.append(f"/metrics running requests 5 s after the last request: {running}")
    except (OSError, ValueError, KeyError) as e:
        alive_failures.append(f"the server does not answer normal requests afterwards: {e!r}")

    by_category: dict[str, list[int]] = {}
    for r in results:
        ok = r.status is not None and 400 <= r.status < 500
        counts = by_category.setdefault(r.case.category, [0, 0])
        counts[0 if ok else 1] += 1
    for category, (ok, bad) in by_category.items():
        print(f"  {category:16} {ok + bad:5} sent, {bad:4} not 4xx")
    for r in failures[:60]:
        got = f"status {r.status}" if r.status is not None else r.detail
        print(f"FAIL [{r.case.category}] {got} after {r.seconds:.1f} s\n    {r.case.describe()}")
        if r.status is not None:
            print("    answer: " + r.detail[:300].replace("\r\n", " | "))
    if len(failures) > 60:
        print(f"... and {len(failures) - 60} more failures")
    for line in alive_failures:
        print(f"FAIL {line}")
    print(f"bad requests: {len(results)} sent in {elapsed:.0f} s, {len(results) - len(failures)} answered 4xx, "
          f"{len(failures)} not; {len(alive_failures)} liveness failures")
    return 0 if not failures and not alive_failures and len(results) >= 1000 else 1


if __name__ == "__main__":
    sys.exit(main())
