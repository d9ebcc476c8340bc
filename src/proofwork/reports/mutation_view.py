"""The mutation probe's result as the HTML report shows it: the score with its interval and the
share caught by an assertion, the pseudo-tested functions, a per-function table, then the
surviving mutants grouped by function, worst-tested function first.

The probe lists its findings in that order (a `mutation.function` summary, then that function's
`mutation.survived` mutants), which the report's severity sort would scatter; this view reads
them back from the probe's own evidence, in the probe's order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from proofwork.evidence import Finding, MetricValue, Report

PROBE = "mutation"
FUNCTION_RULE = "mutation.function"
SURVIVOR_RULE = "mutation.survived"
PSEUDO_RULE = "mutation.pseudo_tested"
FUNCTIONS_ARTIFACT = "mutation.functions.json"
FUNCTIONS_SHOWN = 100


@dataclass
class FunctionGroup:
    """One function's summary and the planted bugs its tests did not notice."""

    summary: Finding
    survivors: list[Finding] = field(default_factory=list)


@dataclass
class MutationView:
    score: MetricValue
    ci95: tuple[MetricValue, MetricValue]
    exact: bool
    counts: dict[str, MetricValue]
    groups: list[FunctionGroup]
    notes: list[Finding]
    assertion_percent: MetricValue = None
    pseudo_tested: list[Finding] = field(default_factory=list)
    functions_checked: MetricValue = None
    functions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def survivor_count(self) -> int:
        return sum(len(g.survivors) for g in self.groups)


def is_listed_survivor(finding: Finding) -> bool:
    """A surviving mutant shown under its function in the test-strength section (and so left
    out of the report's general list of findings)."""
    return finding.probe == PROBE and finding.rule == SURVIVOR_RULE and finding.path is not None


def mutation_view(report: Report) -> MutationView | None:
    """The section's content, or None when the mutation probe measured no score."""
    evidence = next((e for e in report.evidence if e.probe == PROBE), None)
    if evidence is None or evidence.metrics.get("mutation.score_percent") is None:
        return None
    metrics = evidence.metrics
    groups: list[FunctionGroup] = []
    notes: list[Finding] = []
    pseudo: list[Finding] = []
    for finding in evidence.findings:
        if finding.rule == PSEUDO_RULE:
            pseudo.append(finding)
        elif finding.rule == FUNCTION_RULE:
            groups.append(FunctionGroup(finding))
        elif is_listed_survivor(finding) and groups:
            groups[-1].survivors.append(finding)
        else:
            notes.append(finding)
    keys = ("total", "sampled", "killed", "survived", "timeout", "not_covered", "errors")
    return MutationView(
        score=metrics.get("mutation.score_percent"),
        ci95=(metrics.get("mutation.ci95_low"), metrics.get("mutation.ci95_high")),
        exact=bool(metrics.get("mutation.exact")),
        counts={key: metrics.get(f"mutation.{key}") for key in keys},
        groups=groups,
        notes=notes,
        assertion_percent=metrics.get("mutation.assertion_kill_percent"),
        pseudo_tested=pseudo,
        functions_checked=metrics.get("mutation.functions_checked"),
        functions=function_rows(evidence.artifacts.get(FUNCTIONS_ARTIFACT, "")),
    )


def function_rows(text: str) -> list[dict[str, Any]]:
    """The probe's per-function table, checked (it is data from the report file), capped."""
    try:
        rows = json.loads(text)["functions"]
        checked = [
            {
                "name": str(row["name"]),
                "path": str(row["path"]),
                "line": int(row["line"]),
                "judged": int(row["judged"]),
                "caught": int(row["caught"]),
                "assertion_percent": _number(row.get("assertion_percent")),
                "pseudo_tested": row.get("pseudo_tested")
                if row.get("pseudo_tested") in (True, False)
                else None,
            }
            for row in rows
        ]
    except (ValueError, TypeError, KeyError):
        return []
    return checked[:FUNCTIONS_SHOWN]


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
