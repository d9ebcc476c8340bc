"""Code snippets for findings, read from the workspace without trusting it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from proofwork.evidence import Evidence
from proofwork.sandbox.process import read_capped

CONTEXT_LINES = 2
FILE_LIMIT = 1024 * 1024
SNIPPETS_MAX = 500  # findings past this keep their place but get no snippet


def attach_snippets(evidence: list[Evidence], workspace: Path) -> None:
    """Give each finding that names a path and line (and has no snippet) the code around it."""
    cache: dict[str, list[str] | None] = {}
    budget = SNIPPETS_MAX
    for item in evidence:
        for index, finding in enumerate(item.findings):
            if budget <= 0:
                return
            if finding.snippet or not finding.path or not finding.line:
                continue
            if finding.path not in cache:
                cache[finding.path] = _lines(workspace, finding.path)
            snippet = _around(cache[finding.path], finding.line)
            if snippet:
                item.findings[index] = dataclasses.replace(finding, snippet=snippet)
                budget -= 1


def _lines(workspace: Path, relative: str) -> list[str] | None:
    # Only plain relative paths inside the workspace, and never through a link.
    parts = Path(relative).parts
    if Path(relative).is_absolute() or ".." in parts or not parts:
        return None
    current = workspace
    for part in parts[:-1]:
        current = current / part
        if current.is_symlink() or not current.is_dir():
            return None
    raw = read_capped(workspace / relative, FILE_LIMIT)
    if raw is None:
        return None
    return raw.decode("utf-8", errors="replace").splitlines()


def _around(lines: list[str] | None, line: int) -> str | None:
    if not lines or not 1 <= line <= len(lines):
        return None
    start, end = max(1, line - CONTEXT_LINES), min(len(lines), line + CONTEXT_LINES)
    width = len(str(end))
    return "\n".join(
        f"{'>' if n == line else ' '} {n:>{width}} | {lines[n - 1][:200]}"
        for n in range(start, end + 1)
    )
