"""bench/load.py's protocol clients against a real server, briefly: a smoke test of the load bench.

    python -m pytest -q tests/test_load_smoke.py

Runs `python bench/load.py --clients 3 --seconds 8 --json` (a real `streamlit run`, three
clients speaking Streamlit's websocket protocol, one more pressing Train, two Chromium
students beside them) and reads its last line. Without Chromium the clients still run, with
no browser students (with CI=true a missing Chromium is a failure, as in tests/test_browser.py).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from browser import REPO, browser_missing

TIMEOUT = 180       # s; about 30 s on an idle machine: the server's start, two pages, 8 s of drawing


def test_three_protocol_clients_get_every_guess_and_every_guess_is_the_recognizers():
    browsers = 2
    reason = browser_missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the browser students too")
        browsers = 0
    done = subprocess.run([sys.executable, "bench/load.py", "--clients", "3", "--seconds", "8", "--json",
                           "--browsers", str(browsers)],
                          cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])

    assert out["clients"] == 3
    assert out["drawings"] >= 3, out                       # each client draws within its first 2 s
    assert out["guessed"] == out["drawings"], done.stdout[-3000:]
    assert out["correct"] == out["guessed"], done.stdout[-3000:]
    assert out["rejected"] == 0 and out["no_answer"] == 0, done.stdout[-3000:]
    assert out["p50_s"] <= out["p95_s"]
    assert out["server_cpu_ms_per_guess"] > 0 and out["rss_peak_mb"] > 0
    assert out["training"]["clicked_s"] is not None, out["training"]    # Train, pressed over the protocol
    assert out["browsers"]["drawings"] >= browsers, out["browsers"]
