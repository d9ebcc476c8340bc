"""The hiring team's pages in a real browser: dashboard, new assessment, invitations (one, CSV,
resend, revoke), the pipeline sorted and paged, compare, decisions and deleting a candidate."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hiring_support import Graded, add_candidate, build_report, hiring_assessment, share_code
from pages_support import LiveServer, Seeded, SmtpServer, first_link, mail_text
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from proofwork.store.database import unit_of_work
from proofwork.store.models import (
    Candidate,
    Decision,
    Invitation,
    InvitationState,
    Outcome,
    RunState,
)
from proofwork.web.auth import hash_secret

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NONE = "\N{EN DASH}"  # what a cell without a value shows

Axe = Callable[[Page], object]
Shot = Callable[[Page, str], Path]
SignIn = Callable[..., None]


class Round:
    """The module's organisation and an orders-api round with candidates at every stage."""

    def __init__(self, server: LiveServer, seeded: Seeded) -> None:
        self.server, self.seeded = server, seeded
        rng = random.Random(12)  # noqa: S311 - reproducible test data, not secrets
        reports: list[Graded] = [build_report(rng, quality=q) for q in (0.15, 0.55, 0.95)]
        reviewer = seeded.user_ids["reviewer"]
        card = {"business_understanding": 3, "tradeoff_reasoning": 2}
        with unit_of_work(server.services.factory) as session:
            blobs = server.services.blobs
            assessment = hiring_assessment(session, seeded.org_id, "Backend hire")
            self.assessment_id = assessment.id
            people = [
                add_candidate(session, blobs, assessment, "Ivy Invited"),
                add_candidate(session, blobs, assessment, "Stan Started", opened=True),
                add_candidate(session, blobs, assessment, "Sue Submitted",
                              run_state=RunState.RUNNING),
                add_candidate(session, blobs, assessment, "Gus Graded", graded=reports[0]),
                add_candidate(session, blobs, assessment, "Mia Middle", graded=reports[1]),
                add_candidate(session, blobs, assessment, "Rita Reviewed", graded=reports[2],
                              reviews=[(reviewer, card)]),
                add_candidate(session, blobs, assessment, "Ada Advanced", graded=reports[2],
                              reviews=[(reviewer, card)], outcome=Outcome.ADVANCE),
            ]  # fmt: skip
            self.ids = {p.name: p.id for p in people}
            share_code(
                session, assessment, [(self.ids["Gus Graded"], self.ids["Rita Reviewed"], 0.64)]
            )

    def path(self, tail: str = "") -> str:
        return f"/assessments/{self.assessment_id}{tail}"

    def count(self, model: type, *where: object) -> int:
        with unit_of_work(self.server.services.factory) as session:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.fixture(scope="module")
def acme(live_server: LiveServer) -> Round:
    return Round(live_server, live_server.seed("Acme"))


def _owner(page: Page, sign_in: SignIn, acme: Round) -> None:
    sign_in(page, acme.seeded.emails["owner"])


def test_the_dashboard_counts_each_step_and_is_reached_by_keyboard(
    page: Page, acme: Round, sign_in: SignIn, axe: Axe, shot: Shot
) -> None:
    _owner(page, sign_in, acme)
    page.goto("/assessments")
    row = page.get_by_role("row", name=re.compile("Backend hire"))
    # invited, started, submitted, graded, reviewed, decided
    expect(row.get_by_role("cell")).to_have_text(
        ["orders-api", "7", "6", "5", "4", "2", "1", re.compile(r"\d{4}-\d\d-\d\d")]
    )
    axe(page)
    shot(page, "hiring-dashboard")
    link = page.get_by_role("link", name="Backend hire")
    for _ in range(30):
        page.keyboard.press("Tab")
        if link.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("the assessment's link is not reachable with Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(acme.path())


def test_a_reviewer_is_not_shown_the_hiring_pages(page: Page, acme: Round, sign_in: SignIn) -> None:
    sign_in(page, acme.seeded.emails["reviewer"])
    expect(page.get_by_role("link", name="Assessments")).to_have_count(0)
    response = page.goto(acme.path())
    assert response is not None and response.status == 403
    expect(page.get_by_text("does not allow this page")).to_be_visible()


def test_a_new_assessment_shows_the_brief_and_says_which_field_is_wrong(
    page: Page, acme: Round, sign_in: SignIn, axe: Axe, shot: Shot
) -> None:
    _owner(page, sign_in, acme)
    page.goto("/assessments/new")
    page.get_by_label("Pack").select_option("orders-api")
    page.get_by_role("button", name="Preview this pack's brief").click()
    brief = page.get_by_role("region", name=re.compile("Brief of"))
    expect(brief).to_contain_text("R6 Stock")
    page.get_by_label("Title").fill("Platform hire")
    page.get_by_label("Time box (minutes)").fill("0")
    page.get_by_label("Invitations expire after (hours)").fill("a week")
    page.get_by_role("button", name="Create the assessment").click()
    expect(page.get_by_role("alert")).to_contain_text("The assessment was not created")
    expect(page.get_by_label("Time box (minutes)")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("whole number of minutes, from 1")).to_be_visible()
    expect(page.get_by_text("whole number of hours")).to_be_visible()
    axe(page)
    shot(page, "hiring-new-assessment-errors")
    page.get_by_label("Time box (minutes)").fill("150")
    page.get_by_label("Invitations expire after (hours)").fill("72")
    page.get_by_label("Candidates see their feedback").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Create the assessment").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Platform hire")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("The assessment is ready")
    expect(page.get_by_text("time box 150 minutes")).to_be_visible()
    expect(page.get_by_text("candidates see feedback after the decision")).to_be_visible()


def test_invitations_one_by_one_and_from_a_file_are_mailed_and_a_bad_file_invites_nobody(
    page: Page, acme: Round, sign_in: SignIn, axe: Axe, shot: Shot, smtp_server: SmtpServer
) -> None:
    _owner(page, sign_in, acme)
    page.goto(acme.path("/invite"))
    page.get_by_label("Name").fill("Grace Hopper")
    page.get_by_label("E-mail").fill("grace@example.org")
    page.get_by_role("button", name="Invite and send the link").click()
    expect(page.get_by_role("status")).to_contain_text("Grace Hopper <grace@example.org>")
    link = first_link(mail_text(smtp_server.wait_for("grace@example.org", "Backend hire")))
    token = re.fullmatch(r"http://127\.0\.0\.1:\d+/i/(pwi_[\w-]+)/", link)
    assert token, link
    assert acme.count(Invitation, Invitation.token_hash == hash_secret(token[1])) == 1

    before = acme.count(Invitation)
    bad = b"name,email\nAlan Turing,alan@example.org\nNo Address\nAda,grace@example.org\n"
    page.get_by_label("CSV file", exact=True).set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": bad}
    )
    page.get_by_role("button", name="Invite everyone in the file").click()
    problems = page.get_by_role("alert")
    expect(problems).to_contain_text("Nobody was invited")
    expect(problems).to_contain_text("line 3: expected 2 values (name,email), found 1")
    axe(page)
    shot(page, "hiring-invite-bad-file")
    assert acme.count(Invitation) == before
    assert acme.count(Candidate, Candidate.email == "alan@example.org") == 0

    good = b'Alan Turing,alan@example.org\n"Hamilton, Margaret",margaret@example.org\n'
    page.get_by_label("CSV file", exact=True).set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": good}
    )
    page.get_by_role("button", name="Invite everyone in the file").click()
    expect(page.get_by_role("status")).to_contain_text("Invited 2 people")
    smtp_server.wait_for("alan@example.org", "Backend hire")
    smtp_server.wait_for("margaret@example.org", "Backend hire")
    assert acme.count(Invitation) == before + 2
    axe(page)
    shot(page, "hiring-invite-done")


def test_a_resent_link_replaces_the_old_one_and_revoking_ends_it(
    page: Page, acme: Round, sign_in: SignIn, axe: Axe, shot: Shot, smtp_server: SmtpServer
) -> None:
    _owner(page, sign_in, acme)
    ivy = acme.ids["Ivy Invited"]
    page.goto(acme.path(f"/candidates/{ivy}"))
    axe(page)
    shot(page, "hiring-candidate")
    page.get_by_role("button", name="Resend the link").click()
    expect(page.get_by_role("status")).to_contain_text("old one no longer works")
    link = first_link(mail_text(smtp_server.wait_for("ivy.invited@example.org")))
    token = link.rstrip("/").rsplit("/", 1)[1]
    with unit_of_work(acme.server.services.factory) as session:
        held = session.scalars(select(Invitation).where(Invitation.candidate_id == ivy)).all()
    assert [i.token_hash for i in held] == [hash_secret(token)]
    page.get_by_role("button", name="Revoke the invitation").click()
    expect(page.get_by_role("status")).to_contain_text("revoked")
    assert acme.count(Invitation, Invitation.candidate_id == ivy,
                      Invitation.state == InvitationState.REVOKED) == 1  # fmt: skip
    expect(page.get_by_role("button", name="Resend the link")).to_have_count(0)


def _column(page: Page, index: int) -> list[str]:
    cells = page.locator(f"table.pipeline tbody tr > :nth-child({index})")
    return [text.strip() for text in cells.all_inner_texts()]


def test_the_pipeline_sorts_on_the_server_by_each_signal_and_pages(
    page: Page, acme: Round, sign_in: SignIn, axe: Axe, shot: Shot
) -> None:
    _owner(page, sign_in, acme)
    page.goto(acme.path())
    axe(page)
    shot(page, "hiring-pipeline")
    header = page.get_by_role("link", name="Production readiness")
    header.focus()
    page.keyboard.press("Enter")  # sorting works from the keyboard
    expect(page).to_have_url(re.compile(r"\?sort=production_readiness$"))
    levels = [v for v in _column(page, 5) if v != NONE]
    assert levels == sorted(levels) and len(levels) == 4
    expect(
        page.get_by_role("columnheader", name=re.compile("Production readiness"))
    ).to_have_attribute("aria-sort", "ascending")
    page.get_by_role("link", name="Production readiness").click()
    expect(page).to_have_url(re.compile(r"\?sort=-production_readiness$"))
    descending = [v for v in _column(page, 5) if v != NONE]
    assert descending == sorted(levels, reverse=True)
    assert _column(page, 5)[-1] == NONE, "candidates without a run sort last"
    page.get_by_role("link", name="Name").click()
    names = [cell.splitlines()[0] for cell in _column(page, 2)]
    assert names == sorted(names, key=str.lower)
    expect(page.get_by_text("Page 1 of 1")).to_be_visible()


def test_compare_lays_out_two_candidates_chosen_with_the_keyboard(
    page: Page, acme: Round, sign_in: SignIn, axe: Axe, shot: Shot
) -> None:
    _owner(page, sign_in, acme)
    page.goto(acme.path())
    for name in ("Gus Graded", "Rita Reviewed"):
        page.get_by_role("checkbox", name=f"Compare {name}").focus()
        page.keyboard.press("Space")
    page.get_by_role("button", name="Compare the ticked candidates").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Compare 2 candidates")).to_be_visible()
    table = page.locator("table.compare")
    expect(table.get_by_role("columnheader")).to_have_text(["Gus Graded", "Rita Reviewed"])
    expect(table.get_by_role("row", name=re.compile(r"^R6 Stock"))).to_contain_text("of 8 failed")
    expect(table.get_by_role("row", name=re.compile(r"^Capacity \("))).to_contain_text(
        "\N{MULTIPLICATION SIGN}"
    )
    expect(table.get_by_role("row", name=re.compile("^Planted bugs caught"))).to_contain_text("%")
    expect(table.get_by_role("row", name=re.compile("^Scorecards"))).to_contain_text(
        "Business understanding 3"
    )
    expect(table.get_by_role("row", name=re.compile("^Shares code with"))).to_contain_text(
        "64% with Rita Reviewed"
    )
    axe(page)
    shot(page, "hiring-compare")
    response = page.goto(acme.path(f"/compare?c={acme.ids['Gus Graded']}"))
    assert response is not None and response.status == 422
    expect(page.get_by_text("choose 2 to 5 candidates")).to_be_visible()


def test_a_decision_needs_a_reason_and_is_recorded(
    page: Page, acme: Round, sign_in: SignIn, axe: Axe, shot: Shot
) -> None:
    sign_in(page, acme.seeded.emails["recruiter"])
    mia = acme.ids["Mia Middle"]
    page.goto(acme.path(f"/candidates/{mia}"))
    expect(page.get_by_role("link", name=re.compile("^Delete"))).to_have_count(0)
    page.get_by_label("Advance").check()
    page.get_by_label("Reason").fill("   ")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("Give the reason for the decision")).to_be_visible()
    axe(page)
    page.get_by_label("Reason").fill("Solid money handling; ask about R6 in the interview.")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("status")).to_contain_text("The decision was recorded")
    expect(page.get_by_text("Solid money handling")).to_be_visible()
    assert acme.count(Decision, Decision.candidate_id == mia,
                      Decision.outcome == Outcome.ADVANCE) == 1  # fmt: skip
    shot(page, "hiring-decision")
    response = page.goto(acme.path(f"/candidates/{mia}/delete"))
    assert response is not None and response.status == 403


def test_an_owner_deletes_a_candidate_and_everything_about_them_after_confirming(
    page: Page, acme: Round, sign_in: SignIn, axe: Axe, shot: Shot
) -> None:
    _owner(page, sign_in, acme)
    gus = acme.ids["Gus Graded"]
    page.goto(acme.path(f"/candidates/{gus}"))
    page.get_by_role("link", name="Delete Gus Graded…").click()
    expect(page.get_by_role("heading", name="Delete Gus Graded?")).to_be_visible()
    axe(page)
    shot(page, "hiring-delete-confirm")
    page.get_by_role("link", name="Keep them").click()
    assert acme.count(Candidate, Candidate.id == gus) == 1
    page.goto(acme.path(f"/candidates/{gus}/delete"))
    page.get_by_role("button", name="Delete Gus Graded for good").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("everything about them were deleted")
    assert acme.count(Candidate, Candidate.id == gus) == 0
    expect(page.get_by_role("link", name="Gus Graded")).to_have_count(0)
