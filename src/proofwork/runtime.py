"""Python environments that submission code runs on, mounted read-only into the sandbox.

Two venvs are built once per host from `Settings.runtime_python` (Debian's interpreter, which
lives under /usr so the unprivileged sandbox uid can read it):

- the *base* runtime: pytest, coverage, hypothesis: what a submission's tests run on;
- the *tools* runtime: ruff and bandit, mounted only for static probes so that their own
  dependencies never leak into a submission's imports.

A generic submission's declared dependencies are installed into a per-submission *layer*
(`deps/<hash>/site`), cached by the hash of what was requested, and put on PYTHONPATH.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from proofwork.sandbox.base import WORKSPACE, Mount

if TYPE_CHECKING:
    from proofwork.config import Settings

DEPS = "/deps"  # where the dependency layer appears inside the sandbox


@dataclass(frozen=True)
class Environment:
    """How to run Python inside the sandbox for one submission."""

    python: str  # interpreter path inside the sandbox (the base runtime's venv)
    tools_bin: str  # folder holding ruff and bandit inside the sandbox
    mounts: tuple[Mount, ...]  # base runtime and dependency layer, read-only
    tool_mounts: tuple[Mount, ...]  # the tools runtime, read-only; add for static probes
    source_roots: tuple[str, ...] = (WORKSPACE,)  # import roots inside the sandbox
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def bin_dir(self) -> str:
        """The base runtime's bin folder (pytest, coverage) inside the sandbox."""
        return self.python.rsplit("/", 1)[0]

    @property
    def env(self) -> dict[str, str]:
        """Environment variables for sandboxed Python: nothing of the host's own."""
        pythonpath = ":".join([*self.source_roots, DEPS])
        return {
            "PATH": f"{self.bin_dir}:{self.tools_bin}:/usr/local/bin:/usr/bin:/bin",
            "PYTHONPATH": pythonpath,
            "HOME": "/tmp",  # noqa: S108 - the sandbox's private tmpfs
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PYTHONHASHSEED": "0",
            "PYTHONUNBUFFERED": "1",
            "PIP_NO_INPUT": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            **self.extra_env,
        }


class RuntimeBuildError(Exception):
    """A runtime environment could not be built; the message carries pip's own words."""


RUNTIMES = ("base", "tools")


def requirements(name: str) -> list[str]:
    """The pinned requirement lines of a packaged runtime (comments dropped)."""
    text = files("proofwork.runtimes").joinpath(f"{name}.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


# Modules of ours that a runtime carries in its site-packages (the pytest plugin).
PLUGINS = {"base": ("proofwork_pytest.py", "proofwork_mutate.py", "proofwork_ledger.py")}


def _plugin_text(name: str) -> str:
    return files("proofwork.runtimes").joinpath(name).read_text()


# The tools that measure a submission: a project's own requirements on them (and on what they
# need to run) are set aside, and its other requirements resolve against these versions.
TOOLS = ("pytest", "coverage", "pytest-timeout")


def tool_pins(venv: Path) -> tuple[str, ...]:
    """`name==version` of the measuring tools and their dependencies in a runtime venv."""
    versions, requires = {}, {}
    for dist_info in venv.glob("lib/python3*/site-packages/*.dist-info"):
        metadata = (dist_info / "METADATA").read_text(encoding="utf-8", errors="replace")
        fields = [line.split(": ", 1) for line in metadata.split("\n\n", 1)[0].splitlines()]
        headers = [(k, v) for k, v in (f for f in fields if len(f) == 2)]
        name = normalise(next(v for k, v in headers if k == "Name"))
        versions[name] = next(v for k, v in headers if k == "Version")
        # Unconditional requirements only: markers name other platforms, old Pythons, extras.
        requires[name] = [
            normalise(re.split(r"[ ;<>=!~\[(]", v, maxsplit=1)[0])
            for k, v in headers
            if k == "Requires-Dist" and ";" not in v
        ]
    wanted, pending = set(), [normalise(t) for t in TOOLS]
    while pending:
        name = pending.pop()
        if name in versions and name not in wanted:
            wanted.add(name)
            pending += requires[name]
    return tuple(f"{name}=={versions[name]}" for name in sorted(wanted))


def runtime_dir(settings: Settings, name: str, extra: tuple[str, ...] = ()) -> Path:
    """Where a runtime lives: named by a hash of interpreter and contents, so changes rebuild."""
    python = settings.runtime_python
    plugins = [_plugin_text(p) for p in PLUGINS.get(name, ())]
    parts = [str(python), _python_version(python), *requirements(name), *extra, *plugins]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]
    return settings.runtimes_dir / f"{name}-{digest}"


@functools.cache
def _python_version(python: Path) -> str:
    if not python.exists():
        raise RuntimeBuildError(
            f"runtime interpreter {python} not found: install Debian's python3 and python3-venv "
            "(`make setup` does) or set PROOFWORK_RUNTIME_PYTHON"
        )
    out = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def ensure_runtime(
    settings: Settings,
    name: str,
    extra: tuple[str, ...] = (),
    log: Callable[[str], None] = lambda _: None,
) -> Path:
    """The runtime's venv, built once (under a lock, so parallel runs build it only once)."""
    target = runtime_dir(settings, name, extra)
    marker = target / ".proofwork-complete"
    if marker.exists():
        return target
    settings.runtimes_dir.mkdir(parents=True, exist_ok=True)
    _open_up(settings.home)
    with (settings.runtimes_dir / f".{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            log(f"building the {name} runtime in {target} (once per host)")
            _build(settings.runtime_python, target, [*requirements(name), *extra])
            _add_plugins(target, PLUGINS.get(name, ()))
            marker.write_text("ok\n")
    return target


def _open_up(path: Path) -> None:
    # The sandbox uid must traverse down to the runtimes; root's umask may be strict.
    for part in [path, *path.parents]:
        if part == Path("/"):
            break
        if part.exists() and part.stat().st_uid == os.geteuid():
            part.chmod(part.stat().st_mode | 0o755)


def _add_plugins(target: Path, names: tuple[str, ...]) -> None:
    site = next(target.glob("lib/python3*/site-packages"))
    for name in names:
        (site / name).write_text(_plugin_text(name))
        (site / name).chmod(0o644)


def _build(python: Path, target: Path, wanted: list[str]) -> None:
    if target.exists():
        shutil.rmtree(target)  # an earlier build died half-way
    steps = [
        [str(python), "-m", "venv", str(target)],
        [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", *wanted],
    ]
    for argv in steps:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            shutil.rmtree(target, ignore_errors=True)
            raise RuntimeBuildError(
                f"building runtime {target.name} failed: {' '.join(argv[:4])} …\n"
                f"{done.stderr.strip()[-2000:]}"
            )
    for root, dirs, names in os.walk(target):
        for name in dirs + names:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o444 | (0o111 if name in dirs else 0))


def environment(
    settings: Settings,
    workspace: Path,
    layer: Path | None = None,
    log: Callable[[str], None] = lambda _: None,
    extra: tuple[str, ...] = (),
) -> Environment:
    """The Environment for one workspace: base runtime (plus a pack's `extra` requirements),
    tools, and an optional dependency layer."""
    base = ensure_runtime(settings, "base", extra, log=log)
    tools = ensure_runtime(settings, "tools", log=log)
    mounts = [Mount(base, str(base))]
    if layer is not None:
        mounts.append(Mount(layer, DEPS))
    return Environment(
        python=str(base / "bin" / "python"),
        tools_bin=str(tools / "bin"),
        mounts=tuple(mounts),
        tool_mounts=(Mount(tools, str(tools)),),
        source_roots=source_roots(workspace),
    )


def installed(venv: Path) -> set[str]:
    """Normalised names of the distributions installed in a runtime venv."""
    names = set()
    for dist_info in venv.glob("lib/python3*/site-packages/*.dist-info"):
        # "pydantic_core-2.41.5.dist-info": the name is everything before the version.
        names.add(normalise(dist_info.name.removesuffix(".dist-info").rsplit("-", 1)[0]))
    return names


def normalise(name: str) -> str:
    """PEP 503 name normalisation (`Typing_Extensions` -> `typing-extensions`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def source_roots(workspace: Path) -> tuple[str, ...]:
    """Import roots inside the sandbox: `src/` first for src layouts, then the workspace."""
    roots = [WORKSPACE]
    src = workspace / "src"
    if src.is_dir() and not (src / "__init__.py").exists():
        roots.insert(0, f"{WORKSPACE}/src")
    return tuple(roots)
