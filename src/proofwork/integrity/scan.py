"""A static look at the code that can reach into a test run: conftest files, pytest plugins of
the submission, `sitecustomize` / `usercustomize` modules and `.pth` files.

Honest suites use hooks all the time (to attach a screenshot to a failed report, to skip slow
tests), so a hook alone is never held against anyone. What is: writing a report's outcome,
replacing the hook's result, patching pytest's reporting or Proofwork's own plugins, reaching
for the results files, and ending the process from a hook. Those are `strong` hits: tampering.
Weaker signs (removing collected tests, code that runs at interpreter start) are listed for a
reviewer and checked at run time.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from proofwork.analysis import sources

# Report attributes that say what happened to a test; honest code reads them, never writes.
OUTCOME_ATTRS = frozenset({"outcome", "longrepr", "testsfailed", "testscollected", "_outcomes"})
SOFT_ATTRS = frozenset({"wasxfail", "exitstatus"})
PYTEST_INTERNALS = frozenset(
    {
        "_pytest.reports",
        "_pytest.runner",
        "_pytest.junitxml",
        "_pytest.main",
        "_pytest.terminal",
        "_pytest.skipping",
    }
)
REPORTING_HOOKS = frozenset(
    {
        "pytest_runtest_makereport",
        "pytest_report_teststatus",
        "pytest_runtest_logreport",
        "pytest_make_collect_report",
        "pytest_collectreport",
        "pytest_runtest_protocol",
        "pytest_runtestloop",
        "pytest_pyfunc_call",
    }
)
EXITS = frozenset({"os._exit", "sys.exit", "os.kill", "os.abort", "exit", "quit", "os.killpg"})
GRADER = re.compile(
    r"proofwork_(pytest|mutate|ledger)|PROOFWORK_(OUTCOMES|LEDGER|CANARY|KEEP)|"
    r"^/out(/|$)|outcomes\.json|results\.json|proofwork-witness|proofwork canary|"
    r"xmlpath|LogXML|junitxml",
    re.IGNORECASE,
)
DROPS = frozenset({"items.remove", "items.pop", "items.clear"})
STARTUP = ("sitecustomize.py", "usercustomize.py")
MAX_PTH_BYTES = 64 * 1024


@dataclass(frozen=True)
class Hit:
    """One thing the scan found: where, what, and whether it is tampering on its own."""

    path: str
    line: int
    message: str
    strong: bool


def scan(root: Path, extra: tuple[str, ...] = ()) -> list[Hit]:
    """Hits in the files that can reach into a test run (and `extra` relative paths)."""
    hits: list[Hit] = []
    for source in sources.scan(root).files:
        name = source.path.rsplit("/", 1)[-1]
        try:
            tree = sources.parse(source)
        except sources.UnparsableSource:
            continue
        startup = name in STARTUP
        if name == "conftest.py" or startup or source.path in extra or _defines_hooks(tree):
            hits += Visitor(source.path).run(tree)
        if startup:
            hits.append(
                Hit(source.path, 1, f"`{name}` runs before pytest starts, in every process.", False)
            )
    hits += _pth_files(root)
    return sorted(set(hits), key=lambda h: (not h.strong, h.path, h.line))


def _defines_hooks(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("pytest_")
        for node in ast.walk(tree)
    )


def _pth_files(root: Path) -> list[Hit]:
    hits = []
    for relative in sources.iter_files(root, include_hidden=True):
        if relative.suffix != ".pth":
            continue
        raw = sources.read_bytes(root / relative, MAX_PTH_BYTES) or b""
        for number, line in enumerate(sources.decode(raw).splitlines(), start=1):
            if line.startswith(("import ", "import\t")):
                grader = bool(GRADER.search(line))
                message = f"A `.pth` file runs code at interpreter start: `{line[:120]}`"
                hits.append(Hit(str(relative), number, message, grader))
    return hits


class Visitor(ast.NodeVisitor):
    """Walks one module, knowing which function (hook) it is in."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.hits: list[Hit] = []
        self.function: list[str] = []
        self.internals: set[str] = set()  # local names bound to pytest's internal modules
        self.atexit: set[str] = set()

    def run(self, tree: ast.Module) -> list[Hit]:
        """Every hit in the module."""
        self.atexit = _atexit_targets(tree)
        self.visit(tree)
        return self.hits

    def hit(self, node: ast.AST, message: str, strong: bool) -> None:
        """Record a hit at the node's line."""
        self.hits.append(Hit(self.path, getattr(node, "lineno", 1), message, strong))

    @property
    def hook(self) -> str | None:
        return next((f for f in reversed(self.function) if f.startswith("pytest_")), None)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.function.append(node.name)
        self.generic_visit(node)
        self.function.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._imported(node, alias.name, alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for alias in node.names:
            self._imported(node, f"{module}.{alias.name}", alias.asname or alias.name)

    def _imported(self, node: ast.AST, module: str, bound: str) -> None:
        # Importing pytest's internals for type hints is common; writing into them is not.
        if GRADER.search(module):
            self.hit(node, f"Imports Proofwork's own plugin `{module}`.", True)
        elif any(module == m or module.startswith(m + ".") for m in PYTEST_INTERNALS):
            self.internals.add(bound)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and GRADER.search(node.value):
            self.hit(node, f"Names the grader's results or plugins: {node.value[:80]!r}.", True)

    def visit_Name(self, node: ast.Name) -> None:
        if GRADER.search(node.id):
            self.hit(node, f"Uses `{node.id}`, part of how the grader records results.", True)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if GRADER.search(node.attr):
            self.hit(node, f"Uses `.{node.attr}`, part of how the grader records results.", True)
        if isinstance(node.ctx, ast.Store | ast.Del):
            self._written(node, node.attr, _root_name(node))
        self.generic_visit(node)

    def _written(self, node: ast.AST, attr: str, root: str | None) -> None:
        where = f" in `{self.hook}`" if self.hook else ""
        if attr in OUTCOME_ATTRS:
            self.hit(node, f"Rewrites a test report's `{attr}`{where}.", True)
        elif attr in SOFT_ATTRS:
            self.hit(node, f"Sets `{attr}`{where}.", False)
        elif root is not None and root in self.internals:
            self.hit(node, f"Replaces `{attr}` inside pytest's reporting code (`{root}`).", True)

    def visit_Call(self, node: ast.Call) -> None:
        name = _dotted(node.func)
        if name.endswith(("force_result", "force_exception")) and self.hook in REPORTING_HOOKS:
            self.hit(node, f"Replaces the result of `{self.hook}`.", True)
        if name in ("setattr", "object.__setattr__") and len(node.args) >= 2:
            target, attr = node.args[0], node.args[1]
            if isinstance(attr, ast.Constant) and isinstance(attr.value, str):
                self._written(node, attr.value, _root_name(target))
        if name in EXITS or name.endswith("._exit"):
            self._exit(node, name)
        if name.endswith("pytest_deselected"):
            self.hit(node, "Deselects tests from its own code.", False)
        if self.hook == "pytest_collection_modifyitems" and name in DROPS:
            self.hit(node, "Removes collected tests in its own code.", False)
        self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> None:
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        if exc is not None and _dotted(exc) == "SystemExit":
            self._exit(node, "raise SystemExit")
        self.generic_visit(node)

    def _exit(self, node: ast.AST, how: str) -> None:
        inside = self.function[-1] if self.function else None
        if self.hook is not None:
            self.hit(node, f"Ends the process (`{how}`) from the hook `{self.hook}`.", True)
        elif inside is None:
            self.hit(node, f"Ends the process (`{how}`) as the module loads.", True)
        elif inside in self.atexit:
            self.hit(node, f"Ends the process (`{how}`) from an exit handler.", True)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if not isinstance(target, ast.Subscript):
                continue
            if self.hook == "pytest_collection_modifyitems" and _dotted(target.value) == "items":
                self.hit(node, "Removes collected tests in its own code.", False)
            key = target.slice
            if _is_namespace(target.value) and isinstance(key, ast.Constant):
                # report.__dict__["outcome"] = …, vars(report)["outcome"] = …
                self._written(node, str(key.value), _root_name(target.value))
        self.generic_visit(node)


def _is_namespace(node: ast.AST) -> bool:
    """`x.__dict__` or `vars(x)`: an object's attributes reached as a mapping."""
    if isinstance(node, ast.Attribute):
        return node.attr == "__dict__"
    return isinstance(node, ast.Call) and _dotted(node.func) == "vars"


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _atexit_targets(tree: ast.Module) -> set[str]:
    """Functions registered with `atexit.register(f)` or decorated `@atexit.register`."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _dotted(node.func).endswith("atexit.register"):
            found |= {a.id for a in node.args[:1] if isinstance(a, ast.Name)}
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
            _dotted(d).endswith("atexit.register") for d in node.decorator_list
        ):
            found.add(node.name)
    return found
