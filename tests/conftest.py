"""Shared fixtures: real settings, real sandboxes, folders the sandbox uid can reach."""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sandboxing import ContextFactory

from proofwork import runtime
from proofwork.config import Settings, load_settings
from proofwork.probes.base import Budget, ProbeContext
from proofwork.sandbox import BwrapSandbox

# The store's fixtures (SQLite and a real PostgreSQL server) live beside this file.
pytest_plugins = ["databases"]

# Helpers tests import live in sandboxing.py: `from conftest import …` would find whichever
# conftest (tests/, tests/jobs/, …) was imported first under that module name.


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


@pytest.fixture
def unused_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
