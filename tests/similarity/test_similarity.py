"""Copied work: fingerprints that survive disguise, the starter left out, regions side by side."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from proofwork.cli import app
from proofwork.similarity.compare import Submission, compare
from proofwork.similarity.fingerprints import fingerprint, tokens

ORIGINAL = '''
def total(items, discount):
    """Sum of the prices after the discount."""
    subtotal = 0
    for item in items:
        subtotal += item.price * item.quantity
    if discount:
        subtotal = subtotal - subtotal * discount / 100
    return round(subtotal, 2)


def describe(order):
    lines = [f"{line.sku}: {line.quantity}" for line in order.lines]
    if not lines:
        raise ValueError("an order needs lines")
    return "\\n".join(sorted(lines))
'''

DISGUISED = """
# Helpers for orders (my own work!)
def render(o):
    out = [f"{l.sku}: {l.quantity}" for l in o.lines]
    if not out:
        raise ValueError('empty')
    return '\\n'.join(sorted(out))

def compute(things, pct):
    acc = 0
    for t in things:
        acc += t.price * t.quantity   # add it up
    if pct:
        acc = acc - acc * pct / 100
    return round(acc, 2)
"""

INDEPENDENT = """
from decimal import Decimal

class Basket:
    def __init__(self):
        self.entries = {}

    def add(self, sku, qty):
        self.entries[sku] = self.entries.get(sku, 0) + qty

    def cost(self, prices):
        return sum(Decimal(prices[s]) * q for s, q in self.entries.items())
"""


def submission(name: str, **files: str) -> Submission:
    return Submission(name, [fingerprint(path, text) for path, text in files.items()])


def test_renamed_reordered_recommented_code_keeps_its_fingerprints() -> None:
    assert [t.text for t in tokens("x = 1  # c\n")] == ["V", "=", "N", ";"]
    original, disguised = fingerprint("a.py", ORIGINAL), fingerprint("b.py", DISGUISED)
    shared = set(original.prints) & set(disguised.prints)
    assert len(shared) >= 0.6 * min(len(original.prints), len(disguised.prints))


def test_a_disguised_copy_is_flagged_and_independent_work_is_not() -> None:
    pairs = compare(
        [
            submission("ann", **{"app/orders.py": ORIGINAL}),
            submission("bob", **{"orders.py": DISGUISED}),
            submission("cat", **{"basket.py": INDEPENDENT}),
        ]
    )
    assert (pairs[0].a, pairs[0].b, pairs[0].flagged) == ("ann", "bob", True)
    assert not any(p.flagged for p in pairs if "cat" in (p.a, p.b))
    region = pairs[0].regions[0]
    assert region.a_path == "app/orders.py" and region.b_path == "orders.py"
    assert "subtotal" in region.a_text or "lines" in region.a_text


def test_code_everyone_got_from_the_starter_is_nobodys_copy() -> None:
    starter = submission("starter", **{"app/orders.py": ORIGINAL})
    both = [
        submission("ann", **{"app/orders.py": ORIGINAL, "basket.py": INDEPENDENT}),
        submission("bob", **{"app/orders.py": ORIGINAL}),
    ]
    assert compare(both)[0].flagged
    pair = compare(both, starter)[0]
    assert (pair.flagged, pair.shared) == (False, 0)


def test_the_command_compares_folders_and_writes_json_and_html(tmp_path: Path) -> None:
    for name, text in (("ann", ORIGINAL), ("bob", DISGUISED), ("cat", INDEPENDENT)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "code.py").write_text(text)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["similarity", *(str(tmp_path / n) for n in ("ann", "bob", "cat")),
         "--json", str(out / "s.json"), "--html", str(out / "s.html")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 of 3 pairs at or above the threshold" in result.output
    document = json.loads((out / "s.json").read_text())
    assert document["schema"] == "proofwork.similarity/1"
    assert [p["flagged"] for p in document["pairs"]] == [True, False, False]
    page = (out / "s.html").read_text()
    assert "ann ↔ bob" in page and "http" not in page.split("</head>")[1]


def test_the_command_refuses_one_submission_and_missing_paths(tmp_path: Path) -> None:
    one = CliRunner().invoke(app, ["similarity", str(tmp_path)])
    assert one.exit_code == 2 and "at least two" in one.output
    missing = CliRunner().invoke(app, ["similarity", str(tmp_path), str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_with_a_challenge_the_packs_starter_is_left_out(tmp_path: Path) -> None:
    starter = Path(__file__).parents[2] / "src/proofwork/challenges/packs/orders-api/starter"
    for name, text in (("ann", ORIGINAL), ("bob", INDEPENDENT)):
        shutil.copytree(starter, tmp_path / name)
        (tmp_path / name / "app" / "own.py").write_text(text)
    args = ["similarity", str(tmp_path / "ann"), str(tmp_path / "bob"), "--threshold", "0.2"]
    assert "1 of 1 pairs at or above" in CliRunner().invoke(app, args).output
    given = CliRunner().invoke(app, [*args, "--challenge", "orders-api"])
    assert given.exit_code == 0, given.output
    assert "0 of 1 pairs at or above" in given.output
