"""Parsing ruff's and bandit's JSON, and refusing output that is cut short or garbage."""

from __future__ import annotations

import json
from typing import Any

import pytest

from proofwork.analysis.toolparse import (
    ToolOutputError,
    bandit_severity,
    checked_output,
    parse_bandit,
    parse_ruff,
    relative_path,
    ruff_severity,
)
from proofwork.evidence import Severity
from proofwork.sandbox.base import ExecResult


def ruff_item(code: str | None, path: str = "/workspace/app/main.py") -> dict[str, object]:
    return {
        "code": code,
        "message": f"message for {code}",
        "filename": path,
        "location": {"row": 3, "column": 5},
        "end_location": {"row": 3, "column": 9},
        "fix": None,
        "noqa_row": 3,
        "url": None,
    }


def bandit_result(test_id: str, severity: str, confidence: str, text: str) -> dict[str, object]:
    return {
        "code": "7 x = 1\n",
        "filename": "/workspace/app/main.py",
        "issue_confidence": confidence,
        "issue_severity": severity,
        "issue_text": text,
        "line_number": 7,
        "col_offset": 4,
        "test_id": test_id,
        "test_name": "x",
    }


def test_ruff_findings_get_relative_paths_rules_and_places() -> None:
    (finding,) = parse_ruff(json.dumps([ruff_item("F821")]))
    assert finding.rule == "ruff.F821"
    assert finding.severity is Severity.HIGH
    assert (finding.path, finding.line, finding.column) == ("app/main.py", 3, 5)
    assert finding.probe == "static"


def test_ruff_syntax_errors_without_a_code_get_a_rule_of_their_own() -> None:
    (finding,) = parse_ruff(json.dumps([ruff_item(None)]))
    assert finding.rule == "ruff.invalid-syntax"


@pytest.mark.parametrize(
    ("code", "severity"),
    [
        ("E999", Severity.HIGH),
        ("F821", Severity.HIGH),
        ("F811", Severity.MEDIUM),
        ("F401", Severity.LOW),
        ("B006", Severity.MEDIUM),
        ("E722", Severity.MEDIUM),
        ("E711", Severity.LOW),
        ("ERA001", Severity.LOW),
        ("PLE1142", Severity.HIGH),
    ],
)
def test_ruff_severity_uses_the_longest_known_prefix(code: str, severity: Severity) -> None:
    assert ruff_severity(code) is severity


@pytest.mark.parametrize(
    "text",
    [
        json.dumps([ruff_item("F401"), ruff_item("F841")])[:150],  # cut at the output limit
        "",
        "Traceback (most recent call last):",
        '{"results": []}',
        "[1, 2]",
        json.dumps([{**ruff_item("F401"), "filename": 7}]),
        "[" * 100_000,
    ],
)
def test_truncated_or_garbage_ruff_output_raises(text: str) -> None:
    with pytest.raises(ToolOutputError) as caught:
        parse_ruff(text)
    assert caught.value.tool == "ruff"


def test_bandit_findings_keep_confidence_in_the_message() -> None:
    text = json.dumps(
        {
            "errors": [],
            "results": [bandit_result("B602", "HIGH", "HIGH", "subprocess call with shell=True")],
        }
    )
    (finding,) = parse_bandit(text)
    assert finding.rule == "bandit.B602"
    assert finding.severity is Severity.HIGH
    assert finding.message == "subprocess call with shell=True (confidence: high)"
    assert (finding.path, finding.line, finding.probe) == ("app/main.py", 7, "security")


def test_bandit_password_findings_do_not_repeat_the_password() -> None:
    text = json.dumps(
        {
            "results": [
                bandit_result(
                    "B105", "LOW", "MEDIUM", "Possible hardcoded password: 'Sup3rS3cret!'"
                )
            ]
        }
    )
    (finding,) = parse_bandit(text)
    assert "Sup3rS3cret!" not in finding.message
    assert "'Sup3…'" in finding.message


@pytest.mark.parametrize(
    ("severity", "confidence", "expected"),
    [
        ("HIGH", "HIGH", Severity.HIGH),
        ("HIGH", "LOW", Severity.MEDIUM),
        ("MEDIUM", "MEDIUM", Severity.MEDIUM),
        ("LOW", "LOW", Severity.INFO),
        ("UNDEFINED", "HIGH", Severity.INFO),
    ],
)
def test_bandit_severity_drops_a_step_on_low_confidence(
    severity: str, confidence: str, expected: Severity
) -> None:
    assert bandit_severity(severity, confidence) is expected


def test_truncated_bandit_output_raises() -> None:
    text = json.dumps({"results": [bandit_result("B602", "HIGH", "HIGH", "x")]})
    with pytest.raises(ToolOutputError):
        parse_bandit(text[: len(text) // 2])


def test_relative_path_only_strips_the_workspace() -> None:
    assert relative_path("/workspace/a/b.py") == "a/b.py"
    assert relative_path("/workspace2/a.py") == "/workspace2/a.py"
    assert relative_path("/other/a.py", "/other/") == "a.py"


def result(
    *,
    exit_code: int = 0,
    stderr: bytes = b"",
    stopped: tuple[str, ...] = (),
    stdout_truncated: bool = False,
) -> ExecResult:
    return ExecResult(
        argv=["ruff"],
        exit_code=exit_code,
        stdout=b"[]",
        stderr=stderr,
        wall_s=0.1,
        stdout_truncated=stdout_truncated,
        stopped=list(stopped),
    )


def test_checked_output_returns_stdout_of_a_finished_tool() -> None:
    assert checked_output("ruff", result()) == "[]"
    assert checked_output("bandit", result(exit_code=1), ok_exits=(0, 1)) == "[]"


@pytest.mark.parametrize(
    ("kwargs", "words", "timed_out"),
    [
        ({"stopped": ("timeout",)}, "deadline", True),
        ({"stopped": ("memory",)}, "memory", False),
        ({"stdout_truncated": True}, "cut", False),
        ({"exit_code": 2, "stderr": b"error: unknown rule"}, "unknown rule", False),
    ],
)
def test_checked_output_refuses_a_tool_that_did_not_finish(
    kwargs: dict[str, Any], words: str, timed_out: bool
) -> None:
    with pytest.raises(ToolOutputError) as caught:
        checked_output("ruff", result(**kwargs))
    assert words in str(caught.value)
    assert caught.value.timed_out is timed_out
