"""The HTML report: one self-contained page (inline CSS, no network), rendered with Jinja2."""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from proofwork.evidence import Finding, Report, Severity, Status
from proofwork.reports.charts import load_chart
from proofwork.reports.history_view import history_view
from proofwork.reports.json_report import write_atomic
from proofwork.reports.mutation_view import is_listed_survivor, mutation_view
from proofwork.reports.signal_view import review_anchors, signal_view
from proofwork.reports.terminal import (
    MISSING,
    format_duration,
    format_metric,
    headline_metrics,
    location,
    severity_counts,
)

# Which probe's run each headline figure comes from (a tampered run's figures are struck out).
TILE_PROBES = {
    "tests_passed": "tests",
    "tests_failed": "tests",
    "coverage": "tests",
    "branch_coverage": "tests",
    "mutation": "mutation",
}
FINDINGS_LIMIT = 500  # past this a page gets slow to open; the JSON report has every finding
SHORT_SHA = 12
CODE_HIT = re.compile(r"> +\d+ \| ")  # how snippets.attach_snippets marks the finding's line

# Closed <details> would print empty; open the ones marked for print. A link to a file in a
# closed <details> (a signal's review material) opens it. The CSP allows this one script by its
# hash, so nothing injected into the page could ever run.
PAGE_SCRIPT = (
    "function openAt(id){var n=document.getElementById(id);"
    "while(n){if(n.tagName==='DETAILS'){n.open=true;}n=n.parentElement;}}"
    "window.addEventListener('beforeprint',function(){"
    "document.querySelectorAll('details.print-open').forEach(function(d){d.open=true;});});"
    "document.addEventListener('click',function(e){"
    "var a=e.target.closest&&e.target.closest('a[href^=\"#\"]');"
    "if(a){openAt(a.getAttribute('href').slice(1));}});"
    "if(location.hash){openAt(location.hash.slice(1));}"
)


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page."""
    template = _environment().get_template("report.html.j2")
    return template.render(**_context(report))


def write_html(report: Report, path: Path) -> None:
    """Write the HTML report to `path` atomically."""
    write_atomic(path, render_html(report))


@cache
def _environment() -> Environment:
    # Autoescape everywhere: messages, snippets, paths and diffs are written by the candidate.
    env = Environment(
        loader=PackageLoader("proofwork.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["metric"] = format_metric
    env.filters["duration"] = format_duration
    env.filters["location"] = location
    return env


@cache
def _stylesheet() -> Markup:
    # Read as a file, not included as a template: CSS text like "{#" would confuse Jinja.
    css = resources.files("proofwork.reports").joinpath("templates/report.css")
    return Markup(css.read_text("utf-8"))  # noqa: S704 - our own packaged file, not input


def _script_hash() -> str:
    digest = hashlib.sha256(PAGE_SCRIPT.encode()).digest()
    return "sha256-" + base64.b64encode(digest).decode()


def _context(report: Report) -> dict[str, Any]:
    mutation = mutation_view(report)
    # Surviving mutants are listed under their function in the test-strength section.
    findings = [f for f in report.findings if not (mutation and is_listed_survivor(f))]
    return {
        "report": report,
        "integrity": report.integrity(),
        "untrusted_tiles": {key for key, probe in TILE_PROBES.items() if probe in report.untrusted},
        "history": history_view(report, diff_lines),
        "short_sha": report.submission.sha256[:SHORT_SHA],
        "challenge": report.challenge or "generic",
        "started": _format_date(report.started_at),
        "size": _format_bytes(report.submission.bytes),
        "probe_summary": _probe_summary(report),
        "headlines": headline_metrics(report),
        "severity_counts": {s.value: n for s, n in severity_counts(findings).items()},
        "groups": _group_by_severity(findings[:FINDINGS_LIMIT]),
        "total_findings": len(findings),
        "hidden_findings": max(0, len(findings) - FINDINGS_LIMIT),
        "metrics": sorted(report.metrics.items()),
        "signals": [signal_view(raw) for raw in report.signals],
        "review": report.review,
        "review_anchors": review_anchors(list(report.review)),
        "load_chart": load_chart(report),
        "mutation": mutation,
        "mutation_groups": [
            (group, [_finding(f) for f in group.survivors]) for group in mutation.groups
        ]
        if mutation
        else [],
        "stylesheet": _stylesheet(),
        "script": Markup(PAGE_SCRIPT),  # noqa: S704 - a constant of this module
        "script_hash": _script_hash(),
        "missing": MISSING,
    }


def _probe_summary(report: Report) -> str:
    """ "4 probes · 1 error · 1 timeout": how much of the run really measured something."""
    statuses = Counter(item.status for item in report.evidence)
    parts = [f"{len(report.evidence)} probes"]
    parts += [f"{statuses[s]} {s.value}" for s in Status if s is not Status.OK and statuses[s]]
    return " · ".join(parts)


def _group_by_severity(findings: list[Finding]) -> list[tuple[Severity, list[dict[str, Any]]]]:
    groups: dict[Severity, list[dict[str, Any]]] = {}
    for finding in findings:  # already worst first, so groups come out worst first too
        groups.setdefault(finding.severity, []).append(_finding(finding))
    return list(groups.items())


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "item": finding,
        "where": location(finding) if finding.path else None,
        "snippet_lines": _snippet_lines(finding.snippet) if finding.snippet else [],
        "diff_lines": diff_lines(finding.diff) if finding.diff else [],
    }


def _snippet_lines(snippet: str) -> list[tuple[str, str]]:
    """Snippet lines, marking the finding's line in code, or an exchange's request and status."""
    lines = snippet.splitlines()
    response = next((i for i, line in enumerate(lines) if line.startswith("→ ")), None)
    if response is None:
        return [("hit" if CODE_HIT.match(line) else "", line) for line in lines]
    kinds = {0: "request", response: "response"}
    return [(kinds.get(index, ""), line) for index, line in enumerate(lines)]


def diff_lines(diff: str) -> list[tuple[str, str]]:
    """Each line of a unified diff with a CSS class saying what kind of line it is."""
    return [(_diff_class(line), line) for line in diff.splitlines()]


def _diff_class(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "meta"
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    return "ctx"


def _format_date(started_at: str) -> str:
    try:
        moment = datetime.fromisoformat(started_at)
    except ValueError:
        return started_at or MISSING
    zone = moment.strftime(" %Z") if moment.tzinfo else ""
    return moment.strftime("%Y-%m-%d %H:%M:%S") + zone


def _format_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
