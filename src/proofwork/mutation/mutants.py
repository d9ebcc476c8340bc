"""Mutant generation: parse each source file, plant every operator's edits, drop what would be
equivalent or duplicate, and describe each survivor with its place and a one-line diff.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from proofwork.analysis.sources import SourceFile, UnparsableSource, parse
from proofwork.mutation import extreme
from proofwork.mutation.equivalence import compile_chunk, future_flags, signature
from proofwork.mutation.extreme import EXTREME, describe
from proofwork.mutation.model import Generated, Mutant
from proofwork.mutation.operators import Edit, Planter, Profile, Text, first_line

# Lines coverage.py leaves out of measurement: coverage's default, plus the tests probe's
# `exclude_also` patterns. Mutants there could never be covered, so none are planted.
COVERAGE_EXCLUDED = r"#\s*(pragma|PRAGMA)[:\s]?\s*(no|NO)\s*(cover|COVER)"
NO_MUTATE = re.compile(r"#\s*pragma:\s*no mutate")
DIFF_WIDTH = 200


def excluded_lines(text: str, patterns: Iterable[str]) -> set[int]:
    """1-based lines matching an exclusion pattern (statements starting there are skipped)."""
    regex = re.compile("|".join(f"(?:{p})" for p in [COVERAGE_EXCLUDED, *patterns]))
    return {n for n, line in enumerate(text.splitlines(), 1) if regex.search(line)}


@dataclass
class _FileContext:
    source: SourceFile
    text: Text
    tree: ast.Module
    flags: int
    tops: list[tuple[int, int]]  # (first line, last line) of each top-level statement
    filename: str


Edits = Callable[[Text, ast.Module, set[int]], Iterable[Edit]]


def generate(
    files: Iterable[SourceFile],
    *,
    profile: Profile | None = None,
    exclude: Iterable[str] = (),
    root: str = "/workspace",
) -> Generated:
    """Every mutant of `files` (sources, not tests), equivalent and duplicate ones dropped."""
    chosen = profile or Profile()

    def planted(text: Text, tree: ast.Module, skipped: set[int]) -> Iterable[Edit]:
        found = Planter(text, chosen, skipped).module(tree)
        return (edit for edit in found if edit.operator in chosen.families)

    return _generate(files, planted, tuple(exclude), root, first_id=0)


def generate_extreme(
    files: Iterable[SourceFile],
    *,
    exclude: Iterable[str] = (),
    root: str = "/workspace",
    first_id: int = 0,
) -> Generated:
    """One extreme mutant per function (see `extreme`), numbered from `first_id`."""
    return _generate(files, extreme.edits, tuple(exclude), root, first_id=first_id)


def _generate(
    files: Iterable[SourceFile], edits: Edits, patterns: tuple[str, ...], root: str, first_id: int
) -> Generated:
    out = Generated()
    for source in files:
        try:
            tree = parse(source)
        except UnparsableSource as exc:
            out.unparsable.append((source.path, exc.reason))
            continue
        text = Text(source.text)
        tops = [(first_line(s), s.end_lineno or s.lineno) for s in tree.body]
        ctx = _FileContext(source, text, tree, future_flags(tree), tops, f"{root}/{source.path}")
        _plant_file(ctx, edits, patterns, out, first_id)
    return out


def _plant_file(
    ctx: _FileContext, planter: Edits, patterns: tuple[str, ...], out: Generated, first_id: int
) -> None:
    skipped = excluded_lines(ctx.source.text, patterns)
    no_mutate = {n for n, ln in enumerate(ctx.source.text.splitlines(), 1) if NO_MUTATE.search(ln)}
    seen: dict[tuple[int, str], int] = {}
    originals: dict[int, str] = {}
    try:
        edits = list(planter(ctx.text, ctx.tree, skipped))
    except RecursionError:
        out.unparsable.append((ctx.source.path, "too deeply nested to mutate"))
        return
    for edit in edits:
        line = _line_of(ctx.text, edit.start)
        if line in no_mutate:
            continue
        chunk = ctx.tops[bisect.bisect_right([t[0] for t in ctx.tops], line) - 1]
        verdict = _judge(ctx, edit, chunk, originals)
        if verdict is None:
            out.invalid += 1
            continue
        if verdict == originals[chunk[0]]:
            out.equivalent += 1
            continue
        if (chunk[0], verdict) in seen:
            out.duplicate += 1
            continue
        seen[(chunk[0], verdict)] = len(out.mutants)
        out.mutants.append(_mutant(ctx, edit, chunk, first_id + len(out.mutants), line))


def _judge(
    ctx: _FileContext, edit: Edit, chunk: tuple[int, int], originals: dict[int, str]
) -> str | None:
    """Signature of the mutated top-level statement (and the original's, cached); None if the
    splice does not compile."""
    start, end = ctx.text.starts[chunk[0] - 1], ctx.text.starts[chunk[1]]
    original = ctx.text.text[start:end]
    try:
        if chunk[0] not in originals:
            code = compile_chunk(original, chunk[0], ctx.filename, ctx.flags)
            originals[chunk[0]] = signature(code)
        mutated = original[: edit.start - start] + edit.replacement + original[edit.end - start :]
        return signature(compile_chunk(mutated, chunk[0], ctx.filename, ctx.flags))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _line_of(text: Text, offset: int) -> int:
    return bisect.bisect_right(text.starts, offset)


def _mutant(ctx: _FileContext, edit: Edit, chunk: tuple[int, int], ident: int, line: int) -> Mutant:
    text = ctx.text
    column = edit.start - text.starts[line - 1] + 1
    return Mutant(
        id=ident,
        path=ctx.source.path,
        line=line,
        column=column,
        operator=edit.operator,
        start=edit.start,
        end=edit.end,
        replacement=edit.replacement,
        diff=describe(text, edit) if edit.operator == EXTREME else one_line_diff(text, edit),
        stmt_line=edit.stmt.lineno,
        chunk=chunk,
        scopes=edit.scopes,
        kind=edit.kind,
    )


def one_line_diff(text: Text, edit: Edit) -> str:
    """`- old` / `+ new` for the lines the edit touches, each squeezed onto one line."""
    first = _line_of(text, edit.start)
    last = _line_of(text, max(edit.start, edit.end - 1))
    start, end = text.starts[first - 1], text.starts[last]
    old = text.text[start:end]
    new = old[: edit.start - start] + edit.replacement + old[edit.end - start :]
    return f"- {_squeeze(old)}\n+ {_squeeze(new)}"


def _squeeze(lines: str) -> str:
    joined = " ".join(part.strip() for part in lines.splitlines() if part.strip())
    return joined if len(joined) <= DIFF_WIDTH else joined[: DIFF_WIDTH - 1] + "…"
