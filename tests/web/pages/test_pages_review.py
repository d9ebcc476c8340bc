"""Reviewer pages in a real browser: the queue, blind scoring, what stays hidden before a
reviewer submits (in the page and through the API with the same session), agreement."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from pages_support import LiveServer, Seeded
from playwright.sync_api import Page, expect
from review_support import HUMAN, scoreable_run

from proofwork.analysis.agreement import alpha, reading
from proofwork.store.database import unit_of_work
from proofwork.store.models import Assessment, Candidate, Organisation, Role, Scorecard
from proofwork.web import admin

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Axe = Callable[[Page], object]
Shot = Callable[[Page, str], Path]
SignIn = Callable[..., None]

NAME, EMAIL, ALIAS = "Ada Lovelace", "ada.lovelace@example.org", "Candidate ADA001"
OTHERS_REASON = "Second reviewer: the trade-offs are argued with numbers"
SECOND = "grace@acme.test"


@dataclass
class Review:
    seeded: Seeded
    run_id: str  # scored in the browser
    api_run_id: str  # asked about through the API
    agreement_id: str  # an assessment with enough scorecards for alpha
    waiting_id: str  # an assessment without


def _card(org_id: str, run_id: str, reviewer_id: str, levels: tuple[int, int]) -> Scorecard:
    return Scorecard(
        org_id=org_id,
        run_id=run_id,
        reviewer_id=reviewer_id,
        levels=dict(zip(HUMAN, levels, strict=True)),
        justifications={name: f"{name}: read it" for name in HUMAN},
        submitted_at=dt.datetime.now(dt.UTC),
    )


@pytest.fixture(scope="module")
def review(live_server: LiveServer) -> Review:
    """Acme with two reviewers; Ada's run, already scored by the second reviewer, who wrote her
    name into her work; and an assessment where both reviewers scored five submissions."""
    seeded = live_server.seed("Acme")
    services = live_server.services
    with unit_of_work(services.factory) as session:
        org = session.get_one(Organisation, seeded.org_id)
        live_server.add_user(session, org, SECOND, Role.REVIEWER)
        second_id = admin.find_user(session=session, email=SECOND).id
        reviewer_id = seeded.user_ids["reviewer"]
        rounds = [
            Assessment(org_id=org.id, title=title, time_box_minutes=240)
            for title in ("Orders API, spring", "Orders API, calibration", "Sales ledger")
        ]
        ada = Candidate(org_id=org.id, name=NAME, email=EMAIL, alias=ALIAS)
        session.add_all([*rounds, ada])
        session.flush()
        run = scoreable_run(session, services.blobs, candidate=ada, assessment_id=rounds[0].id)
        api_run = scoreable_run(session, services.blobs, candidate=ada, assessment_id=rounds[0].id)
        theirs = _card(org.id, run.id, second_id, (4, 2))
        theirs.justifications = {name: OTHERS_REASON for name in HUMAN}
        session.add(theirs)
        # Five submissions both scored: close on the first signal, one 0-against-4 on the second.
        theirs_first, theirs_second = [0, 1, 3, 3, 4], [4, 1, 3, 3, 4]
        for index, mine in enumerate(range(5)):
            person = Candidate(
                org_id=org.id, name=f"Person {index}", email=f"p{index}@x.test", alias=f"C{index}"
            )
            session.add(person)
            session.flush()
            unit = scoreable_run(
                session, services.blobs, candidate=person, assessment_id=rounds[1].id
            )
            session.add(_card(org.id, unit.id, reviewer_id, (mine, mine)))
            levels = (theirs_first[index], theirs_second[index])
            session.add(_card(org.id, unit.id, second_id, levels))
        return Review(seeded, run.id, api_run.id, rounds[1].id, rounds[2].id)


def _hidden_before_submitting(text: str) -> None:
    for secret in (
        NAME,
        EMAIL,
        "Lovelace",
        "Ada",
        OTHERS_REASON,
        "Production readiness",
        "Holds up",
    ):
        assert secret not in text, f"{secret!r} shown before the reviewer submitted"


def test_a_reviewer_scores_blind_then_sees_the_others_and_the_flag(
    page: Page, review: Review, sign_in: SignIn, axe: Axe, shot: Shot
) -> None:
    sign_in(page, review.seeded.emails["reviewer"])
    page.goto("/review")
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    expect(page.get_by_role("link", name=ALIAS).first).to_be_visible()
    _hidden_before_submitting(page.content())
    axe(page)
    shot(page, "review-queue")

    page.goto(f"/review/runs/{review.run_id}")
    expect(page.get_by_role("heading", name=f"Score {ALIAS}")).to_be_visible()
    expect(page.get_by_role("heading", name="DECISIONS.md")).to_be_visible()
    expect(page.get_by_text(f"By {ALIAS} <{ALIAS}>.")).to_be_visible()  # name and e-mail replaced
    expect(page.get_by_role("cell", name=ALIAS, exact=True)).to_be_visible()  # the commit author
    expect(page.locator("pre.diff .add").first).to_contain_text(ALIAS)
    expect(page.get_by_role("group", name="Business understanding")).to_be_visible()
    expect(page.get_by_label("4 Argues")).to_have_count(2)  # anchored levels, per signal
    _hidden_before_submitting(page.content())
    axe(page)
    shot(page, "review-score-blind")

    # Submitting without a reason for each level is refused, keeping what was entered.
    page.get_by_role("group", name="Business understanding").get_by_label(
        "1 Restates the brief"
    ).check()
    page.get_by_role("group", name="Tradeoff reasoning").get_by_label("2 Covers the rules").check()
    page.get_by_label("Why this level?").first.fill("Names the rules and their costs.")
    page.get_by_role("button", name="Submit scorecard").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "write why you chose each level: none for Tradeoff reasoning"
    )
    expect(
        page.get_by_role("group", name="Business understanding").get_by_label(
            "1 Restates the brief"
        )
    ).to_be_checked()
    _hidden_before_submitting(page.content())
    axe(page)
    shot(page, "review-score-refused")

    # The rest by keyboard: arrows move a level, then the second reason, Tab to Submit, Enter.
    tradeoff = page.get_by_role("group", name="Tradeoff reasoning")
    tradeoff.get_by_label("2 Covers the rules").focus()
    page.keyboard.press("ArrowDown")
    expect(tradeoff.get_by_label("3 Weighs options")).to_be_checked()
    page.keyboard.press("ArrowUp")
    expect(tradeoff.get_by_label("2 Covers the rules")).to_be_checked()
    page.get_by_label("Why this level?").nth(1).focus()
    page.keyboard.type("Weighs SQLite against a queue, no numbers.")
    page.keyboard.press("Tab")  # the overall note
    page.keyboard.press("Tab")  # Save draft
    page.keyboard.press("Tab")  # Submit scorecard
    expect(page.get_by_role("button", name="Submit scorecard")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Scorecard submitted")
    others = page.locator("#others")
    expect(others.get_by_text(OTHERS_REASON).first).to_be_visible()
    expect(others.get_by_text("Production readiness: level 3 (Holds up)")).to_be_visible()
    # 1 against the other's 4 is flagged; 2 against 2 is not.
    flag = others.get_by_role("note")
    expect(flag).to_contain_text("Flagged for a calibration discussion")
    expect(flag).to_contain_text("Business understanding: 3 levels apart")
    expect(flag).not_to_contain_text("Tradeoff reasoning")
    assert NAME not in page.content() and EMAIL not in page.content()
    axe(page)
    shot(page, "review-score-submitted")


def test_the_api_with_the_same_session_hides_the_same_until_the_reviewer_submits(
    page: Page, review: Review, sign_in: SignIn
) -> None:
    sign_in(page, SECOND)
    run_id = review.api_run_id
    # The second reviewer scores it first (through the API, with the page's session).
    body = {
        "levels": {HUMAN[0]: 4, HUMAN[1]: 4},
        "justifications": {name: OTHERS_REASON for name in HUMAN},
        "submit": True,
    }
    token = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    saved = page.request.put(
        f"/api/v1/runs/{run_id}/scorecards/mine", data=body, headers={"X-CSRF-Token": token}
    )
    assert saved.status == 200, saved.text()
    page.context.clear_cookies()
    sign_in(page, review.seeded.emails["reviewer"])
    cards = page.request.get(f"/api/v1/runs/{run_id}/scorecards")
    assert cards.status == 200 and cards.json() == []
    run = page.request.get(f"/api/v1/runs/{run_id}").json()
    assert [s["name"] for s in run["summary"]["signals"]] == list(HUMAN)
    report = page.request.get(f"/api/v1/runs/{run_id}/report")
    assert report.status == 403 and "submit your scorecard" in report.text()
    candidate = page.request.get(f"/api/v1/candidates/{run['candidate_id']}").text()
    assert NAME not in candidate and EMAIL not in candidate and ALIAS in candidate


def test_agreement_shows_alpha_with_its_reading_or_says_what_is_missing(
    page: Page, review: Review, sign_in: SignIn, axe: Axe, shot: Shot
) -> None:
    sign_in(page, review.seeded.emails["owner"])
    page.goto("/agreement")
    page.get_by_role("link", name="Sales ledger").click()
    expect(page.get_by_role("status")).to_contain_text(
        "at least 2 reviewers have each scored at least 5 submissions"
    )
    axe(page)
    shot(page, "review-agreement-waiting")
    page.goto(f"/agreement/{review.agreement_id}")
    table = page.get_by_role("table", name="Ordinal alpha per rubric signal")
    # Computed by hand from the seeded levels with analysis.agreement (tests/analysis).
    expected = {
        "Business understanding": alpha([[0, 0], [1, 1], [2, 3], [3, 3], [4, 4]], "ordinal"),
        "Tradeoff reasoning": alpha([[0, 4], [1, 1], [2, 3], [3, 3], [4, 4]], "ordinal"),
    }
    for title, value in expected.items():
        row = table.get_by_role("row", name=title)
        expect(row.get_by_role("cell").nth(0)).to_have_text(f"{value:.3f}")
        expect(row.get_by_role("cell").nth(1)).to_have_text(reading(value))
    assert [reading(v) for v in expected.values()] == ["reliable", "unreliable"]
    expect(table.get_by_role("row", name="All rubric signals")).to_be_visible()
    flagged = page.locator(".calibrations")
    expect(flagged).to_have_text(
        "C0: Tradeoff reasoning 4 levels apart (reviewer@acme.test 0, grace@acme.test 4)"
    )
    axe(page)
    shot(page, "review-agreement")


def test_outsiders_recruiters_and_forged_posts_reach_no_scoring_sheet(
    page: Page, review: Review, live_server: LiveServer, sign_in: SignIn, axe: Axe
) -> None:
    other = live_server.seed("Other")
    sign_in(page, other.emails["reviewer"])
    response = page.goto(f"/review/runs/{review.run_id}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("main")).not_to_contain_text(ALIAS)
    assert page.goto(f"/agreement/{review.agreement_id}").status == 404  # type: ignore[union-attr]
    page.context.clear_cookies()
    sign_in(page, review.seeded.emails["recruiter"])
    refused = page.goto("/review")
    assert refused is not None and refused.status == 403
    expect(page.get_by_role("main")).to_contain_text("does not allow this page")
    axe(page)
    page.context.clear_cookies()
    sign_in(page, review.seeded.emails["reviewer"])
    forged = page.request.post(
        f"/review/runs/{review.api_run_id}",
        form={"level-business_understanding": "4", "action": "save"},
    )
    assert forged.status == 403
    cards = page.request.get(f"/api/v1/runs/{review.api_run_id}/scorecards").json()
    assert cards == []  # nothing was saved
