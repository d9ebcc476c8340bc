"""Cyclomatic and cognitive complexity on hand-worked examples (SonarSource's paper among them)."""

from __future__ import annotations

import ast
import textwrap

import pytest

from proofwork.analysis.complexity import FunctionComplexity, functions, measure, percentile
from proofwork.analysis.sources import SourceFile, parse_all


def measured(source: str) -> dict[str, FunctionComplexity]:
    tree = ast.parse(textwrap.dedent(source))
    return {f.name: f for f in functions(tree, "m.py")}


def one(source: str) -> FunctionComplexity:
    (only,) = measured(source).values()
    return only


# SonarSource, "Cognitive Complexity" (2017-2023), figure 1, with `continue OUT` as for/else.
SUM_OF_PRIMES = """
def sum_of_primes(limit):
    total = 0
    for i in range(1, limit + 1):      # +1
        for j in range(2, i):          # +2 (nesting 1)
            if i % j == 0:             # +3 (nesting 2)
                break
        else:                          # +1
            total += i
    return total
"""

GET_WORDS = """
def get_words(number):
    match number:                      # +1
        case 1:
            return "one"
        case 2:
            return "a couple"
        case 3:
            return "a few"
        case _:
            return "lots"
"""


def test_sum_of_primes_scores_as_in_the_paper() -> None:
    result = one(SUM_OF_PRIMES)
    assert (result.cognitive, result.cyclomatic) == (7, 4)


def test_get_words_scores_as_in_the_paper() -> None:
    result = one(GET_WORDS)
    assert (result.cognitive, result.cyclomatic) == (1, 4)


@pytest.mark.parametrize(
    ("condition", "cognitive"),
    [
        ("a and b", 1),
        ("a and b and c", 1),
        ("a and b or c", 2),
        ("a or b and c or d", 3),
        ("a or b and not (c and d)", 3),
    ],
)
def test_each_run_of_like_boolean_operators_adds_one(condition: str, cognitive: int) -> None:
    result = one(f"def f(a, b, c, d):\n    return {condition}\n")
    assert result.cognitive == cognitive


def test_if_elif_else_add_one_each_and_only_if_pays_for_nesting() -> None:
    source = """
    def f(x, y):
        for item in x:              # +1
            if item:                # +2
                pass
            elif y:                 # +1
                pass
            else:                   # +1
                pass
    """
    assert one(source).cognitive == 5
    assert one(source).cyclomatic == 4


def test_an_if_inside_an_else_is_nested_not_an_elif() -> None:
    source = """
    def f(x, y):
        if x:                       # +1
            pass
        else:                       # +1
            if y:                   # +2
                pass
    """
    assert one(source).cognitive == 4


def test_try_does_not_nest_but_except_does() -> None:
    source = """
    def f(x):
        try:
            if x:                   # +1
                pass
        except ValueError:          # +1
            if x:                   # +2
                pass
        except KeyError:            # +1
            pass
        else:                       # +1
            pass
        finally:
            if x:                   # +1
                pass
    """
    result = one(source)
    assert result.cognitive == 7
    assert result.cyclomatic == 1 + 3 + 2  # three ifs, two handlers


def test_with_blocks_do_not_nest() -> None:
    source = """
    def f(x):
        with open(x) as handle:
            if handle:              # +1
                pass
    """
    assert one(source).cognitive == 1


def test_ternaries_and_lambdas_nest() -> None:
    source = """
    def f(x, y):
        if x:                                   # +1
            return lambda z: 1 if z else 2      # +3 (if and lambda nest it twice)
        return y
    """
    assert one(source).cognitive == 4


def test_recursion_adds_one_for_functions_and_methods() -> None:
    found = measured(
        """
        def fact(n):
            return 1 if n < 2 else n * fact(n - 1)

        class Tree:
            def depth(self, node):
                return 1 + max(self.depth(c) for c in node.children)
        """
    )
    assert found["fact"].cognitive == 2
    assert found["Tree.depth"].cognitive == 1


def test_comprehensions_count_for_cyclomatic_only() -> None:
    result = one("def f(xs):\n    return [x for x in xs if x if x > 1]\n")
    assert (result.cyclomatic, result.cognitive) == (4, 0)


def test_match_counts_refutable_cases_and_guards_nest() -> None:
    source = """
    def f(p):
        match p:                    # +1
            case (x, y) if x and y: # +1 for the `and`
                return 1
            case other:
                return other
    """
    result = one(source)
    assert (result.cyclomatic, result.cognitive) == (3, 2)


def test_nested_functions_are_units_that_start_one_level_deeper() -> None:
    found = measured(
        """
        def outer(xs):
            if xs:                      # +1
                def inner(y):
                    if y:               # +3: nested in a def nested in an if
                        return y
                return inner
            return None
        """
    )
    assert found["outer"].cognitive == 1
    assert found["outer.<locals>.inner"].cognitive == 3
    assert found["outer"].cyclomatic == 2


def test_decorator_wrappers_add_no_nesting() -> None:
    found = measured(
        """
        def logged(fn):
            def wrapper(*args):
                if args:                # +1: the decorator only wraps
                    return fn(*args)
                return None
            return wrapper
        """
    )
    assert found["logged.<locals>.wrapper"].cognitive == 1


def test_names_lines_and_lengths_are_qualified_and_exact() -> None:
    found = measured(
        """
        class Shop:
            class Basket:
                def total(self):
                    return 0

            async def pay(self):
                def check():
                    return True
                return check()
        """
    )
    assert sorted(found) == ["Shop.Basket.total", "Shop.pay", "Shop.pay.<locals>.check"]
    pay = found["Shop.pay"]
    assert (pay.line, pay.end_line, pay.length) == (7, 10, 4)


def test_defs_under_module_level_blocks_are_found() -> None:
    found = measured(
        """
        try:
            import fast
        except ImportError:
            def fast():
                return 1
        if True:
            def other():
                return 2
        """
    )
    assert sorted(found) == ["fast", "other"]


def test_a_file_too_deep_to_walk_is_reported_not_raised() -> None:
    deep = "def f(a):\n    return " + "+".join(["a"] * 2500) + "\n"
    files = [
        SourceFile("deep.py", deep, is_test=False),
        SourceFile("ok.py", "def g():\n    pass\n", False),
    ]
    parsed, broken = parse_all(files)
    report = measure(parsed)
    unparsable = [item.path for item in [*broken, *report.unparsable]]
    assert unparsable == ["deep.py"]
    assert [f.name for f in report.functions] == ["g"]


def test_a_syntax_error_is_reported_with_its_line() -> None:
    parsed, broken = parse_all([SourceFile("bad.py", "x = 1\ndef f(:\n", is_test=False)])
    assert parsed == []
    assert (broken[0].path, broken[0].line) == ("bad.py", 2)
    assert "syntax error" in broken[0].reason


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 90) is None
    assert percentile([5], 90) == 5
    assert percentile(list(range(1, 11)), 90) == 9
    assert percentile(list(range(1, 11)), 100) == 10
