"""The HTML report printed to PDF by chromium: real pages with the report's words, looked at as
PNG (reports/screenshots/report-pdf-*.png)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from proofwork.evidence import Evidence, Finding, Report, Severity, SubmissionInfo
from proofwork.reports.html import render_html
from proofwork.reports.pdf import html_to_pdf
from proofwork.signals import Signal

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "reports" / "screenshots"


def _report() -> Report:
    signal = Signal(
        "maintainability",
        "Maintainability",
        "scored",
        level=3,
        label="Easy to change",
        description="Small, focused pieces.",
        evidence=["static.cognitive_max = 9 (needs <= 15)"],
    )
    finding = Finding(
        "S307", Severity.HIGH, "eval() on request data", "app/api.py", 42, probe="static"
    )
    return Report(
        submission=SubmissionInfo("cd" * 32, "work.bundle", "bundle", 9, 2048),
        evidence=[Evidence("static", findings=[finding], duration_s=0.5)],
        signals=[signal.to_json()],
        review={"DECISIONS.md": "# Decisions\n\nMoney is kept in Decimal cents throughout.\n"},
        started_at="2026-05-01T09:30:00+00:00",
        duration_s=12.0,
    )


def _text(pdf: Path) -> str:
    done = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    return done.stdout


def test_the_report_prints_to_a_pdf_with_its_signals_findings_and_review_material(
    tmp_path: Path,
) -> None:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(html_to_pdf(render_html(_report()).encode()))

    assert pdf.read_bytes().startswith(b"%PDF-")
    text = _text(pdf)
    assert "Maintainability" in text
    assert "Easy to change" in text
    assert "eval() on request data" in text
    # Review material sits in a <details> closed on screen, opened for print.
    assert "Money is kept in Decimal cents throughout." in text

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "70", str(pdf), str(SCREENSHOTS / "report-pdf")], check=True
    )
    pages = sorted(SCREENSHOTS.glob("report-pdf*.png"))
    assert pages, "pdftoppm wrote no page"
    assert all(page.stat().st_size > 10_000 for page in pages)  # drawn pages, not blank ones
