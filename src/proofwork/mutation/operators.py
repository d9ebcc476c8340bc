"""Mutation operators: where in a parsed file a small bug can be planted, as text splices.

Operators edit the source text at the token that changes (the `+` of `a + b`, the `<` of
`a < b`), so the diff a reader sees is the line they wrote with one thing different, and the
rest of the file keeps its formatting. Nothing here executes the code: it is read with `ast`.

Families (the names used in reports and in the mutmut comparison):
arith, compare, boolean, not, number, bool_const, string, str_method, return_none,
call_dropped, except_raise, loop_control, augassign, augassign_to_assign, assign_none,
lambda, ifexp.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from proofwork.mutation.model import Kind, Scope

FAMILIES = (
    "arith", "compare", "boolean", "not", "number", "bool_const", "string", "str_method",
    "return_none", "call_dropped", "except_raise", "loop_control", "augassign",
    "augassign_to_assign", "assign_none", "lambda", "ifexp",
)  # fmt: skip

BINOP = {
    ast.Add: ("+", "-"), ast.Sub: ("-", "+"), ast.Mult: ("*", "/"), ast.Div: ("/", "*"),
    ast.FloorDiv: ("//", "/"), ast.Mod: ("%", "/"), ast.Pow: ("**", "*"),
    ast.LShift: ("<<", ">>"), ast.RShift: (">>", "<<"), ast.BitAnd: ("&", "|"),
    ast.BitOr: ("|", "&"), ast.BitXor: ("^", "&"),
}  # fmt: skip
CMPOP = {
    ast.Lt: ("<", "<="), ast.LtE: ("<=", "<"), ast.Gt: (">", ">="), ast.GtE: (">=", ">"),
    ast.Eq: ("==", "!="), ast.NotEq: ("!=", "=="), ast.Is: ("is", "is not"),
    ast.IsNot: ("is not", "is"), ast.In: ("in", "not in"), ast.NotIn: ("not in", "in"),
}  # fmt: skip
STR_METHODS = {
    "lower": "upper", "upper": "lower", "lstrip": "rstrip", "rstrip": "lstrip",
    "find": "rfind", "rfind": "find", "ljust": "rjust", "rjust": "ljust", "index": "rindex",
    "rindex": "index", "removeprefix": "removesuffix", "removesuffix": "removeprefix",
    "partition": "rpartition", "rpartition": "partition",
}  # fmt: skip
# Calls whose only effect is output: dropping them plants noise, not a bug a test should catch.
OUTPUT_CALLS = frozenset({"print", "debug", "info", "warning", "warn", "error", "exception", "log"})
# As mutmut does: arguments of these rarely carry behaviour, and their mutants are mostly noise.
OPAQUE_CALLS = frozenset({"len", "isinstance"})
# mutmut never mutates these (its trampolines cannot wrap them); the mutmut profile follows.
MUTMUT_SKIPPED_DEFS = frozenset({"__getattribute__", "__setattr__", "__new__"})


@dataclass(frozen=True)
class Profile:
    """Which families to plant, and where: `mutmut` restricts placement to what mutmut 3 mutates
    (top-level functions and methods of top-level classes, undecorated or static/classmethod)."""

    families: frozenset[str] = frozenset(FAMILIES)
    mutmut_placement: bool = False


@dataclass(frozen=True)
class Edit:
    """A raw mutation: replace text[start:end] with `replacement`."""

    start: int
    end: int
    replacement: str
    operator: str
    node: ast.AST
    stmt: ast.stmt
    scopes: tuple[Scope, ...]
    kind: Kind


class Text:
    """A file's text with conversions from ast positions (UTF-8 byte columns) to offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, line: int, col: int) -> int:
        """Character offset of (1-based line, UTF-8 byte column)."""
        raw = self.lines[line - 1].encode("utf-8")
        start: int = self.starts[line - 1]
        return start + len(raw[:col].decode("utf-8", errors="replace"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        """Character offsets of a node's source segment."""
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end


def _blank_comments(segment: str) -> str:
    # Comments between operands may hold operator characters; blank them, keeping offsets.
    return re.sub(r"#[^\n]*", lambda m: " " * len(m.group()), segment)


def _find_token(segment: str, token: str) -> int | None:
    """Offset of `token` in the text between two operands (outside comments), or None."""
    clean = _blank_comments(segment)
    if token[0].isalpha():
        pattern = r"\b" + r"\s+".join(token.split()) + r"\b"
    else:
        pattern = r"(?<![-+*/%<>=!&|^~@])" + re.escape(token) + r"(?![-+*/%<>=!&|^~@])"
    found = [m for m in re.finditer(pattern, clean)]
    return found[0].start() if len(found) == 1 else None


def _token_len(segment: str, at: int, token: str) -> int:
    if " " in token:  # `is not`, `not in`: whatever whitespace separates the words
        match = re.match(r"\w+\s+\w+", segment[at:])
        return len(match.group()) if match else len(token)
    return len(token)


def first_line(node: ast.AST) -> int:
    """First line of a definition including decorators (the compiler's co_firstlineno)."""
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    line: int = node.lineno  # type: ignore[attr-defined]
    return min([line, *(d.lineno for d in decorators)])


def is_docstring(stmt: ast.stmt) -> bool:
    """A bare string statement: a docstring or a comment written as a string."""
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


class Planter:
    """Walks one parsed file and yields every Edit the profile allows."""

    def __init__(self, text: Text, profile: Profile, skipped_lines: set[int]) -> None:
        self.text = text
        self.profile = profile
        self.skipped_lines = skipped_lines
        self._stmt: ast.stmt | None = None
        self._scopes: tuple[Scope, ...] = ()
        self._in_function = False

    def module(self, tree: ast.Module) -> Iterator[Edit]:
        """Every edit of a module, in source order."""
        yield from self._body(tree.body, placeable=not self.profile.mutmut_placement)

    # -- statements -------------------------------------------------------------------------

    def _body(self, body: list[ast.stmt], *, placeable: bool) -> Iterator[Edit]:
        for stmt in body:
            header = range(first_line(stmt), stmt.lineno + 1)
            if is_docstring(stmt) or any(line in self.skipped_lines for line in header):
                continue
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                yield from self._function(stmt, placeable=placeable)
            elif isinstance(stmt, ast.ClassDef):
                yield from self._class(stmt, placeable=placeable)
            elif _is_guard(stmt):
                continue  # `if TYPE_CHECKING:` / `if __name__ == "__main__":` never run in tests
            else:
                yield from self._statement(stmt, placeable=placeable)

    def _function(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, *, placeable: bool
    ) -> Iterator[Edit]:
        inner = placeable or self._mutmut_target(node)
        if self.profile.mutmut_placement and node.name in MUTMUT_SKIPPED_DEFS:
            inner = False
        if inner:
            # Only literal defaults: they are evaluated when the `def` runs, in the enclosing
            # scope, and a planted call there would break the import rather than test anything.
            defaults = [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
            previous = self._stmt
            self._stmt = node
            for default in defaults:
                if isinstance(default, ast.Constant):
                    yield from self._expr(default)
            self._stmt = previous
        saved = (self._scopes, self._in_function)
        self._scopes = (*self._scopes, Scope("def", node.name, first_line(node)))
        self._in_function = True
        yield from self._body(node.body, placeable=inner)
        self._scopes, self._in_function = saved

    def _mutmut_target(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        # mutmut 3 places mutants in top-level functions and methods of top-level classes only,
        # and skips decorated ones except @staticmethod/@classmethod.
        if not self.profile.mutmut_placement:
            return False
        depth_ok = len(self._scopes) == 0 or (
            len(self._scopes) == 1 and self._scopes[0].kind == "class"
        )
        plain = (
            all(
                isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod")
                for d in node.decorator_list
            )
            and len(node.decorator_list) <= 1
        )
        return depth_ok and plain

    def _class(self, node: ast.ClassDef, *, placeable: bool) -> Iterator[Edit]:
        saved = self._scopes
        self._scopes = (*self._scopes, Scope("class", node.name, first_line(node)))
        enum_class = any(
            (isinstance(b, ast.Name) and b.id.endswith(("Enum", "Flag")))
            or (isinstance(b, ast.Attribute) and b.attr.endswith(("Enum", "Flag")))
            for b in node.bases
        )
        body = node.body
        if enum_class and self.profile.mutmut_placement:
            body = [s for s in body if not (isinstance(s, ast.FunctionDef) and s.name in (
                "__init__", "_generate_next_value_"))]  # fmt: skip
        yield from self._body(body, placeable=placeable)
        self._scopes = saved

    def _statement(self, stmt: ast.stmt, *, placeable: bool) -> Iterator[Edit]:
        previous = self._stmt
        self._stmt = stmt
        if placeable:
            yield from self._statement_edits(stmt)
            for child in _statement_expressions(stmt):
                yield from self._expr(child)
        for body in _nested_bodies(stmt):
            yield from self._body(body, placeable=placeable)
        if isinstance(stmt, ast.Try | ast.TryStar) and placeable:
            for handler in stmt.handlers:
                yield from self._handler(handler)
        self._stmt = previous

    def _statement_edits(self, stmt: ast.stmt) -> Iterator[Edit]:
        if isinstance(stmt, ast.Return) and stmt.value is not None:
            if not (isinstance(stmt.value, ast.Constant) and stmt.value.value is None):
                yield self._replace(stmt.value, "None", "return_none")
        elif isinstance(stmt, ast.Expr) and _droppable_call(stmt.value):
            yield self._replace(stmt.value, "None", "call_dropped")
        elif isinstance(stmt, ast.Break):
            yield self._replace(stmt, "continue", "loop_control")
        elif isinstance(stmt, ast.Continue):
            yield self._replace(stmt, "break", "loop_control")
        elif isinstance(stmt, ast.AugAssign):
            yield from self._augassign(stmt)
        elif isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
            yield from self._assign(stmt)

    def _assign(self, stmt: ast.Assign | ast.AnnAssign) -> Iterator[Edit]:
        value = stmt.value
        if value is None or self._dunder_assignment(stmt):
            return  # `__all__`, `__version__` …: metadata, not behaviour
        none = isinstance(value, ast.Constant) and value.value is None
        yield self._replace(value, '""' if none else "None", "assign_none")

    def _dunder_assignment(self, stmt: ast.Assign | ast.AnnAssign) -> bool:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return any(isinstance(t, ast.Name) and t.id.startswith("__") for t in targets)

    def _augassign(self, stmt: ast.AugAssign) -> Iterator[Edit]:
        pair = BINOP.get(type(stmt.op))
        if pair is None:
            return
        old, new = pair
        at = self._between(stmt.target, stmt.value, old + "=")
        if at is not None:
            yield self._edit(stmt, at, at + len(old) + 1, new + "=", "augassign")
            yield self._edit(stmt, at, at + len(old) + 1, "=", "augassign_to_assign")

    def _handler(self, handler: ast.ExceptHandler) -> Iterator[Edit]:
        body = handler.body
        if not (len(body) == 1 and isinstance(body[0], ast.Raise) and body[0].exc is None):
            previous = self._stmt
            self._stmt = body[0]
            start = self.text.span(body[0])[0]
            end = self.text.span(body[-1])[1]
            yield self._edit(body[0], start, end, "raise", "except_raise")
            self._stmt = previous

    # -- expressions ------------------------------------------------------------------------

    def _expr(self, node: ast.AST) -> Iterator[Edit]:
        if isinstance(node, ast.JoinedStr):
            return  # positions inside f-strings are unreliable before Python 3.12
        if isinstance(node, ast.Call) and _call_name(node) in OPAQUE_CALLS:
            return
        yield from self._expr_edits(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr | ast.comprehension | ast.keyword | ast.arguments):
                yield from self._expr(child)

    def _expr_edits(self, node: ast.AST) -> Iterator[Edit]:
        if isinstance(node, ast.BinOp):
            yield from self._binop(node)
        elif isinstance(node, ast.UnaryOp):
            yield from self._unary(node)
        elif isinstance(node, ast.Compare):
            yield from self._compare(node)
        elif isinstance(node, ast.BoolOp):
            yield from self._boolop(node)
        elif isinstance(node, ast.Constant):
            yield from self._constant(node)
        elif isinstance(node, ast.Lambda):
            none = isinstance(node.body, ast.Constant) and node.body.value is None
            yield self._replace(node.body, "0" if none else "None", "lambda")
        elif isinstance(node, ast.IfExp):
            test = self.text.text[slice(*self.text.span(node.test))]
            yield self._replace(node.test, f"({test}) and False", "ifexp")
            yield self._replace(node.test, f"({test}) or True", "ifexp")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            new = STR_METHODS.get(node.func.attr)
            if new is not None:
                end = self.text.span(node.func)[1]
                yield self._edit(node, end - len(node.func.attr), end, new, "str_method")

    def _binop(self, node: ast.BinOp) -> Iterator[Edit]:
        pair = BINOP.get(type(node.op))
        if pair is None:
            return
        old, new = pair
        at = self._between(node.left, node.right, old)
        if at is None:
            return
        if isinstance(node.op, ast.Pow):
            # `**` binds tighter than `*`: keep the planted product grouped as the power was.
            start, end = self.text.span(node)
            segment = self.text.text[start:end]
            local = at - start
            mutated = f"({segment[:local]}{new}{segment[local + len(old) :]})"
            yield self._edit(node, start, end, mutated, "arith")
        else:
            yield self._edit(node, at, at + len(old), new, "arith")

    def _unary(self, node: ast.UnaryOp) -> Iterator[Edit]:
        start = self.text.span(node)[0]
        if isinstance(node.op, ast.Not):
            keyword = re.match(r"not\s*", self.text.text[start:])
            yield self._edit(node, start, start + len(keyword.group()) if keyword else 3, "", "not")
        elif isinstance(node.op, ast.Invert):
            yield self._edit(node, start, start + 1, "", "not")
        elif isinstance(node.op, ast.USub | ast.UAdd):
            new = "+" if isinstance(node.op, ast.USub) else "-"
            yield self._edit(node, start, start + 1, new, "arith")

    def _compare(self, node: ast.Compare) -> Iterator[Edit]:
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            old, new = CMPOP[type(op)]
            at = self._between(left, right, old)
            if at is not None:
                length = _token_len(self.text.text, at, old)
                yield self._edit(node, at, at + length, new, "compare")
            left = right

    def _boolop(self, node: ast.BoolOp) -> Iterator[Edit]:
        old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
        for left, right in zip(node.values, node.values[1:], strict=False):
            at = self._between(left, right, old)
            if at is not None:
                yield self._edit(node, at, at + len(old), new, "boolean")

    def _constant(self, node: ast.Constant) -> Iterator[Edit]:
        value = node.value
        if isinstance(value, bool):
            yield self._replace(node, "False" if value else "True", "bool_const")
        elif isinstance(value, int | float | complex):
            mutated = value + (1j if isinstance(value, complex) else 1)
            if repr(mutated) not in ("inf", "-inf", "nan", "infj", "(nan+nanj)"):
                yield self._replace(node, repr(mutated), "number")
        elif isinstance(value, str | bytes):
            replacement = self._string(node, value)
            if replacement is not None:
                yield self._replace(node, replacement, "string")

    def _string(self, node: ast.Constant, value: str | bytes) -> str | None:
        segment = self.text.text[slice(*self.text.span(node))]
        match = re.fullmatch(r"([A-Za-z]*)('|\")(.*)\2", segment, flags=re.DOTALL)
        if segment.startswith(("'''", '"""')) or re.match(r"[A-Za-z]*('''|\"\"\")", segment):
            return None  # triple-quoted text is documentation or templates (mutmut skips it too)
        if match and match.group(2) not in match.group(3).replace("\\" + match.group(2), ""):
            prefix, quote, body = match.groups()
            return f"{prefix}{quote}XX{body}XX{quote}"
        wrapped = b"XX" + value + b"XX" if isinstance(value, bytes) else "XX" + value + "XX"
        return repr(wrapped)  # implicitly concatenated literals: one literal of the same value

    # -- helpers ----------------------------------------------------------------------------

    def _between(self, left: ast.AST, right: ast.AST, token: str) -> int | None:
        start = self.text.span(left)[1]
        end = self.text.span(right)[0]
        at = _find_token(self.text.text[start:end], token)
        return None if at is None else start + at

    def _replace(self, node: ast.AST, replacement: str, operator: str) -> Edit:
        start, end = self.text.span(node)
        return self._edit(node, start, end, replacement, operator)

    def _edit(self, node: ast.AST, start: int, end: int, replacement: str, operator: str) -> Edit:
        assert self._stmt is not None  # noqa: S101 - expressions are always inside a statement
        kind = Kind.FUNCTION if self._in_function else Kind.MODULE
        return Edit(start, end, replacement, operator, node, self._stmt, self._scopes, kind)


def _is_guard(stmt: ast.stmt) -> bool:
    if not isinstance(stmt, ast.If):
        return False
    test = ast.unparse(stmt.test)
    return test in ("TYPE_CHECKING", "typing.TYPE_CHECKING") or test.replace("'", '"') == (
        '__name__ == "__main__"'
    )


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def _droppable_call(value: ast.expr) -> bool:
    call = value.value if isinstance(value, ast.Await) else value
    return isinstance(call, ast.Call) and _call_name(call) not in OUTPUT_CALLS


def _statement_expressions(stmt: ast.stmt) -> list[ast.AST]:
    """The expressions a statement evaluates itself (not those of its nested bodies)."""
    if isinstance(stmt, ast.AnnAssign):
        return [stmt.target, stmt.value] if stmt.value is not None else []
    skipped = ("body", "orelse", "finalbody", "handlers", "cases", "type_comment", "annotation")
    found: list[ast.AST] = []
    for name, value in ast.iter_fields(stmt):
        if name in skipped:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, ast.expr | ast.withitem):
                found.append(item)
    return found


def _nested_bodies(stmt: ast.stmt) -> list[list[ast.stmt]]:
    bodies = [getattr(stmt, name, None) for name in ("body", "orelse", "finalbody")]
    found = [b for b in bodies if isinstance(b, list) and b and isinstance(b[0], ast.stmt)]
    if isinstance(stmt, ast.Try | ast.TryStar):
        found += [h.body for h in stmt.handlers]
    if isinstance(stmt, ast.Match):
        found += [case.body for case in stmt.cases]
    return found
