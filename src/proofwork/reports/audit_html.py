"""The audit's HTML page: self-contained like the grade report, with its own pictures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from proofwork.reports.audit_charts import coupling_chart, hotspot_chart, knowledge_chart
from proofwork.reports.html import _environment, _format_date, _stylesheet
from proofwork.reports.json_report import write_atomic
from proofwork.reports.terminal import MISSING


def render_audit_html(document: dict[str, Any]) -> str:
    """The audit document as one self-contained HTML page."""
    template = _environment().get_template("audit.html.j2")
    return template.render(**_context(document))


def write_audit_html(document: dict[str, Any], path: Path) -> None:
    """Write the audit's HTML page to `path` atomically."""
    write_atomic(path, render_audit_html(document))


def _context(document: dict[str, Any]) -> dict[str, Any]:
    repo = document["repository"]
    maintainability = document["maintainability"]
    knowledge = document["knowledge"]
    return {
        "audit": document,
        "repo": repo,
        "name": Path(repo["source"]).name or repo["source"],
        "started": _format_date(document["started_at"]),
        "tiles": tiles(document),
        "maintainability": maintainability,
        "knowledge": knowledge,
        "hotspot_chart": hotspot_chart(maintainability["files"], maintainability["hotspots"]),
        "coupling_chart": coupling_chart(maintainability["coupling"]),
        "knowledge_chart": knowledge_chart(knowledge["packages"]),
        "testing_facts": testing_facts(document),
        "stylesheet": _stylesheet(),
        "missing": MISSING,
    }


def _percent(value: Any) -> str:
    return f"{value:.0f}%" if isinstance(value, int | float) else MISSING


def tiles(document: dict[str, Any]) -> list[dict[str, str]]:
    """The headline figures, one per failure mode (shared with the terminal summary)."""
    metrics = document["testing"]["metrics"]
    hotspots = document["maintainability"]["hotspots"]
    traffic = sum(document["traffic"].values())
    return [
        {"label": "top hotspot score", "value": str(hotspots[0]["score"]) if hotspots else MISSING},
        {"label": "truck factor", "value": str(document["knowledge"]["truck_factor"]["value"])},
        {"label": "line coverage", "value": _percent(metrics.get("tests.coverage_percent"))},
        {
            "label": "mutation score (hotspots)",
            "value": _percent(_hotspot_score(metrics)),
        },
        {"label": "swallowed errors", "value": str(document["monitoring"]["swallowed_errors"])},
        {"label": "traffic smells", "value": str(traffic)},
    ]


def testing_facts(document: dict[str, Any]) -> list[tuple[str, str]]:
    """What the tests probe, the mutation probe and the code say about testing and monitoring."""
    testing, monitoring = document["testing"], document["monitoring"]
    metrics = testing["metrics"]
    ran = {p["name"]: p for p in testing["probes"]}
    return [
        ("tests", _tests_line(metrics, ran.get("tests"))),
        (
            "mutation",
            _mutation_line(metrics, ran.get("mutation"), testing),
        ),
        (
            "tests without assertions",
            f"{testing['tests_without_assertions']} of {testing['tests']}",
        ),
        ("logging set up", "yes" if monitoring["logging_configured"] else "no"),
        ("log calls", str(monitoring["logging_calls"])),
        ("swallowed errors", str(monitoring["swallowed_errors"])),
        ("print for diagnostics", str(monitoring["print_diagnostics"])),
        ("health endpoints", ", ".join(monitoring["health_endpoints"]) or "none"),
        (
            "metrics, tracing, error tracking",
            ", ".join(f"{lib} ({kind})" for lib, kind in sorted(monitoring["libraries"].items()))
            or "none",
        ),
    ]


def _tests_line(metrics: dict[str, Any], probe: dict[str, Any] | None) -> str:
    if probe is None:
        return "not run"
    if probe["status"] != "ok":
        return f"{probe['status']}: {probe['error'] or 'no detail'}"
    return (
        f"{metrics.get('tests.passed', 0)} passed, {metrics.get('tests.failed', 0)} failed of "
        f"{metrics.get('tests.total', 0)}; line coverage "
        f"{_percent(metrics.get('tests.coverage_percent'))}"
    )


def _mutation_line(
    metrics: dict[str, Any], probe: dict[str, Any] | None, testing: dict[str, Any]
) -> str:
    if probe is None:
        return "not run"
    if probe["status"] not in ("ok", "timeout") or "mutation.score_percent" not in metrics:
        return f"{probe['status']}: {probe['error'] or 'no score'}"
    mutated, unreached = testing.get("mutated_files", []), testing.get("unreached_files", [])
    line = (
        f"{_percent(_hotspot_score(metrics))} of the bugs planted in the top hotspots were "
        f"caught; {_percent(metrics['mutation.score_percent'])} over the {len(mutated)} "
        "file(s) reached, top hotspots first"
    )
    if unreached:
        named = ", ".join(unreached[:5]) + (
            f" and {len(unreached) - 5} more" if unreached[5:] else ""
        )
        line += f"; not reached within the budget: {named}"
    return line


def _hotspot_score(metrics: dict[str, Any]) -> Any:
    return metrics.get("mutation.priority_score_percent", metrics.get("mutation.score_percent"))
