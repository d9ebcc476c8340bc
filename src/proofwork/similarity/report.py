"""The similarity report: JSON (`proofwork.similarity/1`), a self-contained HTML page with the
matched regions side by side, and a terminal table."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from rich.console import Console
from rich.table import Table
from rich.text import Text

from proofwork.reports.json_report import write_atomic
from proofwork.reports.terminal import plain
from proofwork.similarity.compare import Pair, Submission

SCHEMA = "proofwork.similarity/1"


@dataclass
class SimilarityReport:
    submissions: list[Submission]
    sources: dict[str, str]  # name -> where it came from
    pairs: list[Pair]
    threshold: float
    starter: str | None

    @property
    def flagged(self) -> list[Pair]:
        """Pairs at or above the threshold, most similar first."""
        return [p for p in self.pairs if p.flagged]

    def to_json(self) -> dict[str, Any]:
        """The canonical document."""
        return {
            "schema": SCHEMA,
            "threshold": self.threshold,
            "starter": self.starter,
            "submissions": [
                {
                    "name": s.name,
                    "source": self.sources.get(s.name, ""),
                    "files": len(s.documents),
                    "fingerprints": len(s.hashes),
                }
                for s in self.submissions
            ],
            "pairs": [p.to_json() for p in self.pairs],
        }


def write_json(report: SimilarityReport, path: Path) -> None:
    """Write the JSON document atomically."""
    import json

    write_atomic(path, json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")


@cache
def _environment() -> Environment:
    # Autoescape: every region is the candidates' own text.
    return Environment(
        loader=PackageLoader("proofwork.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(report: SimilarityReport) -> str:
    """One self-contained page: every pair's score, flagged pairs' regions side by side."""
    return _environment().get_template("similarity.html.j2").render(report=report)


def write_html(report: SimilarityReport, path: Path) -> None:
    """Write the HTML page atomically."""
    write_atomic(path, render_html(report))


def render_terminal(report: SimilarityReport, console: Console, top: int = 20) -> None:
    """The most similar pairs, flagged ones marked, and each flagged pair's largest region."""
    table = Table(
        title=f"Most similar pairs (threshold {report.threshold:.0%})", title_justify="left"
    )
    for column in ("Pair", "Similarity", "Shared", "Flagged"):
        table.add_column(column, justify="right" if column in ("Similarity", "Shared") else "left")
    for pair in report.pairs[:top]:
        table.add_row(
            Text(plain(f"{pair.a} ↔ {pair.b}")),
            f"{pair.similarity:.0%}",
            str(pair.shared),
            Text("COPIED?", style="bold red") if pair.flagged else Text("no", style="dim"),
        )
    console.print(table)
    flagged = report.flagged
    console.print(f"{len(flagged)} of {len(report.pairs)} pairs at or above the threshold.")
    for pair in flagged[:top]:
        if pair.regions:
            first = pair.regions[0]
            a_where = f"{pair.a}:{first.a_path}:{first.a_lines[0]}-{first.a_lines[1]}"
            b_where = f"{pair.b}:{first.b_path}:{first.b_lines[0]}-{first.b_lines[1]}"
            line = f"  {a_where} ≈ {b_where} ({len(pair.regions)} regions)"
            console.print(Text(plain(line)))
