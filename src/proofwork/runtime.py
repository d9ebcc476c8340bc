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

from dataclasses import dataclass, field

from proofwork.sandbox.base import WORKSPACE, Mount

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
            "HOME": "/tmp",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PYTHONHASHSEED": "0",
            "PYTHONUNBUFFERED": "1",
            "PIP_NO_INPUT": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            **self.extra_env,
        }
