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
from proofwork.mutation.model import Caught, Kind, Mutant, Outcome, Result, Scope
from proofwork.probes.mutation import (
    Judged,
    function_table,
    pseudo_tested_findings,
    pseudo_tested_metrics,
)
from proofwork.probes.mutation import findings as mutation_findings
from proofwork.reports.html import FINDINGS_LIMIT, render_html, write_html
from proofwork.reports.json_report import ReportSchemaError, load_schema, validate, write_json
from proofwork.reports.terminal import headline_metrics, render_summary
from proofwork.signals import Signal

SHA = "3f" * 32
HOSTILE_MESSAGE = "<script>alert(1)</script>"
HOSTILE_SNIPPET = "</pre><img src=x onerror=alert(1)>"
DECISIONS = (
    "# Decisions\n\nI kept SQLite: one writer is enough for the pilot.\n"
    "<script>alert('decisions')</script>\n"
)
EXCHANGE = (
    'POST /orders\n{"items": [{"sku": "A1", "quantity": 2}]}\n→ 500\n'
    '{"detail": "' + "Internal Server Error " * 12 + '"}'
)

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


def _rubric() -> list[dict[str, Any]]:
    labels = ["Silent", "Lists", "Explains", "Weighs", "Anticipates"]
    return [
        {"level": n, "label": label, "description": f"Rubric anchor {n}: {label.lower()}."}
        for n, label in enumerate(labels)
    ]


def _signals() -> list[dict[str, Any]]:
    """A scored, a not-measured and an awaiting-review signal, as signals.Signal writes them."""
    return [
        Signal(
            "testing_discipline",
            "Testing discipline",
            "scored",
            level=3,
            label="Tests that pin behaviour",
            description="Covers error paths and branches with a suite of real size.",
            evidence=[
                "tests.passed = 41 (needs >= 1)",
                "tests.coverage_percent = 87.46 (needs >= 80)",
            ],
            next_level=[
                "tests.coverage_percent = 87.46 (needs >= 90)",
                "tests.total = 43 (needs >= 50)",
            ],
        ).to_json(),
        Signal(
            "operability",
            "Operability",
            "not measured",
            evidence=["none of its metrics was measured"],
        ).to_json(),
        Signal(
            "tradeoff_reasoning",
            "Trade-off reasoning",
            "awaiting review",
            description="Does the candidate explain what they changed and why?",
            levels=_rubric(),
            material=["DECISIONS.md"],
        ).to_json(),
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
            "signals": _signals(),
            "review": {"DECISIONS.md": DECISIONS, "README.md": "Run with `make serve`.\n"},
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
        make_report(
            challenge=None, signals=[], review={}, sandbox={}, environment={}, started_at=""
        ),
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
        (lambda d: d["signals"][0].pop("status"), "$.signals[0]", "'status' is a required"),
        (lambda d: d["signals"][0].update(status="done"), "$.signals[0].status", "'done'"),
        (lambda d: d["signals"][0].update(level=5), "$.signals[0].level", "maximum of 4"),
        (lambda d: d["signals"][0].update(score=3), "$.signals[0]", "'score' was unexpected"),
        (
            lambda d: d["signals"][0].update(next_level=[1]),
            "$.signals[0].next_level[0]",
            "not of type 'string'",
        ),
        (
            lambda d: d["signals"][2]["levels"][1].pop("label"),
            "$.signals[2].levels[1]",
            "'label' is a required",
        ),
        (lambda d: d["signals"][2].update(material="x"), "$.signals[2].material", "not of type"),
        (lambda d: d["review"].update({"README.md": None}), "$.review['README.md']", "not of type"),
        (lambda d: d.pop("review"), "$", "'review' is a required"),
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
        'aria-label="level 3 of 4"',
        "awaiting review",
        "static.ruff_version",
        "pytest.log",
        "117.6 KiB",
    ):
        assert text in page, text


def _card(page: str, anchor: str) -> str:
    """The HTML of one signal card."""
    start = page.index(f'id="{anchor}"')
    return page[start : page.index("</article>", start)]


def test_html_signals_come_right_after_the_summary(make_report: ReportFactory) -> None:
    page = render_html(make_report())
    assert page.index('class="summary"') < page.index('id="signals"') < page.index('id="probes"')


def test_html_scored_signal_shows_level_evidence_and_next_level(
    make_report: ReportFactory,
) -> None:
    card = _card(render_html(make_report()), "signal-testing-discipline")
    assert "<h3>Testing discipline</h3>" in card
    assert 'aria-label="level 3 of 4"' in card
    assert card.count('class="step on"') == 3
    assert card.count('class="step"') == 1
    assert "Tests that pin behaviour" in card
    assert "Covers error paths and branches" in card
    assert card.index("Why this level") < card.index("To reach level 4")
    assert '<span class="fact">tests.coverage_percent = 87.46</span>' in card
    assert '<span class="need">needs ≥ 80</span>' in card
    assert '<span class="fact">tests.total = 43</span> <span class="need">needs ≥ 50</span>' in card


@pytest.mark.parametrize(
    ("level", "unmet"),
    [(4, []), (2, [])],
    ids=["at-the-top", "nothing-unmet"],
)
def test_html_hides_the_next_level_when_there_is_none(
    make_report: ReportFactory, level: int, unmet: list[str]
) -> None:
    signal = Signal(
        "maintainability", "Maintainability", "scored", level=level, label="L", next_level=unmet
    )
    page = render_html(make_report(signals=[signal.to_json()]))
    assert f'aria-label="level {level} of 4"' in page
    assert "To reach level" not in page


def test_html_shows_each_measured_fact_once_with_its_strictest_threshold(
    make_report: ReportFactory,
) -> None:
    evidence = ["t.c = 87 (needs >= 60)", "t.p = 41 (needs >= 1)", "t.c = 87 (needs >= 80)"]
    signal = Signal("t", "T", "scored", level=3, evidence=evidence)
    page = render_html(make_report(signals=[signal.to_json()]))
    assert "needs ≥ 60" not in page
    assert page.index('"fact">t.c = 87</span> <span class="need">needs ≥ 80') < page.index("t.p")


def test_html_top_level_hides_leftover_thresholds(make_report: ReportFactory) -> None:
    signal = Signal("m", "M", "scored", level=4, next_level=["x.y = 1 (needs >= 2)"])
    assert "To reach level" not in render_html(make_report(signals=[signal.to_json()]))


def test_html_not_measured_signal_says_so_without_a_level(make_report: ReportFactory) -> None:
    card = _card(render_html(make_report()), "signal-operability")
    assert '<span class="badge">not measured</span>' in card
    assert "none of its metrics was measured" in card
    assert "aria-label" not in card
    assert "Why this level" not in card


def test_html_awaiting_signal_shows_question_rubric_and_material(
    make_report: ReportFactory,
) -> None:
    page = render_html(make_report())
    card = _card(page, "signal-tradeoff-reasoning")
    assert '<span class="badge awaiting">awaiting review</span>' in card
    assert "Does the candidate explain what they changed and why?" in card
    rows = re.findall(r"<tr><td class=\"level-col\">.*?</tr>", card)
    assert len(rows) == 5
    assert '>0</span></td><td class="rubric-label">Silent</td>' in rows[0]
    assert "Rubric anchor 4: anticipates." in rows[4]
    assert '<a href="#review-decisions-md"><code>DECISIONS.md</code></a>' in card
    assert 'id="review-decisions-md"' in page  # the link lands on the file below


def test_html_awaiting_signal_names_material_the_report_lacks(make_report: ReportFactory) -> None:
    signal = Signal(
        "business_understanding",
        "Business understanding",
        "awaiting review",
        material=["NOTES.md"],
        evidence=["material missing: BRIEF-ANSWERS.md"],
    )
    card = _card(
        render_html(make_report(signals=[signal.to_json()])), "signal-business-understanding"
    )
    assert '<code>NOTES.md</code> <span class="hint">(not in the report)</span>' in card
    assert 'href="#' not in card
    assert "material missing: BRIEF-ANSWERS.md" in card


def test_html_review_material_is_collapsible_escaped_text(make_report: ReportFactory) -> None:
    page = render_html(make_report())
    section = page[page.index('id="review"') : page.index('id="probes"')]
    assert section.count('<details class="review-file print-open"') == 2
    assert "<summary><code>DECISIONS.md</code>" in section
    assert "&lt;script&gt;alert(&#39;decisions&#39;)&lt;/script&gt;" in section
    assert "I kept SQLite: one writer is enough for the pilot." in section
    assert "Run with `make serve`." in section
    assert len(re.findall(r"<script\b", page)) == 1  # the candidate's never becomes a tag


def test_html_without_review_material_has_no_reviewer_section(make_report: ReportFactory) -> None:
    assert 'id="review"' not in render_html(make_report(review={}))


def test_html_review_anchors_stay_unique_and_safe(make_report: ReportFactory) -> None:
    review = {"README.md": "a", "readme.md": "b", '"><x>.md': "c"}
    page = render_html(make_report(review=review))
    ids = re.findall(r'<details class="review-file print-open" id="([^"]*)"', page)
    assert ids == ["review-readme-md", "review-readme-md-1", "review-x-md"]


def test_html_exchange_snippet_marks_request_and_status_and_wraps(
    make_report: ReportFactory,
) -> None:
    check = Finding("acceptance.r2", Severity.HIGH, "R2 money is exact", snippet=EXCHANGE)
    page = render_html(make_report(extra_findings=[check]))
    assert (
        '<pre class="snippet"><span class="request">POST /orders</span>\n{&#34;items&#34;' in page
    )
    assert '<span class="response">→ 500</span>\n{&#34;detail&#34;' in page
    assert re.search(r"\.snippet \{[^}]*white-space: pre-wrap", page)


def test_html_code_snippet_marks_the_finding_line(make_report: ReportFactory) -> None:
    code = "  41 | def f(body):\n> 42 |     return eval(body)\n  43 | "
    finding = Finding("S307", Severity.HIGH, "eval", "app/x.py", 42, snippet=code)
    page = render_html(make_report(extra_findings=[finding]))
    assert '<span class="hit">&gt; 42 |     return eval(body)</span>' in page


def test_html_diff_lines_are_marked_added_and_removed(make_report: ReportFactory) -> None:
    page = render_html(make_report())
    assert '<span class="del">-x = 1</span>' in page
    assert '<span class="add">+x = 2</span>' in page
    assert '<span class="meta">+++ b/app/api.py</span>' in page


def test_html_without_optional_parts_degrades_gracefully(make_report: ReportFactory) -> None:
    page = render_html(
        make_report(
            evidence=[],
            challenge=None,
            signals=[],
            review={},
            sandbox={},
            environment={},
            started_at="",
        )
    )
    assert "generic" in page
    assert 'id="signals"' not in page
    assert 'id="review"' not in page
    assert "No findings." in page
    assert page.count('class="tile absent') == 7  # every headline metric shows "—"


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


def test_terminal_summary_shows_signals_before_findings(make_report: ReportFactory) -> None:
    text = _summary(make_report())
    assert text.index("Probes") < text.index("Signals") < text.index("Findings 1 critical")
    for fragment in (
        "Testing discipline",
        "███░ 3/4",
        "Tests that pin behaviour",
        "Operability",
        "not measured",
        "none of its metrics was measured",
        "Trade-off reasoning",
        "awaiting review",
        "read DECISIONS.md",
    ):
        assert fragment in text, fragment


def test_terminal_summary_without_signals_has_no_signals_table(make_report: ReportFactory) -> None:
    assert "Signals" not in _summary(make_report(signals=[]))


def test_terminal_signals_cannot_drive_the_terminal(make_report: ReportFactory) -> None:
    signal = {"name": "x", "title": "\x1b[2Jtitle", "status": "scored", "level": 1, "label": "a\nb"}
    text = _summary(make_report(signals=[signal]))
    assert "\x1b" not in text
    assert " [2Jtitle" in text  # the escape character blanked, the rest shown as text
    assert "a b" in text


def test_terminal_summary_with_nothing_measured(make_report: ReportFactory) -> None:
    text = _summary(make_report(evidence=[]))
    assert "No findings." in text
    assert "Coverage —" in text


def test_html_shows_an_unsafe_sandbox_warning_prominently(make_report: ReportFactory) -> None:
    sandbox = {"backend": "none", "warning": "UNSAFE: ran on the host", "limits_not_enforced": []}
    page = render_html(make_report(sandbox=sandbox))
    assert '<p class="warning">UNSAFE: ran on the host</p>' in page
    assert "<dt>limits_not_enforced</dt><dd>none" in page


def _mutation_evidence() -> Evidence:
    """What the mutation probe reports for two functions: `total` (3 of 4 planted bugs survive,
    and it is pseudo-tested) and `clamp` (1 of 4: two caught by assertion, one by exception),
    through the probe's own `findings`, `pseudo_tested_findings` and `function_table`."""

    def mutant(n: int, function: str, line: int, operator: str = "number") -> Mutant:
        scope = (Scope("def", function, line - 1),)
        diff = f"- x = {n}\n+ x = {n + 1}"
        return Mutant(n, "shop/orders.py", line, 5, operator, 0, 1, "2", diff, line, (1, 9),
                      scope, Kind.FUNCTION)  # fmt: skip

    outcomes = {"clamp": [Outcome.SURVIVED, *[Outcome.KILLED] * 3],
                "total": [*[Outcome.SURVIVED] * 3, Outcome.KILLED]}  # fmt: skip
    caught = iter([Caught.ASSERTION, Caught.ASSERTION, Caught.EXCEPTION, Caught.EXCEPTION])
    results = [
        Result(
            mutant(10 * start + n, function, 10 * start + n + 2),
            outcome,
            caught=next(caught) if outcome is Outcome.KILLED else None,
        )
        for start, (function, kinds) in enumerate(outcomes.items())
        for n, outcome in enumerate(kinds)
    ]
    extreme = [
        Result(mutant(90, "clamp", 2, "extreme"), Outcome.KILLED, caught=Caught.ASSERTION),
        Result(mutant(91, "total", 12, "extreme"), Outcome.SURVIVED),
    ]
    judged = Judged(results=results, sampled=8, extreme=extreme)
    evidence = Evidence(
        "mutation",
        metrics={"mutation.score_percent": 50.0, "mutation.ci95_low": 28.0,
                 "mutation.ci95_high": 72.0, "mutation.exact": True, "mutation.total": 8,
                 "mutation.sampled": 8, "mutation.killed": 4, "mutation.survived": 4,
                 "mutation.timeout": 0, "mutation.not_covered": 0, "mutation.errors": 0,
                 "mutation.assertion_kill_percent": 50.0, **pseudo_tested_metrics(extreme)},
        findings=[*mutation_findings(results), *pseudo_tested_findings(extreme)],
    )  # fmt: skip
    evidence.add_artifact("mutation.functions.json", function_table(judged))
    return evidence


def test_html_shows_the_share_caught_by_assertion_the_pseudo_tested_and_a_function_table(
    make_report: ReportFactory,
) -> None:
    base = make_report()
    page = render_html(make_report(evidence=[*base.evidence, _mutation_evidence()]))
    section = page[page.index('<section id="mutation">') : page.index('<section id="probes">')]
    assert "50%</strong> of the caught bugs were caught by an assertion" in section
    pseudo = section[section.index("Pseudo-tested functions") : section.index("Per function")]
    assert "orders.total is pseudo-tested" in pseudo and "orders.clamp" not in pseudo
    table = section[section.index('<table class="functions">') : section.index("</table>")]
    rows = table.split("<tr>")[2:]
    assert [r[r.index("<code>") + 6 : r.index("</code>")] for r in rows] == [
        "orders.total",
        "orders.clamp",
    ]
    assert '<td class="num">0%</td><td>yes</td>' in rows[0]  # its one kill: an exception
    assert '<td class="num">66.67%</td><td>no</td>' in rows[1]


def test_html_lists_surviving_mutants_by_function_worst_tested_first(
    make_report: ReportFactory,
) -> None:
    base = make_report()
    report = make_report(evidence=[*base.evidence, _mutation_evidence()])
    page = render_html(report)
    section = page[page.index('<section id="mutation">') : page.index('<section id="probes">')]
    assert "50%</strong> of planted bugs caught" in section
    assert "every one of 8 mutants judged" in section
    # orders.total (3 unnoticed) before orders.clamp (1), each with its survivors' diffs.
    assert section.index("orders.total: 3 of 4") < section.index("orders.clamp: 1 of 4")
    total = section[section.index("orders.total: 3 of 4") : section.index("orders.clamp: 1 of 4")]
    assert total.count('class="survivor"') == 3 and "+ x = 11" in total
    assert section.count('class="survivor"') == 4
    # The general list keeps the per-function summaries but not the mutants listed above.
    findings = page[page.index('<section id="findings">') : page.index('<section id="details">')]
    assert "orders.total: 3 of 4" in findings and "x = 11" not in findings
    assert "4 surviving mutants are listed by function" in findings


def test_html_has_no_test_strength_section_without_a_mutation_score(
    make_report: ReportFactory,
) -> None:
    assert '<section id="mutation">' not in render_html(make_report())


def test_a_sampled_mutation_score_shows_its_interval_in_the_headline(
    make_report: ReportFactory,
) -> None:
    sampled = Evidence(
        "mutation",
        metrics={"mutation.score_percent": 68.65, "mutation.ci95_low": 63.5,
                 "mutation.ci95_high": 73.7, "mutation.exact": False},
    )  # fmt: skip
    exact = Evidence("mutation", metrics={**sampled.metrics, "mutation.exact": True})
    headline = {h.key: h.value for h in headline_metrics(make_report(evidence=[sampled]))}
    assert headline["mutation"] == "68.65% ±5.1"
    headline = {h.key: h.value for h in headline_metrics(make_report(evidence=[exact]))}
    assert headline["mutation"] == "68.65%"


def _held_back_signal(message: str = "R9 malformed JSON: code 'bad_json' is not listed") -> Signal:
    """Production readiness held at 3 by one minor check failure, as signals.score writes it."""
    return Signal(
        "production_readiness",
        "Production readiness",
        "scored",
        level=3,
        label="Holds under pressure",
        next_level=[
            "acceptance.minor_failed = 1 (needs == 0)",
            "load.relative_capacity = 0.5 (needs >= 0.6)",
        ],
        held_back_by=[
            {
                "requirement": "acceptance.minor_failed = 1 (needs == 0)",
                "findings": [
                    {
                        "rule": "acceptance.validation.malformed_json_refused",
                        "severity": "low",
                        "message": message,
                    }
                ],
                "more_findings": 2,
            },
            {
                "requirement": "load.relative_capacity = 0.5 (needs >= 0.6)",
                "findings": [],
                "more_findings": 0,
            },
        ],
    )


def test_reports_with_the_failures_behind_a_level_validate(make_report: ReportFactory) -> None:
    validate(make_report(signals=[_held_back_signal().to_json()]).to_json())


def test_html_names_the_failures_behind_each_unmet_threshold(make_report: ReportFactory) -> None:
    page = render_html(make_report(signals=[_held_back_signal().to_json()]))
    card = _card(page, "signal-production-readiness")

    assert card.index("To reach level 4") < card.index("acceptance.minor_failed = 1")
    assert '<span class="need">needs = 0</span>' in card
    assert (
        '<span class="sev sev-low">low</span> <code>acceptance.validation.malformed_json_refused'
        in card
    )
    assert "code &#39;bad_json&#39; is not listed" in card
    assert "and 2 more findings" in card
    assert '<span class="fact">load.relative_capacity = 0.5</span>' in card


def test_html_escapes_and_shortens_the_failures_behind_a_level(make_report: ReportFactory) -> None:
    long_hostile = HOSTILE_MESSAGE + "x" * 400
    page = render_html(make_report(signals=[_held_back_signal(long_hostile).to_json()]))
    card = _card(page, "signal-production-readiness")

    assert "<script>" not in card and "&lt;script&gt;" in card
    assert "x" * 300 not in card and "x…" in card


def test_terminal_says_which_failures_hold_a_signal_below_the_next_level(
    make_report: ReportFactory,
) -> None:
    text = _summary(make_report(signals=[_held_back_signal().to_json()]))

    assert "Production readiness stays at 3: level 4 needs" in text
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "acceptance.minor_failed = 1" in line)
    assert "low acceptance.validation.malformed_json_refused" in lines[at + 1]
    assert "and 2 more" in lines[at + 2]
    assert "load.relative_capacity = 0.5 (needs ≥ 0.6)" in text
