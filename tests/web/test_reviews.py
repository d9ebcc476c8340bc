"""Blind review through the API and its services: what a reviewer sees before and after
submitting their scorecard, names replaced by the alias, disagreements, agreement."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from review_support import HUMAN, card, report, scoreable_run
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_support import EMAIL, NAME, World

from proofwork import history
from proofwork.analysis.agreement import alpha
from proofwork.challenges import discover
from proofwork.config import Settings
from proofwork.engine import GradeRequest, grade, review_material
from proofwork.reports.html import render_html
from proofwork.store.models import Candidate, Organisation, Role, Run, RunState, User, utcnow
from proofwork.web import admin
from proofwork.web.app import Services
from proofwork.web.auth import Principal
from proofwork.web.reviews import agreement, blind, scoring, service
from proofwork.web.reviews.schemas import ScorecardIn

ALIAS = "Candidate 1A2B3C"


@dataclass
class Round:
    run_id: str
    headers: dict[str, dict[str, str]]
    principals: dict[str, Principal]


@pytest.fixture
def round_(services: Services, world: World) -> Round:
    """World's org with a second reviewer and a scoreable run by Ada Lovelace."""
    with services.factory() as session:
        candidate = session.get_one(Candidate, world.ids["candidate_id"])
        org = session.get_one(Organisation, candidate.org_id)
        second = admin.create_user(
            session=session, org=org, email="grace@acme.test", role=Role.REVIEWER, name="Grace"
        )
        token = admin.create_token(session=session, org=org, role=Role.REVIEWER, user=second)[1]
        run = scoreable_run(
            session, services.blobs, candidate=candidate, assessment_id=world.ids["assessment_id"]
        )
        first = admin.find_user(session=session, email="reviewer@acme.test")
        owner = admin.find_user(session=session, email="owner@acme.test")
        session.commit()
        principals = {
            "reviewer": Principal(org.id, Role.REVIEWER, user_id=first.id),
            "second": Principal(org.id, Role.REVIEWER, user_id=second.id),
            "owner": Principal(org.id, Role.OWNER, user_id=owner.id),
        }
    headers = {p: world.headers(p) for p in ("reviewer", "owner", "recruiter")}
    headers["second"] = {"Authorization": f"Bearer {token}"}
    return Round(run.id, headers, principals)


def _put(client: TestClient, round_: Round, who: str, body: dict[str, object]) -> int:
    url = f"/api/v1/runs/{round_.run_id}/scorecards/mine"
    return client.put(url, headers=round_.headers[who], json=body).status_code


def test_before_submitting_a_reviewer_gets_neither_others_scores_nor_machine_levels(
    client: TestClient, round_: Round
) -> None:
    assert _put(client, round_, "second", card((4, 4))) == 200
    assert _put(client, round_, "reviewer", card((1, 2), submit=False)) == 200  # a draft
    cards = client.get(
        f"/api/v1/runs/{round_.run_id}/scorecards", headers=round_.headers["reviewer"]
    )
    assert [c["levels"] for c in cards.json()] == [{HUMAN[0]: 1, HUMAN[1]: 2}]  # only their own
    run = client.get(f"/api/v1/runs/{round_.run_id}", headers=round_.headers["reviewer"]).json()
    assert [s["name"] for s in run["summary"]["signals"]] == list(HUMAN)
    listed = client.get("/api/v1/runs", headers=round_.headers["reviewer"]).text
    assert "production_readiness" not in listed
    for path in ("report", "report.html"):
        hidden = client.get(
            f"/api/v1/runs/{round_.run_id}/{path}", headers=round_.headers["reviewer"]
        )
        assert hidden.status_code == 403 and "submit your scorecard" in hidden.text
    # Owners oversee the scoring: they see every card and the levels.
    owner_cards = client.get(
        f"/api/v1/runs/{round_.run_id}/scorecards", headers=round_.headers["owner"]
    )
    assert len(owner_cards.json()) == 2


def test_after_submitting_they_see_the_others_the_levels_and_an_alias_in_the_report(
    client: TestClient, round_: Round
) -> None:
    assert _put(client, round_, "second", card((4, 4))) == 200
    assert _put(client, round_, "reviewer", card((1, 3))) == 200
    headers = round_.headers["reviewer"]
    cards = client.get(f"/api/v1/runs/{round_.run_id}/scorecards", headers=headers).json()
    assert sorted(c["levels"][HUMAN[0]] for c in cards) == [1, 4]
    assert all(c["justifications"][HUMAN[0]] for c in cards)
    run = client.get(f"/api/v1/runs/{round_.run_id}", headers=headers).json()
    assert "production_readiness" in [s["name"] for s in run["summary"]["signals"]]
    for path in ("report", "report.html"):
        shown = client.get(f"/api/v1/runs/{round_.run_id}/{path}", headers=headers)
        assert shown.status_code == 200 and ALIAS in shown.text
        assert NAME not in shown.text and EMAIL not in shown.text and "Lovelace" not in shown.text
    owner_report = client.get(
        f"/api/v1/runs/{round_.run_id}/report", headers=round_.headers["owner"]
    )
    assert NAME in owner_report.text  # the hiring team's own copy is the candidate's work as sent


def test_submitting_needs_a_level_and_a_written_justification_for_every_rubric_signal(
    client: TestClient, round_: Round
) -> None:
    one_signal = {**card((2, 2)), "levels": {HUMAN[0]: 2}}
    assert _put(client, round_, "reviewer", one_signal) == 422
    machine = {**card((2, 2)), "levels": {HUMAN[0]: 2, HUMAN[1]: 2, "production_readiness": 4}}
    assert _put(client, round_, "reviewer", {**machine, "submit": False}) == 422
    blank = {**card((2, 2)), "justifications": {HUMAN[0]: "fine", HUMAN[1]: "   "}}
    url = f"/api/v1/runs/{round_.run_id}/scorecards/mine"
    refused = client.put(url, headers=round_.headers["reviewer"], json=blank)
    assert refused.status_code == 422
    assert "none for Tradeoff reasoning" in refused.json()["error"]["message"]
    assert _put(client, round_, "reviewer", {**blank, "submit": False}) == 200  # a draft may
    assert _put(client, round_, "reviewer", card((2, 2))) == 200


def test_the_redactor_replaces_name_email_and_name_parts_but_not_other_words(
    session: Session, world: World
) -> None:
    candidate = session.get_one(Candidate, world.ids["candidate_id"])
    hide = blind.redactor(candidate)
    text = (
        "ADA LOVELACE wrote this; ada.lovelace@example.org, ada.lovelace, Lovelace's adapter; "
        "Ada  Lovelace said: use the adapter (ADA); see ada-lovelace.zip, @AdaLovelace"
    )
    assert hide(text) == (
        f"{ALIAS} wrote this; {ALIAS}, {ALIAS}, {ALIAS}'s adapter; "
        f"{ALIAS} said: use the adapter ({ALIAS}); see {ALIAS}.zip, @{ALIAS}"
    )
    candidate.name = "Seán O'Brien"
    assert blind.redactor(candidate).data("<p>Se\u00e1n O&#x27;Brien</p>".encode()) == (
        f"<p>{ALIAS}</p>".encode()
    )


def test_the_scoring_sheet_is_blind_and_names_the_candidate_only_by_alias(
    client: TestClient, round_: Round, services: Services, session: Session
) -> None:
    assert _put(client, round_, "second", card((4, 1))) == 200
    reviewer = round_.principals["reviewer"]
    sheet = scoring.sheet(
        session=session, principal=reviewer, blobs=services.blobs, run_id=round_.run_id
    )
    assert sheet.alias == ALIAS and not sheet.sees_scores
    assert [s.name for s in sheet.rubric] == list(HUMAN)
    assert [lv.label for lv in sheet.rubric[0].levels][-1] == "Argues"
    assert sheet.machine == [] and sheet.cards == [] and sheet.disagreements == []
    shown = repr((sheet.material, sheet.history))
    assert (
        NAME not in shown and EMAIL not in shown and "Lovelace" not in shown and "Ada" not in shown
    )
    assert sheet.history is not None
    assert [c["author"] for c in sheet.history["commits"]] == ["Proofwork kit", ALIAS]
    assert any(ALIAS in line for _, line in sheet.history["diff"])

    assert _put(client, round_, "reviewer", card((1, 2))) == 200
    session.expire_all()
    after = scoring.sheet(
        session=session, principal=reviewer, blobs=services.blobs, run_id=round_.run_id
    )
    assert after.submitted and after.sees_scores
    assert [s.name for s in after.machine] == ["production_readiness"]
    assert [c.mine for c in after.cards] == [True, False]
    # 1 against 4 on the first signal is flagged; 2 against 1 on the second is not.
    assert [(d.signal, d.spread) for d in after.disagreements] == [(HUMAN[0], 3)]
    assert after.alias == ALIAS  # still blind to the name: only the hiring team sees it


def test_the_queue_lists_done_runs_with_rubric_signals_until_the_reviewer_submits(
    client: TestClient, round_: Round, session: Session
) -> None:
    reviewer = round_.principals["reviewer"]
    queued = scoring.queue(session=session, principal=reviewer)
    # The world's own run has no rubric signals awaiting review: nothing to score there.
    assert [(q.run_id, q.alias, q.draft) for q in queued] == [(round_.run_id, ALIAS, False)]
    assert _put(client, round_, "reviewer", card((2, 2), submit=False)) == 200
    assert scoring.queue(session=session, principal=reviewer)[0].draft
    assert _put(client, round_, "reviewer", card((2, 2))) == 200
    assert scoring.queue(session=session, principal=reviewer) == []
    assert len(scoring.queue(session=session, principal=round_.principals["second"])) == 1
    # A re-run of the submission is a new grade: it takes the older run's place in the queue.
    first = session.get_one(Run, round_.run_id)
    rerun = Run(
        org_id=first.org_id, submission_id=first.submission_id, state=RunState.DONE,
        report_sha256=first.report_sha256, summary=first.summary, levels=first.levels,
        finished_at=utcnow() + dt.timedelta(minutes=1),
    )  # fmt: skip
    session.add(rerun)
    session.commit()
    assert [q.run_id for q in scoring.queue(session=session, principal=reviewer)] == [rerun.id]
    second = scoring.queue(session=session, principal=round_.principals["second"])
    assert [q.run_id for q in second] == [rerun.id]


def test_agreement_waits_for_two_reviewers_with_five_each_then_reads_alpha(
    services: Services, round_: Round, world: World, session: Session
) -> None:
    candidate = session.get_one(Candidate, world.ids["candidate_id"])
    runs = [round_.run_id] + [
        scoreable_run(
            session, services.blobs, candidate=candidate, assessment_id=world.ids["assessment_id"]
        ).id
        for _ in range(4)
    ]
    session.commit()
    # Near agreement with variation: ordinal alpha is high.
    levels = {"reviewer": [0, 1, 2, 3, 4], "second": [0, 1, 2, 4, 4]}
    principals = round_.principals

    def score(who: str, upto: int) -> None:
        for run_id, level in list(zip(runs, levels[who], strict=True))[:upto]:
            body = ScorecardIn.model_validate(card((level, level)))
            service.save_scorecard(
                session=session, principal=principals[who], run_id=run_id, data=body
            )

    owner = principals["owner"]
    titles = {HUMAN[0]: "Business understanding"}
    score("reviewer", 5)
    score("second", 4)
    waiting = agreement.agreement(
        session=session, principal=owner, assessment_id=world.ids["assessment_id"], titles=titles
    )
    assert not waiting.ready and waiting.overall is None
    assert "at least 2 reviewers have each scored at least 5" in waiting.missing
    assert waiting.scored_by == [("Grace", 4), ("reviewer@acme.test", 5)]
    service.save_scorecard(
        session=session,
        principal=principals["second"],
        run_id=runs[4],
        data=ScorecardIn.model_validate(card((4, 4))),
    )
    ready = agreement.agreement(
        session=session, principal=owner, assessment_id=world.ids["assessment_id"], titles=titles
    )
    assert ready.ready and ready.missing == ""
    assert [(a.name, a.title, a.units, a.reviewers) for a in ready.signals] == [
        (HUMAN[0], "Business understanding", 5, 2),
        (HUMAN[1], "Tradeoff reasoning", 5, 2),
    ]
    assert ready.overall is not None and ready.overall.units == 10
    units = [[0, 0], [1, 1], [2, 2], [3, 4], [4, 4]]
    assert ready.signals[0].value == pytest.approx(alpha(units, "ordinal"))
    assert ready.signals[0].reading == "reliable" and (ready.signals[0].value or 0) > 0.9
    assert ready.overall.value == pytest.approx(alpha(units + units, "ordinal"))


def _git(folder: Path, *args: str, author: str = "", when: str = "") -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(folder), "GIT_CONFIG_NOSYSTEM": "1"}
    if when:
        env |= {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    if author:
        name, email = author.split(" <")
        env |= {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email.rstrip(">")}
        env |= {"GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email.rstrip(">")}
    subprocess.run(["git", *args], cwd=folder, env=env, check=True, capture_output=True)


def test_a_real_history_and_decisions_file_reach_the_reviewer_under_the_alias(
    tmp_path: Path, services: Services, world: World, session: Session
) -> None:
    starter, work = tmp_path / "starter", tmp_path / "work"
    starter.mkdir()
    (starter / "app.py").write_text("def create():\n    pass\n")
    shutil.copytree(starter, work)
    _git(work, "init", "-q", "-b", "main")
    _git(work, "add", ".")
    _git(
        work,
        "commit",
        "-qm",
        "starter",
        author=f"Proofwork kit <{history.KIT_EMAIL}>",
        when="2026-01-05T09:00:00Z",
    )
    (work / "DECISIONS.md").write_text(f"# Decisions\n\nSigned: {NAME} ({EMAIL})\n")
    (work / "app.py").write_text(f"def create():\n    # {NAME.split()[1]}: retries are safe\n")
    _git(work, "add", ".")
    _git(
        work,
        "commit",
        "-qm",
        f"{NAME.split()[0]} adds keys",
        author=f"{NAME} <{EMAIL}>",
        when="2026-01-05T11:00:00Z",
    )
    # What the engine puts in a report: the history section and the review material.
    found = history.read(work, 240, starter)
    material = review_material(work, None)
    assert NAME in found["commits"][1]["author"] and NAME in material["DECISIONS.md"]
    candidate = session.get_one(Candidate, world.ids["candidate_id"])
    body = {**report(NAME, EMAIL), "history": found, "review": material}
    run = scoreable_run(
        session, services.blobs, candidate=candidate, assessment_id=world.ids["assessment_id"],
        body=body,
    )  # fmt: skip
    session.commit()
    reviewer = session.scalar(select(User).where(User.email == "reviewer@acme.test"))
    assert reviewer is not None
    principal = Principal(candidate.org_id, Role.REVIEWER, user_id=reviewer.id)
    sheet = scoring.sheet(session=session, principal=principal, blobs=services.blobs, run_id=run.id)
    shown = repr((sheet.material, sheet.history))
    for secret in (NAME, EMAIL, "Lovelace", "Ada"):
        assert secret not in shown
    assert sheet.material["DECISIONS.md"] == f"# Decisions\n\nSigned: {ALIAS} ({ALIAS})\n"
    assert sheet.history is not None
    assert [c["author"] for c in sheet.history["commits"]] == ["Proofwork kit", ALIAS]
    assert f"{ALIAS} adds keys" in [c["subject"] for c in sheet.history["commits"]]
    assert ("add", f"+    # {ALIAS}: retries are safe") in sheet.history["diff"]


@pytest.mark.slow
def test_a_real_grade_reaches_the_reviewer_under_the_alias_before_and_after_submitting(
    tmp_path: Path, services: Services, world: World, session: Session, client: TestClient,
    settings: Settings,
) -> None:  # fmt: skip
    # The sales-ledger kit as a candidate gets it, then their commit carrying their name.
    work = tmp_path / "work"
    shutil.copytree(discover().get("sales-ledger").path("starter"), work)
    _git(work, "init", "-q", "-b", "main")
    _git(work, "add", ".")
    _git(work, "commit", "-qm", "starter", author=f"Proofwork kit <{history.KIT_EMAIL}>",
         when="2026-01-05T09:00:00Z")  # fmt: skip
    (work / "DECISIONS.md").write_text(f"# Decisions\n\n{NAME} ({EMAIL}): append-only.\n")
    with (work / "ledger.py").open("a") as source:
        source.write(f"# {NAME}: rounding happens once, at the end\n")
    _git(work, "add", ".")
    _git(work, "commit", "-qm", f"{NAME.split()[0]}: decisions", author=f"{NAME} <{EMAIL}>",
         when="2026-01-05T10:00:00Z")  # fmt: skip
    graded = grade(
        GradeRequest(source=work, settings=settings, challenge="sales-ledger", probes=["static"])
    )
    body = graded.to_json()
    assert NAME in json.dumps(body)  # the report itself is the candidate's work as sent
    candidate = session.get_one(Candidate, world.ids["candidate_id"])
    run = scoreable_run(
        session, services.blobs, candidate=candidate, assessment_id=world.ids["assessment_id"],
        body=body,
    )  # fmt: skip
    run.html_sha256 = services.blobs.put(session, [render_html(graded).encode()]).sha256
    session.commit()
    reviewer = session.scalar(select(User).where(User.email == "reviewer@acme.test"))
    assert reviewer is not None
    principal = Principal(candidate.org_id, Role.REVIEWER, user_id=reviewer.id)
    sheet = scoring.sheet(session=session, principal=principal, blobs=services.blobs, run_id=run.id)
    assert [s.name for s in sheet.rubric] == list(HUMAN)
    assert len(sheet.rubric[0].levels) == 5 and sheet.machine == []
    assert sheet.material["DECISIONS.md"] == f"# Decisions\n\n{ALIAS} ({ALIAS}): append-only.\n"
    assert sheet.history is not None
    assert [c["author"] for c in sheet.history["commits"]] == ["Proofwork kit", ALIAS]
    assert ("add", f"+# {ALIAS}: rounding happens once, at the end") in sheet.history["diff"]
    for secret in (NAME, EMAIL, "Lovelace", "Ada"):
        assert secret not in repr((sheet.material, sheet.history))
    # After submitting, the reviewer reads the report: the alias there too, JSON and HTML.
    headers = world.headers("reviewer")
    url = f"/api/v1/runs/{run.id}"
    assert (
        client.put(f"{url}/scorecards/mine", headers=headers, json=card((2, 3))).status_code == 200
    )
    for path in ("report", "report.html"):
        shown = client.get(f"{url}/{path}", headers=headers)
        assert shown.status_code == 200 and ALIAS in shown.text
        for secret in (NAME, EMAIL, "Lovelace"):
            assert secret not in shown.text, (path, secret)
