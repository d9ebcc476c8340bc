"""The HTML report in a real browser: renders, makes no request, shows the findings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, sync_playwright
from sandboxing import CHROMIUM, CHROMIUM_ARGS

from proofwork.evidence import Evidence, Finding, Report, Severity, Status, SubmissionInfo
from proofwork.reports.html import write_html
from proofwork.signals import Signal

pytestmark = pytest.mark.browser

HOSTILE = "<script>alert(1)</script>"
DECISIONS = f"# Decisions\n\nStock is reserved in one transaction.\n{HOSTILE}\n"


def _signals() -> list[dict[str, object]]:
    rubric = [
        {"level": n, "label": label, "description": f"Anchor {n}."}
        for n, label in enumerate(["Silent", "Lists", "Explains", "Weighs", "Anticipates"])
    ]
    return [
        Signal(
            "maintainability",
            "Maintainability",
            "scored",
            level=2,
            label="Readable",
            description="Short functions, little duplication.",
            evidence=["static.unparsable_files = 0 (needs == 0)"],
            next_level=["static.max_complexity = 14 (needs <= 10)"],
        ).to_json(),
        Signal("operability", "Operability", "not measured").to_json(),
        Signal(
            "tradeoff_reasoning",
            "Trade-off reasoning",
            "awaiting review",
            description="Does the candidate explain what they changed and why?",
            levels=rubric,
            material=["DECISIONS.md"],
        ).to_json(),
    ]


def _report() -> Report:
    findings = [
        Finding(
            "S307",
            Severity.CRITICAL,
            "eval() on request data",
            "app/api.py",
            42,
            snippet="return eval(body)  # </pre><img src=x onerror=alert(1)>",
            probe="static",
        ),
        Finding(
            "XSS",
            Severity.HIGH,
            HOSTILE,
            "app/<b>.py",
            1,
            diff="-<img src=https://example.com/x.png>\n+<link href=//example.com/a.css>",
            probe="static",
        ),
        Finding("E501", Severity.LOW, "line too long", "app/util.py", 3, probe="static"),
    ]
    evidence = [
        Evidence(
            "tests",
            metrics={"tests.passed": 12, "tests.coverage_percent": 81.5},
            duration_s=3.2,
            artifacts={"pytest.log": "12 passed"},
        ),
        Evidence("static", findings=findings, duration_s=0.4),
        Evidence("load", status=Status.TIMEOUT, stopped=["timeout"], duration_s=60.0),
    ]
    return Report(
        submission=SubmissionInfo("ab" * 32, "candidate.zip", "zip", 12, 4096),
        evidence=evidence,
        sandbox={"backend": "bwrap", "limits": {"memory": True}},
        signals=_signals(),
        review={"DECISIONS.md": DECISIONS},
        started_at="2025-05-01T09:30:00+00:00",
        duration_s=64.0,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, driven by Playwright; missing chromium is a failure, not a skip."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install chromium: make test installs it")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def report_page(browser: Browser, tmp_path: Path) -> Iterator[tuple[Page, list[str], list[str]]]:
    """The report opened from a file, with every other request blocked and recorded."""
    target = tmp_path / "report.html"
    write_html(_report(), target)
    url = target.as_uri()
    requests: list[str] = []
    errors: list[str] = []
    page = browser.new_page()

    def guard(route: Route) -> None:
        if route.request.url == url:
            route.continue_()
        else:
            route.abort()

    def seen(request: Request) -> None:
        if request.url != url:
            requests.append(request.url)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.route("**/*", guard)
    page.on("request", seen)
    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("websocket", lambda socket: requests.append(socket.url))
    page.on("dialog", lambda dialog: errors.append(f"dialog opened: {dialog.message}"))
    page.goto(url, wait_until="load")
    yield page, requests, errors
    page.close()


def test_report_opens_with_no_requests_and_no_errors(
    report_page: tuple[Page, list[str], list[str]],
) -> None:
    page, requests, errors = report_page
    page.wait_for_load_state("networkidle")
    assert requests == []
    assert errors == []


def test_report_shows_findings_as_text(report_page: tuple[Page, list[str], list[str]]) -> None:
    page, _, _ = report_page
    assert page.get_by_text("eval() on request data").is_visible()
    assert page.get_by_text(HOSTILE, exact=True).is_visible()  # shown as text, never run
    assert page.locator("img, link[href], iframe").count() == 0
    assert page.locator("script").count() == 1


def test_review_material_link_opens_the_file(
    report_page: tuple[Page, list[str], list[str]],
) -> None:
    page, requests, errors = report_page
    decisions = page.locator("details#review-decisions-md")
    assert decisions.get_attribute("open") is None
    page.get_by_role("link", name="DECISIONS.md").click()
    assert decisions.get_attribute("open") is not None
    assert page.get_by_text("Stock is reserved in one transaction.").is_visible()
    assert page.locator("pre.review-text").inner_text() == DECISIONS
    assert page.locator("script").count() == 1  # the candidate's <script> stayed text
    assert (requests, errors) == ([], [])


def test_signals_show_levels_and_the_rubric(
    report_page: tuple[Page, list[str], list[str]],
) -> None:
    page, _, _ = report_page
    card = page.locator("#signal-maintainability")
    assert card.get_by_role("img", name="level 2 of 4").is_visible()
    assert card.get_by_text("To reach level 3").is_visible()
    assert card.get_by_text("needs ≤ 10").is_visible()
    rubric = page.locator("#signal-tradeoff-reasoning table.rubric tbody tr")
    assert rubric.count() == 5
    assert page.locator("#signal-operability").get_by_text("not measured").is_visible()


def test_report_screenshot_is_non_trivial(
    report_page: tuple[Page, list[str], list[str]], tmp_path: Path
) -> None:
    page, _, _ = report_page
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    assert page.evaluate("document.documentElement.scrollHeight") > 800


def test_printing_opens_the_metrics(report_page: tuple[Page, list[str], list[str]]) -> None:
    page, _, errors = report_page
    metrics = page.locator("details.print-open").first
    assert metrics.get_attribute("open") is None
    # Our print helper is allowed by its CSP hash; a wrong hash would leave this closed.
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert metrics.get_attribute("open") is not None
    assert errors == []
