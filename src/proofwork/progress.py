"""Live progress of a run on the terminal: one line a probe, with its status and time."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from proofwork.engine import Event
from proofwork.evidence import Status

STATUS_STYLE = {
    Status.OK: "green",
    Status.ERROR: "red",
    Status.TIMEOUT: "yellow",
    Status.SKIPPED: "dim",
}


class LiveProgress:
    """Listens to engine events and redraws a small table; plain lines when not a TTY."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.phase = "starting"
        self.rows: dict[str, tuple[str, float, str]] = {}  # name -> (state, started/duration, note)
        self._live: Live | None = None

    def __enter__(self) -> LiveProgress:
        if self.console.is_terminal:
            self._live = Live(self._render(), console=self.console, refresh_per_second=8)
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(exc_type, exc, tb)

    def on_event(self, event: Event) -> None:
        """Record an engine event and redraw (or print a line on a non-terminal)."""
        if event.kind == "phase":
            self.phase = event.name
            self._plain(f"… {event.name}")
        elif event.kind == "log":
            self._plain(f"  {event.message}")
            if self._live is not None:
                self._live.console.print(f"  {event.message}", highlight=False)
        elif event.kind == "probe-start":
            self.rows[event.name] = ("running", time.monotonic(), "")
            self._plain(f"… {event.name}")
        elif event.kind == "probe-end" and event.evidence is not None:
            ev = event.evidence
            note = ev.error or ", ".join(ev.stopped)
            self.rows[event.name] = (ev.status.value, ev.duration_s, note)
            self._plain(
                f"{'✓' if ev.status is Status.OK else '✗'} {event.name} "
                f"{ev.status.value} in {ev.duration_s:.1f}s {note}".rstrip()
            )
        if self._live is not None:
            self._live.update(self._render())

    def _plain(self, line: str) -> None:
        if self._live is None:
            self.console.print(line, highlight=False, soft_wrap=True)

    def _render(self) -> Group:
        table = Table.grid(padding=(0, 2))
        for name, (state, value, note) in self.rows.items():
            if state == "running":
                elapsed = time.monotonic() - value
                table.add_row(Spinner("dots"), name, f"{elapsed:5.1f}s", "running")
            else:
                style = STATUS_STYLE.get(Status(state), "")
                table.add_row(
                    Text("●", style=style), name, f"{value:5.1f}s", Text(note or state, style=style)
                )
        return Group(Text(f"phase: {self.phase}", style="dim"), table)
