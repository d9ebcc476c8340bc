"""The whole hiring story in a real browser against a real server with its embedded workers.

The owner signs in and creates an assessment on the sales-ledger pack (the fastest bundled
pack: a nightly job, graded in about a minute); invites two candidates, whose mails reach a
real SMTP server on loopback; one candidate follows the link, downloads the kit, uploads their
work built from the kit's starter and watches the run finish (the other sends theirs through
the API with their invitation's token, graded beside it); two reviewers score blind (the test
asserts what each cannot see before submitting); the owner compares the two candidates and
records a decision; the candidate reads the feedback. Every page passes axe and is saved as a
screenshot under reports/screenshots/story-*.png.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from pages_support import (
    SCREENSHOTS,
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
from sqlalchemy import select

from proofwork.store.database import read_only, unit_of_work
from proofwork.store.models import (
    Candidate,
    Organisation,
    Role,
    Run,
    RunState,
    Submission,
)

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
    for old in SCREENSHOTS.glob("story-*.png"):
        old.unlink()  # a screenshot of each page of this run only
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


@pytest.mark.timeout(600)
def test_the_whole_hiring_story(story: Story) -> None:
    owner = story.open()
    sign_in(owner, story.acme.emails["owner"])
    story.look(owner, "owner-signed-in")
    assessment = _owner_creates_the_assessment(story, owner)
    links = _owner_invites_two_candidates(story, owner, assessment)

    candidate = story.open()
    kit = _candidate_follows_the_link_downloads_the_kit_and_uploads(
        story, candidate, links[GRACE[1]]
    )
    _second_candidate_uploads_through_the_api(story, links[ALAN[1]], kit)
    _candidate_watches_the_run_finish(story, candidate)
    grace = _graded_run(story, GRACE[1])
    _graded_run(story, ALAN[1], wait=True)

    first_reason = "Names the SQLite work store and its disk cost; no payout answer."
    _reviewer_scores_blind(story, story.acme.emails["reviewer"], grace, first_reason, None)
    _reviewer_scores_blind(story, SECOND_REVIEWER, grace, "States choices only.", first_reason)

    _candidate_is_told_feedback_waits_for_the_decision(story, candidate, links[GRACE[1]])
    _owner_opens_the_run_and_its_report(story, owner, grace)
    _owner_compares_and_decides(story, owner, assessment)
    _candidate_reads_the_feedback(story, candidate, links[GRACE[1]])


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


def _candidate_follows_the_link_downloads_the_kit_and_uploads(
    story: Story, candidate: Page, link: str
) -> bytes:
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
    return kit


def _second_candidate_uploads_through_the_api(story: Story, link: str, kit: bytes) -> None:
    token = re.search(r"/i/(pwi_[\w-]+)", link)
    assert token, link
    with httpx.Client(base_url=story.server.url, timeout=60) as client:
        sent = client.post(
            "/api/v1/submissions",
            headers={"Authorization": f"Bearer {token[1]}"},
            files={"file": ("alan.zip", _starter_with_decisions(kit, *ALAN), "application/zip")},
        )
    assert sent.status_code == 201, sent.text


def _candidate_watches_the_run_finish(story: Story, candidate: Page) -> None:
    state = candidate.locator("#run-state")
    expect(state).to_have_attribute("data-state", re.compile("queued|running|done"))
    story.look(candidate, "candidate-status-grading")
    # The page follows the run live (server-sent events) until the grade is done.
    expect(state).to_have_attribute("data-state", "done", timeout=GRADE_TIMEOUT_MS)
    expect(state).to_contain_text("Graded.")
    story.look(candidate, "candidate-status-done")


@dataclass(frozen=True)
class Graded:
    """A candidate's finished run, as the store has it."""

    run_id: str
    candidate_id: str
    alias: str
    machine_signals: list[str]


def _graded_run(story: Story, email: str, wait: bool = False) -> Graded:
    """The candidate's run (waiting for it to finish when asked); it must end done."""
    deadline = time.monotonic() + GRADE_TIMEOUT_MS / 1000
    while True:
        with read_only(story.server.services.read_factory) as session:
            row = session.execute(
                select(Run, Candidate)
                .join(Submission, Submission.id == Run.submission_id)
                .join(Candidate, Candidate.id == Submission.candidate_id)
                .where(Candidate.email == email)
            ).one()
        run, candidate = row
        if run.state.finished or not wait:
            break
        assert time.monotonic() < deadline, f"{email}'s run is still {run.state}"
        time.sleep(1)
    assert run.state == RunState.DONE, f"{email}'s run ended {run.state}: {run.reason}"
    signals = (run.summary or {}).get("signals", [])
    machine = [s["title"] for s in signals if s.get("status") == "scored" and s.get("title")]
    return Graded(run.id, candidate.id, candidate.alias, machine)


def _reviewer_scores_blind(
    story: Story, email: str, grace: Graded, reason: str, others_reason: str | None
) -> None:
    reviewer = story.open()
    sign_in(reviewer, email)
    reviewer.goto("/review")
    expect(reviewer.get_by_role("heading", name="Review queue")).to_be_visible()
    reviewer.get_by_role("link", name=grace.alias).first.click()
    expect(reviewer.get_by_role("heading", name=f"Score {grace.alias}")).to_be_visible()
    # Blind: before their own scorecard, no name, no e-mail, no machine level, nobody else's
    # score; Grace signed DECISIONS.md with her name, which the sheet shows under her alias.
    text = reviewer.content()
    hidden = [*GRACE, "Grace", "Hopper", *grace.machine_signals]
    if others_reason:
        hidden.append(others_reason)
    for secret in hidden:
        assert secret not in text, f"{email} sees {secret!r} before submitting"
    assert grace.machine_signals, "the run has machine signals to hide"
    expect(reviewer.get_by_text(f"By {grace.alias} <{grace.alias}>.").first).to_be_visible()
    story.look(reviewer, "reviewer-blind-sheet")
    for title in ("Trade-off reasoning", "Business understanding"):
        group = reviewer.get_by_role("group", name=title)
        group.get_by_role("radio").nth(2 if others_reason is None else 1).check()
        group.get_by_label("Why this level?").fill(f"{title}: {reason}")
    reviewer.get_by_role("button", name="Submit scorecard").click()
    expect(reviewer.get_by_role("status")).to_contain_text("Scorecard submitted")
    after = reviewer.content()
    assert GRACE[0] not in after and GRACE[1] not in after
    if others_reason:
        expect(reviewer.locator("#others").get_by_text(others_reason).first).to_be_visible()
    story.look(reviewer, "reviewer-submitted")


def _candidate_is_told_feedback_waits_for_the_decision(
    story: Story, candidate: Page, link: str
) -> None:
    response = candidate.goto(link.rstrip("/") + "/feedback")
    assert response is not None and response.status == 404
    expect(candidate.get_by_text("once the hiring team has made its decision")).to_be_visible()
    back = candidate.get_by_role("link", name="Back to your invitation")
    expect(back).to_have_attribute("href", re.compile(r"^/i/pwi_[\w-]+/$"))
    story.look(candidate, "candidate-feedback-not-yet")


def _owner_opens_the_run_and_its_report(story: Story, owner: Page, grace: Graded) -> None:
    owner.goto(f"/runs/{grace.run_id}")
    expect(owner.locator("#run-state")).to_have_attribute("data-state", "done")
    expect(owner.get_by_role("heading", name="Report")).to_be_visible()
    story.look(owner, "owner-run")


def _owner_compares_and_decides(story: Story, owner: Page, assessment: str) -> None:
    owner.goto(assessment)
    for name in (GRACE[0], ALAN[0]):
        owner.get_by_role("checkbox", name=f"Compare {name}").check()
    story.look(owner, "owner-pipeline")
    owner.get_by_role("button", name="Compare the ticked candidates").click()
    expect(owner.get_by_role("heading", name="Compare 2 candidates")).to_be_visible()
    table = owner.locator("table.compare")
    expect(table.get_by_role("columnheader")).to_have_count(2)
    assert sorted(table.get_by_role("columnheader").all_inner_texts()) == [ALAN[0], GRACE[0]]
    expect(table.get_by_role("row", name=re.compile("^Scorecards"))).to_contain_text(
        "Trade-off reasoning"
    )
    story.look(owner, "owner-compare")
    owner.goto(assessment)
    owner.get_by_role("link", name=GRACE[0]).first.click()
    owner.get_by_label("Advance").check()
    owner.get_by_label("Reason").fill("Exact figures on messy exports; talk about payouts next.")
    owner.get_by_role("button", name="Record the decision").click()
    expect(owner.get_by_role("status")).to_contain_text("The decision was recorded")
    story.look(owner, "owner-decided")


def _candidate_reads_the_feedback(story: Story, candidate: Page, link: str) -> None:
    candidate.goto(link.rstrip("/") + "/feedback")
    expect(candidate.get_by_role("heading", name="Feedback on your work")).to_be_visible()
    expect(candidate.get_by_role("heading", name="Signals")).to_be_visible()
    text = candidate.content()
    reference = (PACKS / PACK / "reference" / "DECISIONS.md").read_text()
    assert "identical by construction" in reference
    assert "identical by construction" not in text, "the reference leaked into the feedback"
    story.look(candidate, "candidate-feedback")
