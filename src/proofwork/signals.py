"""Evidence -> hiring signals, each 0-4 on a pack's anchored levels, each tied to what was measured.

Machine-scored signals reach a level when that level's thresholds and every lower level's
hold; the signal carries those thresholds with the measured values, what is missing for the
next level, and the findings behind each unmet threshold (those counted in its metric), so a
reader sees which failures set the level. Human-scored signals wait for a reviewer, with the
rubric's anchored levels.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from proofwork.challenges import HUMAN_SIGNALS, Condition, Pack
from proofwork.challenges.pack import Level, SignalSpec
from proofwork.evidence import Finding, MetricValue

OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
SCORED, AWAITING, NOT_MEASURED = "scored", "awaiting review", "not measured"
# Findings named per unmet threshold; the rest are counted ("and 12 more").
HELD_BACK_FINDINGS = 10


@dataclass
class Signal:
    name: str
    title: str
    status: str
    level: int | None = None
    label: str = ""
    description: str = ""
    evidence: list[str] = field(default_factory=list)
    next_level: list[str] = field(default_factory=list)
    levels: list[dict[str, Any]] = field(default_factory=list)
    material: list[str] = field(default_factory=list)
    # Per unmet threshold of the next level: {"requirement", "findings", "more_findings"}.
    held_back_by: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The report's form of a signal."""
        return asdict(self)


def holds(condition: Condition, metrics: dict[str, MetricValue]) -> bool:
    """Whether the measured value meets the threshold (a missing metric never does)."""
    value = metrics.get(condition.metric)
    if value is None or isinstance(value, str):
        return False
    if isinstance(condition.value, bool) != isinstance(value, bool):
        return False
    return OPS[condition.op](value, condition.value)


def describe(condition: Condition, metrics: dict[str, MetricValue]) -> str:
    """`metric = value (op threshold)`, or that it was not measured."""
    value = metrics.get(condition.metric)
    if value is None:
        return f"{condition.metric} not measured (needs {condition.op} {_fmt(condition.value)})"
    return f"{condition.metric} = {_fmt(value)} (needs {condition.op} {_fmt(condition.value)})"


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def score_machine(
    name: str,
    spec: SignalSpec,
    metrics: dict[str, MetricValue],
    findings: Sequence[Finding] = (),
) -> Signal:
    """The highest level whose thresholds, and all lower levels', hold."""
    referenced = {c.metric for lv in spec.levels for c in lv.require}
    if not any(m in metrics for m in referenced):
        return Signal(name, spec.title, NOT_MEASURED, evidence=["none of its metrics was measured"])
    reached: Level = spec.levels[0]
    # Per metric, the highest threshold met: coverage >= 80 says all that >= 60 did.
    evidence: dict[str, str] = {}
    for level in spec.levels[1:]:
        unmet = [c for c in level.require if not holds(c, metrics)]
        if unmet:
            signal = _scored(name, spec, reached, list(evidence.values()))
            signal.next_level = [describe(c, metrics) for c in unmet]
            signal.held_back_by = [held_back(c, metrics, findings) for c in unmet]
            return signal
        reached = level
        evidence.update({c.metric: describe(c, metrics) for c in level.require})
    return _scored(name, spec, reached, list(evidence.values()))


def held_back(
    condition: Condition, metrics: dict[str, MetricValue], findings: Sequence[Finding]
) -> dict[str, Any]:
    """An unmet threshold and the findings counted in its metric, worst first."""
    behind = sorted(
        (f for f in findings if condition.metric in f.counts_toward),
        key=lambda f: -f.severity.rank,
    )
    return {
        "requirement": describe(condition, metrics),
        "findings": [
            {"rule": f.rule, "severity": f.severity.value, "message": f.message}
            for f in behind[:HELD_BACK_FINDINGS]
        ],
        "more_findings": max(len(behind) - HELD_BACK_FINDINGS, 0),
    }


def _scored(name: str, spec: SignalSpec, level: Level, evidence: list[str]) -> Signal:
    return Signal(
        name,
        spec.title,
        SCORED,
        level=level.level,
        label=level.label,
        description=level.description,
        evidence=evidence or ["no threshold above level 0 was met"],
    )


def awaiting_review(name: str, pack: Pack, available: list[str]) -> Signal:
    """A human-scored signal: the rubric's anchored levels and the material to read."""
    rubric = pack.rubric.get(name)
    if rubric is None:
        return Signal(name, name.replace("_", " ").capitalize(), NOT_MEASURED)
    return Signal(
        name,
        rubric.title,
        AWAITING,
        description=rubric.question,
        levels=[
            {"level": lv.level, "label": lv.label, "description": lv.description}
            for lv in rubric.levels
        ],
        material=[m for m in rubric.material if m in available],
        evidence=[f"material missing: {m}" for m in rubric.material if m not in available],
    )


def untrusted_signal(name: str, spec: SignalSpec, untrusted: list[str]) -> Signal:
    """Level 0: a signal resting on figures the candidate's code was caught forging earns
    nothing from them (the report's integrity section says what was found)."""
    lowest = spec.levels[0]
    figures = " and ".join(untrusted)
    return Signal(
        name,
        spec.title,
        SCORED,
        level=lowest.level,
        label=lowest.label,
        description=lowest.description,
        evidence=[f"the {figures} figures are untrusted: tampering was detected in the run"],
        next_level=["a run in which the suite does not rewrite its own results"],
    )


def _rests_on(spec: SignalSpec, untrusted: list[str]) -> bool:
    metrics = {c.metric for lv in spec.levels for c in lv.require}
    return any(m.split(".", 1)[0] in untrusted for m in metrics)


def score(
    pack: Pack,
    metrics: dict[str, MetricValue],
    material: list[str],
    untrusted: list[str] | None = None,
    findings: Sequence[Finding] = (),
) -> list[Signal]:
    """Every signal of the pack: machine-scored from metrics, human-scored awaiting review;
    those resting on `untrusted` probes' figures at level 0."""
    tainted = untrusted or []
    signals = [
        untrusted_signal(n, s, tainted)
        if _rests_on(s, tainted)
        else score_machine(n, s, metrics, findings)
        for n, s in pack.spec.signals.items()
    ]
    signals += [awaiting_review(n, pack, material) for n in HUMAN_SIGNALS]
    return signals
