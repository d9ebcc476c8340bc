"""Bytecode signatures: a mutant that compiles to the original's code (or another mutant's) is
equivalent (or a duplicate) and never worth running.

Only the enclosing top-level statement is compiled, not the whole module: line numbers are kept
by padding with newlines, and the module's `from __future__` flags are passed on, so the code
objects are those the import would build. Compiling is parsing, never executing.
"""

from __future__ import annotations
import __future__

import ast
import hashlib
from types import CodeType


def future_flags(tree: ast.Module) -> int:
    """Compiler flags of the module's `from __future__ import ...` statements."""
    flags = 0
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
            for alias in stmt.names:
                feature = getattr(__future__, alias.name, None)
                flags |= getattr(feature, "compiler_flag", 0)
    return flags


def compile_chunk(source: str, first_line: int, filename: str, flags: int) -> CodeType:
    """Compile one top-level statement as the module would (raises SyntaxError/ValueError)."""
    padded = "\n" * (first_line - 1) + source
    code: CodeType = compile(padded, filename, "exec", flags=flags, dont_inherit=True)
    return code


def signature(code: CodeType) -> str:
    """A digest of what a code object does: bytecode, constants, names, nested code objects.

    Line tables and positions are left out, so moving nothing but a line number is no change.
    """
    digest = hashlib.sha256()
    _feed(digest, code)
    return digest.hexdigest()


def _feed(digest: hashlib._Hash, code: CodeType) -> None:
    digest.update(code.co_code)
    digest.update(code.co_exceptiontable)
    for names in (code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars):
        digest.update(repr(names).encode())
    digest.update(f"{code.co_argcount},{code.co_kwonlyargcount},{code.co_flags}".encode())
    for const in code.co_consts:
        if isinstance(const, CodeType):
            digest.update(b"<code>")
            _feed(digest, const)
        else:
            # type and repr: 1, 1.0 and True compare equal but are different programs
            digest.update(f"{type(const).__name__}:{const!r};".encode())
