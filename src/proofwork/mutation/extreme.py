"""Extreme mutation, as PIT's Descartes engine does it: a function's whole body replaced by
returning a default (`0`, `""`, `False`, an empty collection, `None`) or by doing nothing.

A function its tests run, yet whose tests all still pass when it does nothing at all, is
*pseudo-tested*: the suite executes it but checks nothing it does. One mutant per function, so
the check is cheap enough to run on every grade. The default follows the return annotation,
else what the function's `return` statements give back (`0` for a count, `""` for text), so a
test asserting only `is not None` does not tell it apart.

Top-level functions and methods are mutated; functions nested in functions belong to their
outer function's behaviour. Constructors and text representations are left alone (doing
nothing there breaks everything, or nothing a test should pin), as are abstract methods.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from proofwork.mutation.model import Kind, Scope
from proofwork.mutation.operators import Edit, Text, first_line, is_docstring

EXTREME = "extreme"  # the operator name extreme mutants carry
SKIPPED_DEFS = frozenset({"__init__", "__new__", "__del__", "__repr__", "__str__", "__format__"})
# Return annotations (the last name of `typing.List`, `list[int]` …) -> the default returned.
BY_ANNOTATION = {
    "int": "0", "float": "0.0", "complex": "0j", "Decimal": "0", "str": '""', "bytes": 'b""',
    "bool": "False", "list": "[]", "List": "[]", "Sequence": "[]", "MutableSequence": "[]",
    "Iterable": "[]", "Collection": "[]", "dict": "{}", "Dict": "{}", "Mapping": "{}",
    "MutableMapping": "{}", "set": "set()", "Set": "set()", "AbstractSet": "set()",
    "frozenset": "frozenset()", "FrozenSet": "frozenset()", "tuple": "()", "Tuple": "()",
}  # fmt: skip
# Calls whose result type is known by the callee's name.
BY_CALL = {
    "int": "0", "len": "0", "round": "0", "sum": "0", "float": "0.0", "str": '""',
    "repr": '""', "bool": "False", "isinstance": "False", "any": "False", "all": "False",
    "list": "[]", "sorted": "[]", "dict": "{}", "set": "set()", "frozenset": "frozenset()",
    "tuple": "()",
}  # fmt: skip
NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def edits(text: Text, tree: ast.Module, skipped_lines: set[int]) -> Iterator[Edit]:
    """One edit per mutable function of a module, in source order."""
    yield from _body(text, tree.body, (), skipped_lines)


def _body(
    text: Text, body: list[ast.stmt], scopes: tuple[Scope, ...], skipped: set[int]
) -> Iterator[Edit]:
    for stmt in body:
        if any(line in skipped for line in range(first_line(stmt), stmt.lineno + 1)):
            continue
        if isinstance(stmt, ast.ClassDef):
            inner = (*scopes, Scope("class", stmt.name, first_line(stmt)))
            yield from _body(text, stmt.body, inner, skipped)
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            edit = _function(text, stmt, scopes, skipped)
            if edit is not None:
                yield edit


def _function(
    text: Text,
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    scopes: tuple[Scope, ...],
    skipped: set[int],
) -> Edit | None:
    body = node.body[1:] if is_docstring(node.body[0]) else node.body
    if not body or node.name in SKIPPED_DEFS or _abstract(node):
        return None
    if first_line(body[0]) in skipped or (len(body) == 1 and isinstance(body[0], ast.Raise)):
        return None  # `raise NotImplementedError` and the like: nothing to take away
    start = _body_start(text, node, body[0])
    end = text.span(body[-1])[1]
    replacement = "return; yield" if _is_generator(body) else f"return {default(node, body)}"
    scope = Scope("def", node.name, first_line(node))
    return Edit(start, end, replacement, EXTREME, node, body[0], (*scopes, scope), Kind.FUNCTION)


def _body_start(text: Text, node: ast.AST, first: ast.stmt) -> int:
    # A body on lines of its own starts at its first line's indentation (a decorated nested
    # def starts at its decorator); `def f(): return 1` starts where the statement does.
    line = first_line(first)
    if line == node.lineno:  # type: ignore[attr-defined]
        return text.span(first)[0]
    source = text.lines[line - 1]
    return text.starts[line - 1] + len(source) - len(source.lstrip())


def _abstract(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    names = [_last_name(d) for d in node.decorator_list]
    return any(name in ("abstractmethod", "overload") for name in names)


def _is_generator(body: list[ast.stmt]) -> bool:
    return any(isinstance(n, ast.Yield | ast.YieldFrom) for n in _own_nodes(body))


def _own_nodes(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every node of a function body, not descending into nested functions or classes."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(c for c in ast.iter_child_nodes(node) if not isinstance(c, NESTED))


def default(node: ast.FunctionDef | ast.AsyncFunctionDef, body: list[ast.stmt]) -> str:
    """What the mutant returns: by return annotation, else by what `return` statements give."""
    if node.returns is not None:
        return _by_annotation(node.returns)
    values = [n.value for n in _own_nodes(body) if isinstance(n, ast.Return) and n.value]
    guesses = {_by_value(v) for v in values if not _is_none(v)}
    return guesses.pop() if len(guesses) == 1 else "None"


def _by_annotation(annotation: ast.expr) -> str:
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:  # a quoted annotation
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return "None"
    if isinstance(annotation, ast.Subscript):
        annotation = annotation.value  # list[int] -> list; Optional[int] -> Optional
    return BY_ANNOTATION.get(_last_name(annotation), "None")


def _by_value(value: ast.expr) -> str:
    if isinstance(value, ast.Constant):
        literal = value.value
        kinds = ((bool, "False"), (int, "0"), (float, "0.0"), (str, '""'), (bytes, 'b""'))
        return next((d for kind, d in kinds if isinstance(literal, kind)), "None")
    shapes = (
        (ast.JoinedStr, '""'), (ast.List | ast.ListComp, "[]"), (ast.Dict | ast.DictComp, "{}"),
        (ast.Set | ast.SetComp, "set()"), (ast.Tuple, "()"), (ast.Compare, "False"),
    )  # fmt: skip
    found = next((d for shape, d in shapes if isinstance(value, shape)), None)
    if found is not None:
        return found
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not):
        return "False"
    if isinstance(value, ast.Call):
        return BY_CALL.get(_last_name(value.func), "None")
    return "None"


def _is_none(value: ast.expr) -> bool:
    return isinstance(value, ast.Constant) and value.value is None


def _last_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else ""


def describe(text: Text, edit: Edit) -> str:
    """The extreme mutant's diff: the body's first line and its length, then what replaces it."""
    first = text.text[edit.start : edit.end].splitlines()
    more = f"  … ({len(first)} lines)" if len(first) > 1 else ""
    return f"- {first[0].strip()}{more}\n+ {edit.replacement}"
