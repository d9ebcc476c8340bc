"""The bundled `orders-api` pack: it loads, verify tells its reference from its starter, a
grade repeats, and a candidate's kit works as a candidate would use it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from proofwork import runtime
from proofwork.challenges import Pack, discover
from proofwork.challenges.kit import build_kit, tooling
from proofwork.challenges.verify import failed_checks, levels
from proofwork.cli import app
from proofwork.config import Settings
from proofwork.engine import GradeRequest, grade
from proofwork.evidence import Report


@pytest.fixture(scope="module")
def pack(settings: Settings) -> Pack:
    return discover(settings.challenges_path).get("orders-api")


def test_the_pack_loads_with_every_signal_and_enough_checks(pack: Pack) -> None:
    assert set(pack.spec.signals) == {
        "production_readiness",
        "testing_discipline",
        "maintainability",
        "operability",
    }
    assert set(pack.rubric) == {"business_understanding", "tradeoff_reasoning"}
    assert pack.spec.verify.starter_must_fail, (
        "verify must name the checks aimed at planted failures"
    )
    source = "\n".join(p.read_text() for p in pack.path("checks").glob("*.py"))
    assert source.count("@check(") >= 30


@pytest.mark.slow
@pytest.mark.timeout(900)  # on a fresh machine it first measures the reference three times
def test_verify_tells_the_reference_from_the_starter() -> None:
    result = CliRunner().invoke(app, ["challenge", "verify", "orders-api"])
    assert result.exit_code == 0, result.output
    assert "verify passed" in result.output


@pytest.mark.slow
def test_the_same_submission_graded_twice_gets_the_same_results(
    pack: Pack, settings: Settings
) -> None:
    reports = [
        grade(
            GradeRequest(
                source=pack.path("starter"),
                settings=settings,
                challenge="orders-api",
                # The checks and the signals they feed; verify grades with every probe.
                probes=["static", "tests", "acceptance"],
            )
        )
        for _ in range(2)
    ]
    assert failed_checks(reports[0]) == failed_checks(reports[1])
    assert levels(reports[0]) == levels(reports[1])
    assert reports[0].metrics["acceptance.total"] >= 30


@pytest.mark.slow
def test_the_kits_self_check_runs_on_the_starter_as_a_candidate_would(
    pack: Pack, settings: Settings, workdir: Path
) -> None:
    build_kit(pack, workdir / "kit")
    starter = workdir / "kit" / "starter"
    venv = runtime.ensure_runtime(settings, "base", pack.spec.runtime.dependencies)
    done = subprocess.run(
        [str(venv / "bin" / "python"), "selfcheck.py"],
        cwd=starter,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "self-checks passed" in done.stdout, done.stdout + done.stderr
    assert "PASS  An order is placed and paid (201)" in done.stdout
    assert "FAIL  GET /healthz answers 200" in done.stdout
    assert done.returncode == 1


@pytest.mark.slow
def test_the_self_check_passes_on_the_reference(pack: Pack, settings: Settings) -> None:
    venv = runtime.ensure_runtime(settings, "base", pack.spec.runtime.dependencies)
    done = subprocess.run(
        [str(venv / "bin" / "python"), str(pack.path("selfcheck.py"))],
        cwd=pack.path("reference"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


MEASURES = ("tests.", "static.", "security.", "mutation.total", "mutation.equivalent")
TIMINGS = ("tests.duration_s", "tests.wall_s")


def _figures(report: Report) -> dict[str, object]:
    """The coverage, static, security and mutant-population figures (not timings or samples)."""
    return {k: v for k, v in report.metrics.items() if k.startswith(MEASURES) and k not in TIMINGS}


@pytest.mark.slow
def test_the_kits_own_files_kept_unchanged_are_not_measured_as_the_candidates(
    pack: Pack, settings: Settings, workdir: Path
) -> None:
    with_kit = workdir / "with-kit"
    shutil.copytree(pack.path("reference"), with_kit)
    build_kit(pack, workdir / "kit")
    for name in tooling(pack):  # selfcheck.py, brief.md, openapi.yaml, as a candidate keeps them
        shutil.copy2(workdir / "kit" / "starter" / name, with_kit / name)
    probes = ["tests", "mutation", "static", "security"]
    plain, kept = (
        grade(GradeRequest(source=s, settings=settings, challenge="orders-api", probes=probes))
        for s in (pack.path("reference"), with_kit)
    )
    assert _figures(kept) == _figures(plain)
    assert _figures(plain)["tests.coverage_percent"] >= 90
    assert not [f for f in kept.findings if f.path in tooling(pack)]
    # A changed copy is the candidate's code, and measured like the rest.
    (with_kit / "selfcheck.py").write_text(
        (with_kit / "selfcheck.py").read_text() + "\n\ndef mine():\n    return 1\n"
    )
    changed = grade(
        GradeRequest(source=with_kit, settings=settings, challenge="orders-api", probes=["static"])
    )
    assert changed.metrics["static.loc"] > plain.metrics["static.loc"] + 100
