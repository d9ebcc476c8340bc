"""What a candidate may read of their report: the signals with their evidence, and the findings
about their own code. Never what would give the hidden checks away: no check's code, inputs or
exchanges (snippets and diffs are kept only for findings in the candidate's own files), nothing
of the reference, no path of the grading machine."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# An absolute path of the grading machine (/var/lib/…, /tmp/pw-…/checks/…), inside any text.
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:[\w.@+~-]+/)+[\w.@+~-]*")
# Paths of the pack's own material, which never belong to the candidate's repository.
PACK_FOLDERS = ("checks/", "reference/", "harness/")
SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
MAX_FINDINGS = 200


@dataclass(frozen=True)
class SignalFeedback:
    title: str
    level: int | None
    label: str
    description: str
    status: str
    evidence: list[str]
    next_level: list[str]


@dataclass(frozen=True)
class FindingFeedback:
    rule: str
    severity: str
    message: str
    path: str | None
    line: int | None
    snippet: str | None


@dataclass(frozen=True)
class Feedback:
    signals: list[SignalFeedback]
    findings: list[FindingFeedback]
    more_findings: int


def scrub(text: str) -> str:
    """The text with the grading machine's absolute paths replaced by `…`."""
    return ABSOLUTE_PATH.sub("…", text)


def _own_path(path: object) -> str | None:
    """The finding's path if it names a file of the candidate's repository."""
    if not isinstance(path, str) or not path or path.startswith(("/", "~")) or ".." in path:
        return None
    if path.startswith(PACK_FOLDERS) or "\\" in path:
        return None
    return path


# The report was written before anyone reviewed it: after the decision "awaiting review" would
# be wrong, and reviewers' own scores are the hiring team's to share.
REVIEWED = (
    "Read by the hiring team's reviewers, who did not see your name; "
    "their scores are not part of this page."
)


def _signal(data: dict[str, Any]) -> SignalFeedback:
    level = data.get("level")
    return SignalFeedback(
        title=scrub(str(data.get("title", data.get("name", "")))),
        level=level if isinstance(level, int) else None,
        label=scrub(str(data.get("label", ""))),
        description=scrub(str(data.get("description", ""))),
        status=REVIEWED if data.get("status") == "awaiting review" else str(data.get("status", "")),
        evidence=[scrub(str(line)) for line in data.get("evidence", [])],
        next_level=[scrub(str(line)) for line in data.get("next_level", [])],
    )


def _finding(data: dict[str, Any]) -> FindingFeedback:
    path = _own_path(data.get("path"))
    line = data.get("line")
    snippet = data.get("snippet") if path is not None else None
    return FindingFeedback(
        rule=scrub(str(data.get("rule", ""))),
        severity=str(data.get("severity", "info")),
        message=scrub(str(data.get("message", ""))),
        path=path,
        line=line if isinstance(line, int) and path is not None else None,
        snippet=scrub(snippet) if isinstance(snippet, str) else None,
    )


def _rank(finding: FindingFeedback) -> int:
    order = SEVERITY_ORDER
    return order.index(finding.severity) if finding.severity in order else len(order)


def candidate_feedback(report: dict[str, Any]) -> Feedback:
    """The parts of a `proofwork.report/1` document a candidate may read."""
    signals = [_signal(s) for s in report.get("signals", []) if isinstance(s, dict)]
    findings = [_finding(f) for f in report.get("findings", []) if isinstance(f, dict)]
    findings.sort(key=_rank)
    return Feedback(signals, findings[:MAX_FINDINGS], max(0, len(findings) - MAX_FINDINGS))
