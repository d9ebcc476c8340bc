"""Type-annotation coverage over parameters and returns."""

from __future__ import annotations

import ast
import textwrap

from proofwork.analysis.annotations import coverage


def measured(*sources: str) -> tuple[int, int]:
    result = coverage(ast.parse(textwrap.dedent(s)) for s in sources)
    return result.annotated, result.total


def test_parameters_and_returns_are_slots() -> None:
    assert measured("def f(a: int, b, *args: str, c=1, **kw) -> int:\n    return a\n") == (3, 6)


def test_self_and_cls_are_not_slots_but_a_staticmethods_first_parameter_is() -> None:
    source = """
    class Shop:
        def add(self, item: str) -> None: ...
        @classmethod
        def create(cls) -> "Shop": ...
        @staticmethod
        def price(item) -> int: ...
    """
    assert measured(source) == (4, 5)


def test_init_needs_no_return_annotation() -> None:
    source = """
    class Shop:
        def __init__(self, name: str):
            def helper(x): ...
    """
    assert measured(source) == (1, 3)  # name; helper's x and return


def test_percent_is_none_without_functions_and_sums_over_modules() -> None:
    assert coverage([ast.parse("x = 1")]).percent is None
    result = coverage([ast.parse("def f(a: int) -> int: ..."), ast.parse("def g(b): ...")])
    assert result.percent == 50.0
