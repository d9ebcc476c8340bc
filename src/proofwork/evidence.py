"""The values that travel: Metric values, Finding, Evidence and Report, and their JSON form."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA = "proofwork.report/1"

MetricValue = int | float | str | bool | None


class Severity(enum.StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Higher is worse; used to sort findings worst first."""
        return list(Severity).index(self)


class Status(enum.StrEnum):
    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    path: str | None = None
    line: int | None = None
    column: int | None = None
    snippet: str | None = None
    diff: str | None = None
    probe: str = ""
    # Metrics this finding is counted in (`acceptance.r9.minor_failed`), so a signal held back
    # by a threshold on one of them can name the findings behind it.
    counts_toward: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form; `None` fields are kept so every finding has the same keys."""
        data = asdict(self)
        data["severity"] = self.severity.value
        data["counts_toward"] = list(self.counts_toward)
        return data


TAMPERING = "integrity.tampering"
# Figures that come from inside the candidate's test process, and so fall with its honesty:
# the mutation probe runs the same suite with the same hooks as the tests probe.
TAINTS = {"tests": ("tests", "mutation"), "mutation": ("mutation",)}


# Artifacts are bounded: a probe keeps logs and raw tool output, never unbounded streams.
ARTIFACT_LIMIT = 64 * 1024


def bounded(text: str, limit: int = ARTIFACT_LIMIT) -> str:
    """Keep the head and tail of `text` within `limit` characters, saying what was cut."""
    if len(text) <= limit:
        return text
    half = limit // 2
    cut = len(text) - 2 * half
    return f"{text[:half]}\n… [{cut} characters cut] …\n{text[-half:]}"


@dataclass
class Evidence:
    """What one probe measured. A probe that fails still returns one, with its status."""

    probe: str
    status: Status = Status.OK
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    duration_s: float = 0.0
    # Sandbox limits that stopped a process of this probe (timeout, memory, output, pids).
    stopped: list[str] = field(default_factory=list)

    def add_artifact(self, name: str, text: str) -> None:
        """Store a log or raw tool output, bounded in size."""
        self.artifacts[name] = bounded(text)

    def to_json(self) -> dict[str, Any]:
        """The probe entry of the report (metrics and findings are also merged at top level)."""
        return {
            "name": self.probe,
            "status": self.status.value,
            "duration_s": round(self.duration_s, 3),
            "error": self.error,
            "stopped": list(self.stopped),
            "metrics": dict(self.metrics),
            "finding_count": len(self.findings),
            "artifacts": dict(self.artifacts),
        }


@dataclass(frozen=True)
class SubmissionInfo:
    sha256: str
    source: str
    kind: str  # directory | zip | tar | bundle
    files: int
    bytes: int

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form."""
        return asdict(self)


@dataclass
class Report:
    submission: SubmissionInfo
    evidence: list[Evidence]
    challenge: str | None = None
    sandbox: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    signals: list[dict[str, Any]] = field(default_factory=list)
    # What reviewers read for the human-scored signals (DECISIONS.md, README.md), bounded.
    review: dict[str, str] = field(default_factory=dict)
    # How the work was done: commits against the time box, the change against the starter.
    history: dict[str, Any] = field(default_factory=dict)
    started_at: str = ""
    duration_s: float = 0.0
    version: str = ""

    @property
    def metrics(self) -> dict[str, MetricValue]:
        """Every probe's metrics under their dotted names."""
        merged: dict[str, MetricValue] = {}
        for item in self.evidence:
            merged.update(item.metrics)
        return merged

    @property
    def findings(self) -> list[Finding]:
        """All findings, worst first, then by place."""
        everything = [f for item in self.evidence for f in item.findings]
        return sorted(
            everything,
            key=lambda f: (-f.severity.rank, f.probe, f.path or "", f.line or 0, f.rule),
        )

    @property
    def untrusted(self) -> list[str]:
        """Probes whose figures are untrusted because tampering was found in a run."""
        tampered = {f.probe for f in self.findings if f.rule == TAMPERING}
        return sorted({p for probe in tampered for p in TAINTS.get(probe, (probe,))})

    def integrity(self) -> dict[str, Any]:
        """Whether the candidate's code was caught forging its own results, and the evidence."""
        evidence = [f.to_json() for f in self.findings if f.rule == TAMPERING]
        return {
            "status": "tampering" if evidence else "clean",
            "untrusted": self.untrusted,
            "evidence": evidence,
        }

    def to_json(self) -> dict[str, Any]:
        """The canonical report document (`proofwork.report/1`)."""
        return {
            "schema": SCHEMA,
            "integrity": self.integrity(),
            "version": self.version,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "submission": self.submission.to_json(),
            "challenge": self.challenge,
            "sandbox": self.sandbox,
            "environment": self.environment,
            "probes": [item.to_json() for item in self.evidence],
            "metrics": self.metrics,
            "findings": [f.to_json() for f in self.findings],
            "signals": self.signals,
            "review": self.review,
            "history": self.history,
        }
