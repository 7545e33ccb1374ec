"""Shared fixtures of the explain page's browser tests.

A real headless Chromium (Debian's `chromium`, driven by Playwright) opens the page that
`swiftlm explain --html` writes and the one `swiftlm serve` answers at /explain, with the real catalog
models. scripts/test-explain installs the browser and the Python packages, builds swiftlm and runs this.
Nothing here skips: a missing browser, font or model fails the run.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest
from playwright.sync_api import sync_playwright

REPO = pathlib.Path(__file__).resolve().parents[2]
SMOL = "smollm2:135m"
QWEN = "qwen2.5-coder:0.5b"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def swiftlm_binary() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("SWIFTLM_BIN") or REPO / ".build" / "release" / "swiftlm")
    if not path.is_file():
        pytest.fail(f"{path} does not exist: build it with `swift build -c release` (scripts/test-explain does)")
    return path


def store() -> pathlib.Path:
    custom = os.environ.get("SWIFTLM_MODELS")
    return pathlib.Path(custom).expanduser() if custom else pathlib.Path.home() / ".swiftlm" / "models"


def require_models(*names: str) -> None:
    missing = [m for m in names if not (store() / "manifests" / f"{m}.json").is_file()]
    if missing:
        pytest.fail(f"models missing from {store()}: {', '.join(missing)}; run scripts/pull-test-models")


@pytest.fixture(scope="session")
def artifacts() -> pathlib.Path:
    """Where screenshots go: $SWIFTLM_EXPLAIN_ARTIFACTS, else .build/explain-artifacts (CI uploads it)."""
    path = pathlib.Path(os.environ.get("SWIFTLM_EXPLAIN_ARTIFACTS") or REPO / ".build" / "explain-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser():
    executable = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not pathlib.Path(executable).is_file():
        pytest.fail(f"no chromium at {executable}: install Debian's `chromium` (scripts/test-explain does)")
    with sync_playwright() as p:
        # --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start.
        b = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield b
        b.close()


class Recorder:
    """Console messages, page errors and every request a page makes."""

    def __init__(self, page):
        self.console: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))

    def assert_clean(self):
        bad = [m for m in self.console if m.startswith(("error", "warning"))]
        assert not bad and not self.errors, f"console: {bad}, page errors: {self.errors}"


def platform_fonts(page, selector: str) -> list[dict]:
    """The fonts Chromium really drew `selector`'s text with (DevTools' CSS.getPlatformFontsForNode):
    a missing glyph shows up as a fallback font, where a screenshot would show boxes."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return fonts


def run_explain(args: list[str], html: pathlib.Path) -> dict:
    """Runs `swiftlm explain ... --json --html FILE` once: the report and the page from the same run."""
    result = subprocess.run([str(swiftlm_binary()), "explain", *args, "--json", "--html", str(html)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """A `swiftlm serve` on a free loopback port over the model store; yields its base URL."""
    require_models(SMOL)
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "server.log"
    env = {k: v for k, v in os.environ.items()
           if k not in ("SWIFTLM_HOST", "OLLAMA_HOST", "SWIFTLM_API_KEY", "OLLAMA_ORIGINS", "SWIFTLM_ORIGINS")}
    with open(log, "w") as out:
        proc = subprocess.Popen([str(swiftlm_binary()), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            pytest.fail(f"swiftlm serve exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"swiftlm serve did not come up: {log.read_text()[-3000:]}")
        time.sleep(0.1)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def post(url: str, body: dict) -> list[dict]:
    """POSTs JSON; returns the objects of an NDJSON (or single JSON) reply."""
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=300) as r:
        return [json.loads(line) for line in r.read().decode().splitlines() if line.strip()]
