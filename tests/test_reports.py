"""The report writers: JSON against its schema, the HTML page, the terminal summary."""

from __future__ import annotations

import copy
import io
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from proofwork.evidence import Evidence, Finding, Report, Severity, Status, SubmissionInfo
from proofwork.reports.html import FINDINGS_LIMIT, render_html, write_html
from proofwork.reports.json_report import ReportSchemaError, load_schema, validate, write_json
from proofwork.reports.terminal import render_summary

SHA = "3f" * 32
HOSTILE_MESSAGE = "<script>alert(1)</script>"
HOSTILE_SNIPPET = "</pre><img src=x onerror=alert(1)>"

ReportFactory = Callable[..., Report]


def _findings(probe: str) -> list[Finding]:
    return [
        Finding(
            "S307",
            Severity.CRITICAL,
            "eval() on request data",
            "app/api.py",
            42,
            9,
            snippet="return eval(body)",
            probe=probe,
        ),
        Finding("B006", Severity.HIGH, "mutable default argument", "app/store.py", 7, probe=probe),
        Finding(
            "C901",
            Severity.MEDIUM,
            "handle() is too complex (14)",
            "app/api.py",
            10,
            diff="--- a/app/api.py\n+++ b/app/api.py\n@@ -1,2 +1,2 @@\n-x = 1\n+x = 2\n y\n",
            probe=probe,
        ),
        Finding("E501", Severity.LOW, "line too long (120 > 100)", "app/util.py", 3, probe=probe),
        Finding("todo", Severity.INFO, "3 TODO comments", probe=probe),
    ]


def _evidence(extra_findings: Sequence[Finding]) -> list[Evidence]:
    """tests (ok), static (ok, one finding per severity), load (error), faults (timeout)."""
    return [
        Evidence(
            "tests",
            metrics={
                "tests.passed": 41,
                "tests.failed": 2,
                "tests.coverage_percent": 87.456,
                "tests.branch_coverage_percent": 71.0,
            },
            duration_s=12.3,
            artifacts={"pytest.log": "collected 43 items\n41 passed"},
        ),
        Evidence(
            "static",
            metrics={"static.loc": 1834, "static.ruff_version": "0.17.5"},
            findings=[*_findings("static"), *extra_findings],
            duration_s=1.25,
        ),
        Evidence(
            "load",
            status=Status.ERROR,
            error="RuntimeError: service never listened",
            duration_s=30.0,
        ),
        Evidence(
            "faults",
            status=Status.TIMEOUT,
            duration_s=120.0,
            stopped=["timeout", "memory"],
            metrics={"faults.recovered": False},
        ),
    ]


@pytest.fixture
def make_report() -> ReportFactory:
    """Build a Report; keyword arguments replace its fields, extra findings join static."""

    def make(*, extra_findings: Sequence[Finding] = (), **overrides: Any) -> Report:
        fields: dict[str, Any] = {
            "submission": SubmissionInfo(SHA, "candidate.zip", "zip", 37, 120_431),
            "evidence": _evidence(extra_findings),
            "challenge": "orders-api",
            "sandbox": {
                "backend": "bwrap",
                "cgroup": "v1",
                "limits": {"memory": True, "pids": False},
            },
            "environment": {"python": "3.11.9", "tools": ["ruff 0.17.5", "coverage 7.17.3"]},
            "signals": [
                {
                    "name": "testing_discipline",
                    "level": 3,
                    "label": "Tests guard behaviour",
                    "description": "Suite covers the contract",
                    "evidence": ["coverage 87%"],
                    "status": "scored",
                },
                {"name": "tradeoff_reasoning", "level": None, "status": "awaiting_review"},
            ],
            "started_at": "2025-05-01T09:30:00+00:00",
            "duration_s": 163.4,
            "version": "0.1.0",
        }
        return Report(**{**fields, **overrides})

    return make


def _hostile(probe: str = "static") -> Finding:
    return Finding(
        "XSS1",
        Severity.CRITICAL,
        HOSTILE_MESSAGE,
        "a<b>.py",
        1,
        snippet=HOSTILE_SNIPPET,
        diff="+<iframe src=//evil>",
        probe=probe,
    )


# JSON and schema


def test_built_reports_validate_against_the_schema(make_report: ReportFactory) -> None:
    for report in (
        make_report(),
        make_report(challenge=None, signals=[], sandbox={}, environment={}, started_at=""),
        make_report(evidence=[]),
        make_report(extra_findings=[_hostile()]),
    ):
        validate(report.to_json())


def test_write_json_writes_utf8_document_atomically(
    make_report: ReportFactory, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "report.json"
    report = make_report(extra_findings=[Finding("U1", Severity.LOW, "naïve → ünïcode")])
    write_json(report, target)
    text = target.read_text("utf-8")
    assert json.loads(text) == report.to_json()
    assert "naïve → ünïcode" in text
    assert text.startswith('{\n  "schema"')
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]  # no temp file left
    assert target.stat().st_mode & 0o777 == 0o644


def test_write_json_survives_undecodable_tool_output(
    make_report: ReportFactory, tmp_path: Path
) -> None:
    raw = b"bad \xff byte".decode("utf-8", "surrogateescape")
    target = tmp_path / "report.json"
    write_json(make_report(extra_findings=[Finding("U2", Severity.LOW, raw)]), target)
    messages = [f["message"] for f in json.loads(target.read_text("utf-8"))["findings"]]
    assert raw in messages


def test_write_json_refuses_nan_and_keeps_the_old_file(
    make_report: ReportFactory, tmp_path: Path
) -> None:
    target = tmp_path / "report.json"
    target.write_text("old", "utf-8")
    report = make_report()
    report.evidence[0].metrics["tests.coverage_percent"] = float("nan")
    with pytest.raises(ValueError, match="JSON"):
        write_json(report, target)
    assert target.read_text("utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_load_schema_is_draft_2020_12_with_the_report_id() -> None:
    schema = load_schema()
    assert schema["$schema"].endswith("/draft/2020-12/schema")
    assert schema["properties"]["schema"] == {"const": "proofwork.report/1"}


def _broken(document: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    broken = copy.deepcopy(document)
    change(broken)
    return broken


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (lambda d: d["findings"][0].update(severity="fatal"), "$.findings[0].severity", "fatal"),
        (lambda d: d["submission"].pop("sha256"), "$.submission", "'sha256' is a required"),
        (lambda d: d["submission"].update(sha256="ABC"), "$.submission.sha256", "does not match"),
        (lambda d: d["metrics"].update(coverage=1), "$.metrics", "'coverage' does not match"),
        (lambda d: d["probes"][1]["metrics"].update(loc=1), "$.probes[1].metrics", "'loc'"),
        (lambda d: d["probes"][2].update(status="crashed"), "$.probes[2].status", "crashed"),
        (lambda d: d.update(extra=1), "$", "'extra' was unexpected"),
        (lambda d: d["findings"][1].update(cwe=1), "$.findings[1]", "'cwe' was unexpected"),
        (lambda d: d["signals"][0].pop("name"), "$.signals[0]", "'name' is a required"),
        (lambda d: d["metrics"].update({"a.b": [1]}), "$.metrics['a.b']", "not of type"),
        (lambda d: d.update(schema="proofwork.report/2"), "$.schema", "proofwork.report/1"),
    ],
)
def test_broken_document_fails_with_its_json_path(
    make_report: ReportFactory,
    change: Callable[[dict[str, Any]], None],
    path: str,
    words: str,
) -> None:
    document = _broken(make_report().to_json(), change)
    with pytest.raises(ReportSchemaError) as raised:
        validate(document)
    assert raised.value.path == path
    assert words in str(raised.value)
    assert str(raised.value).startswith(f"{path}: ")


# HTML


def test_html_escapes_hostile_candidate_text(make_report: ReportFactory) -> None:
    page = render_html(make_report(extra_findings=[_hostile()]))
    assert HOSTILE_MESSAGE not in page
    assert HOSTILE_SNIPPET not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<iframe" not in page
    assert "a&lt;b&gt;.py:1" in page
    assert len(re.findall(r"<script\b", page)) == 1  # only our own print helper


def test_html_escapes_hostile_signals_sandbox_and_artifacts(make_report: ReportFactory) -> None:
    evil = "<b onmouseover=alert(1)>x</b>"
    report = make_report(
        signals=[{"name": evil, "label": evil, "evidence": [evil], "status": evil}],
        sandbox={evil: evil, "nested": {evil: [evil]}},
    )
    report.evidence[0].artifacts[evil] = evil
    report.evidence[2].error = evil
    page = render_html(report)
    assert "<b onmouseover" not in page
    assert page.count("&lt;b onmouseover=alert(1)&gt;") >= 6


def test_html_makes_no_external_references(make_report: ReportFactory) -> None:
    page = render_html(make_report(extra_findings=[_hostile()]))
    # Only real tags: candidate text is escaped, so its "<iframe src=//evil>" has no "<" left.
    tags = re.findall(r"<[a-zA-Z][^>]*>", page)
    attribute = re.compile(r"""\b(?:src|href|action|srcset|poster|data)\s*=\s*["']?([^"'\s>]*)""")
    values = [value for tag in tags for value in attribute.findall(tag)]
    assert not [value for value in values if re.match(r"(?i)(https?:)?//", value)]
    assert not re.search(r"(?i)url\(\s*['\"]?(https?:)?//", page)
    assert not re.search(r"(?i)@import", page)
    assert "default-src 'none'" in page


def test_html_shows_worst_findings_first_grouped_with_counts(make_report: ReportFactory) -> None:
    page = render_html(make_report())
    order = [
        page.index(f'id="severity-{s}"') for s in ("critical", "high", "medium", "low", "info")
    ]
    assert order == sorted(order)
    assert page.index("eval() on request data") < page.index("mutable default argument")
    assert re.search(r'sev-critical">critical</span> <span class="count">1</span>', page)


def test_html_header_summary_probes_and_signals(make_report: ReportFactory) -> None:
    page = render_html(make_report())
    for text in (
        SHA[:12],
        "candidate.zip",
        "orders-api",
        "2025-05-01 09:30:00 UTC",
        "2 min 43 s",
        "bwrap",
        "87.46%",
        "71%",
        "1,834",
        "41",
        "RuntimeError: service never listened",
        "timeout, memory",
        "status-timeout",
        "status-error",
        "Testing discipline",
        "3/4",
        "awaiting review",
        "static.ruff_version",
        "pytest.log",
        "117.6 KiB",
    ):
        assert text in page, text


def test_html_diff_lines_are_marked_added_and_removed(make_report: ReportFactory) -> None:
    page = render_html(make_report())
    assert '<span class="del">-x = 1</span>' in page
    assert '<span class="add">+x = 2</span>' in page
    assert '<span class="meta">+++ b/app/api.py</span>' in page


def test_html_without_optional_parts_degrades_gracefully(make_report: ReportFactory) -> None:
    page = render_html(
        make_report(
            evidence=[], challenge=None, signals=[], sandbox={}, environment={}, started_at=""
        )
    )
    assert "generic" in page
    assert 'id="signals"' not in page
    assert "No findings." in page
    assert page.count('class="tile absent') == 6  # every headline metric shows "—"


def test_html_caps_rendered_findings_and_says_how_many_more(make_report: ReportFactory) -> None:
    many = [
        Finding("W1", Severity.LOW, f"issue {n}", "m.py", n) for n in range(FINDINGS_LIMIT + 20)
    ]
    page = render_html(make_report(extra_findings=many))
    assert page.count('<article class="finding') == FINDINGS_LIMIT
    assert "25 more are in the JSON report" in page  # 520 extra + 5 built-in - 500 shown
    assert "eval() on request data" in page  # the worst are the ones kept


def test_write_html_writes_the_page(make_report: ReportFactory, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    write_html(make_report(), target)
    assert target.read_text("utf-8").startswith("<!DOCTYPE html>")


# Terminal


def _summary(report: Report) -> str:
    out = io.StringIO()
    render_summary(report, Console(file=out, width=120))
    return out.getvalue()


def test_terminal_summary_lists_probes_metrics_and_findings(make_report: ReportFactory) -> None:
    text = _summary(make_report())
    for name in ("tests", "static", "load", "faults"):
        assert name in text
    for fragment in (
        "timeout (timeout, memory)",
        "87.46%",
        "1 critical",
        "S307",
        "app/api.py:42:9",
        "eval() on request data",
        "service never listened",
    ):
        assert fragment in text, fragment
    assert text.index("S307") < text.index("B006") < text.index("E501")


def test_terminal_summary_on_non_tty_has_no_escape_codes(make_report: ReportFactory) -> None:
    hostile = Finding("ANSI", Severity.HIGH, "\x1b[2J\x1b[31mgotcha[/red] [bold]x\nnext", "p.py", 1)
    text = _summary(make_report(extra_findings=[hostile]))
    assert "\x1b" not in text
    assert "gotcha[/red] [bold]x next" in text  # markup shown literally, newline flattened


def test_terminal_summary_shows_top_ten_of_many(make_report: ReportFactory) -> None:
    many = [Finding("W1", Severity.LOW, f"issue {n}", "m.py", n, probe="static") for n in range(30)]
    text = _summary(make_report(extra_findings=many))
    assert "Top 10 of 35 findings" in text
    # critical, high, medium, then lows by path: E501 in app/util.py, then m.py lines 0..5
    assert "issue 5" in text
    assert "issue 6" not in text
    assert "3 TODO comments" not in text  # the info finding is the least of all


def test_terminal_summary_with_nothing_measured(make_report: ReportFactory) -> None:
    text = _summary(make_report(evidence=[]))
    assert "No findings." in text
    assert "Coverage —" in text


def test_html_shows_an_unsafe_sandbox_warning_prominently(make_report: ReportFactory) -> None:
    sandbox = {"backend": "none", "warning": "UNSAFE: ran on the host", "limits_not_enforced": []}
    page = render_html(make_report(sandbox=sandbox))
    assert '<p class="warning">UNSAFE: ran on the host</p>' in page
    assert "<dt>limits_not_enforced</dt><dd>none" in page
