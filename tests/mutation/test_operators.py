"""Operators: each plants the mutants it should, in the right place, and nothing else."""

from __future__ import annotations

import pytest

from proofwork.analysis.sources import SourceFile
from proofwork.mutation import Kind, Profile, generate
from proofwork.mutation.model import Mutant
from proofwork.probes.tests import EXCLUDE_ALSO


def plant(source: str, *families: str, **profile: bool) -> list[Mutant]:
    chosen = Profile(families=frozenset(families), **profile) if families else Profile(**profile)
    files = [SourceFile("pkg/mod.py", source, False)]
    return generate(files, profile=chosen, exclude=EXCLUDE_ALSO).mutants


def after(mutants: list[Mutant]) -> list[str]:
    return [m.diff.splitlines()[1][2:] for m in mutants]


def in_function(body: str) -> str:
    return "def f(a, b, xs):\n" + "".join(f"    {line}\n" for line in body.splitlines())


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("return a + b", "return a - b"),
        ("return a - b", "return a + b"),
        ("return a * b", "return a / b"),
        ("return a / b", "return a * b"),
        ("return a // b", "return a / b"),
        ("return a % b", "return a / b"),
        ("return a ** b", "return (a * b)"),
        ("return a << b", "return a >> b"),
        ("return a & b", "return a | b"),
        ("return -a", "return +a"),
    ],
)
def test_arithmetic_operators_swap_the_operator_token(line: str, expected: str) -> None:
    assert after(plant(in_function(line), "arith")) == [expected]


def test_power_keeps_its_grouping() -> None:
    (mutant,) = plant(in_function("return a / b ** 2"), "arith", "number")[:1]
    assert after([mutant]) == ["return a * b ** 2"]
    assert "return a / (b * 2)" in after(plant(in_function("return a / b ** 2"), "arith"))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("return a < b", "return a <= b"),
        ("return a <= b", "return a < b"),
        ("return a > b", "return a >= b"),
        ("return a >= b", "return a > b"),
        ("return a == b", "return a != b"),
        ("return a != b", "return a == b"),
        ("return a is b", "return a is not b"),
        ("return a is not b", "return a is b"),
        ("return a in xs", "return a not in xs"),
        ("return a not in xs", "return a in xs"),
    ],
)
def test_comparisons_move_the_boundary_or_flip(line: str, expected: str) -> None:
    assert after(plant(in_function(line), "compare")) == [expected]


def test_each_link_of_a_chained_comparison_is_its_own_mutant() -> None:
    assert after(plant(in_function("return a < b <= xs"), "compare")) == [
        "return a <= b <= xs",
        "return a < b < xs",
    ]


def test_boolean_operators_and_not() -> None:
    assert after(plant(in_function("return a and b or xs"), "boolean")) == [
        "return a and b and xs",
        "return a or b or xs",
    ]
    assert after(plant(in_function("return not a"), "not")) == ["return a"]
    assert after(plant(in_function("return ~a"), "not")) == ["return a"]


def test_constants() -> None:
    assert after(plant(in_function("return a + 41"), "number")) == ["return a + 42"]
    assert after(plant(in_function("return a * 0.5"), "number")) == ["return a * 1.5"]
    assert after(plant(in_function("return True"), "bool_const")) == ["return False"]
    assert after(plant(in_function("return b'ok'"), "string")) == ["return b'XXokXX'"]
    assert after(plant(in_function('return r"\\d+"'), "string")) == ['return r"XX\\d+XX"']
    assert after(plant(in_function('return "a" "b"'), "string")) == ["return 'XXabXX'"]


def test_docstrings_triple_quoted_text_and_f_strings_are_left_alone() -> None:
    source = '"""Module doc."""\n\ndef f(a):\n    """Doc."""\n    """A note."""\n'
    source += '    x = f"{a + 1} items"\n    return """SELECT 1"""\n'
    assert plant(source, "string", "arith", "number") == []


def test_statement_operators() -> None:
    body = "for x in xs:\n    if x:\n        break\n    continue\nreturn xs"
    assert after(plant(in_function(body), "loop_control")) == ["continue", "break"]
    assert after(plant(in_function(body), "return_none")) == ["return None"]
    calls = "xs.append(a)\nprint(a)\nlogger.info(a)\nreturn None"
    assert after(plant(in_function(calls), "call_dropped", "return_none")) == ["None"]


def test_except_body_becomes_raise() -> None:
    body = "try:\n    a()\nexcept KeyError:\n    b()\n    return 1\nexcept ValueError:\n    raise"
    mutants = plant(in_function(body), "except_raise")
    assert [(m.line, after([m])) for m in mutants] == [(5, ["raise"])]
    assert mutants[0].diff == "- b() return 1\n+ raise"


def test_augmented_assignment() -> None:
    assert after(plant(in_function("a += b"), "augassign", "augassign_to_assign")) == [
        "a -= b",
        "a = b",
    ]
    assert after(plant(in_function("a *= b"), "augassign")) == ["a /= b"]


def test_mutmut_families() -> None:
    assert after(plant(in_function("a = b"), "assign_none")) == ["a = None"]
    assert after(plant(in_function("a = None"), "assign_none")) == ['a = ""']
    assert after(plant(in_function("return lambda: a"), "lambda")) == ["return lambda: None"]
    assert after(plant(in_function("return a.lower()"), "str_method")) == ["return a.upper()"]
    assert after(plant(in_function("return a if b else xs"), "ifexp")) == [
        "return a if (b) and False else xs",
        "return a if (b) or True else xs",
    ]


def test_each_mutant_knows_its_place_scope_and_kind() -> None:
    source = "RATE = 2\n\nclass Cart:\n    size = 3\n\n    def total(self, n):\n"
    source += "        return n * RATE\n"
    mutants = {m.diff.splitlines()[1]: m for m in plant(source, "number", "arith")}
    rate, size, times = mutants["+ RATE = 3"], mutants["+ size = 4"], mutants["+ return n / RATE"]
    assert (rate.kind, rate.function, rate.line, rate.column) == (Kind.MODULE, "<module>", 1, 8)
    assert (size.kind, size.function, size.chunk) == (Kind.MODULE, "Cart", (3, 7))
    assert (times.kind, times.function, times.line, times.column) == (
        Kind.FUNCTION,
        "Cart.total",
        7,
        18,
    )
    assert times.stmt_line == 7
    assert times.apply(source).endswith("return n / RATE\n")


def test_annotations_decorators_guards_and_pragmas_are_skipped() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    X = 1\n"
        "@decorate(2)\ndef f(a: Literal[3] = 4) -> Literal[5]:\n"
        "    b: Literal[6] = 7\n"
        "    c = 8  # pragma: no mutate\n"
        "    if a:  # pragma: no cover\n        return 9\n"
        "    raise NotImplementedError(10)\n"
        "if __name__ == '__main__':\n    f(11)\n"
    )
    assert sorted(after(plant(source, "number"))) == [
        "b: Literal[6] = 8",
        "def f(a: Literal[3] = 5) -> Literal[5]:",
    ]


def test_equivalent_and_duplicate_mutants_are_dropped() -> None:
    # 2 ** 2 and 2 * 2 fold to the same constant: equivalent.
    generated = generate([SourceFile("m.py", in_function("return 2 ** 2"), False)])
    assert generated.equivalent == 1
    assert "return (2 * 2)" not in after(generated.mutants)
    # `not (a is True)` with `is` flipped, and with `not` dropped, compile to the same code.
    duplicate = generate([SourceFile("m.py", in_function("return not (a is True)"), False)])
    assert duplicate.duplicate == 1


def test_mutmut_placement_follows_mutmut() -> None:
    source = (
        "X = 1\n"
        "def top(a):\n    def inner():\n        return 2\n    return inner\n"
        "@cache\ndef decorated():\n    return 3\n"
        "class C:\n    y = 4\n    @staticmethod\n    def s():\n        return 5\n"
        "    @property\n    def p(self):\n        return 6\n"
        "    class Inner:\n        def m(self):\n            return 7\n"
    )
    numbers = after(plant(source, "number", mutmut_placement=True))
    assert numbers == ["return 3", "return 6"]


def test_unparsable_files_are_reported_not_raised() -> None:
    files = [SourceFile("bad.py", "def f(:\n", False), SourceFile("nul.py", "a\x00", False)]
    generated = generate(files)
    assert [path for path, _ in generated.unparsable] == ["bad.py", "nul.py"]
    assert generated.mutants == []
