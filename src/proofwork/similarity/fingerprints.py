"""Fingerprints of Python code that survive disguise: winnowing over normalised tokens.

Each file is tokenised; identifiers become `V`, strings `S`, numbers `N`, comments and layout
vanish (indentation stays as block markers, so structure still counts). Every run of K tokens
is hashed and, in every window of W consecutive hashes, the smallest is kept (winnowing, as
MOSS and Dolos do): any shared run of at least W + K - 1 tokens is guaranteed to share a
fingerprint. Renamed variables, moved functions, new comments and reformatting leave the
fingerprints of the code itself in place.
"""

from __future__ import annotations

import hashlib
import io
import keyword
import tokenize
from dataclasses import dataclass, field

K = 12  # tokens per hashed run (short enough for a statement or two)
W = 8  # window: shared runs of K + W - 1 = 19 tokens are always caught

SKIP = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.ENCODING,
    tokenize.ENDMARKER,
    tokenize.TYPE_COMMENT if hasattr(tokenize, "TYPE_COMMENT") else -1,
}


@dataclass(frozen=True)
class Token:
    text: str  # the normalised form
    line: int


@dataclass(frozen=True)
class Fingerprint:
    hash: int
    path: str
    first_line: int
    last_line: int


@dataclass
class Document:
    """One file's fingerprints (hash -> where it occurs)."""

    path: str
    lines: list[str]
    prints: dict[int, list[Fingerprint]] = field(default_factory=dict)


def tokens(text: str) -> list[Token]:
    """Normalised tokens; a file that does not tokenise keeps what came before the error."""
    found: list[Token] = []
    reader = io.StringIO(text).readline
    try:
        for tok in tokenize.generate_tokens(reader):
            normal = _normalise(tok)
            if normal is not None:
                found.append(Token(normal, tok.start[0]))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return _drop_docstrings(found)


def _normalise(tok: tokenize.TokenInfo) -> str | None:
    kind = tok.type
    if kind in SKIP:
        return None
    if kind == tokenize.NAME:
        return tok.string if keyword.iskeyword(tok.string) else "V"
    if kind == tokenize.STRING or kind == getattr(tokenize, "FSTRING_START", -2):
        return "S"
    if kind in (getattr(tokenize, "FSTRING_MIDDLE", -3), getattr(tokenize, "FSTRING_END", -4)):
        return None
    if kind == tokenize.NUMBER:
        return "N"
    if kind == tokenize.INDENT:
        return "{"
    if kind == tokenize.DEDENT:
        return "}"
    if kind == tokenize.NEWLINE:
        return ";"
    return tok.string


def _drop_docstrings(found: list[Token]) -> list[Token]:
    """A string standing alone as a statement is a docstring or a comment in disguise."""
    kept: list[Token] = []
    for index, token in enumerate(found):
        before = found[index - 1].text if index else ";"
        after = found[index + 1].text if index + 1 < len(found) else ";"
        if token.text == "S" and before in (";", "{", "}") and after == ";":
            continue
        if token.text == ";" and kept and kept[-1].text in (";", "{", "}"):
            continue
        kept.append(token)
    return kept


def _hash(run: list[Token]) -> int:
    joined = "\x00".join(t.text for t in run).encode()
    return int.from_bytes(hashlib.blake2b(joined, digest_size=8).digest(), "big")


def fingerprint(path: str, text: str) -> Document:
    """The winnowed fingerprints of one file."""
    document = Document(path, text.splitlines())
    found = tokens(text)
    grams = [
        (_hash(found[i : i + K]), found[i].line, found[i + K - 1].line)
        for i in range(len(found) - K + 1)
    ]
    chosen: set[int] = set()
    for start in range(max(1, len(grams) - W + 1)):
        window = grams[start : start + W]
        if not window:
            break
        low = min(range(len(window)), key=lambda i: (window[i][0], -i))
        chosen.add(start + low)
    for index in sorted(chosen):
        value, first, last = grams[index]
        document.prints.setdefault(value, []).append(Fingerprint(value, path, first, last))
    return document
