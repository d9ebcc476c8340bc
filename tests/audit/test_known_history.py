"""A small history whose hotspots, coupling and truck factor were worked out by hand.

Carol creates billing/ on day 0 and leaves after day 8; Alice creates app/ (core.py, util.py,
models.py) and the root files on day 1, then changes app/core.py with app/util.py five more
times (twice as "Alice Old", whom .mailmap maps to her); dependabot bumps requirements.txt
three times; Bob renames billing/old.py to billing/invoice.py, changes app/util.py on a branch
that Alice merges, and changes app/core.py on day 390; Alice's last commit is day 400 (HEAD).

Knowledge counts code files only (README.md, requirements.txt and .mailmap are not code).
By hand (DOA = 3.293 + 1.098·FA + 0.164·DL - 0.321·ln(1+AC)):
- app/core.py: Alice 3.293+1.098+0.82-0.321·ln 2 = 4.99; Bob 3.293+0.164-0.321·ln 6 = 2.88 < 3.293
  → Alice only. app/util.py the same; app/models.py: Alice.
- billing/pay.py: Carol. billing/invoice.py: Carol 4.39-0.321·ln 2 = 4.17, Bob 3.457 (0.83 of
  the best) → Carol and Bob.
- Truck factor: Alice authors 3 of 5 files; without her 2/5 < 1/2 keep an author → 1.
  app/: 1; billing/: Carol then Bob → 2.
- Active in the last 6 months: Alice, Bob. Islands: every code file but billing/pay.py, whose
  only author (Carol) is gone: that is the knowledge loss.
- Changes in the 2-year window: app/core.py 7 (2 authors), app/util.py 7, billing/pay.py 3,
  billing/invoice.py 2 (rename followed), README.md 2, requirements.txt 1 (bots left out).
- Complexity at HEAD: core.py 3, util.py 1, pay.py 2, invoice.py 1, models.py 1 → hotspots
  core (21), util (7), pay (6), invoice (2), models (1).
- Coupling (code-maat defaults): app/core.py and app/util.py, 6 shared of 7 revisions each:
  degree 85, average revisions 7, support 6/13 commits, confidence 6/7 both ways. Nothing else
  reaches 5 shared revisions.
"""

from __future__ import annotations

from typing import Any

import pytest
from gitrepo import GitRepo

from proofwork.audit.run import AuditRequest, audit
from proofwork.config import Settings
from proofwork.reports.json_report import AUDIT_SCHEMA_RESOURCE, validate

ALICE = "Alice <alice@example.com>"
ALICE_OLD = "Alice Old <alice@old.example.com>"
BOB = "Bob <bob@example.com>"
CAROL = "Carol <carol@example.com>"
BOT = "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>"

CORE = """def route(kind):
    if kind == "a":
        return 1
    elif kind == "b":
        return 2
    return 0
VERSION = {n}
"""
UTIL = "def helper():\n    return {n}\n"
PAY = "def pay(amount):\n    if amount < 0:\n        raise ValueError(amount)\n    return {n}\n"
INVOICE = "def invoice():\n    return 'invoice'\n"


def build(repo: GitRepo) -> None:
    """The history described in the module docstring."""
    repo.commit(CAROL, 0, {"billing/pay.py": PAY.format(n=0), "billing/old.py": INVOICE})
    repo.commit(
        ALICE,
        1,
        {
            "app/core.py": CORE.format(n=0),
            "app/util.py": UTIL.format(n=0),
            "app/models.py": "def model():\n    return None\n",
            "README.md": "# shop\n",
            "requirements.txt": "requests==2.0\n",
            ".mailmap": f"{ALICE} {ALICE_OLD}\n",
        },
    )
    for n in range(1, 6):
        who = ALICE_OLD if n in (2, 4) else ALICE
        repo.commit(who, 1 + n, {"app/core.py": CORE.format(n=n), "app/util.py": UTIL.format(n=n)})
    repo.commit(CAROL, 7, {"billing/pay.py": PAY.format(n=1)})
    repo.commit(CAROL, 8, {"billing/pay.py": PAY.format(n=2)})
    for n, day in enumerate((10, 11, 12)):
        repo.commit(BOT, day, {"requirements.txt": f"requests==2.{n + 1}\n"})
    repo.commit(BOB, 20, move=(("billing/old.py", "billing/invoice.py"),))
    repo.git("checkout", "--quiet", "-b", "feature")
    repo.commit(BOB, 21, {"app/util.py": UTIL.format(n=99)})
    repo.git("checkout", "--quiet", "main")
    repo.merge("feature", ALICE, 22)
    repo.commit(BOB, 390, {"app/core.py": CORE.format(n=390)})
    repo.commit(ALICE, 400, {"README.md": "# shop\n\nNow with billing.\n"})


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The audit of the hand-worked history (no probes: history and code only)."""
    root = tmp_path_factory.mktemp("known")
    repo = GitRepo(root / "repo")
    build(repo)
    settings = Settings(home=root / "home")
    document = audit(AuditRequest(repo.root, settings, run_probes=False)).to_json()
    validate(document, AUDIT_SCHEMA_RESOURCE)
    return document


def by_path(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["path"]: row for row in rows}


def test_merges_and_bots_are_left_out(known: dict[str, Any]) -> None:
    repository = known["repository"]
    assert repository["commits"] == 13
    assert repository["bots_skipped"] == 3
    assert repository["authors"] == 3  # Alice Old is Alice through .mailmap


def test_changes_follow_renames_and_skip_bots(known: dict[str, Any]) -> None:
    files = by_path(known["maintainability"]["files"])
    changes = {path: row["changes"] for path, row in files.items()}
    assert changes == {
        "app/core.py": 7,
        "app/util.py": 7,
        "billing/pay.py": 3,
        "billing/invoice.py": 2,
        "README.md": 2,
        "requirements.txt": 1,
        ".mailmap": 1,
        "app/models.py": 1,
    }
    assert files["app/core.py"]["authors"] == 2
    assert files["app/core.py"]["last_change"] == "2025-01-25"  # day 390


def test_hotspots_rank_changes_times_complexity(known: dict[str, Any]) -> None:
    spots = [
        (h["path"], h["changes"], h["complexity"], h["score"])
        for h in known["maintainability"]["hotspots"]
    ]
    assert spots == [
        ("app/core.py", 7, 3, 21),
        ("app/util.py", 7, 1, 7),
        ("billing/pay.py", 3, 2, 6),
        ("billing/invoice.py", 2, 1, 2),
        ("app/models.py", 1, 1, 1),
    ]


def test_complexity_trend_is_sampled_at_revisions(known: dict[str, Any]) -> None:
    trend = known["maintainability"]["hotspots"][0]["trend"]
    assert [point["date"] for point in trend] == [
        "2024-01-01",
        "2024-05-13",
        "2024-09-23",
        "2025-02-04",
    ]
    # core.py did not exist on day 0; it had its three branches from day 1 on.
    assert [point["complexity"] for point in trend] == [None, 3, 3, 3]


def test_coupling_as_code_maat_computes_it(known: dict[str, Any]) -> None:
    assert known["maintainability"]["coupling"] == [
        {
            "first": "app/core.py",
            "second": "app/util.py",
            "shared": 6,
            "revisions_first": 7,
            "revisions_second": 7,
            "degree": 85,
            "average_revisions": 7,
            "support": round(6 / 13, 4),
            "confidence_first": round(6 / 7, 4),
            "confidence_second": round(6 / 7, 4),
        }
    ]


def test_truck_factor_by_degree_of_authorship(known: dict[str, Any]) -> None:
    knowledge = known["knowledge"]
    assert knowledge["truck_factor"]["value"] == 1
    assert knowledge["truck_factor"]["authors"] == ["Alice"]
    assert knowledge["truck_factor"]["files"] == 5
    packages = {p["package"]: (p["value"], p["authors"]) for p in knowledge["packages"]}
    assert packages == {
        "app": (1, ["Alice"]),
        "billing": (2, ["Carol", "Bob"]),
    }


def test_islands_and_loss_follow_who_is_still_active(known: dict[str, Any]) -> None:
    knowledge = known["knowledge"]
    islands = {i["path"]: i["author"] for i in knowledge["islands"]}
    assert islands == {
        "app/core.py": "Alice",
        "app/models.py": "Alice",
        "app/util.py": "Alice",
        "billing/invoice.py": "Bob",
    }
    assert knowledge["loss"] == [{"path": "billing/pay.py", "authors": ["Carol"]}]
    active = {a["name"]: a["active"] for a in knowledge["authors"]}
    assert active == {"Alice": True, "Bob": True, "Carol": False}


def test_where_to_invest_names_files_and_signals(known: dict[str, Any]) -> None:
    titles = [r["title"] for r in known["invest"]]
    assert titles[0] == "truck factor 1 for the whole repository"
    loss = next(r for r in known["invest"] if r["title"].endswith("authors have all left"))
    assert loss["files"] == ["billing/pay.py"]
    assert loss["signals"] == ["maintainability"]


def test_a_full_history_reports_no_problems(known: dict[str, Any]) -> None:
    assert known["problems"] == []
    assert known["repository"]["shallow"] is False


def test_the_schema_holds_findings_to_the_report_s_finding(known: dict[str, Any]) -> None:
    from proofwork.reports.json_report import ReportSchemaError

    broken = {**known, "findings": [{"rule": "audit.x", "severity": "dire"}]}
    with pytest.raises(ReportSchemaError, match=r"\$\.findings\[0\]"):
        validate(broken, AUDIT_SCHEMA_RESOURCE)
