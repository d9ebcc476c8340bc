"""Copied-work detection: precision and recall of `proofwork similarity` against Dolos.

The corpus: one starter (the orders-api pack's), given to every candidate, and independent
solutions built on it: each candidate's own code is a different module of Python's standard
library, written by different people over decades, so no two share code beyond the starter.
Some candidates copy another's code in disguise: identifiers renamed, top-level functions
reordered, comments and formatting changed, all of these at once, or only half of the code
copied into their own. A pair is a true copy when one was made from the other.

Both tools see the same submissions and are told the starter: Proofwork through `--starter`,
Dolos (`@dodona/dolos-lib`, the engine of the Dolos CLI, installed by this script from the
npm registry into benchmarks/.work/dolos) through its template-code argument. Each submission
is one folder for Proofwork and one concatenated file for Dolos (Dolos compares files).
Printed: precision and recall at the threshold, and each tool's best F1 over all thresholds.
Exits 0 when Proofwork's recall and precision at its default threshold are both at least 0.9.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from proofwork.similarity.compare import DEFAULT_THRESHOLD, compare, load

HERE = Path(__file__).parent
WORK = HERE / ".work" / "similarity"
DOLOS_DIR = HERE / ".work" / "dolos"
DOLOS_PACKAGE = "@dodona/dolos-lib@3.5.1"
STARTER = HERE.parent / "src" / "proofwork" / "challenges" / "packs" / "orders-api" / "starter"
# Independent work: standard-library modules of a few hundred lines each.
MODULES = (
    "colorsys", "textwrap", "shlex", "fnmatch", "glob", "bisect", "heapq", "calendar", "cmd",
    "sched", "getopt", "netrc", "pprint", "queue", "graphlib", "contextlib", "string",
    "statistics", "fractions", "difflib", "base64", "quopri", "tabnanny", "filecmp",
)  # fmt: skip
# The own code of the candidate who copies half of someone else's into it.
PARTIAL_HOST = "reprlib"
DISGUISES = ("rename", "reorder", "reformat", "all", "partial", "rename+reorder")
DOLOS_SCRIPT = """
import { Dolos } from "@dodona/dolos-lib";
const [ignore, ...paths] = process.argv.slice(2);
const dolos = new Dolos({ language: "python" });
const report = await dolos.analyzePaths(paths, ignore);
const pairs = report.allPairs().map(p => [p.leftFile.path, p.rightFile.path, p.similarity]);
process.stdout.write(JSON.stringify(pairs));
"""


class Renamer(ast.NodeTransformer):
    """Renames every name the module defines (functions, classes, arguments, variables)."""

    def __init__(self, tree: ast.Module) -> None:
        defined: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                defined.add(node.name)
            elif isinstance(node, ast.arg) and node.arg not in ("self", "cls"):
                defined.add(node.arg)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
        self.names = {name: f"q{index}_{len(name)}" for index, name in enumerate(sorted(defined))}

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self.names.get(node.id, node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self.names.get(node.arg, node.arg)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.name = self.names.get(node.name, node.name)
        self.generic_visit(node)
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        node.name = self.names.get(node.name, node.name)
        self.generic_visit(node)
        return node


def disguise(text: str, how: str, rng: random.Random) -> str:
    """The text disguised one way (or several, joined with '+', or 'all')."""
    ways = ("rename", "reorder", "reformat") if how == "all" else tuple(how.split("+"))
    tree = ast.parse(text)
    if "rename" in ways:
        tree = Renamer(tree).visit(tree)
    if "reorder" in ways:
        head = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        rest = [n for n in tree.body if n not in head]
        rng.shuffle(rest)
        tree.body = head + rest
    if "reformat" in ways or "rename" in ways or "reorder" in ways:
        text = ast.unparse(tree)  # comments gone, quotes and layout changed
    if "reformat" in ways:
        lines = text.splitlines()
        text = "\n".join(
            f"{line}  # checked" if i % 7 == 3 else line for i, line in enumerate(lines)
        )
    return text + "\n"


def half(text: str, rng: random.Random) -> str:
    """Half of the module's top-level definitions, renamed (a partial, disguised copy)."""
    tree = ast.parse(text)
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
    tree.body = rng.sample(defs, max(1, len(defs) // 2))
    return ast.unparse(Renamer(tree).visit(tree)) + "\n"


def corpus(root: Path, seed: int) -> tuple[list[Path], set[frozenset[str]]]:
    """Submission folders (starter + own code) and the true copy pairs."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible corpus, not a secret
    if root.exists():
        shutil.rmtree(root)
    own = {f"cand-{m}": inspect.getsource(importlib.import_module(m)) for m in MODULES}
    names = sorted(own)
    copies: set[frozenset[str]] = set()
    originals = rng.sample(names, len(DISGUISES))
    for index, (original, how) in enumerate(zip(originals, DISGUISES, strict=True)):
        copier = f"copy{index}-of-{original}"
        if how == "partial":
            host = inspect.getsource(importlib.import_module(PARTIAL_HOST))
            own[copier] = host + "\n\n" + half(own[original], rng)
        else:
            own[copier] = disguise(own[original], how, rng)
        copies.add(frozenset((original, copier)))
    folders = []
    for name, text in sorted(own.items()):
        folder = root / name
        shutil.copytree(STARTER, folder)
        (folder / "app" / "solution.py").write_text(text)
        folders.append(folder)
    return folders, copies


def flat(folder: Path) -> str:
    """A submission as one file (what Dolos compares)."""
    parts = sorted(folder.rglob("*.py"))
    return "\n".join(p.read_text() for p in parts)


def ensure_dolos() -> Path:
    """Install Dolos's engine into benchmarks/.work/dolos (once) and write the runner."""
    if not (DOLOS_DIR / "node_modules" / "@dodona" / "dolos-lib").is_dir():
        DOLOS_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(DOLOS_DIR),
             DOLOS_PACKAGE],
            check=True,
        )  # fmt: skip
    script = DOLOS_DIR / "pairs.mjs"
    script.write_text(DOLOS_SCRIPT)
    return script


def dolos_pairs(folders: list[Path], root: Path) -> dict[frozenset[str], float]:
    """Dolos's similarity of every pair, the starter as template code."""
    flats = root / "flat"
    shutil.rmtree(flats, ignore_errors=True)
    flats.mkdir(parents=True)
    files = []
    for folder in folders:
        path = flats / f"{folder.name}.py"
        path.write_text(flat(folder))
        files.append(str(path))
    template = flats.parent / "starter.py"
    template.write_text(flat(STARTER))
    script = ensure_dolos()
    done = subprocess.run(
        ["node", str(script), str(template), *files],
        cwd=DOLOS_DIR, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return {
        frozenset((Path(a).stem, Path(b).stem)): float(s) for a, b, s in json.loads(done.stdout)
    }


def proofwork_pairs(folders: list[Path]) -> dict[frozenset[str], float]:
    """Proofwork's similarity of every pair, the starter left out."""
    submissions = [load(f.name, f) for f in folders]
    pairs = compare(submissions, load("starter", STARTER), threshold=1.1)
    return {frozenset((p.a, p.b)): p.similarity for p in pairs}


def scores(
    pairs: dict[frozenset[str], float], truth: set[frozenset[str]], threshold: float
) -> tuple[float, float]:
    """Precision and recall of flagging pairs at or above the threshold."""
    flagged = {p for p, s in pairs.items() if s >= threshold}
    hits = len(flagged & truth)
    precision = hits / len(flagged) if flagged else 1.0
    return precision, hits / len(truth)


def best_f1(
    pairs: dict[frozenset[str], float], truth: set[frozenset[str]]
) -> tuple[float, float, float, float]:
    """(F1, threshold, precision, recall) at the threshold that maximises F1."""
    best = (0.0, 0.0, 0.0, 0.0)
    for threshold in sorted(set(pairs.values())):
        precision, recall = scores(pairs, truth, threshold)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        best = max(best, (f1, threshold, precision, recall))
    return best


def main() -> int:
    """Build the corpus, run both tools, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args()
    folders, truth = corpus(WORK / "corpus", args.seed)
    negatives = len(folders) * (len(folders) - 1) // 2 - len(truth)
    print(f"corpus: {len(folders)} submissions on one starter, {len(truth)} disguised copies "
          f"({', '.join(DISGUISES)}), {negatives} independent pairs")  # fmt: skip
    started = time.perf_counter()
    ours = proofwork_pairs(folders)
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    theirs = dolos_pairs(folders, WORK)
    theirs_s = time.perf_counter() - started
    print(f"{'tool':<10} {'precision':>9} {'recall':>7} @ {args.threshold:.2f}   "
          f"{'best F1':>7} {'at':>5} {'P':>5} {'R':>5}   seconds")  # fmt: skip
    results = {}
    for name, pairs, seconds in (("proofwork", ours, ours_s), ("dolos", theirs, theirs_s)):
        precision, recall = scores(pairs, truth, args.threshold)
        f1, at, best_p, best_r = best_f1(pairs, truth)
        results[name] = (precision, recall)
        print(f"{name:<10} {precision:>9.2f} {recall:>7.2f}          "
              f"{f1:>7.2f} {at:>5.2f} {best_p:>5.2f} {best_r:>5.2f}   {seconds:.2f}")  # fmt: skip
    for pair in sorted(truth, key=sorted):
        a, b = sorted(pair)
        print(f"  copy {a} ~ {b}: proofwork {ours[pair]:.2f}, dolos {theirs.get(pair, 0):.2f}")
    worst = max((s, sorted(p)) for p, s in ours.items() if p not in truth)
    print(f"  most similar independent pair for proofwork: {worst[1]} at {worst[0]:.2f}")
    precision, recall = results["proofwork"]
    return 0 if precision >= 0.9 and recall >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
