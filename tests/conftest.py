"""Shared fixtures: real settings, real sandboxes, folders the sandbox uid can reach."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from proofwork import runtime
from proofwork.config import Settings, load_settings
from proofwork.probes.base import Budget, ProbeContext
from proofwork.sandbox import BwrapSandbox

# The store's fixtures (SQLite and a real PostgreSQL server) live beside this file.
pytest_plugins = ["databases"]

ContextFactory = Callable[[dict[str, str]], ProbeContext]

SANDBOX_UIDS = range(61000, 62000)


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The settings a user gets by default (runtimes are built once per host and reused)."""
    return load_settings()


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A fresh folder the unprivileged sandbox uid can traverse (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="pw-test-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def sandbox_factory(workdir: Path) -> Iterator[Callable[..., BwrapSandbox]]:
    """Makes real bwrap sandboxes over fresh workspaces; closes them afterwards."""
    made: list[BwrapSandbox] = []

    def make(files: dict[str, str] | None = None) -> BwrapSandbox:
        root = workdir / f"run{len(made)}"
        workspace = root / "workspace"
        workspace.mkdir(parents=True)
        root.chmod(0o755)
        for name, text in (files or {}).items():
            (workspace / name).parent.mkdir(parents=True, exist_ok=True)
            (workspace / name).write_text(text)
        sandbox = BwrapSandbox(workspace, root / "sandbox")
        made.append(sandbox)
        return sandbox

    yield make
    for sandbox in made:
        sandbox.close()


@pytest.fixture
def make_context(
    sandbox_factory: Callable[..., BwrapSandbox], settings: Settings
) -> ContextFactory:
    """Makes a ProbeContext over a real bwrap sandbox, the real runtimes and the given files."""

    def make(files: dict[str, str]) -> ProbeContext:
        sandbox = sandbox_factory(files)
        outdir = sandbox.workspace.parent / "out"
        outdir.mkdir()
        env = runtime.environment(settings, sandbox.workspace)
        return ProbeContext(sandbox.workspace, sandbox, env, settings, Budget(120), outdir)

    return make


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


@pytest.fixture
def unused_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
