"""The audit's terminal summary, and its progress bar for the history pass."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from proofwork.reports.audit_html import tiles

TOP_RISKS = 8
TOP_HOTSPOTS = 5


def history_progress(console: Console) -> Progress:
    """A bar counting the commits the history pass has read."""
    return Progress(
        TextColumn("history"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("commits"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def render_audit_summary(document: dict[str, Any], console: Console) -> None:
    """Headline figures, what could not be read, where to invest, the top hotspots."""
    repo = document["repository"]
    console.print(
        f"\n[bold]Audit[/] {repo['source']} · {repo['commits']} commits by {repo['authors']} "
        f"people · window {repo['window']['since']} to {repo['window']['until']}",
        highlight=False,
    )
    for problem in document["problems"]:
        console.print(f"[yellow]! {problem}[/]", highlight=False)
    figures = Table(show_header=False, box=None, padding=(0, 2))
    for tile in tiles(document):
        figures.add_row(tile["label"], f"[bold]{tile['value']}[/]")
    console.print(figures)
    _risks(document["invest"], console)
    _hotspots(document["maintainability"]["hotspots"], console)


def _risks(risks: list[dict[str, Any]], console: Console) -> None:
    if not risks:
        console.print("Nothing stands out to invest in first.")
        return
    table = Table(title="Where to invest first", title_justify="left")
    for column in ("#", "risk", "evidence", "hire for"):
        table.add_column(column, overflow="fold")
    for number, risk in enumerate(risks[:TOP_RISKS], 1):
        table.add_row(str(number), risk["title"], risk["evidence"], ", ".join(risk["signals"]))
    console.print(table)


def _hotspots(spots: list[dict[str, Any]], console: Console) -> None:
    if not spots:
        return
    table = Table(title="Top hotspots", title_justify="left")
    for column in ("file", "changes", "complexity", "score"):
        table.add_column(column, justify="left" if column == "file" else "right")
    for spot in spots[:TOP_HOTSPOTS]:
        table.add_row(
            spot["path"], str(spot["changes"]), str(spot["complexity"]), str(spot["score"])
        )
    console.print(table)
