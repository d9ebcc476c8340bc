"""The faults, durability and operability probes end to end: the orders-api reference and
starter in the real sandbox, driven by a real harness process. The reference has no fault,
durability or 5xx findings; the starter has findings in every one of the three."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from proofwork import runtime
from proofwork.challenges import Pack, discover
from proofwork.challenges.pack import load_pack
from proofwork.config import Settings
from proofwork.evidence import Evidence, Severity, Status
from proofwork.probes.base import Budget, ProbeContext
from proofwork.probes.durability import DurabilityProbe
from proofwork.probes.faults import FaultsProbe, HarnessedFaultProbe, pack_plan
from proofwork.probes.operability import OperabilityProbe
from proofwork.sandbox import BwrapSandbox

Measure = Callable[[HarnessedFaultProbe, str], Evidence]


@pytest.fixture(scope="module")
def pack(settings: Settings) -> Pack:
    return discover(settings.challenges_path).get("orders-api")


@pytest.fixture
def measure(
    pack: Pack, settings: Settings, sandbox_factory: Callable[..., BwrapSandbox]
) -> Iterator[Measure]:
    """Runs one probe against the pack's reference or starter, as the engine would."""

    def run(probe: HarnessedFaultProbe, sample: str) -> Evidence:
        sandbox = sandbox_factory()
        shutil.copytree(pack.path(sample), sandbox.workspace, dirs_exist_ok=True)
        outdir = sandbox.workspace.parent / "out" / probe.name
        outdir.mkdir(parents=True)
        env = runtime.environment(settings, sandbox.workspace, extra=pack.spec.runtime.dependencies)
        ctx = ProbeContext(
            sandbox.workspace, sandbox, env, settings, Budget(600), outdir, challenge=pack
        )
        assert probe.applies(ctx)
        return probe.run(ctx)

    yield run


def rules(evidence: Evidence) -> set[str]:
    return {f.rule for f in evidence.findings}


def test_each_probe_reads_its_own_section_of_faults_toml(pack: Pack) -> None:
    plan = pack_plan(pack, "faults")
    assert plan is not None
    assert plan["helpers"] == "_orders"
    assert plan["answers"] == {
        "201": "paid",
        "202": "payment_pending",
        "503": "payment_unavailable",
    }
    assert [s["mode"] for s in plan["scenario"]] == [
        "slow",
        "error500",
        "error503",
        "reset",
        "blackhole",
    ]
    durability, operability = pack_plan(pack, "durability"), pack_plan(pack, "operability")
    assert durability is not None and durability["race_orders"] == 25
    assert operability is not None and operability["in_flight"] == 4


def test_a_pack_without_the_section_is_not_measured() -> None:
    greeter = load_pack(Path(__file__).parent.parent / "fixtures" / "packs" / "greeter")
    for name in ("faults", "durability", "operability"):
        assert pack_plan(greeter, name) is None
    for probe in (FaultsProbe(), DurabilityProbe(), OperabilityProbe()):
        assert not probe.applies(SimpleNamespace(challenge=greeter))  # type: ignore[arg-type]
        assert not probe.applies(SimpleNamespace(challenge=None))  # type: ignore[arg-type]


EXCHANGE = {
    "method": "POST",
    "url": "http://127.0.0.1:8000/orders",
    "request_body": '{"customer_id": "c"}',
    "status": None,
    "error": "timeout: no complete answer within 8 s",
}


def scenario(id: str, **fields: Any) -> dict[str, Any]:
    base = {"id": id, "name": id, "ran": True, "passed": True, "recovered": True}
    return {**base, "answers": [{"status": 202, "elapsed_s": 3.0}], **fields}


def test_faults_results_become_metrics_and_one_finding_per_problem(pack: Pack) -> None:
    hung = {"kind": "hang", "message": "black hole: expected …", "count": 2, "exchange": EXCHANGE}
    doubled = {"kind": "double_charge", "message": "charged 2 times", "count": 1, "exchange": None}
    results = {
        "scenarios": [
            scenario("slow"),
            scenario(
                "blackhole",
                passed=False,
                hangs=2,
                double_charges=1,
                recovery_s=4.5,
                problems=[hung, doubled],
            ),
            scenario("reset", ran=False, passed=False, recovered=False),
        ],
        "other_double_charges": {"ord-7": 3},
    }
    evidence = Evidence("faults")
    FaultsProbe().measure(evidence, pack_plan(pack, "faults") or {}, results)
    metrics = evidence.metrics
    assert (metrics["faults.scenarios"], metrics["faults.not_run"]) == (2, 3)
    assert (metrics["faults.passed"], metrics["faults.failed"]) == (1, 1)
    assert metrics["faults.hangs"] == 2
    assert metrics["faults.double_charges"] == 1 + 2
    assert metrics["faults.recovered"] is True, "only scenarios that ran count"
    assert metrics["faults.slowest_recovery_s"] == 4.5
    assert metrics["faults.blackhole.passed"] is False
    by_rule = {f.rule: f for f in evidence.findings}
    assert by_rule["faults.hang"].message.endswith("(2 times in this scenario)")
    assert by_rule["faults.hang"].snippet == (
        'POST http://127.0.0.1:8000/orders\n{"customer_id": "c"}\n'
        "→ no response: timeout: no complete answer within 8 s"
    )
    assert by_rule["faults.double_charge"].severity == Severity.CRITICAL
    assert (
        "ord-7 was charged 3 times"
        in [f.message for f in evidence.findings if f.rule == "faults.double_charge"][-1]
    )
    assert by_rule["faults.not_run"].severity == Severity.INFO


@pytest.mark.parametrize(
    ("probe", "metric", "value"),
    [
        (FaultsProbe(), "faults.failed", 5),
        (DurabilityProbe(), "durability.came_back", False),
        (OperabilityProbe(), "operability.healthz_ok", False),
    ],
)
def test_a_service_that_never_started_meets_no_expectation(
    pack: Pack, probe: HarnessedFaultProbe, metric: str, value: object
) -> None:
    evidence = probe.not_started(Evidence(probe.name), pack_plan(pack, probe.name) or {}, "boom")
    assert evidence.metrics[metric] == value
    (finding,) = evidence.findings
    assert finding.rule == f"{probe.name}.no_service"
    assert finding.severity == Severity.CRITICAL
    assert finding.message.endswith(": boom")


def test_durability_results_for_a_service_that_did_not_come_back() -> None:
    evidence = Evidence("durability")
    kill = {"acknowledged": 12, "came_back": False, "error": "exited during start-up"}
    DurabilityProbe().measure(evidence, {}, {"kill": kill})
    assert evidence.metrics == {
        "durability.acknowledged": 12,
        "durability.came_back": False,
        "durability.lost": 12,
    }
    assert [f.rule for f in evidence.findings] == ["durability.not_back"]


def crashes(**fields: Any) -> dict[str, Any]:
    moment = {"orders": 24, "in_flight_at_kill": 9, "waiting_on_provider_at_kill": 4}
    base = {
        "rounds": [moment, moment],
        "came_back": True,
        "sent": 48,
        "acknowledged": 20,
        "settled_s": 3.2,
        "lost": [],
        "changed": [],
        "charges": 30,
        "orphan_charges": [],
        "charged_twice": {},
        "orders_reported": 30,
        "pending_after_settle": 0,
        "stock_drift": [],
        "stock_drift_units": 0,
    }
    return {**base, **fields}


QUIET_KILL = {"acknowledged": 12, "came_back": True, "lost": [], "changed": []}


def test_kills_in_flight_that_reconcile_add_clean_metrics_and_no_finding() -> None:
    evidence = Evidence("durability")
    DurabilityProbe().measure(evidence, {}, {"kill": QUIET_KILL, "crashes": crashes()})
    metrics = evidence.metrics
    assert metrics["durability.crashes"] == 2
    assert metrics["durability.crash_in_flight"] == 18
    assert metrics["durability.acknowledged"] == 12 + 20
    assert metrics["durability.lost"] == metrics["durability.changed"] == 0
    assert metrics["durability.orphan_charges"] == metrics["durability.stock_drift"] == 0
    assert metrics["durability.double_charges"] == 0
    assert evidence.findings == []


def test_each_orphan_charge_and_stock_drift_is_a_finding_with_its_numbers() -> None:
    orphan = {
        "charge_id": "ch_1",
        "reference": "ord_9",
        "amount": "35.70",
        "currency": "EUR",
        "order_status": None,
    }
    failed = {**orphan, "charge_id": "ch_2", "reference": "ord_8", "order_status": "payment_failed"}
    missing = {"sku": "S1", "initial": 53, "held": 10, "orders": 4, "expected": 43, "stock": 27}
    extra = {"sku": "S2", "initial": 40, "held": 12, "orders": 6, "expected": 28, "stock": 31}
    results = crashes(
        orphan_charges=[orphan, failed],
        stock_drift=[{**missing, "drift": 16}, {**extra, "drift": -3}],
        stock_drift_units=19,
        charged_twice={"ord_7": 2},
    )
    evidence = Evidence("durability")
    DurabilityProbe().measure(evidence, {}, {"kill": QUIET_KILL, "crashes": results})
    assert evidence.metrics["durability.orphan_charges"] == 2
    assert evidence.metrics["durability.stock_drift"] == 19
    assert evidence.metrics["durability.double_charges"] == 1
    found = [(f.rule, f.severity, f.message) for f in evidence.findings]
    assert [rule for rule, _, _ in found] == [
        "durability.orphan_charge",
        "durability.orphan_charge",
        "durability.stock_drift",
        "durability.stock_drift",
        "durability.double_charge",
    ]
    first, second, gone, back, _ = found
    assert first[1] == Severity.CRITICAL
    assert first[2].startswith(
        "A customer was charged 35.70 EUR for nothing: order ord_9 is unknown to the service "
        "(Paystream charge ch_1, 1 of 2) after 2 kill -9 with 18 orders in flight (8 of them "
        "waiting on Paystream)"
    )
    assert "order ord_8 is payment_failed at the service" in second[2]
    assert gone[1] == Severity.HIGH and gone[2].startswith(
        "16 units of S1 left the stock with no order holding them"
    )
    assert "53 units were put on the shelf" in gone[2] and "it reports 27" in gone[2]
    assert back[1] == Severity.CRITICAL and "can be sold twice" in back[2]


def test_orders_acknowledged_during_a_burst_and_lost_count_with_the_others() -> None:
    read = {"method": "GET", "url": "http://127.0.0.1:8000/orders/o1", "status": 404}
    lost = [{"id": "o1", "read": read, "placed": {}}]
    evidence = Evidence("durability")
    DurabilityProbe().measure(evidence, {}, {"kill": QUIET_KILL, "crashes": crashes(lost=lost)})
    assert evidence.metrics["durability.lost"] == 1
    (finding,) = evidence.findings
    assert finding.rule == "durability.lost" and finding.severity == Severity.CRITICAL
    assert finding.message.startswith(
        "1 of 20 orders acknowledged while others were in flight were lost after 2 kill -9"
    )
    assert finding.snippet is not None and "→ 404" in finding.snippet


def test_a_service_that_does_not_come_back_from_a_kill_in_flight() -> None:
    evidence = Evidence("durability")
    results = {"rounds": [{"orders": 24, "in_flight_at_kill": 5}], "came_back": False}
    DurabilityProbe().measure(
        evidence, {}, {"kill": QUIET_KILL, "crashes": {**results, "error": "exited"}}
    )
    assert evidence.metrics["durability.came_back"] is False
    assert "durability.orphan_charges" not in evidence.metrics
    assert [f.rule for f in evidence.findings] == ["durability.not_back"]


def test_operability_results_for_a_service_deaf_on_its_port() -> None:
    evidence = Evidence("operability")
    env = {
        "port": 8089,
        "data_dir": "/srv/orders-state",
        "started": False,
        "error": "the service did not answer HTTP within 15s",
        "answers_on_default_port": True,
    }
    OperabilityProbe().measure(evidence, {}, {"env": env, "healthz": {"status": 200}})
    assert evidence.metrics["operability.env_config"] is False
    assert evidence.metrics["operability.env_port"] is False
    (finding,) = evidence.findings
    assert finding.message == (
        "Started with PORT=8089 and DATA_DIR=/srv/orders-state, the service did not answer on "
        "port 8089: the service did not answer HTTP within 15s (something answered on the "
        "usual port 8000)"
    )


@pytest.mark.slow
def test_the_reference_weathers_every_fault(measure: Measure) -> None:
    evidence = measure(FaultsProbe(), "reference")
    assert evidence.status == Status.OK, evidence.error
    assert evidence.findings == []
    metrics = evidence.metrics
    assert metrics["faults.scenarios"] == 5
    assert metrics["faults.failed"] == 0
    assert metrics["faults.recovered"] is True
    assert metrics["faults.double_charges"] == 0
    assert metrics["faults.hangs"] == metrics["faults.server_errors"] == 0


@pytest.mark.slow
def test_the_starter_hangs_errors_and_double_charges(measure: Measure) -> None:
    evidence = measure(FaultsProbe(), "starter")
    assert evidence.status == Status.OK, evidence.error
    metrics = evidence.metrics
    assert metrics["faults.failed"] == 5
    assert metrics["faults.hangs"] > 0
    assert metrics["faults.server_errors"] > 0
    assert metrics["faults.double_charges"] > 0
    assert {"faults.hang", "faults.server_error", "faults.double_charge"} <= rules(evidence)
    hang = next(f for f in evidence.findings if f.rule == "faults.hang")
    assert hang.message.startswith("Paystream answers after 30 s: expected an answer within 6 s")
    assert hang.snippet is not None
    assert hang.snippet.startswith("POST http://127.0.0.1:8000/orders")
    assert hang.severity == Severity.HIGH


@pytest.mark.slow
def test_the_reference_keeps_every_order_and_never_oversells(measure: Measure) -> None:
    evidence = measure(DurabilityProbe(), "reference")
    assert evidence.status == Status.OK, evidence.error
    assert evidence.findings == []
    metrics = evidence.metrics
    assert metrics["durability.acknowledged"] == 12 + metrics["durability.crash_acknowledged"]
    assert metrics["durability.lost"] == metrics["durability.changed"] == 0
    assert metrics["durability.oversold"] == 0
    assert metrics["durability.race_won"] == 5
    assert metrics["durability.stock_kept"] is True
    # Killed three times with orders in flight: money and stock reconcile.
    assert metrics["durability.crashes"] == 3
    assert isinstance(metrics["durability.crash_in_flight"], int)
    assert metrics["durability.crash_in_flight"] > 0
    assert metrics["durability.orphan_charges"] == metrics["durability.stock_drift"] == 0
    assert metrics["durability.double_charges"] == 0


@pytest.mark.slow
def test_the_starter_loses_orders_and_oversells(measure: Measure) -> None:
    evidence = measure(DurabilityProbe(), "starter")
    metrics = evidence.metrics
    assert metrics["durability.lost"] == metrics["durability.acknowledged"] >= 12
    assert metrics["durability.oversold"] > 0
    assert {"durability.lost", "durability.oversold"} <= rules(evidence)
    lost = next(f for f in evidence.findings if f.rule == "durability.lost")
    assert lost.severity == Severity.CRITICAL
    assert lost.snippet is not None
    assert "→ 404" in lost.snippet


@pytest.mark.slow
def test_the_reference_is_operable(measure: Measure) -> None:
    evidence = measure(OperabilityProbe(), "reference")
    assert evidence.status == Status.OK, evidence.error
    assert evidence.findings == []
    metrics = evidence.metrics
    for name in (
        "healthz_ok",
        "healthz_detects_storage_loss",
        "healthz_recovers",
        "request_ids",
        "drains_in_flight",
        "sigterm_clean",
        "env_config",
    ):
        assert metrics[f"operability.{name}"] is True, name
    assert metrics["operability.structured_logs_percent"] == 100.0
    assert isinstance(metrics["operability.sigterm_exit_s"], float)
    assert metrics["operability.sigterm_exit_s"] < 10


@pytest.mark.slow
def test_the_starter_has_no_health_check_plain_logs_and_no_data_dir(measure: Measure) -> None:
    evidence = measure(OperabilityProbe(), "starter")
    metrics = evidence.metrics
    assert metrics["operability.healthz_ok"] is False
    assert metrics["operability.healthz_detects_storage_loss"] is False
    assert metrics["operability.request_ids"] is False
    assert metrics["operability.env_data_dir"] is False
    assert metrics["operability.env_port"] is True
    expected = {
        "operability.healthz",
        "operability.unstructured_logs",
        "operability.no_request_ids",
        "operability.env_config",
    }
    assert expected <= rules(evidence)


def test_kills_in_flight_left_out_for_lack_of_time_are_said_and_measure_nothing() -> None:
    evidence = Evidence("durability")
    skipped = {"rounds": [], "came_back": True, "skipped": "no time left in the budget"}
    DurabilityProbe().measure(evidence, {}, {"kill": QUIET_KILL, "crashes": skipped})
    assert "durability.orphan_charges" not in evidence.metrics
    (finding,) = evidence.findings
    assert finding.rule == "durability.crashes_not_run" and finding.severity == Severity.INFO
