"""Findings from the JSON that ruff and bandit print inside the sandbox.

Their output reaches us through size-capped pipes, so it may be cut short or be garbage; anything
that is not the documented shape raises ToolOutputError instead of yielding half a result.
"""

from __future__ import annotations

import json
import re
from typing import Any

from proofwork.analysis.secrets import redact
from proofwork.evidence import Evidence, Finding, Severity, Status
from proofwork.sandbox.base import WORKSPACE, ExecResult

RUFF_SYNTAX_ERROR = "invalid-syntax"  # ruff's code for a file it cannot parse

# Longest matching prefix wins. Broken code (undefined names, syntax) is high; likely bugs and
# error-handling mistakes are medium; dead code and readability are low.
RUFF_SEVERITY: dict[str, Severity] = {
    RUFF_SYNTAX_ERROR: Severity.HIGH,
    "E9": Severity.HIGH,
    "F821": Severity.HIGH,
    "F822": Severity.HIGH,
    "F823": Severity.HIGH,
    "F63": Severity.HIGH,
    "F7": Severity.HIGH,
    "PLE": Severity.HIGH,
    "F": Severity.MEDIUM,
    "F401": Severity.LOW,
    "F541": Severity.LOW,
    "F841": Severity.LOW,
    "B": Severity.MEDIUM,
    "BLE": Severity.MEDIUM,
    "ASYNC": Severity.MEDIUM,
    "DTZ": Severity.MEDIUM,
    "E722": Severity.MEDIUM,
    "W605": Severity.MEDIUM,
    "PLW": Severity.MEDIUM,
    "LOG": Severity.MEDIUM,
    "PIE": Severity.MEDIUM,
    "RET": Severity.MEDIUM,
    "RUF": Severity.MEDIUM,
    "RUF013": Severity.LOW,
    "RUF017": Severity.LOW,
    "SIM115": Severity.MEDIUM,
}

BANDIT_SEVERITY: dict[str, Severity] = {
    "HIGH": Severity.HIGH,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
}
_ONE_LOWER = {Severity.HIGH: Severity.MEDIUM, Severity.MEDIUM: Severity.LOW}
# Bandit's hard-coded password checks quote the password in their message.
_QUOTES_A_SECRET = frozenset({"B105", "B106", "B107"})
_QUOTED = re.compile(r"""(['"])(.*?)\1""")


class ToolOutputError(Exception):
    """A tool gave no usable output: it failed, was stopped, or printed something unparsable."""

    def __init__(self, tool: str, problem: str, *, timed_out: bool = False) -> None:
        super().__init__(f"{tool}: {problem}")
        self.tool = tool
        self.problem = problem
        self.timed_out = timed_out


def checked_output(tool: str, result: ExecResult, *, ok_exits: tuple[int, ...] = (0,)) -> str:
    """The stdout of a tool that ran to completion; raises ToolOutputError when it did not."""
    if result.timed_out:
        raise ToolOutputError(tool, "did not finish within its deadline", timed_out=True)
    if result.stopped:
        raise ToolOutputError(tool, f"stopped by a sandbox limit ({', '.join(result.stopped)})")
    if result.stdout_truncated:
        raise ToolOutputError(tool, "output was cut at the sandbox's output limit")
    if result.exit_code not in ok_exits:
        stderr = result.text("stderr").strip()[-500:] or "no error output"
        raise ToolOutputError(tool, f"exited with status {result.exit_code}: {stderr}")
    return result.text()


def record_failure(evidence: Evidence, error: ToolOutputError) -> None:
    """Mark evidence as timed out or errored, keeping whatever was measured before."""
    evidence.status = Status.TIMEOUT if error.timed_out else Status.ERROR
    evidence.error = str(error)


def relative_path(path: str, root: str = WORKSPACE) -> str:
    """A tool's sandbox path made relative to the workspace (other paths are left as they are)."""
    prefix = root.rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


def ruff_severity(code: str) -> Severity:
    """Severity of a ruff rule code, by its longest known prefix (LOW when none matches)."""
    for length in range(len(code), 0, -1):
        severity = RUFF_SEVERITY.get(code[:length])
        if severity is not None:
            return severity
    return Severity.LOW


def bandit_severity(severity: str, confidence: str) -> Severity:
    """Bandit's severity, one step lower when bandit itself has low confidence."""
    mapped = BANDIT_SEVERITY.get(severity.upper(), Severity.INFO)
    if confidence.upper() == "LOW":
        return _ONE_LOWER.get(mapped, Severity.INFO)
    return mapped


def parse_ruff(text: str, *, root: str = WORKSPACE, probe: str = "static") -> list[Finding]:
    """Findings from `ruff check --output-format=json`."""
    items = _json_list("ruff", text, None)
    return [_ruff_finding(_record("ruff", item), root, probe) for item in items]


def _ruff_finding(item: dict[str, Any], root: str, probe: str) -> Finding:
    code = _text("ruff", item.get("code") or RUFF_SYNTAX_ERROR)
    location = item.get("location") or {}
    return Finding(
        rule=f"ruff.{code}",
        severity=ruff_severity(code),
        message=_text("ruff", item.get("message")),
        path=relative_path(_text("ruff", item.get("filename")), root),
        line=_optional_int(location.get("row") if isinstance(location, dict) else None),
        column=_optional_int(location.get("column") if isinstance(location, dict) else None),
        probe=probe,
    )


def parse_bandit(text: str, *, root: str = WORKSPACE, probe: str = "security") -> list[Finding]:
    """Findings from `bandit -f json`; its severity, adjusted by its confidence."""
    results = _json_list("bandit", text, "results")
    return [_bandit_finding(_record("bandit", item), root, probe) for item in results]


def _bandit_finding(item: dict[str, Any], root: str, probe: str) -> Finding:
    test_id = _text("bandit", item.get("test_id"))
    confidence = _text("bandit", item.get("issue_confidence", "UNDEFINED"))
    message = _text("bandit", item.get("issue_text"))
    if test_id in _QUOTES_A_SECRET:
        message = _QUOTED.sub(lambda m: f"{m[1]}{redact(m[2])}{m[1]}", message)
    return Finding(
        rule=f"bandit.{test_id}",
        severity=bandit_severity(_text("bandit", item.get("issue_severity", "")), confidence),
        message=f"{message} (confidence: {confidence.lower()})",
        path=relative_path(_text("bandit", item.get("filename")), root),
        line=_optional_int(item.get("line_number")),
        column=_optional_int(item.get("col_offset")),
        probe=probe,
    )


def _json_list(tool: str, text: str, key: str | None) -> list[Any]:
    """The top-level list (or the list under `key` of the top-level object)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ToolOutputError(
            tool, f"not valid JSON ({exc}); was it cut at the output limit?"
        ) from exc
    if key is not None:
        data = data.get(key) if isinstance(data, dict) else None
    if not isinstance(data, list):
        raise ToolOutputError(tool, f"output has no list{f' under {key!r}' if key else ''}")
    return data


def _record(tool: str, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ToolOutputError(tool, f"a finding is a {type(item).__name__}, not an object")
    return item


def _text(tool: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ToolOutputError(tool, f"a finding has a {type(value).__name__} where text belongs")
    return value


def _optional_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
