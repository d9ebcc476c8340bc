"""The audit's terminal summary, and its progress bar for the history pass."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from proofwork.engine import Event
from proofwork.progress import LiveProgress
from proofwork.reports.audit_html import tiles

TOP_RISKS = 8
TOP_HOTSPOTS = 5


class AuditProgress:
    """A bar for the history pass, then the probes' live table (rich shows one at a time)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar = Progress(
            TextColumn("history"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("commits"),
            TimeElapsedColumn(),
            console=console,
        )
        self.task = self.bar.add_task("history", total=None)
        self.probes: LiveProgress | None = None

    def __enter__(self) -> AuditProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()
        if self.probes is not None:
            self.probes.__exit__(None, None, None)

    def on_history(self, done: int, total: int) -> None:
        """Move the bar: `done` of `total` commits read."""
        self.bar.update(self.task, completed=done, total=total or None)

    def on_event(self, event: Event) -> None:
        """The engine's events: the first one ends the bar and starts the probes' table."""
        if self.probes is None:
            self.bar.stop()
            self.probes = LiveProgress(self.console).__enter__()
        self.probes.on_event(event)


def plural(count: int, one: str, many: str = "") -> str:
    """`1 commit`, `2 commits`, `3 people`."""
    return f"{count} {one if count == 1 else many or one + 's'}"


def render_audit_summary(document: dict[str, Any], console: Console) -> None:
    """Headline figures, what could not be read, where to invest, the top hotspots."""
    repo = document["repository"]
    console.print(
        f"\n[bold]Audit[/] {repo['source']} · {plural(repo['commits'], 'commit')} by "
        f"{plural(repo['authors'], 'person', 'people')} · window {repo['window']['since']} to "
        f"{repo['window']['until']}",
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
