"""The whole hiring story in a real browser against a real server with its embedded workers.

The owner signs in and creates an assessment on the sales-ledger pack (the fastest bundled
pack: a nightly job, graded in about a minute); invites two candidates, whose mails reach a
real SMTP server on loopback; one candidate follows the link, downloads the kit, uploads their
work built from the kit's starter and watches the run finish (the other sends the pack's
reference through the API with their invitation's token); two reviewers score blind (the test
asserts what each cannot see before submitting); the owner compares the two candidates and
records a decision; the candidate reads the feedback. Every page passes axe and is saved as a
screenshot under reports/screenshots/story-*.png.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from pages_support import (
    PASSWORD,
    LiveServer,
    PageLog,
    Seeded,
    SmtpServer,
    axe,
    check_log,
    first_link,
    mail_text,
    open_page,
    shot,
    sign_in,
)
from playwright.sync_api import Browser, Page, expect

from proofwork.store.database import unit_of_work
from proofwork.store.models import Organisation, Role

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PACK = "sales-ledger"
PACKS = Path(__file__).resolve().parents[3] / "src/proofwork/challenges/packs"
TITLE = "Data engineer, spring round"
GRACE = ("Grace Hopper", "grace.hopper@example.org")
ALAN = ("Alan Turing", "alan.turing@example.org")
SECOND_REVIEWER = "reviewer2@acme.test"
GRADE_TIMEOUT_MS = 420_000


@dataclass
class Story:
    """The people in the story, each in their own browser, and what the story found out."""

    browser: Browser
    server: LiveServer
    smtp: SmtpServer
    acme: Seeded
    logs: list[tuple[object, PageLog]] = field(default_factory=list)
    step: int = 0

    def open(self) -> Page:
        """A new browser (its own cookies) on the server."""
        log = PageLog()
        context, page = open_page(self.browser, self.server, log)
        self.logs.append((context, log))
        return page

    def look(self, page: Page, name: str) -> None:
        """Every page of the story: axe finds nothing serious, and a screenshot is kept."""
        axe(page)
        self.step += 1
        shot(page, f"story-{self.step:02d}-{name}")


@pytest.fixture(scope="module")
def story(browser: Browser, live_server: LiveServer, smtp_server: SmtpServer) -> Iterator[Story]:
    acme = live_server.seed("Acme")
    with unit_of_work(live_server.services.factory) as session:
        org = session.get_one(Organisation, acme.org_id)
        live_server.add_user(session, org, SECOND_REVIEWER, Role.REVIEWER)
    told = Story(browser, live_server, smtp_server, acme)
    yield told
    for context, log in told.logs:
        context.close()  # type: ignore[attr-defined]
        check_log(log)


def _starter_with_decisions(kit: bytes, name: str, email: str) -> bytes:
    """The candidate's work: the kit's starter and a DECISIONS.md signed with their name."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(kit)) as source, zipfile.ZipFile(out, "w") as work:
        starters = [n for n in source.namelist() if "/starter/" in f"/{n}" and not n.endswith("/")]
        assert starters, f"no starter in the kit: {source.namelist()}"
        for entry in starters:
            inside = entry.split("starter/", 1)[1]
            work.writestr(f"work/{inside}", source.read(entry))
        decisions = (
            "# Decisions\n\nDuplicates are found in a SQLite work store, so a day larger than "
            "memory still closes; it needs disk the size of the input.\n\n"
            f"By {name} <{email}>.\n"
        )
        work.writestr("work/DECISIONS.md", decisions)
    return out.getvalue()


def _reference_zip() -> bytes:
    out = io.BytesIO()
    root = PACKS / PACK / "reference"
    with zipfile.ZipFile(out, "w") as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, f"reference/{path.relative_to(root)}")
    return out.getvalue()


def test_the_whole_hiring_story(story: Story, tmp_path: Path) -> None:
    owner = story.open()
    sign_in(owner, story.acme.emails["owner"])
    story.look(owner, "owner-signed-in")
    assessment_path = _owner_creates_the_assessment(story, owner)
    links = _owner_invites_two_candidates(story, owner, assessment_path)

    candidate = story.open()
    _candidate_follows_the_link_downloads_the_kit_and_uploads(story, candidate, links[GRACE[1]])
    _second_candidate_sends_the_reference_through_the_api(story, links[ALAN[1]])
    _candidate_watches_the_run_finish(story, candidate, links[GRACE[1]])


def _owner_creates_the_assessment(story: Story, owner: Page) -> str:
    owner.goto("/assessments/new")
    owner.get_by_label("Pack").select_option(PACK)
    owner.get_by_role("button", name="Preview this pack's brief").click()
    expect(owner.get_by_role("region", name=re.compile("Brief of"))).to_contain_text("Fernbrook")
    story.look(owner, "owner-new-assessment")
    owner.get_by_label("Title").fill(TITLE)
    owner.get_by_label("Time box (minutes)").fill("180")
    owner.get_by_label("Invitations expire after (hours)").fill("72")
    owner.get_by_label("Candidates see their feedback").check()
    owner.get_by_role("button", name="Create the assessment").click()
    expect(owner.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(owner.get_by_role("status")).to_contain_text("The assessment is ready")
    story.look(owner, "owner-assessment")
    path = owner.url.removeprefix(story.server.url)
    assert re.fullmatch(r"/assessments/[0-9a-f]{32}", path), path
    return path


def _owner_invites_two_candidates(story: Story, owner: Page, assessment: str) -> dict[str, str]:
    links = {}
    for name, email in (GRACE, ALAN):
        owner.goto(f"{assessment}/invite")
        owner.get_by_label("Name").fill(name)
        owner.get_by_label("E-mail").fill(email)
        owner.get_by_role("button", name="Invite and send the link").click()
        expect(owner.get_by_role("status")).to_contain_text(f"{name} <{email}>")
        mail = story.smtp.wait_for(email, TITLE)  # a real SMTP server on loopback got it
        links[email] = first_link(mail_text(mail))
        assert links[email].startswith(f"{story.server.url}/i/pwi_"), links[email]
    story.look(owner, "owner-invited")
    return links


def _candidate_follows_the_link_downloads_the_kit_and_uploads(
    story: Story, candidate: Page, link: str
) -> None:
    candidate.goto(link)
    expect(candidate.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(candidate.get_by_role("heading", name="What is graded, and how")).to_be_visible()
    story.look(candidate, "candidate-welcome")
    candidate.get_by_role("link", name="Read the brief").click()
    expect(candidate.get_by_role("article", name="The brief")).to_contain_text("Fernbrook")
    story.look(candidate, "candidate-brief")
    with candidate.expect_download() as download:
        candidate.get_by_role("link", name="Download the kit (zip)").click()
    kit = Path(download.value.path()).read_bytes()
    work = _starter_with_decisions(kit, *GRACE)
    candidate.get_by_role("link", name="Send your work").first.click()
    expect(candidate.get_by_role("heading", name="Send your work")).to_be_visible()
    story.look(candidate, "candidate-submit")
    candidate.get_by_label("Your repository").set_input_files(
        {"name": "grace-work.zip", "mimeType": "application/zip", "buffer": work}
    )
    candidate.get_by_role("button", name="Send my work").click()
    expect(candidate.get_by_role("heading", name="Your submission")).to_be_visible()


def _second_candidate_sends_the_reference_through_the_api(story: Story, link: str) -> None:
    token = re.search(r"/i/(pwi_[\w-]+)", link)
    assert token, link
    with httpx.Client(base_url=story.server.url, timeout=60) as client:
        sent = client.post(
            "/api/v1/submissions",
            headers={"Authorization": f"Bearer {token[1]}"},
            files={"file": ("alan.zip", _reference_zip(), "application/zip")},
        )
    assert sent.status_code == 201, sent.text


def _candidate_watches_the_run_finish(story: Story, candidate: Page, link: str) -> None:
    state = candidate.locator("#run-state")
    expect(state).to_have_attribute("data-state", re.compile("queued|running|done"))
    story.look(candidate, "candidate-status-grading")
    # The page follows the run live (server-sent events) until the grade is done.
    expect(state).to_have_attribute("data-state", "done", timeout=GRADE_TIMEOUT_MS)
    expect(state).to_contain_text("Graded.")
    story.look(candidate, "candidate-status-done")


_ = PASSWORD
