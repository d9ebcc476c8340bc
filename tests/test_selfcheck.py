"""The orders-api kit's `selfcheck.py`, run as a candidate runs it, on small services whose way
of ending on SIGTERM is known: it must judge the service, not the shell running its command."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from proofwork.challenges import discover
from proofwork.config import Settings

# Answers every request with an empty JSON object; what it does on SIGTERM is the parameter.
SERVICE = """
import os, signal, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    def _answer(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    do_GET = do_POST = _answer
    def log_message(self, *args):
        pass

def slow_exit(*_):
    time.sleep(60)  # an in-flight payment call that never returns
    sys.exit(0)

ON_TERM = {"exits": signal.SIG_DFL, "ignores": signal.SIG_IGN, "hangs": slow_exit}
signal.signal(signal.SIGTERM, ON_TERM[sys.argv[1]])
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


def run_self_check(settings: Settings, repo: Path, on_term: str) -> tuple[str, float]:
    (repo / "service.py").write_text(SERVICE)
    # No `exec`: the start command runs under /bin/sh, as most candidates write it.
    (repo / "proofwork.toml").write_text(f'[service]\nstart = "python service.py {on_term}"\n')
    selfcheck = discover(settings.challenges_path).get("orders-api").path("selfcheck.py")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(selfcheck)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stdout + done.stderr, time.monotonic() - started


@pytest.mark.slow
@pytest.mark.parametrize("on_term", ["ignores", "hangs"])
def test_a_service_that_does_not_end_on_sigterm_fails_the_self_check(
    settings: Settings, workdir: Path, on_term: str
) -> None:
    output, seconds = run_self_check(settings, workdir, on_term)
    assert "FAIL  Exits cleanly on SIGTERM  (still running 10s after SIGTERM)" in output, output
    assert seconds >= 10  # it waited the grace period for the service, not for its shell
    assert not _processes_running(workdir / "service.py")


@pytest.mark.slow
def test_a_service_that_ends_on_sigterm_under_a_shell_passes_that_check(
    settings: Settings, workdir: Path
) -> None:
    output, seconds = run_self_check(settings, workdir, "exits")
    assert "PASS  Exits cleanly on SIGTERM" in output, output
    assert seconds < 10
    assert not _processes_running(workdir / "service.py")


def _processes_running(script: Path) -> list[int]:
    """Live processes running `script` from its folder (a service the self-check left behind)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rpartition(") ")[2].split()[0]
            here = (entry / "cwd").resolve()
        except OSError:
            continue
        if script.name.encode() in argv and here == script.parent and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found
