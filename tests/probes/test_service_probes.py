"""The faults, durability and operability probes end to end: the orders-api reference and
starter in the real sandbox, driven by a real harness process. The reference has no fault,
durability or 5xx findings; the starter has findings in every one of the three."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from proofwork import runtime
from proofwork.challenges import Pack, discover
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


def test_the_probes_apply_only_to_packs_that_ask_for_them(pack: Pack, tmp_path: Path) -> None:
    assert pack_plan(pack, "faults") is not None
    assert pack_plan(pack, "durability") is not None
    assert pack_plan(pack, "operability") is not None
    assert pack_plan(pack, "nothing") is None
    plan = pack_plan(pack, "faults")
    assert plan is not None
    assert plan["helpers"] == "_orders"
    assert {s["mode"] for s in plan["scenario"]} == {
        "slow",
        "error500",
        "error503",
        "reset",
        "blackhole",
    }


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
    assert metrics["durability.acknowledged"] == 12
    assert metrics["durability.lost"] == metrics["durability.changed"] == 0
    assert metrics["durability.oversold"] == 0
    assert metrics["durability.race_won"] == 5
    assert metrics["durability.stock_kept"] is True


@pytest.mark.slow
def test_the_starter_loses_orders_and_oversells(measure: Measure) -> None:
    evidence = measure(DurabilityProbe(), "starter")
    metrics = evidence.metrics
    assert metrics["durability.lost"] == metrics["durability.acknowledged"] == 12
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
