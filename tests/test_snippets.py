"""Findings get the code around them, read from a workspace that is not trusted."""

from __future__ import annotations

from pathlib import Path

from proofwork.evidence import Evidence, Finding, Severity
from proofwork.snippets import attach_snippets


def finding(path: str, line: int, snippet: str | None = None) -> Finding:
    return Finding("r", Severity.LOW, "m", path=path, line=line, snippet=snippet, probe="p")


def attach(workspace: Path, *findings: Finding) -> list[Finding]:
    evidence = Evidence("p", findings=list(findings))
    attach_snippets([evidence], workspace)
    return evidence.findings


def test_it_shows_the_marked_line_with_two_lines_either_side(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("".join(f"line{n}\n" for n in range(1, 11)))
    [found] = attach(tmp_path, finding("pkg/m.py", 5))
    assert found.snippet == "  3 | line3\n  4 | line4\n> 5 | line5\n  6 | line6\n  7 | line7"


def test_it_keeps_a_snippet_the_probe_already_gave(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("x = 1\n")
    [found] = attach(tmp_path, finding("m.py", 1, snippet="mine"))
    assert found.snippet == "mine"


def test_it_never_reads_through_links_or_out_of_the_workspace(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("SECRET\n")
    workspace = tmp_path / "ws"
    (workspace / "real").mkdir(parents=True)
    (workspace / "link.py").symlink_to(outside)
    (workspace / "dirlink").symlink_to(tmp_path)
    found = attach(
        workspace,
        finding("link.py", 1),
        finding("dirlink/outside.txt", 1),
        finding("../outside.txt", 1),
        finding(str(outside), 1),
        finding("real/missing.py", 1),
    )
    assert [f.snippet for f in found] == [None] * 5


def test_a_line_past_the_end_gets_no_snippet(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("x = 1\n")
    [found] = attach(tmp_path, finding("m.py", 9))
    assert found.snippet is None
