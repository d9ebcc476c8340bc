"""The `durability` probe: acknowledged orders survive `kill -9` and a restart on the same
DATA_DIR, and customers racing for the last units never oversell (trusted harness code)."""

from __future__ import annotations

from typing import Any

from proofwork.evidence import Evidence, Finding, MetricValue, Severity
from proofwork.probes.faults import HarnessedFaultProbe


class DurabilityProbe(HarnessedFaultProbe):
    name = "durability"
    default_budget_s = 60.0

    def unmeasured(self, plan: dict[str, Any]) -> dict[str, MetricValue]:
        """A service that never started kept nothing."""
        return {"durability.came_back": False, "durability.acknowledged": 0}

    def measure(self, evidence: Evidence, plan: dict[str, Any], results: dict[str, Any]) -> None:
        """Metrics and findings for the race and for the kill."""
        race, kill = results.get("race") or {}, results.get("kill") or {}
        evidence.metrics.update(race_metrics(race))
        evidence.metrics.update(kill_metrics(kill))
        for part in (race, kill):
            if part.get("setup_error"):
                evidence.findings.append(self._setup(part["setup_error"]))
        evidence.findings += self._race_findings(race) + self._kill_findings(kill)

    def _setup(self, error: dict[str, Any]) -> Finding:
        message = f"Could not set up the durability measures: {error.get('message')}"
        return self.finding("setup", Severity.HIGH, message, error.get("exchange"))

    def _race_findings(self, race: dict[str, Any]) -> list[Finding]:
        if "won" not in race:
            return []
        told = (
            f"{race['orders']} customers ordered the last {race['stock']} units at the same "
            f"moment: answers {race['statuses']}, stock afterwards {race['stock_after']}"
        )
        found = []
        if race["oversold"]:
            message = f"Oversold by {race['oversold']}: {told}"
            found.append(self.finding("oversold", Severity.CRITICAL, message, race["example"]))
        if race["server_errors"]:
            message = f"{race['server_errors']} orders got no answer or a 5xx: {told}"
            found.append(self.finding("race_errors", Severity.HIGH, message, race["example"]))
        return found

    def _kill_findings(self, kill: dict[str, Any]) -> list[Finding]:
        if not kill.get("came_back", True):
            message = f"After kill -9 the service did not start again: {kill.get('error')}"
            return [self.finding("not_back", Severity.CRITICAL, message)]
        found = []
        lost, changed = kill.get("lost") or [], kill.get("changed") or []
        acknowledged = kill.get("acknowledged", 0)
        if lost:
            message = (
                f"{len(lost)} of {acknowledged} acknowledged orders were lost when the "
                f"process was killed (kill -9) and started again on the same DATA_DIR; "
                f"for example {lost[0]['id']}"
            )
            found.append(self.finding("lost", Severity.CRITICAL, message, lost[0]["read"]))
        if changed:
            first = changed[0]
            message = (
                f"{len(changed)} acknowledged orders read back differently after kill -9 and "
                f"a restart; {first['id']}: {first['change']}"
            )
            found.append(self.finding("changed", Severity.HIGH, message, first["read"]))
        if "stock_after" in kill and kill["stock_after"] != kill["stock_expected"]:
            now = kill["stock_after"]
            message = (
                "After kill -9 and a restart "
                + (f"the product's stock is {now}" if now is not None else "the product is gone")
                + f"; {acknowledged} acknowledged orders of one unit leave {kill['stock_expected']}"
            )
            found.append(self.finding("stock_lost", Severity.HIGH, message))
        return found


def race_metrics(race: dict[str, Any]) -> dict[str, MetricValue]:
    """`durability.race_*` and `durability.oversold`."""
    if "won" not in race:
        return {}
    return {
        "durability.race_orders": race["orders"],
        "durability.race_stock": race["stock"],
        "durability.race_won": race["won"],
        "durability.race_stock_after": race["stock_after"],
        "durability.race_server_errors": race["server_errors"],
        "durability.oversold": race["oversold"],
    }


def kill_metrics(kill: dict[str, Any]) -> dict[str, MetricValue]:
    """`durability.acknowledged`, `.lost`, `.changed`, `.came_back`, `.restart_s`."""
    if "acknowledged" not in kill:
        return {}
    metrics: dict[str, MetricValue] = {
        "durability.acknowledged": kill["acknowledged"],
        "durability.came_back": bool(kill.get("came_back")),
    }
    if kill.get("came_back"):
        metrics.update(
            {
                "durability.lost": len(kill.get("lost") or []),
                "durability.changed": len(kill.get("changed") or []),
                "durability.restart_s": kill.get("restart_s"),
                "durability.stock_kept": kill.get("stock_after") == kill.get("stock_expected"),
            }
        )
    else:
        metrics["durability.lost"] = kill["acknowledged"]
    return metrics
