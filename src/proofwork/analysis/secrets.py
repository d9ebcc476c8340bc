"""Committed secrets: credentials written into any text file of the submission.

Two kinds of evidence: tokens whose shape gives them away (AWS key ids, PEM private keys, GitHub,
Slack and Stripe tokens) and string values assigned to a secret-looking name that look random
enough to be real. A finding never carries more of a secret than its first four characters.

Assignments are found from a keyword hit outwards, with bounded look-around, so the scan stays
linear even on a megabyte-long minified line.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from proofwork.analysis.sources import decode, iter_files, read_bytes

MAX_FILE_BYTES = 1024 * 1024  # only the head of a larger file is scanned
MAX_TOTAL_BYTES = 64 * 1024 * 1024  # the scan stops (with a note) after this much text
MAX_HITS = 200
MAX_NAMES_PER_FILE = 5000  # secret-looking names examined per file
SHOWN = 4  # characters of a secret a finding may show

# fmt: off
BINARY_SUFFIXES = frozenset((
    ".png", ".jpg", ".jpeg", ".gif", ".ico", ".webp", ".pdf", ".zip", ".gz", ".tgz", ".bz2", ".xz",
    ".whl", ".pyc", ".so", ".dll", ".exe", ".woff", ".woff2", ".ttf", ".otf", ".mp3", ".mp4",
    ".sqlite", ".db", ".pickle", ".pkl", ".npy", ".parquet",
))
# fmt: on

# Shape-based tokens: a match is evidence on its own.
TOKEN_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----")),
    ("GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b")),
    ("GitHub token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b")),
    ("Slack token", re.compile(r"\bxox[abeoprs]-[A-Za-z0-9-]{10,250}")),
    ("Slack webhook", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,120}")),
    ("Stripe live key", re.compile(r"\b[rs]k_live_[A-Za-z0-9]{16,247}\b")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
)

# Words that make a name secret-looking; matched case-insensitively anywhere in an identifier.
_KEYWORD = re.compile(
    r"pass(?:wd|word)?|pwd|secret|token|api_?key|apikey|key|auth|credential|salt|signature|dsn",
    re.IGNORECASE,
)
_IDENT_CHARS = re.compile(r"[A-Za-z0-9_.-]{0,64}")
# After the name: an optional closing quote (dict keys), an optional type annotation, then
# `=`, `:` or `=>` and a quoted value without whitespace.
_QUOTED_TAIL = re.compile(
    r"""["']?[ \t]{0,8}(?::[ \t]{0,8}[\w.\[\]|, ]{1,40}?[ \t]{0,8})?(?:=>?|:)[ \t]{0,8}"""
    r"""(?P<quote>["'`])(?P<value>[^"'`\s]{8,256})(?P=quote)"""
)
# KEY=value lines of .env, ini and YAML files, where values are not quoted.
_BARE_TAIL = re.compile(r"[ \t]{0,8}[=:][ \t]{0,8}(?P<value>[A-Za-z0-9_+/=.~-]{12,256})[ \t]*$")

_STRONG = frozenset(
    {"password", "passwd", "pwd", "pass", "secret", "token", "apikey", "credential", "credentials"}
)
_STRONG_PAIRS = frozenset({"api key", "access key", "private key", "secret key", "client secret"})
_WEAK = frozenset({"key", "auth", "salt", "signature", "dsn"})
# Names that hold something about a secret (where it lives, what it is called), not the secret.
# fmt: off
_NOT_SECRET_TAILS = frozenset((
    "url", "uri", "path", "file", "dir", "name", "type", "header", "field", "endpoint", "env",
    "var", "prefix", "len", "length", "id", "count", "pattern", "regex", "format", "cls", "class",
    "label", "help", "policy", "timeout", "size",
))
_PLACEHOLDERS = (
    "example", "changeme", "change_me", "your", "xxxx", "placeholder", "dummy", "redacted",
    "sample", "fake", "<", "${", "{{", "%(", "****",
)
# fmt: on


@dataclass(frozen=True)
class SecretHit:
    """One committed secret, already redacted."""

    path: str
    line: int
    kind: str
    redacted: str
    # True for tokens recognised by their shape; False for values judged by name and randomness.
    shaped: bool = True


@dataclass
class SecretScan:
    """Hits, with notes on what was not scanned."""

    hits: list[SecretHit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def redact(value: str) -> str:
    """All but the first SHOWN characters replaced by an ellipsis."""
    return f"{value[:SHOWN]}…"


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    counts = Counter(value)
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in counts.values())


def scan_tree(root: Path, exclude: AbstractSet[str] = frozenset()) -> SecretScan:
    """Scan every text file under `root` (hidden ones like .env included; VCS data and the
    relative paths in `exclude` skipped)."""
    scan = SecretScan()
    budget = MAX_TOTAL_BYTES
    for relative in iter_files(root, include_hidden=True, exclude=exclude):
        if relative.suffix.lower() in BINARY_SUFFIXES:
            continue
        if budget <= 0:
            scan.notes.append(f"stopped after {MAX_TOTAL_BYTES // (1024 * 1024)} MiB of text")
            break
        raw = read_bytes(root / relative, MAX_FILE_BYTES)
        if raw is None or b"\0" in raw[:8192]:
            continue  # not a regular file, or binary
        if len(raw) > MAX_FILE_BYTES:
            scan.notes.append(f"{relative}: only the first {MAX_FILE_BYTES // 1024} KiB scanned")
            raw = raw[:MAX_FILE_BYTES]
        budget -= len(raw)
        scan.hits.extend(scan_text(decode(raw), str(relative)))
        if len(scan.hits) >= MAX_HITS:
            scan.notes.append(f"stopped at {MAX_HITS} secrets")
            del scan.hits[MAX_HITS:]
            break
    return scan


def scan_text(text: str, path: str) -> list[SecretHit]:
    """Secrets in one file's text, at most one per distinct value and line."""
    names = _NameScanner(bare=PurePosixPath(path).suffix != ".py")
    hits: list[SecretHit] = []
    seen: set[tuple[int, str]] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        candidates = [(k, v, True) for k, v in _tokens(line)]
        candidates += [(k, v, False) for k, v in names.assignments(line)]
        for kind, value, shaped in candidates:
            if (number, value) in seen or _is_placeholder(value):
                continue
            seen.add((number, value))
            hits.append(SecretHit(path, number, kind, redact(value), shaped=shaped))
    return hits


def _tokens(line: str) -> list[tuple[str, str]]:
    return [(kind, m.group(0)) for kind, pattern in TOKEN_PATTERNS for m in pattern.finditer(line)]


class _NameScanner:
    """Finds values assigned to secret-looking names, within a per-file budget of names."""

    def __init__(self, *, bare: bool) -> None:
        self.bare = bare  # unquoted values count only outside Python code
        # A file stuffed with `password=` must not cost seconds; real files name far fewer.
        self.budget = MAX_NAMES_PER_FILE

    def assignments(self, line: str) -> list[tuple[str, str]]:
        """(kind, value) for each secret-looking name on the line that is given a secret."""
        found: list[tuple[str, str]] = []
        done_until = -1
        for hit in _KEYWORD.finditer(line):
            if hit.start() < done_until:
                continue  # another keyword inside a name already looked at
            if self.budget <= 0:
                break
            self.budget -= 1
            start = _name_start(line, hit.start())
            end = _IDENT_CHARS.match(line, hit.end())
            done_until = end.end() if end else hit.end()
            value = _value_after(line, done_until, bare=self.bare)
            name = line[start:done_until]
            if value is not None and _looks_secret(name, value):
                found.append(("secret assigned to " + _short(name), value))
        return found


def _name_start(line: str, index: int) -> int:
    start = index
    while (
        start > 0 and index - start < 64 and (line[start - 1].isalnum() or line[start - 1] in "_.-")
    ):
        start -= 1
    return start


def _value_after(line: str, position: int, *, bare: bool) -> str | None:
    quoted = _QUOTED_TAIL.match(line, position)
    if quoted:
        return quoted.group("value")
    plain = _BARE_TAIL.match(line, position) if bare else None
    return plain.group("value") if plain else None


def _words(name: str) -> list[str]:
    """`clientSecret`, `CLIENT_SECRET` and `client-secret` all give ['client', 'secret']."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]


def _looks_secret(name: str, value: str) -> bool:
    """Whether `value`, assigned to `name`, is likely a real credential."""
    words = _words(name)
    if not words or words[-1] in _NOT_SECRET_TAILS or "author" in words:
        return False
    if re.fullmatch(r"[A-Z0-9_]+", value) or "://" in value or value.startswith("/"):
        return False  # an environment variable's name, a URL or a path
    pairs = {f"{a} {b}" for a, b in itertools.pairwise(words)}
    if _STRONG.intersection(words) or _STRONG_PAIRS.intersection(pairs):
        return entropy(value) >= 3.0
    return bool(_WEAK.intersection(words)) and _looks_random(value)


def _looks_random(value: str) -> bool:
    """Hex of 32+ digits, or 20+ characters mixing cases and digits with high entropy.

    A weak name (`key`, `auth`) also labels cache keys and headers, whose values read like words;
    only values no person would type count.
    """
    if re.fullmatch(r"[0-9a-fA-F]{32,}", value):
        return entropy(value) >= 3.0
    mixed = all(re.search(c, value) for c in ("[a-z]", "[A-Z]", "[0-9]"))
    return len(value) >= 20 and mixed and entropy(value) >= 4.0


def _is_placeholder(value: str) -> bool:
    lowered = value.lower()
    return any(marker in lowered for marker in _PLACEHOLDERS)


def _short(name: str) -> str:
    return name.strip("\"'.-")[:40]
