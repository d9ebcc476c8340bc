"""Helpers that tests import: a loopback listener and the sandbox's leftovers.

They live here, not in conftest.py, because several folders have a conftest.py of their own and
`from conftest import …` would find whichever of them was imported first.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from proofwork.probes.base import ProbeContext

# Debian's chromium as the browser tests drive it (headless, nothing reaching the network).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

ContextFactory = Callable[[dict[str, str]], ProbeContext]

SANDBOX_UIDS = range(61000, 62000)


class LoopbackListener:
    """A server on the host's loopback that counts every connection it accepts.

    Proves network isolation the only allowed way: sandboxed code aims at a port the test
    itself listens on, and the test shows nothing arrived.
    """

    def __init__(self) -> None:
        self.accepted: list[object] = []
        self._server = socket.socket()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept)

    def __enter__(self) -> LoopbackListener:
        self._server.bind(("127.0.0.1", 0))
        self._server.listen()
        self._server.settimeout(0.1)
        self.port = self._server.getsockname()[1]
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._server.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                self.accepted.append(self._server.accept())
            except TimeoutError:
                continue


def _live_sandbox_pids(uids: range) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = dict(
                line.split(":", 1) for line in (entry / "status").read_text().splitlines()
            )
        except (OSError, ValueError):
            continue
        # A killed process stays a zombie until the host's init reaps it; it runs nothing.
        if int(fields["Uid"].split()[0]) in uids and fields["State"].split()[0] not in "ZX":
            found.append(int(entry.name))
    return found


def sandbox_processes(uid: int | None = None, grace_s: float = 2.0) -> list[int]:
    """Processes still running as a sandbox uid (after a short grace for the kernel to act)."""
    uids = SANDBOX_UIDS if uid is None else range(uid, uid + 1)
    deadline = time.monotonic() + grace_s
    while (found := _live_sandbox_pids(uids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def leftover_cgroups(uid: int | None = None) -> list[str]:
    """Per-command cgroups that were not removed (of one sandbox uid: others may be running)."""
    found = []
    for controller in ("memory", "pids", "cpu", "freezer", "cpuset"):
        parent = Path("/sys/fs/cgroup", controller, "proofwork")
        if parent.is_dir():
            found += [
                str(p)
                for p in parent.iterdir()
                if p.is_dir() and (uid is None or p.name.startswith(f"{uid}-"))
            ]
    return found
