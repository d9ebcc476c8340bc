"""The `durability` probe for a batch job: `kill -9` at seeded moments, a run again on the same
folders, and the outputs compared with an undisturbed run's; a reader must never have seen a
half-written output file (trusted harness code, harness/batch_durability.py)."""

from __future__ import annotations

from typing import Any

from proofwork.evidence import Finding, MetricValue, Severity
from proofwork.probes.harnessed import JobHarnessProbe

KILLS = 4
BUDGET_S = 120.0


class JobDurabilityProbe(JobHarnessProbe):
    name = "durability"
    budget_s = BUDGET_S

    def options(self) -> dict[str, Any]:
        """How many seeded kill -9s."""
        return {"kills": KILLS}

    def metrics(self, part: dict[str, Any]) -> dict[str, MetricValue]:
        """See `durability_metrics`."""
        return durability_metrics(part)

    def findings(self, part: dict[str, Any]) -> list[Finding]:
        """See `durability_findings`."""
        return durability_findings(part)


def durability_metrics(part: dict[str, Any]) -> dict[str, MetricValue]:
    """How many kills, and how many left a changed output, a failed re-run or a torn file."""
    kills = [k for k in part.get("kills", []) if isinstance(k, dict)]
    return {
        "durability.clean_ok": bool(part.get("clean_ok")),
        "durability.kills": len(kills),
        "durability.rerun_failed": sum(1 for k in kills if not k.get("rerun_ok")),
        "durability.changed": sum(1 for k in kills if k.get("changed")),
        "durability.half_written": sum(1 for k in kills if k.get("half_written")),
    }


def durability_findings(part: dict[str, Any]) -> list[Finding]:
    """One finding per kind of damage, naming the moment of the kill and the files."""
    if not part.get("clean_ok"):
        message = (
            "The job did not finish an undisturbed run of the durability dataset "
            f"({part.get('clean', 'no run')}), so kills could not be compared with it."
        )
        return [_finding("no_clean_run", message)]
    found = []
    for kill in part.get("kills", []):
        when = f"killed (kill -9) {kill.get('at_s')} s into a run"
        if kill.get("half_written"):
            files = ", ".join(kill["half_written"])
            message = f"A reader could see half-written outputs when the job was {when}: {files}"
            found.append(_finding("half_written", message))
        if not kill.get("rerun_ok"):
            message = f"After the job was {when}, the next run failed: {kill.get('rerun')}"
            found.append(_finding("rerun_failed", message))
        elif kill.get("changed"):
            files = ", ".join(kill["changed"])
            message = (
                f"After the job was {when} and run again, its outputs differ from an "
                f"undisturbed run's: {files}"
            )
            found.append(_finding("changed", message))
    return found


def _finding(rule: str, message: str) -> Finding:
    return Finding(f"durability.{rule}", Severity.HIGH, message, probe="durability")
