"""The `none` backend: runs submission code directly on the host. Development only, unsafe.

Sandbox paths (/workspace, mount targets) are rewritten to the host paths they stand for, so
probes work unchanged; there is no isolation at all beyond the deadline and output caps.
"""

from __future__ import annotations

import os
from pathlib import Path

from proofwork.sandbox.base import WORKSPACE, Limits, Mount, Sandbox
from proofwork.sandbox.process import Execution, SandboxProcess, process_group


class UnsafeSandbox(Sandbox):
    name = "none"

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace

    def __enter__(self) -> UnsafeSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release."""

    def give(self, path: Path) -> None:
        """Nothing to hand over: commands run as the grader's own user."""

    def describe(self) -> dict[str, object]:
        """No isolation: say so plainly."""
        return {
            "backend": self.name,
            "warning": "UNSAFE: submission code ran on the host without isolation",
            "limits_enforced": {"wall_clock": "deadline", "output": "capped pipes"},
            "limits_not_enforced": ["memory", "pids", "cpu", "network", "filesystem"],
        }

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
        """Start argv on the host (sandbox paths translated); its process group is the command."""
        self._refuse_if_aborted()
        table = [(m.target, str(m.source)) for m in mounts if m.target != str(m.source)]
        table.append((WORKSPACE, str(self.workspace)))

        def host(text: str) -> str:
            for target, source in table:
                text = text.replace(target, source)
            return text

        full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(env or {})}
        execution = Execution(
            [host(a) for a in argv],
            limits=limits,
            display_argv=argv,
            kill_tree=lambda: None,
            stdin=stdin,
            env={k: host(v) for k, v in full_env.items()},
            cwd=host(cwd),
        )
        group = execution.proc.pid  # start_new_session: the leader's pid is the group id
        return self._started(SandboxProcess(execution, pids=lambda: process_group(group)))
