"""Benchmark: Proofwork's mutation engine against mutmut 3, on real projects from PyPI.

One command, `.venv/bin/python benchmarks/mutation_vs_mutmut/run.py`:
1. builds `benchmarks/.work/venv` with mutmut 3.8.1 (and the projects' test dependencies);
2. downloads each project's sdist with `pip download --no-binary :all: --no-deps`;
3. runs `mutmut run --max-children 2` on a fresh copy (config in README.md), timed;
4. runs Proofwork's mutation probe on another fresh copy, in the real bwrap sandbox with two
   CPUs (two workers), unsampled, on the same files and mutmut's placement rules, timed;
5. classifies every mutant of both tools into families and prints, per project: mutants, score,
   wall time, the time ratio Proofwork/mutmut, and the scores on the families both plant.

Score, for both tools: (killed + timeout) / (killed + timeout + survived + not covered/no tests).
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from proofwork import runtime
from proofwork.config import load_settings
from proofwork.mutation import Profile
from proofwork.mutation.model import Outcome
from proofwork.probes.base import Budget, ProbeContext
from proofwork.probes.mutation import MutationProbe
from proofwork.sandbox import BwrapSandbox

HERE = Path(__file__).resolve().parent
WORK = HERE.parent / ".work"
MUTMUT = "mutmut==3.8.1"
PYTEST = "pytest==9.2.0"  # the version Proofwork's base runtime runs suites on
CPUS = 2
# Families both tools plant, with the same meaning (see README.md for what differs).
COMMON = (
    "arith", "compare", "boolean", "not", "number", "bool_const", "string", "str_method",
    "augassign", "augassign_to_assign", "assign_none", "lambda", "ifexp",
)  # fmt: skip
TARGET_RATIO = 0.5
TARGET_POINTS = 5.0


@dataclass(frozen=True)
class Project:
    name: str
    version: str
    paths: tuple[str, ...]  # what both tools mutate (globs for Proofwork)
    mutmut: str  # the [tool.mutmut] section mutmut needed to run at all
    test_deps: tuple[str, ...] = ()
    deselect: tuple[str, ...] = ()  # tests deselected for both tools (see README.md)


PROJECTS = (
    Project(
        "python-slugify",
        "9.2.0",
        paths=("slugify/*",),
        test_deps=("text-unidecode==1.3",),
        mutmut='source_paths = ["slugify"]\npytest_add_cli_args_test_selection = ["tests"]\n'
        'also_copy = ["tools", "README.md"]\n',
    ),
    Project(
        "toolz",
        "1.2.0",
        paths=("toolz/*",),
        deselect=(
            "toolz/tests/test_curried.py::test_curried_operator",
            "toolz/tests/test_curried.py::test_curried_namespace",
        ),
        mutmut='source_paths = ["toolz"]\ndo_not_mutate = ["*/tests/*"]\n'
        'pytest_add_cli_args_test_selection = ["toolz"]\nalso_copy = ["toolz.egg-info", "tlz"]\n',
    ),
)


@dataclass
class Outcomes:
    """One tool's run on one project."""

    seconds: float
    status: Counter[str] = field(default_factory=Counter)
    by_family: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, family: str, status: str) -> None:
        """Count one mutant."""
        self.status[status] += 1
        self.by_family.setdefault(family, Counter())[status] += 1

    @staticmethod
    def score(counts: Counter[str]) -> float | None:
        """(killed + timeout) / (killed + timeout + survived + not covered), percent."""
        caught = counts["killed"] + counts["timeout"]
        judged = caught + counts["survived"] + counts["not_covered"]
        return 100.0 * caught / judged if judged else None

    def common(self) -> Counter[str]:
        """Counts over the families both tools plant."""
        total: Counter[str] = Counter()
        for family in COMMON:
            total += self.by_family.get(family, Counter())
        return total


def sh(argv: list[str], cwd: Path | None = None) -> None:
    """Run a setup command, failing loudly with its output."""
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def ensure_venv() -> Path:
    """benchmarks/.work/venv with mutmut, pytest and the projects' test dependencies."""
    venv = WORK / "venv"
    marker = venv / ".ready"
    wanted = [MUTMUT, PYTEST, *(d for p in PROJECTS for d in p.test_deps)]
    if not marker.exists() or marker.read_text() != "\n".join(wanted):
        shutil.rmtree(venv, ignore_errors=True)
        sh([sys.executable, "-m", "venv", str(venv)])
        sh([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *wanted])
        marker.write_text("\n".join(wanted))
    return venv


def download(project: Project) -> Path:
    """The project's sdist, from PyPI, as source (never a wheel)."""
    target = WORK / "sdists"
    target.mkdir(parents=True, exist_ok=True)
    found = list(target.glob(f"{project.name.replace('-', '_')}-{project.version}.tar.gz"))
    if not found:
        spec = f"{project.name}=={project.version}"
        sh([sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
            "--quiet", "-d", str(target), spec])  # fmt: skip
        found = list(target.glob(f"{project.name.replace('-', '_')}-{project.version}.tar.gz"))
    return found[0]


def extract(sdist: Path, into: Path) -> Path:
    """A fresh copy of the sdist's tree under `into`."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    with tarfile.open(sdist) as archive:
        archive.extractall(into, filter="data")
    (root,) = list(into.iterdir())
    return root


# -- mutmut -----------------------------------------------------------------------------------

# mutmut's exit codes (mutmut/stats.py status_by_exit_code); "no tests" is our not_covered.
MUTMUT_STATUS = {
    1: "killed", 3: "killed", 0: "survived", 5: "not_covered", 33: "not_covered",
    36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout",
}  # fmt: skip


def run_mutmut(project: Project, sdist: Path, venv: Path) -> Outcomes:
    """`mutmut run` on a fresh copy; every mutant's status and family."""
    root = extract(sdist, WORK / "mutmut" / project.name)
    config = project.mutmut
    if project.deselect:
        args = ", ".join(f'"--deselect", "{d}"' for d in project.deselect)
        config += f"pytest_add_cli_args = [{args}]\n"
    with (root / "pyproject.toml").open("a") as handle:
        handle.write(f"\n[tool.mutmut]\n{config}")
    started = time.monotonic()
    done = subprocess.run(
        [str(venv / "bin" / "mutmut"), "run", "--max-children", str(CPUS)],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    outcomes = Outcomes(time.monotonic() - started)
    if done.returncode != 0:
        raise SystemExit(f"mutmut failed on {project.name}:\n{done.stdout[-3000:]}")
    for meta in (root / "mutants").rglob("*.py.meta"):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        functions = _functions(meta.with_suffix(""))
        for key, code in codes.items():
            name = key.rsplit(".", 1)[1]
            original = functions.get(name.rsplit("__mutmut_", 1)[0] + "__mutmut_orig")
            mutated = functions.get(name)
            family = classify(original, mutated) if original and mutated else "unknown"
            outcomes.add(family, MUTMUT_STATUS.get(code, "other"))
    return outcomes


def _functions(path: Path) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    tree = ast.parse(path.read_text())
    return {
        node.name: node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def classify(original: ast.AST, mutated: ast.AST) -> str:
    """The family of mutmut's mutant: what differs between its function and the original."""
    found = _difference(original, mutated, root=True)
    return found or "unknown"


def _difference(
    old: object, new: object, *, root: bool = False, parent: tuple[ast.AST, str] | None = None
) -> str | None:
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return "arg_removal"
        for a, b in zip(old, new, strict=True):
            found = _difference(a, b, parent=parent)
            if found:
                return found
        return None
    if not isinstance(old, ast.AST) or not isinstance(new, ast.AST):
        return None if old == new else "other"
    if type(old) is not type(new):
        return _replaced(old, new)
    for name, value in ast.iter_fields(old):
        if root and name == "name":
            continue
        other = getattr(new, name)
        if isinstance(value, ast.AST) and isinstance(other, ast.AST):
            if type(value) is not type(other):
                return _field_change(old, name, value, other)
        elif not isinstance(value, list) and value != other:
            return _value_change(old, name, value, other, parent)
        found = _difference(value, other, parent=(old, name))
        if found:
            return found
    return None


def _field_change(node: ast.AST, name: str, old: ast.AST, new: ast.AST) -> str:
    if isinstance(node, ast.BinOp | ast.AugAssign) and name == "op":
        return "augassign" if isinstance(node, ast.AugAssign) else "arith"
    if isinstance(node, ast.UnaryOp) and name == "op":
        return "arith"
    if isinstance(node, ast.BoolOp) and name == "op":
        return "boolean"
    if isinstance(node, ast.Assign | ast.AnnAssign) and name == "value":
        return "assign_none"
    if isinstance(node, ast.Lambda) and name == "body":
        return "lambda"
    if isinstance(node, ast.IfExp) and name == "test":
        return "ifexp"
    if isinstance(node, ast.Call) and name == "func":
        return "name_swap"
    return _replaced(old, new)


def _replaced(old: ast.AST, new: ast.AST) -> str:
    if isinstance(old, ast.UnaryOp) and isinstance(old.op, ast.Not | ast.Invert):
        return "not"
    if isinstance(old, ast.AugAssign) and isinstance(new, ast.Assign):
        return "augassign_to_assign"
    if isinstance(old, ast.Break | ast.Continue):
        return "loop_control" if isinstance(new, ast.Break) else "break_return"
    if isinstance(old, ast.cmpop):
        return "compare"
    if isinstance(old, ast.operator):
        return "arith"
    if isinstance(old, ast.boolop):
        return "boolean"
    if isinstance(old, ast.unaryop):
        return "arith"
    if isinstance(new, ast.Constant) and new.value is None:
        return "arg_removal"
    return f"other:{type(old).__name__}>{type(new).__name__}"


def _value_change(
    node: ast.AST, name: str, old: object, new: object, parent: tuple[ast.AST, str] | None
) -> str:
    if isinstance(node, ast.Constant) and (new is None or old is None):
        # `x = 0` -> `x = None` (and `x = None` -> `x = ""`) is mutmut's assignment operator;
        # a call argument -> None is its argument operator.
        assigned = parent is not None and isinstance(parent[0], ast.Assign | ast.AnnAssign)
        return "assign_none" if assigned and parent and parent[1] == "value" else "arg_removal"
    if isinstance(node, ast.Constant):
        if isinstance(old, bool):
            return "bool_const"
        if isinstance(old, int | float | complex):
            return "number"
        if isinstance(old, str | bytes) and isinstance(new, str | bytes):
            wrapped = new[2:-2] == old and len(new) == len(old) + 4
            return "string" if wrapped else "string_case"
    if isinstance(node, ast.Attribute) and name == "attr":
        return "str_method"
    if isinstance(node, ast.keyword) and name == "arg":
        return "dict_kwargs"
    if isinstance(node, ast.Name):
        return "name_swap"
    return f"other:{type(node).__name__}.{name}"


# -- Proofwork --------------------------------------------------------------------------------


def run_proofwork(project: Project, sdist: Path) -> Outcomes:
    """The mutation probe on a fresh copy in a real sandbox, unsampled, mutmut's placement."""
    settings = load_settings(cpus=float(CPUS))
    base = tempfile.mkdtemp(prefix="pw-bench-", dir="/tmp")
    Path(base).chmod(0o755)
    try:
        workspace = extract(sdist, Path(base) / "unpack")
        layer = _layer(project, settings)
        env = runtime.environment(settings, workspace, layer)
        outdir = Path(base) / "out"
        outdir.mkdir()
        deselect = tuple(a for d in project.deselect for a in ("--deselect", d))
        probe = MutationProbe(
            profile=Profile(mutmut_placement=True), only=project.paths, pytest_args=deselect
        )
        with BwrapSandbox(workspace, Path(base) / "sandbox") as sandbox:
            ctx = ProbeContext(workspace, sandbox, env, settings, Budget(3600), outdir)
            started = time.monotonic()
            measured = probe.measure(ctx)
            outcomes = Outcomes(time.monotonic() - started)
        if measured.evidence.error or not measured.evidence.metrics.get("mutation.exact"):
            raise SystemExit(f"Proofwork's run on {project.name} failed: {measured.evidence.error}")
        for result in measured.judged.results:
            status = "error" if result.outcome is Outcome.ERROR else result.outcome.value
            outcomes.add(result.mutant.operator, status)
        return outcomes
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _layer(project: Project, settings: object) -> Path | None:
    """The project's test dependencies, installed once for the sandbox (mounted at /deps)."""
    if not project.test_deps:
        return None
    layer = WORK / "deps" / project.name
    if not (layer / ".ready").exists():
        shutil.rmtree(layer, ignore_errors=True)
        python = runtime.ensure_runtime(settings, "base") / "bin" / "python"  # type: ignore[arg-type]
        sh([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(layer),
            *project.test_deps])  # fmt: skip
        (layer / ".ready").write_text("ok\n")
    return layer


# -- report -----------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.1f}"


def report(project: Project, mutmut: Outcomes, proofwork: Outcomes) -> bool:
    """Print one project's comparison; True when it meets both targets."""
    ratio = proofwork.seconds / mutmut.seconds
    mm_common, pw_common = mutmut.common(), proofwork.common()
    mm_score, pw_score = Outcomes.score(mm_common), Outcomes.score(pw_common)
    gap = abs((mm_score or 0) - (pw_score or 0))
    print(f"\n{project.name} {project.version}")
    print(f"  {'':10} {'mutants':>8} {'score':>6} {'wall s':>8}  statuses")
    for name, run in (("mutmut", mutmut), ("proofwork", proofwork)):
        total = sum(run.status.values())
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(run.status.items()))
        score = _fmt(Outcomes.score(run.status))
        print(f"  {name:10} {total:8d} {score} {run.seconds:8.1f}  {statuses}")
    print(f"  time ratio proofwork/mutmut: {ratio:.2f} (target <= {TARGET_RATIO})")
    print(f"  common families: mutmut {sum(mm_common.values())} mutants, score {_fmt(mm_score)}; "
          f"proofwork {sum(pw_common.values())} mutants, score {_fmt(pw_score)}; "
          f"gap {gap:.1f} points (target <= {TARGET_POINTS})")  # fmt: skip
    families = sorted(set(mutmut.by_family) | set(proofwork.by_family))
    print(f"  {'family':22} {'mutmut n':>9} {'score':>6} {'proofwork n':>12} {'score':>6}")
    for family in families:
        mm, pw = mutmut.by_family.get(family, Counter()), proofwork.by_family.get(family, Counter())
        print(f"  {family:22} {sum(mm.values()):9d} {_fmt(Outcomes.score(mm))} "
              f"{sum(pw.values()):12d} {_fmt(Outcomes.score(pw))}")  # fmt: skip
    return ratio <= TARGET_RATIO and gap <= TARGET_POINTS


def main() -> int:
    """Run both tools on every project; exit 0 when every target is met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", choices=[p.name for p in PROJECTS], action="append")
    chosen = parser.parse_args().project
    venv = ensure_venv()
    met = True
    for project in PROJECTS:
        if chosen and project.name not in chosen:
            continue
        sdist = download(project)
        proofwork = run_proofwork(project, sdist)
        mutmut = run_mutmut(project, sdist, venv)
        met = report(project, mutmut, proofwork) and met
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
