"""An audit end to end: history, then the repository's own tests and mutation in the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gitrepo import GitRepo

from proofwork.audit.run import AuditRequest, audit
from proofwork.config import Settings, load_settings
from proofwork.reports.json_report import AUDIT_SCHEMA_RESOURCE, validate

PRICING = """def price(quantity, unit):
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    total = quantity * unit
    if quantity >= {bulk}:
        total = total * 0.9
    return round(total, 2)
"""
LABELS = "def label(name):\n    return name.strip().title()\n"
TESTS = """from shop.pricing import price
from shop.labels import label


def test_price_of_one():
    assert price(1, 10) == 10


def test_label_runs():
    label(" x ")
"""


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A small shop whose pricing changed often, audited with the probes in the sandbox."""
    root = tmp_path_factory.mktemp("e2e")
    root.chmod(0o755)
    repo = GitRepo(root / "repo")
    repo.commit(
        "Ann <ann@example.com>",
        0,
        {
            "shop/__init__.py": "",
            "shop/pricing.py": PRICING.format(bulk=10),
            "shop/labels.py": LABELS,
            "shop/api.py": "import time\n\n\nasync def wait():\n    time.sleep(1)\n",
            "tests/test_shop.py": TESTS,
        },
    )
    for day, bulk in enumerate((11, 12, 13, 14), start=1):
        repo.commit("Ann <ann@example.com>", day, {"shop/pricing.py": PRICING.format(bulk=bulk)})
    settings: Settings = load_settings()
    request = AuditRequest(repo.root, settings, budget_s=240)
    document = audit(request).to_json()
    validate(document, AUDIT_SCHEMA_RESOURCE)
    return document


@pytest.mark.slow
def test_the_repositorys_tests_run_in_the_sandbox(audited: dict[str, Any]) -> None:
    metrics = audited["testing"]["metrics"]
    assert (metrics["tests.total"], metrics["tests.passed"]) == (2, 2)
    assert audited["testing"]["tests_without_assertions"] == 1


@pytest.mark.slow
def test_mutation_is_aimed_at_the_hotspots(audited: dict[str, Any]) -> None:
    hotspots = [h["path"] for h in audited["maintainability"]["hotspots"]]
    assert hotspots[0] == "shop/pricing.py"
    # The budget is ample: every file with planted bugs is reached, top hotspots first.
    assert audited["testing"]["mutated_files"] == hotspots
    assert audited["testing"]["unreached_files"] == []
    probes = {p["name"]: p for p in audited["testing"]["probes"]}
    assert probes["mutation"]["status"] == "ok"
    # test_price_of_one never reaches the bulk discount or the error: mutants there survive.
    assert 0 < audited["testing"]["metrics"]["mutation.score_percent"] < 100
    weak = [r for r in audited["invest"] if r["title"].startswith("weak tests on the hotspots")]
    assert weak and weak[0]["files"][0] == "shop/pricing.py"


@pytest.mark.slow
def test_blocking_calls_in_async_code_come_from_ruff_in_the_sandbox(
    audited: dict[str, Any],
) -> None:
    assert audited["traffic"] == {"ruff.ASYNC251": 1}
    (finding,) = [f for f in audited["findings"] if f["rule"] == "ruff.ASYNC251"]
    assert (finding["path"], finding["line"]) == ("shop/api.py", 5)


@pytest.mark.slow
def test_a_one_person_repository_is_its_first_risk(audited: dict[str, Any]) -> None:
    assert audited["invest"][0]["title"] == "truck factor 1 for the whole repository"
    assert audited["knowledge"]["truck_factor"]["authors"] == ["Ann"]


LEGACY = "def legacy(a, b):\n    if a > b:\n        return a - b\n    return b - a + 1\n"
SLOW_TESTS = """import time
from shop.pricing import price
from shop.legacy import legacy


def test_price():
    time.sleep(2)
    assert price(1, 10) == 10
    assert price(20, 1) == 18
    assert price(10, 2) == 18


def test_legacy():
    assert legacy(5, 2) == 3
    assert legacy(2, 5) == 4
"""


def _audit_hotspot_first(root: Path, budget_s: float) -> dict[str, Any]:
    """A shop whose only hotspot (pricing, changed last month) has slow tests, beside a module
    untouched for years (not a hotspot in a 90-day window) whose tests are quick."""
    repo = GitRepo(root)
    repo.commit(
        "Ann <ann@example.com>",
        0,
        {
            "shop/__init__.py": "",
            "shop/legacy.py": LEGACY,
            "shop/pricing.py": PRICING.format(bulk=10),
            "tests/test_shop.py": SLOW_TESTS,
        },
    )
    for day, bulk in enumerate((11, 12, 10), start=1000):
        repo.commit("Ann <ann@example.com>", day, {"shop/pricing.py": PRICING.format(bulk=bulk)})
    request = AuditRequest(repo.root, load_settings(), since_days=90, budget_s=budget_s)
    document = audit(request).to_json()
    validate(document, AUDIT_SCHEMA_RESOURCE)
    assert [h["path"] for h in document["maintainability"]["hotspots"]] == ["shop/pricing.py"]
    return document["testing"]


@pytest.mark.slow
def test_a_tight_budget_mutates_the_hotspots_and_names_the_files_it_did_not_reach(
    tmp_path: Path,
) -> None:
    # Each planted bug in pricing costs its 2 s test: more than a 14 s audit leaves for them.
    testing = _audit_hotspot_first(tmp_path / "repo", 14)
    assert testing["mutated_files"] == ["shop/pricing.py"]
    assert testing["unreached_files"] == ["shop/legacy.py"]
    metrics = testing["metrics"]
    assert metrics["mutation.unreached"] > 0  # legacy's planted bugs
    # The score is pricing's alone: a sample of its planted bugs, with its interval.
    assert metrics["mutation.total"] == metrics["mutation.priority_total"]
    assert metrics["mutation.score_percent"] == metrics["mutation.priority_score_percent"]
    assert metrics["mutation.exact"] is False


@pytest.mark.slow
def test_an_ample_budget_mutates_the_hotspots_first_then_the_rest(tmp_path: Path) -> None:
    testing = _audit_hotspot_first(tmp_path / "repo", 240)
    assert testing["mutated_files"] == ["shop/pricing.py", "shop/legacy.py"]
    assert testing["unreached_files"] == []
    metrics = testing["metrics"]
    assert metrics["mutation.exact"] is True and metrics["mutation.unreached"] == 0
    assert metrics["mutation.total"] > metrics["mutation.priority_total"]
