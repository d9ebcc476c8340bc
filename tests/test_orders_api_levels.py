"""orders-api: its checks catch rules broken at their boundaries, and production readiness
falls in proportion to what failed (a documented detail costs at most the top level, a critical
failure still drops the service).

The services graded here are the pack's reference with one deliberate slip each, made by
patching a copy at test time, so they follow the reference as it changes.
"""

from __future__ import annotations

import shutil

import pytest

from proofwork.challenges import Pack, discover
from proofwork.challenges.verify import failed_checks
from proofwork.config import Settings
from proofwork.engine import GradeRequest, grade
from proofwork.evidence import Finding, MetricValue, Report, Severity
from proofwork.probes.acceptance import counted_in, rule_metrics
from proofwork.signals import Signal, score_machine


# Production readiness also reads other probes (input, faults, durability, load). A service
# that holds under concurrency, faults and restarts meets each of their thresholds: these tests
# give every such metric the value its strictest threshold asks for.
def clean_elsewhere(pack: Pack) -> dict[str, MetricValue]:
    spec = pack.spec.signals["production_readiness"]
    clean: dict[str, MetricValue] = {}
    for condition in (c for lv in spec.levels for c in lv.require):
        if condition.metric.startswith("acceptance."):
            continue
        value, known = condition.value, clean.get(condition.metric)
        assert condition.op in ("==", ">=", "<="), f"add a clean value for {condition}"
        if isinstance(known, int | float) and not isinstance(known, bool):
            pick = max if condition.op == ">=" else min
            value = pick(known, value) if condition.op != "==" else value
        clean[condition.metric] = value
    return clean


# Each slip: (file of the reference, text there, what the variant has instead).
SLIPS: dict[str, list[tuple[str, str, str]]] = {
    # Judges FIVEOFF's €20.00 minimum on what the percentage code left (R4, major).
    "fiveoff-after-percentage": [
        (
            "app/pricing.py",
            "elif subtotal < FIXED_PROMO_MINIMUM:",
            "elif subtotal - discount < FIXED_PROMO_MINIMUM:",
        )
    ],
    # Answers malformed JSON with 400 and an error code the contract does not list (minor).
    "unlisted-error-code": [
        ("app/api.py", 'raise ApiError(400, "invalid_json",', 'raise ApiError(400, "bad_json",')
    ],
    # Checks each line against the stock as it was, then takes every line (R6, critical):
    # two lines for one product can take more than is left.
    "stock-judged-per-line": [
        (
            "app/catalogue.py",
            "    for sku, quantity in lines:\n"
            "        taken = conn.execute(\n"
            '            "UPDATE products SET stock = stock - ? WHERE sku = ? AND stock >= ?", '
            "(quantity, sku, quantity)\n"
            "        ).rowcount\n"
            "        if taken != 1:\n"
            '            raise ApiError(409, "out_of_stock", '
            'f"not enough stock left for {sku!r}")\n',
            "    for sku, quantity in lines:\n"
            '        left = conn.execute("SELECT stock FROM products WHERE sku = ?", (sku,))\n'
            '        if left.fetchone()["stock"] < quantity:\n'
            '            raise ApiError(409, "out_of_stock", "not enough stock left")\n'
            "    for sku, quantity in lines:\n"
            "        conn.execute(\n"
            '            "UPDATE products SET stock = stock - ? WHERE sku = ?", (quantity, sku)\n'
            "        )\n",
        )
    ],
}


@pytest.fixture(scope="module")
def pack(settings: Settings) -> Pack:
    return discover(settings.challenges_path).get("orders-api")


def levelled(pack: Pack, metrics: dict[str, MetricValue], findings: list[Finding]) -> Signal:
    """Production readiness as the pack scores it, the other probes being clean."""
    spec = pack.spec.signals["production_readiness"]
    return score_machine(
        "production_readiness", spec, {**clean_elsewhere(pack), **metrics}, findings
    )


def checks(*failing: tuple[str, str, str], passing: int = 70) -> list[dict[str, object]]:
    """Harness results: `passing` checks that passed and (id, rule, severity) that failed."""
    results: list[dict[str, object]] = [
        {"id": f"ok.{n}", "rule": f"R{n % 12 + 1}", "passed": True, "status": "passed"}
        for n in range(passing)
    ]
    results += [
        {"id": cid, "rule": rule, "severity": sev, "passed": False, "status": "failed"}
        for cid, rule, sev in failing
    ]
    return results


def scored(pack: Pack, *failing: tuple[str, str, str]) -> Signal:
    results = checks(*failing)
    findings = [
        Finding(f"acceptance.{c['id']}", Severity.HIGH, "m", counts_toward=counted_in(c))
        for c in results
        if not c["passed"]
    ]
    return levelled(pack, rule_metrics(results), findings)


def test_a_clean_service_is_production_grade(pack: Pack) -> None:
    assert scored(pack).level == 4


@pytest.mark.parametrize("rule", ["R2", "R4", "R6", "R8", "R9", "R11"])
def test_one_minor_failure_costs_only_the_top_level(pack: Pack, rule: str) -> None:
    signal = scored(pack, ("validation.detail", rule, "minor"))

    assert signal.level == 3
    [held] = signal.held_back_by
    assert held["requirement"] == "acceptance.minor_failed = 1 (needs == 0)"
    assert [f["rule"] for f in held["findings"]] == ["acceptance.validation.detail"]


@pytest.mark.parametrize(
    ("failing", "level", "requirement"),
    [
        (("stock.oversold", "R6", "critical"), 2, "acceptance.critical_failed = 1 (needs == 0)"),
        (("promos.money", "R4", "critical"), 2, "acceptance.critical_failed = 1 (needs == 0)"),
        (("retry.conflict", "R8", "major"), 2, "acceptance.r8.major_failed = 1 (needs == 0)"),
        (("json.crash", "R9", "major"), 1, "acceptance.r9.major_failed = 1 (needs == 0)"),
        (("money.float", "R2", "critical"), 1, "acceptance.r2.critical_failed = 1 (needs == 0)"),
        (("promos.refused", "R4", "major"), 3, "acceptance.major_failed = 1 (needs == 0)"),
    ],
)
def test_critical_and_major_failures_still_block_their_level(
    pack: Pack, failing: tuple[str, str, str], level: int, requirement: str
) -> None:
    signal = scored(pack, failing)

    assert signal.level == level
    held = {h["requirement"]: h for h in signal.held_back_by}
    assert [f["rule"] for f in held[requirement]["findings"]] == [f"acceptance.{failing[0]}"]


def test_a_minor_failure_beside_a_critical_one_does_not_change_what_is_named(pack: Pack) -> None:
    signal = scored(pack, ("stock.oversold", "R6", "critical"), ("codes.detail", "R9", "minor"))

    assert signal.level == 2
    assert [h["requirement"] for h in signal.held_back_by] == [
        "acceptance.critical_failed = 1 (needs == 0)"
    ]


# -- end to end: the reference with one slip, graded by the acceptance probe -----------------


@pytest.fixture(scope="module")
def graded(
    pack: Pack, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Report]:
    reports = {}
    for name, edits in SLIPS.items():
        variant = tmp_path_factory.mktemp(name) / "service"
        shutil.copytree(pack.path("reference"), variant, ignore=shutil.ignore_patterns(".*cache*"))
        for path, old, new in edits:
            source = variant / path
            text = source.read_text()
            assert text.count(old) == 1, f"{path} of the reference no longer has {old!r}"
            source.write_text(text.replace(old, new))
        request = GradeRequest(
            source=variant, settings=settings, challenge=pack.id, probes=["acceptance"]
        )
        reports[name] = grade(request)
    return reports


def acceptance_of(report: Report) -> tuple[dict[str, MetricValue], list[Finding]]:
    metrics = {k: v for k, v in report.metrics.items() if k.startswith(("acceptance.", "service."))}
    return metrics, [f for f in report.findings if f.probe == "acceptance"]


@pytest.mark.slow
def test_fiveoff_judged_after_the_percentage_is_caught_only_by_the_boundary_check(
    graded: dict[str, Report],
) -> None:
    report = graded["fiveoff-after-percentage"]

    assert failed_checks(report) == {"promos.fiveoff_minimum_judged_on_the_subtotal"}
    [finding] = acceptance_of(report)[1]
    assert (
        "this one is 20.00, so WELCOME10 + FIVEOFF both apply" in finding.message
        and finding.severity is Severity.HIGH
    )


@pytest.mark.slow
def test_stock_judged_line_by_line_is_caught_as_an_oversell(graded: dict[str, Report]) -> None:
    report = graded["stock-judged-per-line"]

    assert failed_checks(report) == {"stock.same_sku_on_two_lines_counted_together"}
    assert report.metrics["acceptance.critical_failed"] == 1


@pytest.mark.slow
def test_end_to_end_a_minor_slip_keeps_the_level_and_a_critical_one_drops_it(
    pack: Pack, graded: dict[str, Report]
) -> None:
    minor = levelled(pack, *acceptance_of(graded["unlisted-error-code"]))
    major = levelled(pack, *acceptance_of(graded["fiveoff-after-percentage"]))
    critical = levelled(pack, *acceptance_of(graded["stock-judged-per-line"]))

    assert failed_checks(graded["unlisted-error-code"]) == {"validation.malformed_json_refused"}
    assert graded["unlisted-error-code"].metrics["acceptance.minor_failed"] == 1
    # Before severities, R9's one failure held this service at level 1 ("demo quality").
    assert (minor.level, major.level, critical.level) == (3, 3, 2)
    behind = {h["requirement"]: [f["rule"] for f in h["findings"]] for h in critical.held_back_by}
    assert behind == {
        "acceptance.critical_failed = 1 (needs == 0)": [
            "acceptance.stock.same_sku_on_two_lines_counted_together"
        ]
    }
    held = {h["requirement"]: [f["rule"] for f in h["findings"]] for h in minor.held_back_by}
    assert held == {
        "acceptance.minor_failed = 1 (needs == 0)": ["acceptance.validation.malformed_json_refused"]
    }
