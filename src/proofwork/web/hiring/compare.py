"""What the compare view reads from a run's report: the figures that tell candidates apart."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from proofwork.evidence import Severity

# Worst first, as the report lists findings.
SEVERITIES = tuple(reversed(Severity))
RULE_METRIC = re.compile(r"^acceptance\.(r\d+)\.(failed|total)$")
RULE_HEADING = re.compile(r"\*\*(R\d+) ([^*]+?)\.\*\*")


@dataclass(frozen=True)
class RuleOutcome:
    """How a submission fared on one business rule's acceptance checks."""

    failed: int
    total: int
    checks: tuple[str, ...] = ()  # the failed checks' messages


@dataclass(frozen=True)
class Figures:
    """The figures of one report that the compare view lays side by side."""

    integrity: str = "clean"
    capacity: float | None = None  # load.relative_capacity: against the reference, same machine
    speed: float | None = None  # scale.relative_speed, for job packs: the same idea for a batch
    mutation_score: float | None = None
    assertion_kill: float | None = None
    coverage: float | None = None
    tests_passed: int | None = None
    rules: dict[str, RuleOutcome] = field(default_factory=dict)
    findings: dict[str, int] = field(default_factory=dict)


def _number(metrics: dict[str, Any], name: str) -> float | None:
    value = metrics.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _rules(metrics: dict[str, Any], findings: list[dict[str, Any]]) -> dict[str, RuleOutcome]:
    counts: dict[str, dict[str, int]] = {}
    for name, value in metrics.items():
        match = RULE_METRIC.match(name)
        if match and isinstance(value, int):
            counts.setdefault(match[1], {})[match[2]] = value
    failed_checks: dict[str, list[str]] = {}
    for finding in findings:
        # Acceptance findings name their check's rule first: "R6 Title (major): message".
        message = str(finding.get("message", ""))
        if finding.get("probe") == "acceptance" and (head := message.split(" ", 1)[0]):
            failed_checks.setdefault(head.lower(), []).append(message)
    return {
        rule: RuleOutcome(c.get("failed", 0), c.get("total", 0), tuple(failed_checks.get(rule, ())))
        for rule, c in sorted(counts.items(), key=lambda item: int(item[0][1:]))
    }


def figures(report: dict[str, Any]) -> Figures:
    """The compare view's figures from a report document."""
    metrics: dict[str, Any] = report.get("metrics") or {}
    found: list[dict[str, Any]] = [f for f in report.get("findings") or [] if isinstance(f, dict)]
    by_severity = Counter(str(f.get("severity")) for f in found)
    passed = metrics.get("tests.passed")
    return Figures(
        integrity=str((report.get("integrity") or {}).get("status", "clean")),
        capacity=_number(metrics, "load.relative_capacity"),
        speed=_number(metrics, "scale.relative_speed"),
        mutation_score=_number(metrics, "mutation.score_percent"),
        assertion_kill=_number(metrics, "mutation.assertion_kill_percent"),
        coverage=_number(metrics, "tests.coverage_percent"),
        tests_passed=passed if isinstance(passed, int) and not isinstance(passed, bool) else None,
        rules=_rules(metrics, found),
        findings={s.value: by_severity[s.value] for s in SEVERITIES},
    )


def rule_titles(brief: str) -> dict[str, str]:
    """Business rules' titles as a brief's bold headings give them (`**R6 Stock.**`)."""
    return {match[1].lower(): match[2] for match in RULE_HEADING.finditer(brief)}
