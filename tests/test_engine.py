"""The engine end to end on real projects, against running the same tools directly."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from proofwork import dependencies, runtime
from proofwork.config import Settings
from proofwork.engine import GradeRequest, grade, run_probe
from proofwork.evidence import Evidence, Status
from proofwork.probes.base import Budget, ProbeContext
from proofwork.sandbox import UnsafeSandbox

FIXTURES = Path(__file__).parent / "fixtures"
SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?)")


def copy_fixture(name: str, workdir: Path) -> Path:
    target = workdir / name
    shutil.copytree(FIXTURES / name, target)
    return target


def direct_pytest(
    project: Path, settings: Settings, source: str = "src", root: str = "src"
) -> tuple[dict[str, int], float]:
    """Run pytest under coverage.py directly (no Proofwork), as a developer would."""
    python = str(runtime.ensure_runtime(settings, "base") / "bin" / "python")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(project / root), "HOME": str(project)}
    run = subprocess.run(
        [python, "-m", "coverage", "run", "--branch", f"--source={source}", "-m", "pytest", "-q",
         "-p", "no:cacheprovider"],
        cwd=project, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    counts = {kind.rstrip("s"): int(n) for n, kind in SUMMARY.findall(run.stdout.splitlines()[-1])}
    subprocess.run(
        [python, "-m", "coverage", "json", "-o", "cov.json"], cwd=project, env=env, check=True,
        capture_output=True,
    )  # fmt: skip
    totals = json.loads((project / "cov.json").read_text())["totals"]
    return counts, 100.0 * totals["covered_lines"] / totals["num_statements"]


@pytest.mark.slow
def test_grade_matches_plain_pytest_and_coverage(workdir: Path, settings: Settings) -> None:
    project = copy_fixture("minilib", workdir)
    report = grade(GradeRequest(source=project, settings=settings, probes=["tests"]))
    counts, coverage = direct_pytest(copy_fixture("minilib", workdir / "direct"), settings)
    metrics = report.metrics
    assert metrics["tests.passed"] == counts["passed"]
    assert metrics["tests.failed"] == counts["failed"]
    assert metrics["tests.skipped"] == counts.get("skipped", 0)
    assert metrics["tests.xfailed"] == counts.get("xfailed", 0)
    assert metrics["tests.errors"] == counts.get("error", 0)
    assert abs(float(str(metrics["tests.coverage_percent"])) - coverage) <= 1.0
    assert 0 < float(str(metrics["tests.branch_coverage_percent"])) < 100


@pytest.mark.slow
def test_a_flat_layouts_coverage_is_of_what_it_ships(workdir: Path, settings: Settings) -> None:
    # The release script beside the package is neither shipped nor tested: the project's own
    # `--cov=flatpkg` leaves it out, and so does the grade (static analysis still reads it).
    report = grade(
        GradeRequest(source=copy_fixture("flatpkg", workdir), settings=settings, probes=["tests"])
    )
    counts, coverage = direct_pytest(
        copy_fixture("flatpkg", workdir / "direct"), settings, source="flatpkg", root="."
    )
    assert report.metrics["tests.passed"] == counts["passed"] == 3
    assert coverage == 100.0
    assert report.metrics["tests.coverage_percent"] == coverage


@pytest.mark.slow
def test_a_second_grade_reuses_the_installed_dependencies(
    workdir: Path, settings: Settings
) -> None:
    project = copy_fixture("minilib", workdir)
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(
        text.replace("requires-python", 'dependencies = ["six"]\nrequires-python')
    )
    (project / "tests" / "test_six.py").write_text(
        "import six\n\ndef test_six():\n    assert six.PY3\n"
    )
    first = grade(GradeRequest(source=project, settings=settings, probes=["tests"]))
    second = grade(GradeRequest(source=project, settings=settings, probes=["tests"]))
    installs = [next(e for e in r.evidence if e.probe == "install") for r in (first, second)]
    assert installs[1].metrics["install.cached"] is True
    assert installs[1].duration_s < 1.0
    assert second.metrics["tests.passed"] == first.metrics["tests.passed"]
    assert "tests/test_six.py" not in str([f.path for f in second.findings])


@pytest.mark.slow
def test_a_failed_install_is_a_finding_and_the_run_goes_on(
    workdir: Path, settings: Settings
) -> None:
    project = copy_fixture("minilib", workdir)
    # One unavailable and one conflicting requirement (a plugin wanting pytest < 9) never
    # drop the others: six is installed and its test passes.
    (project / "requirements.txt").write_text(
        "proofwork-no-such-package-7d1c==1.0\npytest-asyncio==0.23.8\nsix==1.17.0\n"
    )
    (project / "tests" / "test_six.py").write_text(
        "import six\n\ndef test_six():\n    assert six.PY3\n"
    )
    report = grade(GradeRequest(source=project, settings=settings, probes=["tests"]))
    install = next(e for e in report.evidence if e.probe == "install")
    failed = sorted(f.message for f in install.findings if f.rule == "install.failed")
    assert len(failed) == 2
    assert "`proofwork-no-such-package-7d1c==1.0` (requirements.txt)" in failed[0]
    assert "No matching distribution" in failed[0]
    assert "`pytest-asyncio==0.23.8` (requirements.txt)" in failed[1]
    assert "pytest" in failed[1].split(":", 1)[1]  # pip's reason names the conflict
    assert install.status is Status.OK
    assert "tests/test_six.py" not in str([f.path for f in report.findings])
    assert report.metrics["tests.passed"] > 1
    # A failure may have been the network's: the next grade tries again instead of reusing it.
    again = grade(GradeRequest(source=project, settings=settings, probes=["tests"]))
    assert again.metrics["install.cached"] is False
    assert again.metrics["install.failed"] == 2


def test_a_project_without_tests_reports_none_collected(workdir: Path, settings: Settings) -> None:
    project = workdir / "bare"
    project.mkdir()
    (project / "lib.py").write_text("def f(x):\n    return x + 1\n")
    report = grade(GradeRequest(source=project, settings=settings, probes=["tests"]))
    assert report.metrics["tests.total"] == 0
    assert report.metrics["tests.coverage_percent"] == 0.0
    assert any(f.rule == "tests.none" for f in report.findings)


class CrashingProbe:
    name = "crash"
    stage = 1

    def applies(self, ctx: ProbeContext) -> bool:
        return True

    def run(self, ctx: ProbeContext) -> Evidence:
        raise RuntimeError("probe bug")


def make_context(workdir: Path, settings: Settings, budget_s: float = 60) -> ProbeContext:
    env = runtime.Environment(python="python", tools_bin="/usr/bin", mounts=(), tool_mounts=())
    return ProbeContext(workdir, UnsafeSandbox(workdir), env, settings, Budget(budget_s), workdir)


def test_a_crashing_probe_becomes_error_evidence(workdir: Path, settings: Settings) -> None:
    evidence = run_probe(CrashingProbe(), make_context(workdir, settings))
    assert evidence.status is Status.ERROR
    assert evidence.error == "RuntimeError: probe bug"
    assert "probe bug" in evidence.artifacts["traceback"]


def test_a_probe_is_skipped_once_the_budget_is_spent(workdir: Path, settings: Settings) -> None:
    ctx = make_context(workdir, settings, budget_s=0.001)
    ctx.budget.started -= 1
    evidence = run_probe(CrashingProbe(), ctx)
    assert evidence.status is Status.SKIPPED
    assert "budget" in (evidence.error or "")


@pytest.mark.slow
def test_a_projects_test_extras_cannot_replace_the_measuring_tools(
    workdir: Path, settings: Settings
) -> None:
    project = copy_fixture("minilib", workdir)
    (project / "requirements-test.txt").write_text("pytest>=8\ncoverage\n")
    (project / "tests" / "test_versions.py").write_text(
        "import coverage, pytest\n\n"
        "def test_versions():\n"
        "    assert (pytest.__version__, coverage.__version__) == ('9.2.0', '7.17.3')\n"
    )
    report = grade(GradeRequest(source=project, settings=settings, probes=["tests"]))
    assert "tests/test_versions.py" not in str([f.path for f in report.findings])
    assert report.metrics["install.failed"] == 0


def summary_counts(output: str) -> dict[str, int]:
    """pytest's summary line as numbers: {"passed": 3, "failed": 1, "subtests passed": 2}."""
    line = output.strip().splitlines()[-1]
    found = re.findall(
        r"(\d+) (subtests passed|subtests failed|passed|failed|skipped|errors?)", line
    )
    return {kind.replace("errors", "error"): int(n) for n, kind in found}


TEST_DEPENDENCIES = {
    # fixture: (how it declares test dependencies, what it says about pytest)
    "pinned-lock": "requirements/tests.txt, a pip-compile lock pinning pytest==8.1.1",
    "runner-nine": "a pyproject extra requiring pytest>=9, pointing at another extra",
    "groups": "a PEP 735 dependency group with include-group, pinning pytest==8.1.1",
    "tox-only": "tox.ini [testenv] deps only",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TEST_DEPENDENCIES))
def test_test_dependencies_install_wherever_declared_and_the_grade_equals_pytest(
    workdir: Path, settings: Settings, name: str
) -> None:
    project = workdir / name
    shutil.copytree(FIXTURES / "testdeps" / name, project)
    report = grade(GradeRequest(source=project, settings=settings, probes=["tests"]))
    install = next(e for e in report.evidence if e.probe == "install")
    assert install.metrics["install.failed"] == 0, [f.message for f in install.findings]
    assert install.metrics["install.set_aside"] >= 1
    assert any("pytest" in f.message for f in install.findings if f.rule == "install.set_aside")
    # The same suite run directly, on the grader's pytest with what the grade installed.
    base = runtime.ensure_runtime(settings, "base")
    python = str(base / "bin" / "python")
    provided = frozenset(pin.split("==")[0] for pin in runtime.tool_pins(base))
    key = dependencies.plan(project, provided).key(
        submission_sha=report.submission.sha256, runtime=python, index_url=settings.index_url
    )
    site = settings.deps_cache_dir / key / "site"
    roots = [str(project / "src"), str(project)] if (project / "src").is_dir() else [str(project)]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join([*roots, str(site)]), "HOME": "/tmp"}
    direct = subprocess.run(
        [python, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
        cwd=project, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    counts = summary_counts(direct.stdout)
    metrics = report.metrics
    for kind, metric in [
        ("passed", "tests.passed"),
        ("failed", "tests.failed"),
        ("skipped", "tests.skipped"),
        ("error", "tests.errors"),
        ("subtests passed", "tests.subtests_passed"),
    ]:
        assert metrics[metric] == counts.get(kind, 0), (kind, direct.stdout[-2000:])
    assert counts.get("passed", 0) >= 1
