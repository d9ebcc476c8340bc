"""A CSV of candidates to invite (`name,email` per line): every line checked before any is used.

A file with any bad line is refused whole, each problem named by its line, so a recruiter fixes
the file and uploads it again; nothing is half-created.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from proofwork.web.candidates.schemas import EMAIL_MAX, EMAIL_PATTERN, NAME_MAX

MAX_BYTES = 256 * 1024
MAX_LINES = 1000
EMAIL = re.compile(EMAIL_PATTERN)


@dataclass(frozen=True)
class Entry:
    """One person to invite, and the line of the file they came from."""

    line: int
    name: str
    email: str


class RosterError(Exception):
    """The file cannot be used; `problems` says what is wrong, line by line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def check_person(name: str, email: str) -> list[str]:
    """What is wrong with a name and an e-mail address (nothing when they can be used)."""
    problems = []
    if not name:
        problems.append("the name is empty")
    elif len(name) > NAME_MAX:
        problems.append(f"the name is longer than {NAME_MAX} characters")
    if not EMAIL.match(email) or len(email) > EMAIL_MAX:
        problems.append(f"{email or 'an empty value'} is not an e-mail address")
    return problems


def _is_header(fields: list[str]) -> bool:
    return [f.strip().lower() for f in fields] == ["name", "email"]


def parse_roster(data: bytes) -> list[Entry]:
    """The people in a `name,email` CSV (an optional header line, blank lines skipped)."""
    if len(data) > MAX_BYTES:
        raise RosterError([f"the file is larger than {MAX_BYTES // 1024} KiB: split it"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError(["the file is not UTF-8 text: save it as CSV (UTF-8)"]) from None
    entries: list[Entry] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not any(f.strip() for f in fields) or (number == 1 and _is_header(fields)):
            continue
        if len(fields) != 2:
            problems.append(f"line {number}: expected 2 values (name,email), found {len(fields)}")
            continue
        name, email = (f.strip() for f in fields)
        line_problems = check_person(name, email)
        if email.lower() in seen:
            line_problems.append(f"{email} is already on line {seen[email.lower()]}")
        problems += [f"line {number}: {p}" for p in line_problems]
        seen.setdefault(email.lower(), number)
        entries.append(Entry(number, name, email))
    if len(entries) > MAX_LINES:
        problems.append(f"{len(entries)} people in one file; at most {MAX_LINES}: split it")
    if not entries and not problems:
        problems.append("the file holds nobody: one `name,email` per line")
    if problems:
        raise RosterError(problems)
    return entries
