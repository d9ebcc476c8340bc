"""Type-annotation coverage: the share of parameters and returns that carry an annotation."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass
class AnnotationCoverage:
    """Annotated slots (parameters and returns) out of all slots."""

    annotated: int = 0
    total: int = 0

    @property
    def percent(self) -> float | None:
        """Percentage of annotated slots; None when there is nothing to annotate."""
        return 100.0 * self.annotated / self.total if self.total else None

    def add(self, annotated: int, total: int) -> None:
        """Count more slots."""
        self.annotated += annotated
        self.total += total


def coverage(trees: Iterable[ast.Module]) -> AnnotationCoverage:
    """Annotation coverage over every function and method of the given modules."""
    result = AnnotationCoverage()
    for tree in trees:
        methods = _methods(tree)
        # ast.walk is iterative, so a deeply nested module cannot exhaust the recursion limit.
        for node in ast.walk(tree):
            if isinstance(node, _DEFS):
                result.add(*_slots(node, is_method=id(node) in methods))
    return result


def _methods(tree: ast.Module) -> set[int]:
    """Ids of functions defined directly in a class body, whose first parameter is implicit."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            found.update(id(s) for s in node.body if isinstance(s, _DEFS) and _binds(s))
    return found


def _binds(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return not any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)


def _slots(node: ast.FunctionDef | ast.AsyncFunctionDef, *, is_method: bool) -> tuple[int, int]:
    """(annotated, total) for one function: its parameters, then its return."""
    args = node.args
    params = [*args.posonlyargs, *args.args]
    if is_method and params:
        params = params[1:]  # self / cls: their type is implied
    params += [*args.kwonlyargs, *(a for a in (args.vararg, args.kwarg) if a is not None)]
    annotated = sum(1 for p in params if p.annotation is not None)
    total = len(params)
    # `__init__` always returns None: counting `-> None` there would reward ceremony.
    if node.name != "__init__":
        total += 1
        annotated += node.returns is not None
    return annotated, total
