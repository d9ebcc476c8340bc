"""The terminal summary: probes, headline metrics, signals and the worst findings, via Rich."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

from proofwork.evidence import Evidence, Finding, MetricValue, Report, Severity, Status
from proofwork.reports.signal_view import TOP_LEVEL, SignalView, signal_view

MISSING = "—"
TOP_FINDINGS = 10
MESSAGE_WIDTH = 80
PROBE_METRICS = 3  # metrics shown per probe row; the rest are in the JSON/HTML reports
HELD_BACK_SHOWN = 3  # failures named per unmet threshold; the reports name up to ten

STATUS_STYLE = {
    Status.OK: "green",
    Status.ERROR: "bold red",
    Status.TIMEOUT: "yellow",
    Status.SKIPPED: "dim",
}
SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
LEVEL_STYLE = {0: "red", 1: "red", 2: "yellow", 3: "green", 4: "bold green"}


@dataclass(frozen=True)
class Headline:
    """One headline figure: a label and its formatted value ("—" when not measured)."""

    key: str
    label: str
    value: str


def headline_metrics(report: Report) -> list[Headline]:
    """The few figures a reader looks at first, formatted, shared by terminal and HTML."""
    metrics = report.metrics
    return [
        Headline("tests_passed", "Tests passed", format_metric(metrics.get("tests.passed"))),
        Headline("tests_failed", "Tests failed", format_metric(metrics.get("tests.failed"))),
        Headline("coverage", "Coverage", _percent(metrics.get("tests.coverage_percent"))),
        Headline(
            "branch_coverage",
            "Branch coverage",
            _percent(metrics.get("tests.branch_coverage_percent")),
        ),
        Headline("mutation", "Mutation score", _mutation_score(metrics)),
        Headline(
            "assertion_kills",
            "Caught by assertion",
            _percent(metrics.get("mutation.assertion_kill_percent")),
        ),
        Headline("loc", "Lines of code", format_metric(metrics.get("static.loc"))),
    ]


def severity_counts(findings: list[Finding]) -> dict[Severity, int]:
    """How many findings of each severity, worst first, including zeros."""
    counts = Counter(f.severity for f in findings)
    return {s: counts[s] for s in sorted(Severity, key=lambda s: -s.rank)}


def format_metric(value: MetricValue) -> str:
    """A metric value for people: thousands separators, at most two decimals, "—" if absent."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return value


def _mutation_score(metrics: dict[str, MetricValue]) -> str:
    """The score, with the half-width of its 95% interval when it comes from a sample."""
    score = _percent(metrics.get("mutation.score_percent"))
    low, high = metrics.get("mutation.ci95_low"), metrics.get("mutation.ci95_high")
    sampled = metrics.get("mutation.exact") is False and score != MISSING
    if sampled and isinstance(low, float | int) and isinstance(high, float | int):
        return f"{score} ±{(high - low) / 2:.1f}"
    return score


def _percent(value: MetricValue) -> str:
    text = format_metric(value)
    return text if text == MISSING else f"{text}%"


def format_duration(seconds: float) -> str:
    """A duration for people: "850 ms", "4.2 s", "3 min 07 s"."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def plain(text: str) -> str:
    """One line with control characters blanked, so candidate text cannot drive the terminal."""
    # Escape sequences in a finding could recolour or rewrite a CI log; newlines break tables.
    return "".join(ch if ch.isprintable() else " " for ch in text)


def render_summary(report: Report, console: Console) -> None:
    """Print any tampering first, then the probes table, the headline metrics, the signals
    and the top findings."""
    if report.untrusted:
        console.print(_tampering_banner(report))
    console.print(_probes_table(report.evidence))
    console.print(_headline_line(report))
    if report.history.get("commits"):
        console.print(_history_line(report.history))
    if report.signals:
        views = [signal_view(raw) for raw in report.signals]
        console.print(_signals_table(views))
        for view in views:
            if view.held_back_by and view.next_level_number is not None:
                console.print(_held_back(view))
    console.print(_severity_line(report.findings))
    findings = report.findings
    if findings:
        console.print(_findings_table(findings[:TOP_FINDINGS], total=len(findings)))
    else:
        console.print("No findings.")


def _tampering_banner(report: Report) -> Text:
    figures = " and ".join(report.untrusted)
    title = f" TAMPERING DETECTED: the {figures} figures are untrusted "
    banner = Text(title, style="bold white on red")
    for finding in report.integrity()["evidence"]:
        where = f" ({finding['path']}:{finding['line']})" if finding.get("path") else ""
        banner.append(f"\n  • {plain(finding['message'])}{plain(where)}", style="bold red")
    return banner


def _probes_table(evidence: list[Evidence]) -> Table:
    table = Table(title="Probes", title_justify="left")
    table.add_column("Probe")
    table.add_column("Status")
    table.add_column("Duration", justify="right")
    table.add_column("Findings", justify="right")
    table.add_column("Key metrics / error")
    for item in evidence:
        table.add_row(
            Text(plain(item.probe)),
            _status_text(item),
            format_duration(item.duration_s),
            str(len(item.findings)),
            _probe_detail(item),
        )
    return table


def _status_text(item: Evidence) -> Text:
    label = item.status.value
    if item.stopped:
        label += f" ({', '.join(item.stopped)})"
    return Text(plain(label), style=STATUS_STYLE[item.status])


def _probe_detail(item: Evidence) -> Text:
    if item.error:
        return Text(_truncate(plain(item.error), MESSAGE_WIDTH), style="red")
    shown = list(item.metrics.items())[:PROBE_METRICS]
    parts = [f"{name}={format_metric(value)}" for name, value in shown]
    if len(item.metrics) > PROBE_METRICS:
        parts.append(f"+{len(item.metrics) - PROBE_METRICS} more")
    return Text(plain("  ".join(parts)))


def _headline_line(report: Report) -> Text:
    line = Text()
    for headline in headline_metrics(report):
        line.append(f"{headline.label} ", style="bold")
        line.append(plain(headline.value))
        line.append("   ")
    line.rstrip()
    return line


def _history_line(history: dict[str, object]) -> Text:
    line = Text("History ", style="bold")
    count = history["candidate_commits"]
    line.append(f"{count} commit{'' if count == 1 else 's'} over {history['span_minutes']} min")
    if history.get("time_box_minutes"):
        line.append(f" (time box {history['time_box_minutes']} min)")
    if history.get("squashed"):
        line.append(" · one squashed commit", style="yellow")
    if history.get("beyond_time_box"):
        line.append(" · spans far beyond the time box", style="yellow")
    return line


def _severity_line(findings: list[Finding]) -> Text:
    line = Text("Findings ", style="bold")
    counts = [(s, n) for s, n in severity_counts(findings).items() if n]
    if not counts:
        line.append("0")
    for index, (severity, count) in enumerate(counts):
        line.append(" · " if index else "")
        line.append(f"{count} {severity.value}", style=SEVERITY_STYLE[severity])
    return line


def _signals_table(signals: list[SignalView]) -> Table:
    table = Table(title="Signals", title_justify="left")
    table.add_column("Signal")
    table.add_column("Level", no_wrap=True)
    table.add_column("Label")
    for signal in signals:
        table.add_row(Text(plain(signal.title)), _level_text(signal), _signal_label(signal))
    return table


def _level_text(signal: SignalView) -> Text:
    if not signal.scored or signal.level is None:
        style = "magenta" if signal.awaiting else "dim"
        return Text(plain(signal.status), style=style)
    bar = "█" * signal.level + "░" * (TOP_LEVEL - signal.level)
    return Text(f"{bar} {signal.level}/{TOP_LEVEL}", style=LEVEL_STYLE.get(signal.level, ""))


def _signal_label(signal: SignalView) -> Text:
    if signal.awaiting:
        read = f"read {', '.join(signal.material)}" if signal.material else "no material to read"
        return Text(_truncate(plain(read), MESSAGE_WIDTH), style="dim")
    if not signal.scored:
        why = signal.evidence[0].fact if signal.evidence else ""
        return Text(_truncate(plain(why), MESSAGE_WIDTH), style="dim")
    return Text(_truncate(plain(signal.label), MESSAGE_WIDTH))


def _held_back(signal: SignalView) -> Text:
    """Why a signal is not one level higher: each unmet threshold and the failures behind it."""
    text = Text(f"{plain(signal.title)} stays at {signal.level}: ", style="bold")
    text.append(f"level {signal.next_level_number} needs")
    for item in signal.held_back_by:
        need = f" ({item.requirement.need})" if item.requirement.need else ""
        text.append(f"\n  {plain(item.requirement.fact)}{need}")
        for cause in item.causes[:HELD_BACK_SHOWN]:
            text.append("\n    ")
            text.append(cause.severity, style=SEVERITY_STYLE.get(Severity(cause.severity), ""))
            text.append(f" {_truncate(plain(cause.rule), MESSAGE_WIDTH)}")
        hidden = max(len(item.causes) - HELD_BACK_SHOWN, 0) + item.more
        if hidden > 0:
            text.append(f"\n    and {hidden} more", style="dim")
    return text


def _findings_table(findings: list[Finding], *, total: int) -> Table:
    title = f"Top {len(findings)} of {total} findings" if total > len(findings) else "Findings"
    table = Table(title=title, title_justify="left")
    table.add_column("Severity")
    table.add_column("Rule")
    table.add_column("Where", overflow="fold")
    table.add_column("Message")
    for finding in findings:
        table.add_row(
            Text(finding.severity.value, style=SEVERITY_STYLE[finding.severity]),
            Text(plain(finding.rule)),
            Text(plain(location(finding))),
            Text(_truncate(plain(finding.message), MESSAGE_WIDTH)),
        )
    return table


def location(finding: Finding) -> str:
    """ "path:line[:column]", or the probe name when the finding has no place in the code."""
    if not finding.path:
        return finding.probe or MISSING
    where = finding.path
    if finding.line is not None:
        where += f":{finding.line}"
        if finding.column is not None:
            where += f":{finding.column}"
    return where


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
