"""The candidate's pages in a real browser: welcome, brief, downloads, upload (with and without
JS), the run followed live, feedback without the grader's secrets, closed links."""

from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from pages_support import LiveServer, Seeded, SmtpServer, mail_text
from playwright.sync_api import Browser, Page, expect
from portal_support import graded_run, invite
from web_support import tiny_archive

from proofwork.challenges import discover
from proofwork.store.database import unit_of_work
from proofwork.store.models import Decision, Invitation, InvitationState, Outcome

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Axe = Callable[[Page], object]
Shot = Callable[[Page, str], Path]


@pytest.fixture(scope="module")
def seeded(live_server: LiveServer) -> Seeded:
    return live_server.seed("Fernbrook")


def test_the_welcome_page_says_what_is_graded_the_time_box_and_the_deadline(
    page: Page, live_server: LiveServer, seeded: Seeded, axe: Axe, shot: Shot
) -> None:
    invited = invite(live_server, seeded.org_id)
    page.goto(f"{invited.base}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sales ledger round")
    expect(page.get_by_text("About 3 hours of work")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("Deadline")
    graded = page.locator("#graded-heading + p + h3 + ul")
    expect(graded).to_contain_text("More data than memory")
    expect(page.locator(".graded").nth(1)).to_contain_text("do not see your name")
    axe(page)
    shot(page, "candidate-welcome")
    with unit_of_work(live_server.services.factory) as session:
        assert session.get_one(Invitation, invited.invitation_id).opened_at is not None


def test_the_brief_is_rendered_and_the_kit_downloads(
    page: Page, live_server: LiveServer, seeded: Seeded, axe: Axe, shot: Shot, tmp_path: Path
) -> None:
    invited = invite(live_server, seeded.org_id, email="b@example.org")
    page.goto(f"{invited.base}/brief")
    brief = discover("").get("sales-ledger").brief
    first_heading = next(line[2:] for line in brief.splitlines() if line.startswith("# "))
    expect(page.locator("article.brief h1").first).to_have_text(first_heading)
    axe(page)
    shot(page, "candidate-brief")
    with page.expect_download() as kit:
        page.get_by_role("link", name="Download the kit (zip)").click()
    path = tmp_path / "kit.zip"
    kit.value.save_as(path)
    names = zipfile.ZipFile(path).namelist()
    assert "kit/brief.md" in names and "kit/starter/selfcheck.py" in names
    with page.expect_download() as starter:
        page.get_by_role("link", name="Starter as a git bundle").click()
    assert starter.value.suggested_filename == "sales-ledger-1.0.0-starter.bundle"


def test_an_upload_shows_progress_is_received_by_mail_and_runs_live(
    page: Page,
    live_server: LiveServer,
    seeded: Seeded,
    smtp_server: SmtpServer,
    axe: Axe,
    shot: Shot,
    tmp_path: Path,
) -> None:
    invited = invite(live_server, seeded.org_id, pack=None, email="upload@example.org")
    archive = tmp_path / "work.tar.gz"
    archive.write_bytes(tiny_archive({"test_tiny.py": "def test_one():\n    assert 1 + 1 == 2\n"}))
    page.goto(f"{invited.base}/submit")
    expect(page.get_by_text("at most 512 MiB").first).to_be_visible()
    axe(page)
    shot(page, "candidate-submit")
    page.get_by_label("Your repository").set_input_files(archive)
    # Keyboard: from the file field, Tab reaches the send button.
    page.get_by_label("Your repository").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send my work")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{invited.base}/status")
    mail = smtp_server.wait_for(invited.email, "your submission was received")
    assert f"{invited.base}/status" in mail_text(mail)
    # The run is followed live: a probe is shown running or done without reloading.
    expect(page.locator("#probe-steps li.step-done").first).to_be_visible(timeout=240_000)
    axe(page)
    shot(page, "candidate-status")
    # The status page reloads itself when the run ends: read the submit page in a tab of its own.
    submit = page.context.new_page()
    submit.goto(f"{invited.base}/submit")
    expect(submit.get_by_text("Your submission was received")).to_be_visible()


def test_without_javascript_the_upload_is_a_plain_form_and_status_refreshes(
    browser: Browser, live_server: LiveServer, seeded: Seeded, tmp_path: Path
) -> None:
    invited = invite(live_server, seeded.org_id, pack=None, email="nojs@example.org")
    archive = tmp_path / "work.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("work/app.py", "print('hello')\n")
    archive.write_bytes(buffer.getvalue())
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{invited.base}/submit")
    page.get_by_label("Your repository").set_input_files(archive)
    page.get_by_role("button", name="Send my work").click()
    page.wait_for_url(f"**{invited.base}/status")
    refresh = page.locator("noscript >> text=/reloads itself/")
    assert refresh.count() == 1 or "reloads itself" in page.content()
    context.close()


def test_feedback_shows_signals_and_own_findings_but_no_grader_secrets(
    page: Page, live_server: LiveServer, seeded: Seeded, axe: Axe, shot: Shot
) -> None:
    pack = discover("").get("sales-ledger")
    check_code = next(pack.path("checks").glob("*.py")).read_text()
    hidden_line = next(line.strip() for line in check_code.splitlines() if len(line.strip()) > 25)
    reference = next(p for p in pack.path("reference").rglob("*.py") if p.stat().st_size > 200)
    reference_line = next(
        line.strip() for line in reference.read_text().splitlines() if len(line.strip()) > 25
    )
    internal = str(live_server.services.settings.home / "runs" / "x" / "checks")
    report = {
        "signals": [
            {
                "title": "Production readiness",
                "level": 2,
                "label": "Reads real exports",
                "description": "Exact money, every channel's encoding.",
                "status": "scored",
                "evidence": ["acceptance.r1.failed = 0 (needs == 0)"],
                "next_level": ["acceptance.r5.failed = 3 (needs == 0)"],
            }
        ],
        "findings": [
            {
                "rule": "acceptance.duplicates.within_file",
                "severity": "high",
                "message": f"R5 a duplicated row counted twice ({internal}/dups.py:3)",
                "path": "checks/dups.py",
                "line": 3,
                "snippet": hidden_line,
                "diff": f"-{reference_line}\n+mine",
            },
            {
                "rule": "S307",
                "severity": "critical",
                "message": "eval() on row data",
                "path": "ledger/read.py",
                "line": 7,
                "snippet": "value = eval(cell)",
            },
        ],
    }
    invited = invite(live_server, seeded.org_id, email="fb@example.org")
    graded_run(live_server, invited, report)
    page.goto(f"{invited.base}/feedback")
    expect(page.locator("h1")).to_have_text("Not found")  # before the decision: nothing
    with unit_of_work(live_server.services.factory) as session:
        session.add(
            Decision(
                org_id=seeded.org_id,
                candidate_id=invited.candidate_id,
                assessment_id=invited.assessment_id,
                outcome=Outcome.REJECT,
                reason="Not this time",
            )
        )
    page.goto(f"{invited.base}/feedback")
    expect(page.get_by_role("heading", name="Production readiness: level 2 of 4")).to_be_visible()
    expect(page.get_by_text("eval() on row data")).to_be_visible()
    expect(page.get_by_text("value = eval(cell)")).to_be_visible()
    content = page.content()
    for secret in (hidden_line, reference_line, internal, "checks/dups.py", "Not this time"):
        assert secret not in content, secret
    axe(page)
    shot(page, "candidate-feedback")


def test_feedback_is_not_shown_when_the_assessment_keeps_it(
    page: Page, live_server: LiveServer, seeded: Seeded
) -> None:
    invited = invite(live_server, seeded.org_id, email="kept@example.org", feedback_visible=False)
    graded_run(live_server, invited, {"signals": [], "findings": []})
    response = page.goto(f"{invited.base}/feedback")
    assert response is not None and response.status == 404
    expect(page.get_by_text("does not share feedback")).to_be_visible()


@pytest.mark.parametrize("closed", ["expired", "revoked"])
def test_a_closed_link_gets_a_clear_410_page(
    page: Page, live_server: LiveServer, seeded: Seeded, axe: Axe, shot: Shot, closed: str
) -> None:
    if closed == "expired":
        invited = invite(live_server, seeded.org_id, expires_in=-dt.timedelta(hours=2))
        words = "expired"
    else:
        invited = invite(live_server, seeded.org_id, state=InvitationState.REVOKED)
        words = "withdrew"
    response = page.goto(f"{invited.base}/")
    assert response is not None and response.status == 410
    expect(page.locator(".lead")).to_contain_text(words)
    expect(page.locator(".lead")).to_contain_text("Fernbrook")
    assert ".." not in (page.locator(".lead").text_content() or "")
    expect(page.get_by_text("reply to the e-mail that sent you the link")).to_be_visible()
    axe(page)
    shot(page, f"candidate-{closed}")


@pytest.fixture(scope="module")
def small_server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    """A server taking submissions of at most 512 KiB, without workers (runs stay queued)."""
    return live_server_factory(worker_cores=0, max_bytes=512 * 1024)


def _random_zip(path: Path, size: int) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zipped:
        zipped.writestr("work/data.bin", os.urandom(size))
        zipped.writestr("work/app.py", "print('hello')\n")
    path.write_bytes(buffer.getvalue())
    return path


def test_the_progress_bar_moves_while_a_slow_upload_goes_and_the_limit_is_enforced(
    browser: Browser, small_server: LiveServer, axe: Axe, shot: Shot, tmp_path: Path
) -> None:
    org = small_server.seed("Slowlink")
    context = browser.new_context(base_url=small_server.url)
    page = context.new_page()
    # A slow uplink (about 100 KiB/s), so the upload takes a few seconds to watch.
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 100_000},
    )
    too_big = invite(small_server, org.org_id, pack=None, email="big@example.org")
    page.goto(f"{too_big.base}/submit")
    expect(page.get_by_text("at most 512 KiB").first).to_be_visible()
    page.get_by_label("Your repository").set_input_files(_random_zip(tmp_path / "big.zip", 700_000))
    page.get_by_role("button", name="Send my work").click()
    expect(page.locator("#upload-error")).to_contain_text(
        "larger than the 512 KiB allowed", timeout=60_000
    )
    axe(page)
    shot(page, "candidate-upload-too-large")

    fits = invite(small_server, org.org_id, pack=None, email="fits@example.org")
    page.goto(f"{fits.base}/submit")
    page.get_by_label("Your repository").set_input_files(_random_zip(tmp_path / "ok.zip", 300_000))
    page.get_by_role("button", name="Send my work").click()
    bar = page.locator("#upload-bar")
    expect(page.locator("#upload-progress")).to_be_visible()
    page.wait_for_function(
        "() => { const v = document.getElementById('upload-bar').value; return v > 0 && v < 100; }"
    )
    shot(page, "candidate-uploading")
    assert 0 < float(bar.get_attribute("value") or 0) <= 100
    page.wait_for_url(f"**{fits.base}/status", timeout=60_000)
    expect(page.locator("#run-state")).to_contain_text("Waiting for a grader")
    context.close()
