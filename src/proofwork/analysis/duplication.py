"""Duplicated blocks of code across a submission's source files.

Lines are normalised (stripped; blank, comment-only and import lines dropped, since every module
repeats its imports) and every window of WINDOW consecutive normalised lines is hashed. Each
repeat of a window is paired with its nearest earlier copy that it does not overlap, and pairs
that continue each other are merged into blocks. Pairing with one neighbour (not every earlier
copy) keeps the work linear even when one line repeats thousands of times, and turns a run of
repeated lines into one block rather than thousands.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from proofwork.analysis.sources import SourceFile

WINDOW = 6


@dataclass(frozen=True)
class Block:
    """A stretch of lines that appears twice: `first` is the earlier copy."""

    first_path: str
    first_start: int
    first_end: int
    second_path: str
    second_start: int
    second_end: int
    lines: int  # normalised lines in the block

    def describe(self) -> str:
        """`a.py:3-12 ~ b.py:40-49`."""
        return (
            f"{self.first_path}:{self.first_start}-{self.first_end} ~ "
            f"{self.second_path}:{self.second_start}-{self.second_end}"
        )


@dataclass
class Duplication:
    """Duplicated blocks and how many normalised lines they cover."""

    blocks: list[Block] = field(default_factory=list)
    duplicated_lines: int = 0
    total_lines: int = 0

    @property
    def percent(self) -> float:
        """Share of normalised lines that belong to some duplicated block."""
        return 100.0 * self.duplicated_lines / self.total_lines if self.total_lines else 0.0


@dataclass(frozen=True)
class _File:
    path: str
    texts: list[str]  # normalised lines
    numbers: list[int]  # their 1-based line numbers in the file


Position = tuple[int, int]  # (file index, index of the window's first normalised line)


def normalise(text: str) -> tuple[list[str], list[int]]:
    """Normalised lines of a file and the line number each came from."""
    texts: list[str] = []
    numbers: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or _is_import(stripped):
            continue
        texts.append(stripped)
        numbers.append(number)
    return texts, numbers


def _is_import(line: str) -> bool:
    return line.startswith("import ") or (line.startswith("from ") and " import " in line)


def find(files: Iterable[SourceFile], window: int = WINDOW) -> Duplication:
    """Duplicated blocks of at least `window` normalised lines across (and within) files."""
    parsed = [_File(f.path, *normalise(f.text)) for f in files]
    result = Duplication(total_lines=sum(len(f.texts) for f in parsed))
    occurrences: dict[tuple[str, ...], list[Position]] = defaultdict(list)
    for index, item in enumerate(parsed):
        for start in range(len(item.texts) - window + 1):
            occurrences[tuple(item.texts[start : start + window])].append((index, start))
    runs: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    covered: set[Position] = set()  # (file index, normalised line index)
    for places in occurrences.values():
        for index in range(1, len(places)):
            first = _previous_copy(places, index, window)
            if first is None:
                continue
            other = places[index]
            runs[(first[0], other[0], other[1] - first[1])].append(first[1])
            for file_index, start in (first, other):
                covered.update((file_index, start + k) for k in range(window))
    result.duplicated_lines = len(covered)
    result.blocks = sorted(
        (b for key, starts in runs.items() for b in _merge(parsed, key, starts, window)),
        key=lambda b: (-b.lines, b.first_path, b.first_start),
    )
    return result


def _previous_copy(places: list[Position], index: int, window: int) -> Position | None:
    """The nearest earlier occurrence that does not overlap occurrence `index`."""
    file_index, start = places[index]
    for earlier in range(index - 1, -1, -1):
        # Positions are in file order, so at most `window - 1` earlier ones can overlap.
        if places[earlier][0] != file_index or start - places[earlier][1] >= window:
            return places[earlier]
    return None


def _merge(
    parsed: list[_File], key: tuple[int, int, int], starts: list[int], window: int
) -> list[Block]:
    """Merge window pairs with the same files and offset whose starts follow each other."""
    first_file, second_file, offset = key
    blocks: list[Block] = []
    ordered = sorted(starts)
    begin = previous = ordered[0]
    for start in [*ordered[1:], None]:
        if start is not None and start == previous + 1:
            previous = start
            continue
        blocks.append(
            _block(parsed[first_file], parsed[second_file], begin, previous, offset, window)
        )
        if start is not None:
            begin = previous = start
    return blocks


def _block(first: _File, second: _File, begin: int, last: int, offset: int, window: int) -> Block:
    end = last + window - 1
    return Block(
        first_path=first.path,
        first_start=first.numbers[begin],
        first_end=first.numbers[end],
        second_path=second.path,
        second_start=second.numbers[begin + offset],
        second_end=second.numbers[end + offset],
        lines=end - begin + 1,
    )
