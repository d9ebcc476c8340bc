"""The whole hiring story in a real browser against a real server with its embedded workers.

The owner signs in and creates an assessment on the sales-ledger pack (the fastest bundled
pack: a nightly job, graded in about a minute); invites two candidates, whose mails reach a
real SMTP server on loopback; one candidate follows the link, downloads the kit, uploads their
work built from the kit's starter and watches the run finish (the other sends the pack's
reference through the API with their invitation's token); two reviewers score blind (the test
asserts what each cannot see before submitting); the owner compares the two candidates and
records a decision; the candidate reads the feedback. Every page passes axe and is saved as a
screenshot under reports/screenshots/story-*.png.

So far the test walks the owner's part up to the invitation mails; the candidate's, the
reviewers' and the decision follow as their pages land.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pages_support import (
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


def test_the_whole_hiring_story(story: Story, tmp_path: Path) -> None:
    owner = story.open()
    sign_in(owner, story.acme.emails["owner"])
    story.look(owner, "owner-signed-in")
    assessment_path = _owner_creates_the_assessment(story, owner)
    links = _owner_invites_two_candidates(story, owner, assessment_path)
    assert set(links) == {GRACE[1], ALAN[1]}


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
    found = re.match(rf"{re.escape(story.server.url)}(/assessments/[0-9a-f]{{32}})\b", owner.url)
    assert found, owner.url
    return found[1]


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
