"""Shared fixtures of the compatibility suite: the server under test, the official clients, the CLI.

The suite talks to a real `swiftlm serve` over loopback with the real catalog models. scripts/test-server
starts that server and passes its address in SWIFTLM_COMPAT_URL; run on its own (`pytest Tests/Compat`),
this file starts one itself. Tests that need a server of their own (API key, extra CORS origins, SIGTERM)
start it through the `spawn_server` fixture.

Models come from a throw-away store (SWIFTLM_MODELS) whose blobs are symlinks to the real store's, so
copy/delete tests never touch the user's models and no GGUF is copied.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import time

import httpx
import ollama
import openai
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]

SMOL = "smollm2:135m"  # llama, byte-level BPE, has a chat template: the workhorse
QWEN = "qwen2.5-coder:0.5b"  # qwen2, chat template: the chat model
GEMMA = "gemma3:270m"  # gemma3, SentencePiece
CATALOG = [SMOL, QWEN, GEMMA]

# Long enough for a cold model load on a loaded 2-core machine, short enough to fail a hung request.
TIMEOUT = 180.0


def swiftlm_binary() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("SWIFTLM_BIN") or REPO / ".build" / "release" / "swiftlm")
    if not path.is_file():
        pytest.fail(f"{path} does not exist: build it with `swift build -c release` (scripts/test-server does)")
    return path


def source_store() -> pathlib.Path:
    """The real store whose models the suite uses (read only)."""
    custom = os.environ.get("SWIFTLM_SOURCE_MODELS") or os.environ.get("SWIFTLM_MODELS")
    return pathlib.Path(custom).expanduser() if custom else pathlib.Path.home() / ".swiftlm" / "models"


def make_scratch_store(source: pathlib.Path, target: pathlib.Path) -> None:
    """A store at `target` with `source`'s manifests copied and its blobs symlinked.

    Fails (never skips) when a catalog model is missing: the suite is meaningless without them.
    """
    missing = [m for m in CATALOG if not (source / "manifests" / f"{m}.json").is_file()]
    if missing:
        pytest.fail(f"catalog models missing from {source}: {', '.join(missing)}; run scripts/pull-test-models")
    for sub in ("blobs", "manifests", "partial"):
        (target / sub).mkdir(parents=True, exist_ok=True)
    for blob in (source / "blobs").iterdir():
        link = target / "blobs" / blob.name
        if not link.exists():
            link.symlink_to(blob.resolve())
    for manifest in (source / "manifests").glob("*.json"):
        shutil.copyfile(manifest, target / "manifests" / manifest.name)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """One `swiftlm serve` child process on a free loopback port, its output in a log file."""

    def __init__(self, store: pathlib.Path, log_dir: pathlib.Path, args: list[str] | None = None,
                 env: dict[str, str] | None = None, name: str = "server",
                 env_address: dict[str, str] | None = None):
        """`env_address`: instead of --host/--port, these variables carry the address, their "{addr}"
        replaced by 127.0.0.1:<port> (to test SWIFTLM_HOST / OLLAMA_HOST)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}-{self.port}.log"
        full_env = dict(os.environ)
        for key in ("SWIFTLM_HOST", "OLLAMA_HOST", "SWIFTLM_API_KEY", "OLLAMA_ORIGINS", "SWIFTLM_ORIGINS"):
            full_env.pop(key, None)
        full_env["SWIFTLM_MODELS"] = str(store)
        full_env.update(env or {})
        address = f"127.0.0.1:{self.port}"
        if env_address is None:
            bind = ["--host", "127.0.0.1", "--port", str(self.port)]
        else:
            bind = []
            full_env.update({key: value.format(addr=address) for key, value in env_address.items()})
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(swiftlm_binary()), "serve", *bind, *(args or [])],
            stdout=self._log, stderr=subprocess.STDOUT, env=full_env, stdin=subprocess.DEVNULL,
        )

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"swiftlm serve exited with {self.proc.returncode} before answering:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"swiftlm serve did not answer GET / within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


@pytest.fixture(scope="session")
def scratch_store(tmp_path_factory) -> pathlib.Path:
    given = os.environ.get("SWIFTLM_COMPAT_STORE")
    if given:
        return pathlib.Path(given)
    store = tmp_path_factory.mktemp("store")
    make_scratch_store(source_store(), store)
    return store


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory) -> pathlib.Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def base_url(scratch_store, log_dir):
    """The main server: SWIFTLM_COMPAT_URL (started by scripts/test-server), else one of our own."""
    given = os.environ.get("SWIFTLM_COMPAT_URL")
    if given:
        yield given.rstrip("/")
        return
    # One slot, as scripts/test-server starts it: replies then equal `swiftlm run`'s bit for bit.
    server = ServerProcess(scratch_store, log_dir, ["--parallel", "1"], name="main")
    server.wait_ready()
    yield server.url
    server.stop()


@pytest.fixture
def spawn_server(scratch_store, log_dir):
    """Starts extra servers (own flags / environment) and stops whichever are still running at the end."""
    started: list[ServerProcess] = []

    def spawn(args: list[str] | None = None, env: dict[str, str] | None = None, name: str = "extra",
              env_address: dict[str, str] | None = None) -> ServerProcess:
        server = ServerProcess(scratch_store, log_dir, args, env, name, env_address)
        started.append(server)
        server.wait_ready()
        return server

    yield spawn
    for server in started:
        server.stop()


@pytest.fixture
def http(base_url):
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as client:
        yield client


@pytest.fixture
def ollama_client(base_url):
    return ollama.Client(host=base_url, timeout=TIMEOUT)


@pytest.fixture
def openai_client(base_url):
    # max_retries=0: a retried request would hide the server's first answer.
    return openai.OpenAI(base_url=base_url + "/v1", api_key="swiftlm", timeout=TIMEOUT, max_retries=0)


_cli_cache: dict[tuple, str] = {}


@pytest.fixture(scope="session")
def cli_run(scratch_store):
    """`swiftlm run MODEL PROMPT ARGS...` → its stdout without the newline the CLI ends the reply with."""

    def run(model: str, prompt: str, *args: str) -> str:
        key = (model, prompt, args)
        if key not in _cli_cache:
            env = dict(os.environ, SWIFTLM_MODELS=str(scratch_store))
            done = subprocess.run([str(swiftlm_binary()), "run", model, prompt, *args], capture_output=True,
                                  env=env, stdin=subprocess.DEVNULL, timeout=TIMEOUT)
            assert done.returncode == 0, f"swiftlm run failed ({done.returncode}): {done.stderr.decode(errors='replace')}"
            out = done.stdout.decode()
            _cli_cache[key] = out[:-1] if out.endswith("\n") else out
        return _cli_cache[key]

    return run


def metric_values(text: str, name_pattern: str) -> dict[str, float]:
    """Samples of the Prometheus text exposition whose metric name matches `name_pattern` (a regex)."""
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m and re.search(name_pattern, m.group(1)):
            values[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return values


def running_requests(base_url: str) -> float:
    """The running-requests gauge from /metrics (swiftlm_requests_running)."""
    r = httpx.get(base_url + "/metrics", timeout=10)
    assert r.status_code == 200, r.text
    values = metric_values(r.text, r"^swiftlm_requests_running$")
    assert values, f"/metrics has no swiftlm_requests_running gauge:\n{r.text[:2000]}"
    return sum(values.values())


def ndjson_lines(response: httpx.Response) -> list[dict]:
    """Parses a whole NDJSON body, insisting on one object a line and no blank lines."""
    text = response.text
    assert text.endswith("\n"), f"NDJSON body does not end with a newline: {text[-200:]!r}"
    lines = text[:-1].split("\n")
    assert all(line.strip() for line in lines), f"blank line in NDJSON stream: {text[:500]!r}"
    return [json.loads(line) for line in lines]


def unload_everything(client: ollama.Client) -> None:
    """Unloads every loaded model (keep_alive 0) so a test starts from an empty /api/ps."""
    for model in client.ps().models:
        client.generate(model=model.model, prompt="", keep_alive=0)


def pytest_collection_modifyitems(session, config, items):
    """The hostile-request flood runs last, so a server it breaks fails only its own test."""
    items.sort(key=lambda item: item.module.__name__ == "test_bad_requests")
