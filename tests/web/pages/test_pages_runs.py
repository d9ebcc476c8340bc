"""Staff run pages in a real browser: a run followed live, its report framed in the app under
its own CSP, the PDF (rendered to PNG and looked at), re-run and cancel, blind reviewers."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from pages_support import SCREENSHOTS, LiveServer, Seeded
from playwright.sync_api import Page, expect
from web_support import tiny_archive

from proofwork.store.database import unit_of_work
from proofwork.store.models import Organisation, Role
from proofwork.web import admin

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Axe = Callable[[Page], object]
Shot = Callable[[Page, str], Path]
SignIn = Callable[..., None]
PROJECT = {
    "tiny.py": "def add(a, b):\n    return a + b\n",
    "test_tiny.py": "from tiny import add\n\n\ndef test_add():\n    assert add(2, 2) == 4\n",
}


@pytest.fixture(scope="module")
def seeded(live_server: LiveServer) -> Seeded:
    return live_server.seed("Runs Ltd")


def _queue_run(server: LiveServer, seeded: Seeded, probes: str = "static,tests") -> str:
    """A run of a tiny project queued through the API (as an integration would)."""
    with unit_of_work(server.services.factory) as session:
        org = session.get_one(Organisation, seeded.org_id)
        _, token = admin.create_token(session=session, org=org, role=Role.OWNER)
    with server.client() as client:
        response = client.post(
            "/api/v1/submissions",
            headers={"Authorization": f"Bearer {token}"},
            files={"file": ("tiny.tar.gz", tiny_archive(PROJECT), "application/gzip")},
            data={"probes": probes},
        )
    assert response.status_code == 201, response.text
    run_id: str = response.json()["run"]["id"]
    return run_id


@pytest.fixture(scope="module")
def done_run(live_server: LiveServer, seeded: Seeded) -> str:
    return _queue_run(live_server, seeded)


def test_a_run_is_followed_live_then_shows_its_report_framed(
    page: Page, live_server: LiveServer, seeded: Seeded, sign_in: SignIn, axe: Axe, shot: Shot
) -> None:
    sign_in(page, seeded.emails["owner"])
    run_id = _queue_run(live_server, seeded, probes="static,tests,mutation")
    page.goto(f"/runs/{run_id}")
    assert page.locator("#run-state").get_attribute("data-state") in ("queued", "running")
    assert page.locator("iframe").count() == 0
    axe(page)
    shot(page, "run-running")
    # Live: the stream's events fill the log, and the page reloads itself when the run ends.
    rendered = page.locator("#event-log li").count()
    page.wait_for_function(
        f"() => document.querySelectorAll('#event-log li').length > {rendered}", timeout=120_000
    )
    frame = page.locator("iframe.report-frame")
    expect(frame).to_be_visible(timeout=240_000)
    expect(page.locator("#run-state")).to_have_text("done")
    report = page.frame_locator("iframe.report-frame")
    expect(report.get_by_role("heading", name="Proofwork report")).to_be_visible()
    axe(page)
    shot(page, "run-done")
    response = page.request.get(f"/runs/{run_id}/report")
    csp = response.headers["content-security-policy"]
    assert "sandbox" in csp and "frame-ancestors 'self'" in csp and "default-src 'none'" in csp
    app_page = page.request.get(f"/runs/{run_id}")
    assert "frame-ancestors 'none'" in app_page.headers["content-security-policy"]


def test_the_report_downloads_as_a_pdf_that_renders(
    page: Page, seeded: Seeded, done_run: str, sign_in: SignIn, tmp_path: Path
) -> None:
    sign_in(page, seeded.emails["recruiter"])
    page.goto(f"/runs/{done_run}")
    expect(page.locator("iframe.report-frame")).to_be_visible(timeout=180_000)
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("link", name="Download as PDF").click()
    pdf = tmp_path / "report.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Proofwork report" in text and "Challenge generic" in text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            str(pdf),
            str(SCREENSHOTS / "run-pdf"),
        ],
        check=True,
    )
    assert (SCREENSHOTS / "run-pdf-1.png").stat().st_size > 10_000


def test_an_owner_re_runs_and_cancels_with_the_keyboard(
    page: Page, seeded: Seeded, done_run: str, sign_in: SignIn, axe: Axe, shot: Shot
) -> None:
    sign_in(page, seeded.emails["owner"])
    page.goto(f"/runs/{done_run}")
    expect(page.get_by_role("button", name="Re-run")).to_be_visible(timeout=180_000)
    page.get_by_role("button", name="Re-run").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: done_run not in url)
    new_run = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("button", name="Cancel")).to_be_visible()
    axe(page)
    shot(page, "run-queued")
    page.get_by_role("button", name="Cancel").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/runs/{new_run}")
    expect(page.locator("#run-state")).to_contain_text("cancel", timeout=60_000)


def test_a_reviewer_sees_the_run_but_not_its_report_before_scoring(
    page: Page, seeded: Seeded, done_run: str, sign_in: SignIn
) -> None:
    sign_in(page, seeded.emails["reviewer"])
    page.goto(f"/runs/{done_run}")
    expect(page.get_by_text("Blind review")).to_be_visible(timeout=180_000)
    assert page.locator("iframe").count() == 0
    assert page.get_by_role("button", name="Re-run").count() == 0
    response = page.goto(f"/runs/{done_run}/report")
    assert response is not None and response.status == 403
