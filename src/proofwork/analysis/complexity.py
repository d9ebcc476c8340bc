"""Per-function cyclomatic and cognitive complexity and length, from `ast` alone.

Cyclomatic complexity is McCabe's: 1 + one per decision (if/elif, loop, except handler,
ternary, each extra boolean operand, comprehension `for`/`if`, refutable match case). A loop's
`else` and a `try`'s `else` are not decisions of their own, so SonarSource's sumOfPrimes scores 4.

Cognitive complexity follows SonarSource's specification as sonar-python applies it to Python:
+1 for if/elif/else, loops and their else, except, ternaries, match, each run of like boolean
operators and recursion; structures other than elif/else also add their nesting depth. Every
def is its own unit and a nested def starts one level deeper than where it is defined (unless
its parent only wraps it, as decorators do), so the units' scores add up to Sonar's score of the
outermost function without counting anything twice. Comprehensions add nothing, as in sonar-python.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from proofwork.analysis.sources import SourceFile, UnparsableSource

Def = ast.FunctionDef | ast.AsyncFunctionDef
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True)
class FunctionComplexity:
    """What one function or method measures."""

    path: str
    name: str  # qualified: Class.method, outer.<locals>.inner
    line: int
    end_line: int
    cyclomatic: int
    cognitive: int

    @property
    def length(self) -> int:
        """Lines from `def` to the last line of the body."""
        return self.end_line - self.line + 1


@dataclass
class ComplexityReport:
    """Functions of many files, and the files that could not be analysed."""

    functions: list[FunctionComplexity] = field(default_factory=list)
    unparsable: list[UnparsableSource] = field(default_factory=list)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def measure(files: Iterable[tuple[SourceFile, ast.Module]]) -> ComplexityReport:
    """Measure every function of already-parsed files; a file too deep to walk is reported."""
    report = ComplexityReport()
    for source, tree in files:
        try:
            report.functions.extend(functions(tree, source.path))
        except RecursionError:
            report.unparsable.append(UnparsableSource(source.path, "too deeply nested to analyse"))
    return report


def functions(tree: ast.Module, path: str) -> list[FunctionComplexity]:
    """Every function and method of one module, nested ones included, in source order."""
    units = _Units(path)
    units.scope(tree.body, prefix="", in_class=False)
    return sorted(units.found, key=lambda f: (f.line, f.name))


def _defs_in(body: list[ast.stmt]) -> Iterator[Def | ast.ClassDef]:
    """Defs and classes in a body, also inside if/try/with/for blocks (not inside other defs)."""
    for node in body:
        if isinstance(node, _SCOPES):
            yield node
            continue
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                yield from _defs_in([child])
            elif isinstance(child, ast.ExceptHandler | ast.match_case):
                yield from _defs_in(child.body)


class _Units:
    """Walks one module's scopes and measures each function it meets."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.found: list[FunctionComplexity] = []

    def scope(self, body: list[ast.stmt], *, prefix: str, in_class: bool) -> None:
        """Measure the defs of a module or class body (methods start at nesting 0)."""
        for node in _defs_in(body):
            if isinstance(node, ast.ClassDef):
                self.scope(node.body, prefix=f"{prefix}{node.name}.", in_class=True)
            else:
                self.function(node, f"{prefix}{node.name}", base=0, is_method=in_class)

    def function(self, node: Def, name: str, *, base: int, is_method: bool) -> None:
        """Measure one function, then the defs nested in it."""
        cognitive = _Cognitive(node.name, is_method=is_method)
        cognitive.body(node.body, base)
        self.found.append(
            FunctionComplexity(
                path=self.path,
                name=name,
                line=node.lineno,
                end_line=node.end_lineno or node.lineno,
                cyclomatic=cyclomatic(node),
                cognitive=cognitive.score,
            )
        )
        # A function that only defines and returns another (a decorator) adds no nesting to it.
        step = 0 if _is_wrapper(node) else 1
        for child, nesting in cognitive.nested:
            child_name = f"{name}.<locals>.{child.name}"
            if isinstance(child, ast.ClassDef):
                self.scope(child.body, prefix=f"{child_name}.", in_class=True)
            else:
                self.function(child, child_name, base=nesting + step, is_method=False)


def _is_wrapper(node: Def) -> bool:
    others = [s for s in node.body if not isinstance(s, _DEFS)]
    return len(others) < len(node.body) and all(
        isinstance(s, ast.Return) and isinstance(s.value, ast.Name) for s in others
    )


def cyclomatic(node: Def) -> int:
    """McCabe complexity of one function's own body (nested defs are units of their own)."""
    score = 1
    stack: list[ast.AST] = list(node.body)
    while stack:  # iterative: long expression chains must not exhaust the recursion limit
        current = stack.pop()
        if isinstance(current, _SCOPES):
            continue
        score += _decisions(current)
        stack.extend(ast.iter_child_nodes(current))
    return score


def _decisions(node: ast.AST) -> int:
    if isinstance(node, ast.If | ast.IfExp | ast.For | ast.AsyncFor | ast.While):
        return 1
    if isinstance(node, ast.ExceptHandler):
        return 1
    if isinstance(node, ast.BoolOp):
        return len(node.values) - 1
    if isinstance(node, ast.comprehension):
        return 1 + len(node.ifs)
    if isinstance(node, ast.match_case):
        return 0 if _irrefutable(node) else 1
    return 0


def _irrefutable(case: ast.match_case) -> bool:
    # `case _:` and `case name:` always match: like `else`, they are not a decision.
    pattern = case.pattern
    return isinstance(pattern, ast.MatchAs) and pattern.pattern is None and case.guard is None


def _bool_runs(node: ast.BoolOp) -> int:
    """Runs of like operators in a flattened boolean expression: `a and b or c` has two."""
    operators: list[type[ast.boolop]] = []

    def flatten(op: ast.BoolOp) -> None:
        for index, value in enumerate(op.values):
            if index:
                operators.append(type(op.op))
            if isinstance(value, ast.BoolOp):
                flatten(value)

    flatten(node)
    return sum(1 for i, op in enumerate(operators) if i == 0 or operators[i - 1] is not op)


class _Cognitive:
    """Cognitive complexity of one function body; nested defs are collected, not scored."""

    def __init__(self, name: str, *, is_method: bool) -> None:
        self.name = name
        self.is_method = is_method
        self.increments = 0
        self.recursive = False
        self.nested: list[tuple[Def | ast.ClassDef, int]] = []

    @property
    def score(self) -> int:
        """Increments, plus one when the function calls itself."""
        return self.increments + (1 if self.recursive else 0)

    def body(self, statements: list[ast.stmt], nesting: int) -> None:
        """Score a list of statements at one nesting level."""
        for statement in statements:
            self.statement(statement, nesting)

    def statement(self, node: ast.stmt, nesting: int) -> None:
        """Score one statement."""
        if isinstance(node, _SCOPES):
            self._nested_def(node, nesting)
        elif isinstance(node, ast.If):
            self._if(node, nesting, is_elif=False)
        elif isinstance(node, ast.For | ast.AsyncFor | ast.While):
            self._loop(node, nesting)
        elif isinstance(node, ast.Try | ast.TryStar):
            self._try(node, nesting)
        elif isinstance(node, ast.Match):
            self._match(node, nesting)
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                self.expression(item.context_expr, nesting)
            self.body(node.body, nesting)  # `with` reads linearly: no nesting
        else:
            self.expression(node, nesting)

    def _nested_def(self, node: Def | ast.ClassDef, nesting: int) -> None:
        # Decorators and defaults run in this function's scope, the body is its own unit.
        for decorator in node.decorator_list:
            self.expression(decorator, nesting)
        self.nested.append((node, nesting))

    def _if(self, node: ast.If, nesting: int, *, is_elif: bool) -> None:
        self.increments += 1 if is_elif else 1 + nesting
        self.expression(node.test, nesting)
        self.body(node.body, nesting + 1)
        orelse = node.orelse
        if not orelse:
            return
        first = orelse[0]
        # An `elif` is an If alone in `orelse`, starting in the same column as its `if`.
        if len(orelse) == 1 and isinstance(first, ast.If) and first.col_offset == node.col_offset:
            self._if(first, nesting, is_elif=True)
        else:
            self.increments += 1
            self.body(orelse, nesting + 1)

    def _loop(self, node: ast.For | ast.AsyncFor | ast.While, nesting: int) -> None:
        self.increments += 1 + nesting
        if isinstance(node, ast.While):
            self.expression(node.test, nesting)
        else:
            self.expression(node.iter, nesting)
        self.body(node.body, nesting + 1)
        self._else(node.orelse, nesting)

    def _try(self, node: ast.Try | ast.TryStar, nesting: int) -> None:
        self.body(node.body, nesting)
        for handler in node.handlers:
            self.increments += 1 + nesting
            self.body(handler.body, nesting + 1)
        self._else(node.orelse, nesting)
        self.body(node.finalbody, nesting)

    def _else(self, orelse: list[ast.stmt], nesting: int) -> None:
        if orelse:
            self.increments += 1
            self.body(orelse, nesting + 1)

    def _match(self, node: ast.Match, nesting: int) -> None:
        self.increments += 1 + nesting
        self.expression(node.subject, nesting)
        for case in node.cases:
            if case.guard is not None:
                self.expression(case.guard, nesting + 1)
            self.body(case.body, nesting + 1)

    def expression(self, node: ast.AST, nesting: int) -> None:
        """Score the expressions inside a simple statement or expression."""
        if isinstance(node, ast.IfExp):
            self.increments += 1 + nesting
            nesting += 1
        elif isinstance(node, ast.BoolOp):
            self.increments += _bool_runs(node)
            self._bool_operands(node, nesting)
            return
        elif isinstance(node, ast.Lambda):
            nesting += 1
        elif isinstance(node, ast.Call):
            self._check_recursion(node)
        for child in ast.iter_child_nodes(node):
            self.expression(child, nesting)

    def _bool_operands(self, node: ast.BoolOp, nesting: int) -> None:
        # Directly nested BoolOps belong to the run already counted by their parent.
        for value in node.values:
            if isinstance(value, ast.BoolOp):
                self._bool_operands(value, nesting)
            else:
                self.expression(value, nesting)

    def _check_recursion(self, call: ast.Call) -> None:
        func = call.func
        if isinstance(func, ast.Name) and not self.is_method:
            self.recursive |= func.id == self.name
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            self.recursive |= (
                self.is_method and func.value.id in {"self", "cls"} and func.attr == self.name
            )
