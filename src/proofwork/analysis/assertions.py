"""Tests that assert nothing: they run code, and pass whatever it does (unless it raises).

A pure static reading of the test files, as pytest collects them: `test*` functions of
`test_*.py` / `*_test.py` modules, and `test*` methods of their `Test*` classes and
`unittest.TestCase` subclasses. A test checks something when its body (nested functions
included) has any of: an `assert`; a `raise`; `pytest.raises`/`warns`/`deprecated_call`/`fail`;
a call of anything named `assert*`, `check*`, `verify*`, `expect*` or `validate*` (unittest's
`self.assertEqual`, mock's `assert_called_once_with`, numpy's `assert_allclose`, a project's
own `check_invariants`, Playwright's `expect`); or a call of a helper of the test files whose
own body checks something (found by name, to a fixed point). Reading a call by its name alone
errs towards "checks something": a test listed here really has no check in sight.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from proofwork.analysis.sources import SourceFile, UnparsableSource, parse
from proofwork.evidence import Evidence, Finding, Severity

# `assert_x`, `assertEqual`, `check`, `verify_x`, jsonschema's `validate` … not `checkout`.
CHECK_NAME = re.compile(r"^(assert|check|verify|expect|validate)($|_|[A-Z])")
LISTED_MAX = 50
PYTEST_CHECKS = frozenset({"raises", "warns", "deprecated_call", "fail"})  # also self.fail


@dataclass(frozen=True)
class TestFunction:
    """One test as pytest would collect it."""

    path: str
    name: str  # `test_x` or `TestThing.test_x`
    line: int
    checks: bool


def is_test_module(path: str) -> bool:
    """pytest's default `python_files`: test_*.py and *_test.py."""
    name = PurePosixPath(path).name
    return name.startswith("test_") or name.endswith("_test.py")


def scan_tests(files: Iterable[SourceFile]) -> list[TestFunction]:
    """Every test function of the test files, with whether it checks anything."""
    parsed = list(_parsed(files))
    helpers = _checking_helpers(tree for _, tree in parsed)
    found: list[TestFunction] = []
    for source, tree in parsed:
        if not is_test_module(source.path):
            continue
        for name, node in _test_functions(tree):
            found.append(TestFunction(source.path, name, node.lineno, _checks(node, helpers)))
    return found


def _parsed(files: Iterable[SourceFile]) -> Iterator[tuple[SourceFile, ast.Module]]:
    for source in files:
        try:
            yield source, parse(source)
        except UnparsableSource:
            continue  # the static probe reports it


Function = ast.FunctionDef | ast.AsyncFunctionDef


def _test_functions(tree: ast.Module) -> Iterator[tuple[str, Function]]:
    for node in tree.body:
        if isinstance(node, Function) and _is_test(node):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and _is_test_class(node):
            for item in node.body:
                if isinstance(item, Function) and _is_test(item):
                    yield f"{node.name}.{item.name}", item


def _is_test(node: Function) -> bool:
    return node.name.startswith("test")


def _is_test_class(node: ast.ClassDef) -> bool:
    bases = {_name(base) for base in node.bases}
    return node.name.startswith("Test") or bool(bases & {"TestCase", "IsolatedAsyncioTestCase"})


def _checking_helpers(trees: Iterable[ast.Module]) -> set[str]:
    """Names of non-test functions of the test files that check something (to a fixed point:
    a helper calling a checking helper checks too)."""
    bodies: dict[str, list[ast.AST]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, Function) and not _is_test(node):
                bodies.setdefault(node.name, []).append(node)
    checking: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, nodes in bodies.items():
            if name not in checking and any(_checks(n, checking) for n in nodes):
                checking.add(name)
                changed = True
    return checking


def _checks(function: ast.AST, helpers: set[str]) -> bool:
    return any(_is_check(node, helpers) for node in ast.walk(function) if node is not function)


def _is_check(node: ast.AST, helpers: set[str]) -> bool:
    if isinstance(node, ast.Assert | ast.Raise):
        return True
    if not isinstance(node, ast.Call):
        return False
    name = _name(node.func)
    return bool(CHECK_NAME.match(name)) or name in helpers or name in PYTEST_CHECKS


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else ""


def record(found: list[TestFunction], evidence: Evidence, probe: str = "tests") -> None:
    """`tests.test_functions`, `tests.assertion_free` and one finding listing those tests."""
    free = [t for t in found if not t.checks]
    evidence.metrics["tests.test_functions"] = len(found)
    evidence.metrics["tests.assertion_free"] = len(free)
    if not free:
        return
    listed = "\n".join(f"{t.path}:{t.line} {t.name}" for t in free[:LISTED_MAX])
    more = f"\n… and {len(free) - LISTED_MAX} more" if len(free) > LISTED_MAX else ""
    tests_word = "test asserts" if len(free) == 1 else "tests assert"
    message = (
        f"{len(free)} of {len(found)} {tests_word} nothing: they run code and pass whatever it "
        "returns (only an exception fails them)."
    )
    severity = Severity.MEDIUM if len(free) * 5 > len(found) else Severity.LOW
    evidence.findings.append(
        Finding(
            "tests.assertion_free",
            severity,
            message,
            path=free[0].path,
            line=free[0].line,
            snippet=listed + more,
            probe=probe,
        )
    )
