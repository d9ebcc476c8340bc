"""Isolation backends for running submission code: bwrap (default) and none (unsafe, dev only)."""

from __future__ import annotations

from pathlib import Path

from proofwork.sandbox.base import (
    WORKSPACE,
    ExecResult,
    Limits,
    Mount,
    Sandbox,
    SandboxError,
)
from proofwork.sandbox.bwrap import BwrapSandbox
from proofwork.sandbox.unsafe import UnsafeSandbox

__all__ = [
    "WORKSPACE",
    "BwrapSandbox",
    "ExecResult",
    "Limits",
    "Mount",
    "Sandbox",
    "SandboxError",
    "UnsafeSandbox",
    "open_sandbox",
]


def open_sandbox(
    backend: str, workspace: Path, state_dir: Path, *, uid_base: int = 61000
) -> BwrapSandbox | UnsafeSandbox:
    """The named backend for one workspace; close it (or use `with`) when the run ends."""
    if backend == "bwrap":
        return BwrapSandbox(workspace, state_dir, uid_base=uid_base)
    if backend == "none":
        return UnsafeSandbox(workspace)
    raise SandboxError(f"unknown sandbox backend {backend!r}: use 'bwrap' or 'none'")
