"""The load probe: metrics, findings and the chart from step tables; the reference's capacity
kept per machine; and, end to end in the real sandbox, the orders-api reference against its
starter."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from proofwork import intake, runtime
from proofwork.challenges import Pack, discover
from proofwork.challenges.pack import load_pack
from proofwork.config import Settings
from proofwork.evidence import Evidence, Report, Status, SubmissionInfo
from proofwork.harness.job import COMPANION_PORT
from proofwork.harness.load import LoadPlan, summarize
from proofwork.probes import capacity as capacity_module
from proofwork.probes.base import Budget, ProbeContext
from proofwork.probes.capacity import (
    Capacity,
    cache_path,
    read_cached,
    reference_capacity,
    write_cached,
)
from proofwork.probes.load import (
    STEPS_ARTIFACT,
    LoadProbe,
    chart_data,
    findings,
    metrics,
    read_plan,
    step_table,
)
from proofwork.reports.charts import load_chart
from proofwork.reports.html import render_html
from proofwork.sandbox import BwrapSandbox

LOCK_SHOP = Path(__file__).parents[1] / "fixtures" / "lock_shop"


@pytest.fixture(scope="module")
def pack(settings: Settings) -> Pack:
    return discover(settings.challenges_path).get("orders-api")


def row(concurrency: int, p95: float, errors: float = 0.0, rps: float = 100.0) -> dict[str, Any]:
    return {
        "concurrency": concurrency,
        "requests": 500,
        "throughput_rps": rps,
        "full_core_rps": rps,
        "p50_ms": p95 / 3,
        "p95_ms": p95,
        "p99_ms": p95 * 1.3,
        "error_rate": errors,
        "errors_by_reason": {"status 500": int(500 * errors)} if errors else {},
        "examples": {"status 500": "place order: Internal Server Error"} if errors else {},
        "by_request": {"list products": {"p95_ms": p95 * 2}, "get product": {"p95_ms": p95}},
    }


def capacity(rps: float, cached: bool = False) -> Capacity:
    machine = {"hostname": "h", "cpu_model": "cpu", "cores": 2}
    return Capacity(rps, rps, 32, "2026-01-01T00:00:00+00:00", machine, [], cached)


def test_the_packs_load_plan_is_valid(pack: Pack) -> None:
    options, plan = read_plan(pack)
    assert plan.slo_p95_ms == 250
    assert plan.concurrencies[0] == 1 and plan.concurrencies[-1] == options["max_concurrency"]
    assert {r.name for r in plan.requests} >= {"place order", "customer orders"}
    assert plan.upstream_latency is not None
    assert 10 <= plan.upstream_latency.median_ms < plan.upstream_latency.p99_ms <= 200


def test_metrics_set_capacity_against_the_reference() -> None:
    summary = summarize([row(1, 20, rps=50), row(2, 40, rps=100)], 250, 0.01)
    found = metrics(summary, capacity(200.0, cached=True))
    assert found["load.knee_concurrency"] == 2
    assert found["load.relative_capacity"] == pytest.approx(0.375)  # median(100, 50) / 200
    assert found["load.reference_cached"] is True
    assert found["load.relative_capacity_basis"] == "kept figure"
    assert metrics(summary, None)["load.relative_capacity"] is None


def test_a_measurement_in_turns_sets_the_relative_capacity_when_it_has_a_ratio() -> None:
    summary = summarize([row(1, 20, rps=50), row(2, 40, rps=100)], 250, 0.01)
    found = metrics(summary, capacity(200.0), {"ratio": 0.9, "slices": []})
    assert found["load.relative_capacity"] == 0.9
    assert found["load.relative_capacity_basis"] == "in turns"
    assert found["load.reference_capacity_rps"] == 200.0  # the kept figure is still shown
    dropped = metrics(summary, capacity(200.0), {"ratio": None, "tampered": True, "slices": []})
    assert dropped["load.relative_capacity"] == pytest.approx(0.375)
    assert dropped["load.relative_capacity_basis"] == "kept figure"


def test_a_service_too_slow_for_one_user_is_a_finding() -> None:
    plan = LoadPlan.from_options({"request": [{"name": "x", "path": "/"}]})
    steps = [row(1, 400), row(2, 900)]
    table = step_table(steps, plan.slo_p95_ms)
    found = findings(steps, summarize(steps, 250, 0.01), plan, table, {})
    assert [f.rule for f in found] == ["load.slo_missed_at_one"]
    assert "'list products' (p95 800 ms)" in found[0].message
    assert found[0].snippet == table and "<- p95 over SLO" in table


def test_a_knee_at_one_user_is_a_finding() -> None:
    plan = LoadPlan.from_options({"request": [{"name": "x", "path": "/"}]})
    steps = [row(1, 100), row(2, 300)]
    found = findings(steps, summarize(steps, 250, 0.01), plan, "table", {})
    assert [f.rule for f in found] == ["load.knee_at_one"]
    assert "with 2 concurrent users p95 is 300 ms" in found[0].message


def test_error_bursts_and_a_refused_setup_are_findings() -> None:
    plan = LoadPlan.from_options({"request": [{"name": "x", "path": "/"}]})
    steps = [row(1, 10), row(2, 10), row(4, 20, errors=0.2)]
    setup = {"products": {"ok": 40, "status 500": 10}}
    found = findings(steps, summarize(steps, 250, 0.01), plan, "table", setup)
    assert [f.rule for f in found] == ["load.error_burst", "load.setup_refused"]
    assert "20.0% of requests failed at concurrency 4 (status 500: 100)" in found[0].message
    assert "Internal Server Error" in (found[0].snippet or "")


def report_with(artifact: str) -> Report:
    evidence = Evidence("load", artifacts={STEPS_ARTIFACT: artifact})
    info = SubmissionInfo("0" * 64, "src", "directory", 1, 1)
    return Report(submission=info, evidence=[evidence])


def test_the_chart_draws_every_step_with_the_slo_and_knee() -> None:
    steps = [row(c, 20 * c, rps=40 * c) for c in (1, 2, 4, 8)]
    results = {"plan": {"slo_p95_ms": 250}, "steps": steps}
    artifact = chart_data(results, summarize(steps, 250, 0.01), capacity(300))
    svg = str(load_chart(report_with(artifact)))
    assert svg.startswith("<svg") and svg.count("<rect") >= 4 and svg.count("<polyline") == 3
    assert "p95 SLO 250 ms" in svg and "knee 8" in svg
    page = render_html(report_with(artifact))
    assert '<section id="load">' in page and "<svg" in page
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_a_malformed_series_draws_no_chart() -> None:
    assert load_chart(report_with("{not json")) is None
    assert load_chart(report_with(json.dumps({"steps": [{"concurrency": 1}]}))) is None
    assert '<section id="load">' not in render_html(report_with("[]"))


def test_the_reference_figure_is_kept_per_machine_pack_version_and_plan(
    pack: Pack, tmp_path: Path
) -> None:
    options, _ = read_plan(pack)
    path = cache_path(tmp_path, pack, options)
    assert path.parent == tmp_path / "capacity" and path.name.startswith("orders-api-1.0.0-")
    assert cache_path(tmp_path, pack, {**options, "slo_p95_ms": 100}) != path
    slower = {**options, "upstream_latency": {"median_ms": 50, "p99_ms": 250}}
    assert cache_path(tmp_path, pack, slower) != path
    assert read_cached(path) is None
    write_cached(path, capacity(321.0))
    kept = read_cached(path)
    assert kept is not None and kept.capacity_rps == 321.0 and kept.cached
    assert "cached from an earlier grade" in kept.describe()


def test_the_reference_figure_is_measured_again_when_the_reference_or_harness_code_changes(
    pack: Pack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options, _ = read_plan(pack)
    before = cache_path(tmp_path, pack, options)
    copy = tmp_path / "pack"
    shutil.copytree(pack.root, copy)
    (copy / "reference" / "NOTES.md").write_text("a change to the reference\n")
    changed = pack.model_copy(update={"root": copy})
    assert cache_path(tmp_path, changed, options) != before
    monkeypatch.setattr(capacity_module, "harness_digest", lambda: "other harness code")
    assert cache_path(tmp_path, pack, options) != before


def test_a_kept_reference_figure_is_used_without_measuring(
    pack: Pack, tmp_path: Path, settings: Settings
) -> None:
    options, _ = read_plan(pack)
    write_cached(cache_path(tmp_path, pack, options), capacity(250.0))

    class Context:
        settings = type("S", (), {"home": tmp_path})()

    def must_not_run(*_: object) -> None:
        raise AssertionError("the reference was measured although a figure was kept")

    found = reference_capacity(Context(), pack, options, must_not_run)  # type: ignore[arg-type]
    assert found is not None and found.capacity_rps == 250.0 and found.cached


def test_a_low_share_of_the_reference_capacity_is_a_finding() -> None:
    plan = LoadPlan.from_options({"request": [{"name": "x", "path": "/"}]})
    evidence = Evidence("load")
    results = {"plan": {"slo_p95_ms": 250}, "steps": [row(1, 20, rps=50), row(2, 40, rps=60)]}
    LoadProbe()._evidence(evidence, plan, results, capacity(200.0))
    assert evidence.metrics["load.relative_capacity"] == 0.275
    assert [f.rule for f in evidence.findings] == ["load.low_capacity"]
    assert "Handles 28% of the load" in evidence.findings[0].message
    assert STEPS_ARTIFACT in evidence.artifacts and "load.steps.txt" in evidence.artifacts


def test_the_reference_figure_is_the_median_of_three_runs(
    pack: Pack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(capacity_module, "reference_context", lambda ctx, pack: ctx)
    options, _ = read_plan(pack)
    plan = {"slo_p95_ms": 250, "max_error_rate": 0.01}
    figures = iter([700, 600, 900])

    def measure(*args: object) -> dict[str, Any]:
        return {"plan": plan, "steps": [row(1, 5, rps=next(figures))]}

    context = type("Context", (), {"settings": type("S", (), {"home": tmp_path})(),
                                   "outdir": tmp_path})()  # fmt: skip
    found = reference_capacity(context, pack, options, measure)  # type: ignore[arg-type]
    assert found is not None and found.capacity_rps == 700 and found.runs == [700, 600, 900]
    kept = read_cached(cache_path(tmp_path, pack, options))
    assert kept is not None and kept.capacity_rps == 700 and kept.runs == [700, 600, 900]
    assert "the median of 3 runs" in kept.describe()


def test_a_reference_run_without_a_figure_is_left_out() -> None:
    answers = iter([None, 5.0, None])
    assert capacity_module.reference_runs(4.0, lambda: next(answers)) == [4.0, 5.0]
    assert capacity_module.median_run([4.0, 5.0], float) == 4.0
    assert capacity_module.median_run([9.0, 1.0, 5.0], float) == 5.0


@pytest.fixture(scope="module")
def quick_pack(pack: Pack) -> Iterator[Pack]:
    """orders-api with a shorter load run: the same traffic mix and upstream latency, in
    shorter steps up to 32 users (its reference figure is kept apart, by its own plan)."""
    root = Path(tempfile.mkdtemp(prefix="pw-quick-pack-", dir="/tmp"))
    shutil.copytree(pack.root, root / "orders-api")
    plan = root / "orders-api" / "load.toml"
    text = plan.read_text()
    for was, now in [
        ("step_duration_s = 5", "step_duration_s = 2"),
        ("warmup_s = 1", "warmup_s = 0.5"),
        ("max_concurrency = 64", "max_concurrency = 32\ncompare_rounds = 4"),
        ("products = 500", "products = 100"),
    ]:
        assert was in text, f"orders-api's load.toml no longer says {was!r}"
        text = text.replace(was, now)
    plan.write_text(text)
    yield load_pack(root / "orders-api")
    shutil.rmtree(root, ignore_errors=True)


def level_threshold(pack: Pack, signal: str, level: int, metric: str) -> float:
    """The number a level of a signal requires of a metric."""
    (condition,) = [
        c for c in pack.spec.signals[signal].levels[level].require if c.metric == metric
    ]
    assert condition.op == ">=" and not isinstance(condition.value, bool)
    return condition.value


def load_lock_shop(
    quick_pack: Pack,
    settings: Settings,
    sandbox_factory: Callable[..., BwrapSandbox],
    start: str,
) -> Evidence:
    """The load probe's evidence on tests/fixtures/lock_shop started with `start`."""
    sandbox = sandbox_factory()
    shutil.copytree(LOCK_SHOP, sandbox.workspace, dirs_exist_ok=True)
    (sandbox.workspace / "proofwork.toml").write_text(f'[service]\nstart = "{start}"\n')
    outdir = sandbox.workspace.parent / "out"
    outdir.mkdir()
    deps = quick_pack.spec.runtime.dependencies
    ctx = ProbeContext(
        sandbox.workspace,
        sandbox,
        runtime.environment(settings, sandbox.workspace, extra=deps),
        settings,
        Budget(600),
        outdir,
        challenge=quick_pack,
        submission_sha256=intake.submission_sha256(sandbox.workspace),
    )
    evidence = LoadProbe().run(ctx)
    assert evidence.status == Status.OK, evidence.error
    return evidence


SERVE = "python -m uvicorn app:app --host 127.0.0.1 --port $PORT --log-level warning"


@pytest.mark.slow
def test_a_global_lock_across_the_upstream_call_costs_level_3_capacity(
    pack: Pack,
    quick_pack: Pack,
    settings: Settings,
    sandbox_factory: Callable[..., BwrapSandbox],
) -> None:
    """The same correct service, with and without one lock held across Paystream's answer,
    each measured in turns with the reference."""
    declared = read_plan(pack)[1].upstream_latency
    assert declared is not None and read_plan(quick_pack)[1].upstream_latency == declared

    def relative_capacity(start: str) -> float:
        evidence = load_lock_shop(quick_pack, settings, sandbox_factory, start)
        assert evidence.metrics["load.error_rate_max"] == 0.0
        assert evidence.metrics["load.relative_capacity_basis"] == "in turns"
        turns = evidence.artifacts["load.turns.txt"]
        assert turns.count("reference") == turns.count("submission") == 4, turns
        relative = evidence.metrics["load.relative_capacity"]
        assert isinstance(relative, float)
        return relative

    locked = relative_capacity(f"exec env LOCK=global {SERVE}")
    unlocked = relative_capacity(f"exec {SERVE}")
    threshold = level_threshold(quick_pack, "production_readiness", 3, "load.relative_capacity")
    assert locked < threshold < unlocked, (locked, threshold, unlocked)


@pytest.mark.slow
def test_a_service_that_disturbs_the_reference_in_its_turn_is_caught(
    quick_pack: Pack, settings: Settings, sandbox_factory: Callable[..., BwrapSandbox]
) -> None:
    """Requests from the submission's sandbox to the reference's port drop the comparison in
    turns: the figure divides by the kept reference figure, and says so."""
    evidence = load_lock_shop(
        quick_pack, settings, sandbox_factory, f"exec env DISTURB={COMPANION_PORT} {SERVE}"
    )
    assert evidence.metrics["load.relative_capacity_basis"] == "kept figure"
    assert "load.reference_disturbed" in [f.rule for f in evidence.findings]
    assert "connected to the reference's port" in evidence.artifacts["load.turns.txt"]
