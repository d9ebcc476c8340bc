"""Duplicated blocks across source files, by normalised line windows."""

from __future__ import annotations

import time

from proofwork.analysis.duplication import find, normalise
from proofwork.analysis.sources import SourceFile

BLOCK = [f"total = total + price_{i} * quantity" for i in range(8)]


def source(path: str, lines: list[str]) -> SourceFile:
    return SourceFile(path, "\n".join(lines) + "\n", is_test=False)


def unique(prefix: str, count: int) -> list[str]:
    return [f"{prefix}_{i} = compute({i})" for i in range(count)]


def test_it_finds_a_block_copied_between_two_files_with_its_line_ranges() -> None:
    first = source("a.py", [*unique("a", 3), *BLOCK, *unique("b", 3)])
    # The copy has a comment and a blank line inside: they do not break the match.
    copy = [*BLOCK[:4], "    # copied from a.py", "", *BLOCK[4:]]
    second = source("pkg/b.py", [*unique("c", 10), *copy])
    result = find([first, second])
    (block,) = result.blocks
    assert block.describe() == "a.py:4-11 ~ pkg/b.py:11-20"
    assert block.lines == 8
    assert result.duplicated_lines == 16
    assert result.total_lines == 14 + 18
    assert round(result.percent, 1) == 50.0


def test_blocks_shorter_than_the_window_are_not_duplicates() -> None:
    result = find([source("a.py", BLOCK[:5]), source("b.py", BLOCK[:5])])
    assert result.blocks == []
    assert result.percent == 0.0


def test_imports_comments_and_indentation_are_normalised_away() -> None:
    texts, numbers = normalise("import os\nfrom x import y\n\n# note\n    value = 1\n")
    assert texts == ["value = 1"]
    assert numbers == [5]


def test_a_block_copied_three_times_is_reported_for_each_copy() -> None:
    files = [source(f"m{i}.py", [*unique(f"u{i}", 2), *BLOCK]) for i in range(3)]
    result = find(files)
    assert [b.second_path for b in result.blocks] == ["m1.py", "m2.py"]
    assert result.duplicated_lines == 24


def test_a_long_run_of_one_repeated_line_is_one_block() -> None:
    result = find([source("same.py", ["x = 1"] * 5000)])
    assert len(result.blocks) == 1
    assert result.duplicated_lines == 5000


def test_it_takes_well_under_a_second_on_5000_lines() -> None:
    files = [
        source(
            f"m{k}.py", [f"v{k}_{i} = f({(i * 7919 + k * 104729) % 1000003})" for i in range(500)]
        )
        for k in range(10)
    ]
    files.append(source("copy.py", BLOCK * 3))
    started = time.perf_counter()
    find(files)
    assert time.perf_counter() - started < 0.5
