"""The bad-request suite: scripts/bad-requests.py's 1,800+ malformed and hostile requests against the
running server. Every one must get a 4xx, the server must stay up, and normal requests must still work."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO, SMOL


@pytest.mark.timeout(900)
def test_every_bad_request_gets_a_4xx_and_the_server_stays_up(base_url):
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "bad-requests.py"), "--url", base_url,
                           "--model", SMOL], capture_output=True, text=True, timeout=880)
    print(done.stdout)
    assert done.returncode == 0, f"bad-requests.py failed:\n{done.stdout[-20000:]}\n{done.stderr[-3000:]}"
    assert "bad requests:" in done.stdout
