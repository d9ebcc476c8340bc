"""The sandbox interface: what a probe asks for and what it gets back."""

from __future__ import annotations

import weakref
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from proofwork.sandbox.process import SandboxProcess

# Where the workspace appears inside the sandbox; probes build argv with this path.
WORKSPACE = "/workspace"

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Limits for one sandboxed command. `wall_s` is the phase deadline."""

    wall_s: float = 120.0
    memory_bytes: int = 2048 * MiB
    pids: int = 256
    cpus: float = 1.0
    file_size_bytes: int = 256 * MiB
    open_files: int = 1024
    # Output kept per stream; more than `output_kill_bytes` in all stops the command.
    output_bytes: int = 1 * MiB
    output_kill_bytes: int = 64 * MiB
    tmp_bytes: int = 256 * MiB
    # Cores the command may run on ("0", "0-1"); None leaves it to the scheduler.
    cpuset: str | None = None

    def with_wall(self, seconds: float) -> Limits:
        """The same limits with another deadline."""
        return replace(self, wall_s=seconds)


@dataclass(frozen=True)
class Mount:
    """A host path made visible (read-only unless `writable`) inside the sandbox."""

    source: Path
    target: str
    writable: bool = False


@dataclass
class ExecResult:
    argv: list[str]
    exit_code: int
    stdout: bytes
    stderr: bytes
    wall_s: float
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    output_bytes: int = 0
    # Which limits stopped the command: "timeout", "memory", "output", "pids".
    stopped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the command exited 0 and no limit stopped it."""
        return self.exit_code == 0 and not self.stopped

    @property
    def timed_out(self) -> bool:
        """True when the phase deadline stopped the command."""
        return "timeout" in self.stopped

    def text(self, stream: str = "stdout") -> str:
        """A stream decoded leniently (candidate output is not trusted to be UTF-8)."""
        raw = self.stdout if stream == "stdout" else self.stderr
        return raw.decode("utf-8", errors="replace")


class SandboxError(Exception):
    """The sandbox could not be set up or started (not: the command inside it failed)."""


class Sandbox(ABC):
    """An isolation backend. Backends implement `start` and `describe`; a one-shot `run` is a
    started command, awaited. Backends hand every started command to `_started`, so `abort`
    can stop them all."""

    name: str

    def abort(self) -> None:
        """Kill every command running in this sandbox now (their whole process trees and
        groups) and refuse new ones: the run was cancelled. Safe from any thread."""
        self.__dict__["_aborted"] = True
        for process in list(self._live()):
            process.execution.stop("cancelled")

    @property
    def aborted(self) -> bool:
        """Whether `abort` was called."""
        return bool(self.__dict__.get("_aborted"))

    def _refuse_if_aborted(self) -> None:
        if self.aborted:
            raise SandboxError("the run was cancelled: no more commands start in its sandbox")

    def _live(self) -> weakref.WeakSet[SandboxProcess]:
        live: weakref.WeakSet[SandboxProcess] = self.__dict__.setdefault(
            "_live_processes", weakref.WeakSet()
        )
        return live

    def _started(self, process: SandboxProcess) -> SandboxProcess:
        """Track a started command (an abort racing its start still kills it)."""
        self._live().add(process)
        if self.aborted:
            process.execution.stop("cancelled")
        return process

    @abstractmethod
    def describe(self) -> dict[str, object]:
        """Which isolation and which limits this backend really enforces on this host."""

    @abstractmethod
    def start(
        self,
        argv: list[str],
        *,
        limits: Limits,
        env: dict[str, str] | None = None,
        cwd: str = WORKSPACE,
        network: bool = False,
        mounts: tuple[Mount, ...] = (),
        stdin: bytes | None = None,
    ) -> SandboxProcess:
        """Start argv inside the sandbox and return a handle to signal, stop or kill it."""

    def run(
        self,
        argv: list[str],
        *,
        limits: Limits,
        env: dict[str, str] | None = None,
        cwd: str = WORKSPACE,
        network: bool = False,
        mounts: tuple[Mount, ...] = (),
        stdin: bytes | None = None,
    ) -> ExecResult:
        """Run argv, wait for it or its deadline, then kill whatever it left behind."""
        return self.start(
            argv, limits=limits, env=env, cwd=cwd, network=network, mounts=mounts, stdin=stdin
        ).wait()
