"""The `durability` probe: acknowledged orders survive `kill -9` and a restart on the same
DATA_DIR, customers racing for the last units never oversell, and after kills while orders
are in flight money and stock reconcile (trusted harness code)."""

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
        """Metrics and findings for the race, the kill, and the kills while orders are in
        flight."""
        race, kill = results.get("race") or {}, results.get("kill") or {}
        crashes = results.get("crashes") or {}
        evidence.metrics.update(race_metrics(race))
        evidence.metrics.update(kill_metrics(kill))
        evidence.metrics.update(crash_metrics(crashes, evidence.metrics))
        for part in (race, kill, crashes):
            if part.get("setup_error"):
                evidence.findings.append(self._setup(part["setup_error"]))
        evidence.findings += self._race_findings(race) + self._kill_findings(kill)
        evidence.findings += crash_findings(self, crashes)

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
        when = "when the process was killed (kill -9) and started again on the same DATA_DIR"
        found = loss_findings(self, kill, "acknowledged orders", when)
        acknowledged = kill.get("acknowledged", 0)
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


def crash_metrics(crashes: dict[str, Any], kept: dict[str, MetricValue]) -> dict[str, MetricValue]:
    """`durability.crashes`, `.orphan_charges`, `.stock_drift`, `.double_charges` …; the
    in-flight orders acknowledged, lost and changed add to the quiet kill's counts."""
    if not crashes.get("rounds"):
        return {}
    metrics: dict[str, MetricValue] = {
        "durability.crashes": len(crashes["rounds"]),
        "durability.crash_orders": sum(r.get("orders", 0) for r in crashes["rounds"]),
        "durability.crash_in_flight": sum(r.get("in_flight_at_kill", 0) for r in crashes["rounds"]),
    }
    if not crashes.get("came_back", True):
        return {**metrics, "durability.came_back": False}
    if "sent" not in crashes:
        return metrics
    lost, changed = len(crashes.get("lost") or []), len(crashes.get("changed") or [])
    metrics.update(
        {
            "durability.crash_acknowledged": crashes["acknowledged"],
            "durability.acknowledged": _count(kept, "durability.acknowledged")
            + crashes["acknowledged"],
            "durability.lost": _count(kept, "durability.lost") + lost,
            "durability.changed": _count(kept, "durability.changed") + changed,
            "durability.orphan_charges": len(crashes.get("orphan_charges") or []),
            "durability.double_charges": len(crashes.get("charged_twice") or {}),
            "durability.settle_s": crashes.get("settled_s"),
        }
    )
    if "stock_drift" in crashes:
        metrics["durability.stock_drift"] = crashes["stock_drift_units"]
        metrics["durability.pending_after_settle"] = crashes["pending_after_settle"]
    return metrics


def _count(metrics: dict[str, MetricValue], name: str) -> int:
    value = metrics.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


MOST_FINDINGS = 10  # per kind of violation; the metrics count them all


def crash_findings(probe: DurabilityProbe, crashes: dict[str, Any]) -> list[Finding]:
    """One finding per violation the reconciliation found (up to MOST_FINDINGS of a kind)."""
    if not crashes.get("came_back", True):
        message = (
            f"After kill -9 with orders in flight the service did not start again: "
            f"{crashes.get('error')}"
        )
        return [probe.finding("not_back", Severity.CRITICAL, message)]
    if crashes.get("skipped"):
        message = f"The kills while orders are in flight were not run: {crashes['skipped']}"
        return [probe.finding("crashes_not_run", Severity.INFO, message)]
    if "sent" not in crashes:
        return []
    context = _context(crashes)
    orphans = crashes.get("orphan_charges", [])
    found = [
        _orphan(probe, orphan, f"{number} of {len(orphans)}", context)
        for number, orphan in enumerate(orphans[:MOST_FINDINGS], start=1)
    ]
    drifts = crashes.get("stock_drift", [])
    found += [_drift(probe, drift, context) for drift in drifts[:MOST_FINDINGS]]
    for reference, times in sorted((crashes.get("charged_twice") or {}).items())[:MOST_FINDINGS]:
        message = f"Order {reference} was charged {times} times at Paystream; {context}"
        found.append(probe.finding("double_charge", Severity.CRITICAL, message))
    orders = "orders acknowledged while others were in flight"
    found += loss_findings(probe, crashes, orders, context)
    if crashes.get("unreconciled"):
        message = (
            "Stock could not be reconciled after kill -9 with orders in flight: the service "
            f"did not list its orders ({crashes['unreconciled']})"
        )
        found.append(probe.finding("unreconciled", Severity.HIGH, message))
    return found


def _context(crashes: dict[str, Any]) -> str:
    rounds = crashes["rounds"]
    in_flight = sum(r.get("in_flight_at_kill", 0) for r in rounds)
    waiting = sum(r.get("waiting_on_provider_at_kill", 0) for r in rounds)
    return (
        f"after {len(rounds)} kill -9 with {in_flight} orders in flight ({waiting} of them "
        f"waiting on Paystream) and a restart on the same DATA_DIR"
    )


def _orphan(probe: DurabilityProbe, orphan: dict[str, Any], which: str, context: str) -> Finding:
    status = orphan.get("order_status")
    now = f"is {status} at the service" if status else "is unknown to the service"
    message = (
        f"A customer was charged {orphan.get('amount')} {orphan.get('currency')} for nothing: "
        f"order {orphan.get('reference')} {now} (Paystream charge {orphan.get('charge_id')}, "
        f"{which}) {context}"
    )
    return probe.finding("orphan_charge", Severity.CRITICAL, message)


def _drift(probe: DurabilityProbe, drift: dict[str, Any], context: str) -> Finding:
    told = (
        f"{drift['initial']} units were put on the shelf and the service's paid or pending "
        f"orders hold {drift['held']} (in {drift['orders']} "
        f"{'order' if drift['orders'] == 1 else 'orders'}), which leaves "
        f"{drift['expected']}"
    )
    if drift["stock"] is None:
        message = f"Product {drift['sku']} is gone {context}; {told}"
        return probe.finding("stock_drift", Severity.HIGH, message)
    if drift["drift"] > 0:
        message = (
            f"{drift['drift']} units of {drift['sku']} left the stock with no order holding "
            f"them {context}: {told}, but it reports {drift['stock']}"
        )
        return probe.finding("stock_drift", Severity.HIGH, message)
    message = (
        f"{-drift['drift']} units of {drift['sku']} are back in stock although orders still "
        f"hold them {context}, so they can be sold twice: {told}, but it reports {drift['stock']}"
    )
    return probe.finding("stock_drift", Severity.CRITICAL, message)


def loss_findings(
    probe: DurabilityProbe, part: dict[str, Any], orders: str, when: str
) -> list[Finding]:
    """One finding for the acknowledged `orders` that were lost `when`, one for those changed."""
    found = []
    lost, changed = part.get("lost") or [], part.get("changed") or []
    if lost:
        message = (
            f"{len(lost)} of {part.get('acknowledged', 0)} {orders} were lost {when}; "
            f"for example {lost[0]['id']}"
        )
        found.append(probe.finding("lost", Severity.CRITICAL, message, lost[0]["read"]))
    if changed:
        first = changed[0]
        message = f"{len(changed)} {orders} read back differently {when}; {first['id']}: "
        found.append(
            probe.finding("changed", Severity.HIGH, message + first["change"], first["read"])
        )
    return found
