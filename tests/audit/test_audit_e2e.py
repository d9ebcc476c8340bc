"""An audit end to end: history, then the repository's own tests and mutation in the sandbox."""

from __future__ import annotations

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
    assert audited["testing"]["mutated_files"] == hotspots
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
