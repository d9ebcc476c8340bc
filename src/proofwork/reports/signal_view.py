"""Signals as the HTML and terminal reports show them, read defensively from the report's dicts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SCORED, AWAITING, NOT_MEASURED = "scored", "awaiting review", "not measured"
TOP_LEVEL = 4

# signals.describe() writes "metric = value (needs >= x)"; people read "needs ≥ x" more easily.
_THRESHOLD = re.compile(r"^(?P<fact>.+?) \((?P<need>needs [^()]*)\)$")
_OPERATORS = {">=": "≥", "<=": "≤", "!=": "≠", "==": "="}
_NOT_ID = re.compile(r"[^a-z0-9]+")
SEVERITIES = ("critical", "high", "medium", "low", "info")
CAUSE_MESSAGE = 240  # characters of a finding's message shown under the threshold it breaks


@dataclass(frozen=True)
class Threshold:
    """One evidence line split into what was measured and what the level needs."""

    fact: str
    need: str = ""


@dataclass(frozen=True)
class Cause:
    """A finding behind an unmet threshold: what failed, how badly, and what it said."""

    rule: str
    severity: str
    message: str


@dataclass(frozen=True)
class HeldBack:
    """An unmet threshold of the next level and the findings counted in its metric."""

    requirement: Threshold
    causes: list[Cause]
    more: int = 0


@dataclass(frozen=True)
class AnchoredLevel:
    level: int
    label: str
    description: str


@dataclass(frozen=True)
class SignalView:
    name: str
    title: str
    status: str
    level: int | None
    label: str
    description: str
    evidence: list[Threshold]
    next_level: list[Threshold]
    levels: list[AnchoredLevel]
    material: list[str]
    held_back_by: list[HeldBack] = field(default_factory=list)

    @property
    def scored(self) -> bool:
        """Whether the signal has a level (only scored ones do)."""
        return self.status == SCORED and self.level is not None

    @property
    def awaiting(self) -> bool:
        """Whether a reviewer still has to score it on the rubric."""
        return self.status == AWAITING

    @property
    def anchor(self) -> str:
        """An HTML-safe element id for the signal's card."""
        return "signal-" + (_NOT_ID.sub("-", self.name.lower()).strip("-") or "unnamed")

    @property
    def next_level_number(self) -> int | None:
        """The level the unmet thresholds belong to, or None at the top or with nothing unmet."""
        if not self.scored or self.level is None or self.level >= TOP_LEVEL:
            return None
        return self.level + 1 if self.next_level else None


def signal_view(raw: dict[str, Any]) -> SignalView:
    """A signal of `Report.signals` (a plain dict, possibly from an older report) for display."""
    name = str(raw.get("name") or "")
    level = raw.get("level")
    level = level if isinstance(level, int) and not isinstance(level, bool) else None
    return SignalView(
        name=name,
        title=str(raw.get("title") or name.replace("_", " ").capitalize()),
        status=_status(raw.get("status"), level),
        level=level,
        label=str(raw.get("label") or ""),
        description=str(raw.get("description") or ""),
        evidence=_strictest([threshold(str(line)) for line in raw.get("evidence") or []]),
        next_level=[threshold(str(line)) for line in raw.get("next_level") or []],
        levels=[_anchored(item) for item in raw.get("levels") or [] if isinstance(item, dict)],
        material=[str(item) for item in raw.get("material") or []],
        held_back_by=[
            _held(item) for item in raw.get("held_back_by") or [] if isinstance(item, dict)
        ],
    )


def threshold(line: str) -> Threshold:
    """ "tests.passed = 41 (needs >= 1)" -> fact "tests.passed = 41", need "needs ≥ 1"."""
    match = _THRESHOLD.match(line)
    if match is None:
        return Threshold(line)
    need = match["need"]
    for operator, symbol in _OPERATORS.items():
        need = need.replace(f"needs {operator} ", f"needs {symbol} ")
    return Threshold(match["fact"], need)


def _strictest(thresholds: list[Threshold]) -> list[Threshold]:
    # Levels climb: "coverage = 87 (needs >= 80)" from level 3 says all "needs >= 60" from level 2
    # did, so each measured fact is shown once, with the last (highest level's) threshold.
    return list({item.fact: item for item in thresholds}.values())


def review_anchors(names: list[str]) -> dict[str, str]:
    """A unique, HTML-safe element id per review file: "DECISIONS.md" -> "review-decisions-md"."""
    anchors: dict[str, str] = {}
    for index, name in enumerate(names):
        slug = _NOT_ID.sub("-", name.lower()).strip("-") or "file"
        anchor = f"review-{slug}"
        anchors[name] = anchor if anchor not in anchors.values() else f"{anchor}-{index}"
    return anchors


def _status(raw: object, level: int | None) -> str:
    status = str(raw or "").replace("_", " ").strip().lower()
    if status in (SCORED, AWAITING, NOT_MEASURED):
        return status
    return SCORED if level is not None else status or NOT_MEASURED


def _anchored(item: dict[str, Any]) -> AnchoredLevel:
    level = item.get("level")
    return AnchoredLevel(
        level=level if isinstance(level, int) and not isinstance(level, bool) else 0,
        label=str(item.get("label") or ""),
        description=str(item.get("description") or ""),
    )


def _held(item: dict[str, Any]) -> HeldBack:
    more = item.get("more_findings")
    return HeldBack(
        requirement=threshold(str(item.get("requirement") or "")),
        causes=[_cause(f) for f in item.get("findings") or [] if isinstance(f, dict)],
        more=more if isinstance(more, int) and not isinstance(more, bool) and more > 0 else 0,
    )


def _cause(finding: dict[str, Any]) -> Cause:
    severity = str(finding.get("severity") or "")
    message = str(finding.get("message") or "")
    if len(message) > CAUSE_MESSAGE:
        message = message[: CAUSE_MESSAGE - 1] + "…"
    return Cause(
        rule=str(finding.get("rule") or ""),
        severity=severity if severity in SEVERITIES else "info",
        message=message,
    )
