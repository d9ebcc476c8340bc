"""The mutation probe end to end, in a real sandbox, on projects the test suite ships."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from sandboxing import ContextFactory

from proofwork.evidence import Evidence, Status
from proofwork.mutation.sampling import ladder
from proofwork.probes.base import Budget, ProbeContext
from proofwork.probes.mutation import MutationProbe
from proofwork.probes.tests import MAP_FILE, TestsProbe

FIXTURES = Path(__file__).parent.parent / "fixtures" / "mutation"


def project(name: str, tests: str | None = None) -> dict[str, str]:
    """A fixture project's files; `tests` picks one of its test folders as `tests/`."""
    root = FIXTURES / name
    files = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if path.is_file() and relative.parts[0] not in ("strong", "weak"):
            files[str(relative)] = path.read_text()
    if tests is not None:
        for path in (root / tests).iterdir():
            files[f"tests/{path.name}"] = path.read_text()
    return files


@pytest.mark.slow
def test_a_suite_that_asserts_behaviour_scores_far_above_one_that_only_runs_the_code(
    make_context: ContextFactory,
) -> None:
    strong = MutationProbe().run(make_context(project("shop", "strong")))
    weak = MutationProbe().run(make_context(project("shop", "weak")))
    assert strong.status is Status.OK and weak.status is Status.OK, (strong.error, weak.error)
    for evidence in (strong, weak):
        assert evidence.metrics["mutation.exact"] is True
        assert evidence.metrics["mutation.not_covered"] == 0  # the same coverage: every line
        assert evidence.metrics["mutation.total"] == evidence.metrics["mutation.sampled"]
    assert strong.metrics["mutation.total"] == weak.metrics["mutation.total"]
    assert strong.metrics["mutation.score_percent"] >= 80
    assert weak.metrics["mutation.score_percent"] <= 45
    survivors = [f for f in weak.findings if f.rule == "mutation.survived"]
    assert survivors and all(f.diff and f.path == "shop/orders.py" for f in survivors)
    first = weak.findings[0]
    assert first.rule == "mutation.function" and first.message.startswith("orders.total: ")


@pytest.mark.slow
def test_the_same_submission_gives_the_same_result(make_context: ContextFactory) -> None:
    runs = [MutationProbe().run(make_context(project("shop", "strong"))) for _ in range(2)]
    timings = ("mutation.generate_s", "mutation.map_s", "mutation.run_s")
    first, second = ({k: v for k, v in r.metrics.items() if k not in timings} for r in runs)
    assert first == second
    assert [f.diff for f in runs[0].findings] == [f.diff for f in runs[1].findings]


@pytest.mark.slow
def test_a_project_without_tests_scores_zero_with_every_mutant_not_covered(
    make_context: ContextFactory,
) -> None:
    evidence = MutationProbe().run(make_context(project("shop")))
    metrics = evidence.metrics
    assert evidence.status is Status.OK, evidence.error
    assert metrics["mutation.score_percent"] == 0.0
    assert metrics["mutation.total"] > 20
    assert metrics["mutation.not_covered"] == metrics["mutation.total"]
    assert metrics["mutation.killed"] == metrics["mutation.survived"] == 0


@pytest.mark.slow
def test_a_src_layout_whose_test_reads_a_file_next_to_it_and_a_mutant_that_never_ends(
    make_context: ContextFactory,
) -> None:
    evidence = MutationProbe().run(make_context(project("srclayout")))
    metrics = evidence.metrics
    assert evidence.status is Status.OK, evidence.error
    assert metrics["mutation.not_covered"] == 0
    assert metrics["mutation.errors"] == 0
    # `size += 1` planted as `size -= 1` loops forever: the per-mutant timeout ends it.
    assert metrics["mutation.timeout"] >= 1
    assert metrics["mutation.score_percent"] >= 70
    assert all(f.path == "src/textkit/words.py" for f in evidence.findings if f.path)


def test_it_applies_only_to_projects_with_source(make_context: ContextFactory) -> None:
    assert not MutationProbe().applies(make_context({"tests/test_x.py": "def test_x(): pass\n"}))
    assert MutationProbe().applies(make_context({"app.py": "X = 1\n"}))


def _tests_then_mutation(ctx: ProbeContext) -> tuple[Path, Path, Evidence]:
    """Run the tests probe, then the mutation probe after it, as a grade does."""
    tests_out = ctx.outdir.parent / "out-all" / "tests"
    mutation_out = ctx.outdir.parent / "out-all" / "mutation"
    for folder in (tests_out, mutation_out):
        folder.mkdir(parents=True)
    tests = TestsProbe().run(dataclasses.replace(ctx, outdir=tests_out))
    assert (tests_out / MAP_FILE).exists()
    evidence = MutationProbe().run(
        dataclasses.replace(ctx, outdir=mutation_out, previous={"tests": tests})
    )
    return tests_out, mutation_out, evidence


@pytest.mark.slow
def test_it_reuses_the_map_the_tests_probes_coverage_run_recorded(
    make_context: ContextFactory,
) -> None:
    _, mutation_out, evidence = _tests_then_mutation(make_context(project("shop", "strong")))
    assert evidence.metrics["mutation.map_shared"] is True
    assert evidence.metrics["mutation.score_percent"] >= 80
    assert not (mutation_out / MAP_FILE).exists()  # no second instrumented run


SLOW_SUITE = {
    "slowpay/__init__.py": "",
    "slowpay/fees.py": "def fee(amount):\n    return amount * 2 + 1\n",
    "tests/test_fees.py": (
        "import time\nfrom slowpay.fees import fee\n\n\n"
        "def test_fee():\n    time.sleep(2)\n    assert fee(10) == 21\n"
    ),
}


@pytest.mark.slow
def test_when_no_mutant_can_be_judged_in_time_there_is_no_score_not_a_score_of_zero(
    make_context: ContextFactory,
) -> None:
    ctx = make_context(SLOW_SUITE)
    tests_out, mutation_out = ctx.outdir / "tests", ctx.outdir / "mutation"
    tests_out.mkdir(), mutation_out.mkdir()
    tests = TestsProbe().run(dataclasses.replace(ctx, outdir=tests_out))
    # Four seconds in all: each mutant's one test sleeps two, and the sandbox takes its part.
    short = dataclasses.replace(
        ctx, outdir=mutation_out, previous={"tests": tests}, budget=Budget(4.0)
    )
    evidence = MutationProbe().run(short)
    assert evidence.metrics["mutation.map_shared"] is True
    assert evidence.metrics["mutation.total"] > 0
    assert evidence.metrics["mutation.score_percent"] is None
    assert evidence.metrics["mutation.ci95_low"] is None
    assert evidence.status is Status.TIMEOUT
    assert evidence.error and "no planted bug could be judged" in evidence.error


def _many_mutants(functions: int = 40) -> dict[str, str]:
    """A module of small functions (several mutants each), each tested by a slow-ish test."""
    body = "".join(
        f"def f{n}(x):\n    if x > {n}:\n        return x * {n + 2} - 1\n    return x + {n}\n\n\n"
        for n in range(functions)
    )
    tests = "import time\nfrom calc.ops import *  # noqa: F403\n\n\n" + "".join(
        f"def test_f{n}():\n    time.sleep(0.05)\n    assert f{n}({n + 1}) == "
        f"{(n + 1) * (n + 2) - 1}\n    assert f{n}(0) == {n}\n\n\n"
        for n in range(functions)
    )
    return {"calc/__init__.py": "", "calc/ops.py": body, "tests/test_ops.py": tests}


@pytest.mark.slow
def test_a_budget_that_fits_only_part_judges_a_laddered_sample_and_gives_an_interval(
    make_context: ContextFactory,
) -> None:
    ctx = make_context(_many_mutants())
    tests_out, mutation_out = ctx.outdir / "tests", ctx.outdir / "mutation"
    tests_out.mkdir(), mutation_out.mkdir()
    tests = TestsProbe().run(dataclasses.replace(ctx, outdir=tests_out))
    short = dataclasses.replace(
        ctx, outdir=mutation_out, previous={"tests": tests}, budget=Budget(12.0)
    )
    metrics = MutationProbe().run(short).metrics
    total, sampled = metrics["mutation.total"], metrics["mutation.sampled"]
    assert isinstance(total, int) and isinstance(sampled, int)
    assert metrics["mutation.exact"] is False and 16 <= sampled < total
    assert sampled in ladder(total)  # a step of the ladder, so a rerun picks the same sample
    assert metrics["mutation.errors"] == 0  # every mutant of the sample was judged
    low, score, high = (
        metrics[f"mutation.{k}"] for k in ("ci95_low", "score_percent", "ci95_high")
    )
    assert isinstance(low, float) and isinstance(high, float) and isinstance(score, float)
    assert low < score < high


@pytest.mark.slow
def test_a_flat_package_with_its_tests_inside_it(make_context: ContextFactory) -> None:
    evidence = MutationProbe().run(make_context(project("inpackage")))
    metrics = evidence.metrics
    assert evidence.status is Status.OK, evidence.error
    assert (metrics["mutation.killed"], metrics["mutation.total"]) == (6, 9)
    assert metrics["mutation.not_covered"] == metrics["mutation.errors"] == 0
    # What survives is real: `<` -> `<=` at a clamp's bounds returns the same value, and
    # `pytest.raises(match=...)` searches, so "XXmean of nothingXX" still matches.
    survivors = sorted(f.diff or "" for f in evidence.findings if f.rule == "mutation.survived")
    assert [d.splitlines()[1] for d in survivors] == [
        "+ if value <= low:",
        "+ if value >= high:",
        '+ raise ValueError("XXmean of nothingXX")',
    ]


@pytest.mark.slow
def test_assertions_tell_a_suite_that_pins_values_from_one_that_checks_only_not_none(
    make_context: ContextFactory,
) -> None:
    """One pricing module, two suites running every line of it: one asserts exact values, the
    other only `is not None` or truthiness (or nothing). Kills by assertion and pseudo-tested
    functions tell them apart, where coverage cannot."""
    measured = {}
    for suite in ("strong", "weak"):
        ctx = make_context(project("pricing", suite))
        tests_out = ctx.outdir / "tests"
        tests_out.mkdir()
        tests = TestsProbe().run(dataclasses.replace(ctx, outdir=tests_out))
        mutation_out = ctx.outdir / "mutation"
        mutation_out.mkdir()
        mutation = MutationProbe().run(
            dataclasses.replace(ctx, outdir=mutation_out, previous={"tests": tests})
        )
        assert mutation.status is Status.OK, mutation.error
        measured[suite] = (tests, mutation)
    (strong_tests, strong), (weak_tests, weak) = measured["strong"], measured["weak"]
    for tests in (strong_tests, weak_tests):
        assert tests.metrics["tests.coverage_percent"] == 100.0
        assert tests.metrics["tests.failed"] == 0
    share = "mutation.assertion_kill_percent"
    strong_share, weak_share = strong.metrics[share], weak.metrics[share]
    assert isinstance(strong_share, float) and isinstance(weak_share, float)
    assert strong_share - weak_share >= 40, (strong_share, weak_share)
    assert strong.metrics["mutation.pseudo_tested"] == 0
    assert strong.metrics["mutation.functions_checked"] == 8
    pseudo = [f for f in weak.findings if f.rule == "mutation.pseudo_tested"]
    assert weak.metrics["mutation.pseudo_tested"] == len(pseudo) >= 4
    assert {"prices.line_total", "prices.order_total"} <= {f.message.split()[0] for f in pseudo}
    assert all(f.path == "pricing/prices.py" and f.line and f.diff for f in pseudo)
    # The classic score tells them apart less clearly; the per-function table carries the share.
    table = json.loads(weak.artifacts["mutation.functions.json"])["functions"]
    by_name = {row["name"]: row for row in table}
    assert by_name["prices.order_total"]["pseudo_tested"] is True
    assert strong_tests.metrics["tests.assertion_free"] == 0
    assert weak_tests.metrics["tests.assertion_free"] == 3
