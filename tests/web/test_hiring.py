"""The hiring service: counts, the pipeline, invitations one by one and by the file, comparing."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from hiring_support import Graded, add_candidate, build_report, hiring_assessment, share_code
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from web_support import World, tiny_archive

from proofwork.challenges import MACHINE_SIGNALS
from proofwork.store.blobs import BlobStore
from proofwork.store.models import (
    Assessment,
    Candidate,
    Invitation,
    InvitationState,
    Outcome,
    Role,
    RunState,
)
from proofwork.web import admin
from proofwork.web.app import Services
from proofwork.web.auth import Principal, hash_secret
from proofwork.web.errors import ApiError
from proofwork.web.hiring import service
from proofwork.web.hiring.compare import figures
from proofwork.web.hiring.roster import RosterError, parse_roster
from proofwork.web.invitations.service import resend_invitation, revoke_invitation


@dataclass
class Round:
    session: Session
    blobs: BlobStore
    owner: Principal
    outsider: Principal
    reviewers: list[str]
    assessment: Assessment


@pytest.fixture(scope="module")
def graded() -> list[Graded]:
    rng = random.Random(12)  # noqa: S311 - reproducible test data, not secrets
    return [build_report(rng, quality=q) for q in (0.1, 0.5, 0.9)]


@pytest.fixture
def hiring(services: Services, session: Session) -> Round:
    acme = admin.create_org(session=session, name="Acme")
    other = admin.create_org(session=session, name="Other")
    owner = admin.create_user(session=session, org=acme, email="o@acme.test", role=Role.OWNER)
    reviewers = [
        admin.create_user(session=session, org=acme, email=f"r{i}@acme.test", role=Role.REVIEWER).id
        for i in range(2)
    ]
    assessment = hiring_assessment(session, acme.id)
    return Round(
        session, services.blobs, Principal(acme.id, Role.OWNER, user_id=owner.id),
        Principal(other.id, Role.OWNER), reviewers, assessment,
    )  # fmt: skip


def _stages(r: Round, graded: list[Graded]) -> dict[str, Candidate]:
    """One candidate at each stage of the round."""
    a, s, b = r.assessment, r.session, r.blobs
    review = [(r.reviewers[0], {"business_understanding": 3, "tradeoff_reasoning": 2}),
              (r.reviewers[1], {"business_understanding": 4, "tradeoff_reasoning": 3})]  # fmt: skip
    return {
        "revoked": add_candidate(s, b, a, "Rex Revoked", revoked=True),
        "expired": add_candidate(s, b, a, "Eve Expired", expired=True),
        "invited": add_candidate(s, b, a, "Ivy Invited"),
        "started": add_candidate(s, b, a, "Stan Started", opened=True),
        "submitted": add_candidate(s, b, a, "Sue Submitted", run_state=RunState.RUNNING),
        "graded": add_candidate(s, b, a, "Gus Graded", graded=graded[0]),
        "reviewed": add_candidate(s, b, a, "Rita Reviewed", graded=graded[2], reviews=review),
        "rejected": add_candidate(s, b, a, "Rob Rejected", graded=graded[1], reviews=review[:1],
                                  outcome=Outcome.REJECT),
        "advanced": add_candidate(s, b, a, "Ada Advanced", graded=graded[2], reviews=review,
                                  outcome=Outcome.ADVANCE),
    }  # fmt: skip


@pytest.fixture
def statements(session: Session) -> Iterator[list[str]]:
    """The SQL statements the session runs while the test body does."""
    seen: list[str] = []
    engine = session.get_bind()

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_the_dashboard_counts_each_step_in_one_query(
    hiring: Round, graded: list[Graded], statements: list[str]
) -> None:
    _stages(hiring, graded)
    hiring_assessment(hiring.session, hiring.owner.org_id, "Empty round")
    statements.clear()
    found = service.dashboard(session=hiring.session, principal=hiring.owner)
    assert len(statements) == 1
    counts = {row.assessment.title: row.counts for row in found}
    assert counts["Backend hire"] == {
        "invited": 8, "started": 6, "submitted": 5, "graded": 4, "reviewed": 3, "decided": 2,
    }  # fmt: skip
    assert counts["Empty round"] == dict.fromkeys(counts["Empty round"], 0)
    assert service.dashboard(session=hiring.session, principal=hiring.outsider) == []


def test_the_pipeline_shows_each_candidates_stage_run_levels_and_reviews(
    hiring: Round, graded: list[Graded]
) -> None:
    people = _stages(hiring, graded)
    page = service.pipeline(
        session=hiring.session, principal=hiring.owner, assessment_id=hiring.assessment.id,
        sort="stage", page=1,
    )  # fmt: skip
    assert page.total == 9
    assert [row.stage for row in page.rows] == list(people)
    rita = next(row for row in page.rows if row.name == "Rita Reviewed")
    expected = {s["name"]: s["level"] for s in graded[2].summary["signals"]}
    assert rita.levels == {name: expected[name] for name in MACHINE_SIGNALS}
    assert rita.reviews == 2
    assert rita.review_levels == {"business_understanding": 3.5, "tradeoff_reasoning": 2.5}
    assert rita.review_score == 3.0
    assert rita.run_state == RunState.DONE and rita.email == "rita.reviewed@example.org"


@pytest.mark.parametrize("key", ["name", "stage", "run", "review", *MACHINE_SIGNALS])
def test_the_pipeline_sorts_by_every_column_both_ways_with_missing_values_last(
    hiring: Round, graded: list[Graded], key: str
) -> None:
    _stages(hiring, graded)
    for descending in (False, True):
        rows = service.pipeline(
            session=hiring.session, principal=hiring.owner, assessment_id=hiring.assessment.id,
            sort=f"-{key}" if descending else key, page=1,
        ).rows  # fmt: skip
        values = [_value(row, key) for row in rows]
        present = [v for v in values if v is not None]
        assert values[: len(present)] == present, "missing values sort last"
        assert present == sorted(present, reverse=descending)


def _value(row: service.PipelineRow, key: str) -> object:
    if key in MACHINE_SIGNALS:
        return row.levels[key]
    from proofwork.web.hiring.repository import STAGES

    return {
        "name": row.name.lower(),
        "stage": STAGES.index(row.stage),
        "run": row.run_created_at,
        "review": row.review_score,
    }[key]


def test_the_pipeline_pages_through_every_candidate_once(hiring: Round) -> None:
    for i in range(service.PAGE_SIZE + 3):
        add_candidate(hiring.session, hiring.blobs, hiring.assessment, f"Person {i:03}")
    pages = [
        service.pipeline(
            session=hiring.session, principal=hiring.owner, assessment_id=hiring.assessment.id,
            sort="-name", page=n,
        )
        for n in (1, 2)
    ]  # fmt: skip
    names = [row.name for page in pages for row in page.rows]
    assert pages[0].pages == 2 and pages[0].total == service.PAGE_SIZE + 3
    assert names == sorted({f"Person {i:03}" for i in range(service.PAGE_SIZE + 3)}, reverse=True)


def test_another_organisations_pipeline_does_not_exist(hiring: Round) -> None:
    with pytest.raises(ApiError) as caught:
        service.pipeline(
            session=hiring.session, principal=hiring.outsider,
            assessment_id=hiring.assessment.id, sort=None, page=1,
        )  # fmt: skip
    assert caught.value.status == 404


def test_an_unknown_sort_falls_back_to_the_name() -> None:
    assert service.parse_sort("-mystery") == ("name", False)
    assert service.parse_sort("-operability") == ("operability", True)


def _invitations(r: Round) -> int:
    return r.session.scalar(select(func.count()).select_from(Invitation)) or 0


def test_inviting_by_email_reuses_the_candidate_and_refuses_a_second_pending_link(
    hiring: Round,
) -> None:
    invite = dict(session=hiring.session, principal=hiring.owner,
                  assessment_id=hiring.assessment.id)  # fmt: skip
    first = service.invite(**invite, name="Grace Hopper", email="grace@example.org")
    assert hash_secret(first.token) == first.invitation.token_hash
    with pytest.raises(ApiError, match="already invited: resend"):
        service.invite(**invite, name="Grace H.", email="GRACE@example.org")
    with pytest.raises(ApiError, match="not an e-mail address"):
        service.invite(**invite, name="Nobody", email="nobody")
    other = hiring_assessment(hiring.session, hiring.owner.org_id, "Second round")
    again = service.invite(
        **{**invite, "assessment_id": other.id}, name="G", email="grace@example.org"
    )
    assert again.candidate.id == first.candidate.id


def test_a_resent_link_replaces_the_old_one_and_a_revoked_one_cannot_be_resent(
    hiring: Round,
) -> None:
    invited = service.invite(
        session=hiring.session, principal=hiring.owner, assessment_id=hiring.assessment.id,
        name="Grace Hopper", email="grace@example.org",
    )  # fmt: skip
    invitation, token = resend_invitation(
        session=hiring.session, principal=hiring.owner, invitation_id=invited.invitation.id
    )
    assert token != invited.token
    assert invitation.token_hash == hash_secret(token) != hash_secret(invited.token)
    revoke_invitation(session=hiring.session, principal=hiring.owner, invitation_id=invitation.id)
    with pytest.raises(ApiError, match="revoked; only a pending one is resent"):
        resend_invitation(
            session=hiring.session, principal=hiring.owner, invitation_id=invitation.id
        )
    assert invitation.state == InvitationState.REVOKED


def test_a_roster_invites_everyone_on_it() -> None:
    entries = parse_roster(b'name,email\nGrace Hopper,grace@example.org\n\n"Doe, Jane",j@x.org\n')
    assert [(e.line, e.name, e.email) for e in entries] == [
        (2, "Grace Hopper", "grace@example.org"),
        (4, "Doe, Jane", "j@x.org"),
    ]


def test_a_bad_roster_lists_every_bad_line() -> None:
    with pytest.raises(RosterError) as caught:
        parse_roster(
            b"Grace,grace@example.org\nno email here\n,x@y.org\nAda,ada\nG2,GRACE@example.org\n"
        )
    assert caught.value.problems == [
        "line 2: expected 2 values (name,email), found 1",
        "line 3: the name is empty",
        "line 4: ada is not an e-mail address",
        "line 5: GRACE@example.org is already on line 1",
    ]
    with pytest.raises(RosterError, match="not UTF-8"):
        parse_roster("Zoë,z@x.org".encode("latin-1"))
    with pytest.raises(RosterError, match="holds nobody"):
        parse_roster(b"name,email\n")


def test_a_roster_with_someone_already_invited_creates_nobody(hiring: Round) -> None:
    service.invite(
        session=hiring.session, principal=hiring.owner, assessment_id=hiring.assessment.id,
        name="Grace Hopper", email="grace@example.org",
    )  # fmt: skip
    hiring.session.commit()
    before = _invitations(hiring)
    entries = parse_roster(b"Alan Turing,alan@example.org\nGrace Hopper,grace@example.org\n")
    with pytest.raises(RosterError) as caught:
        service.invite_roster(
            session=hiring.session, principal=hiring.owner,
            assessment_id=hiring.assessment.id, entries=entries,
        )  # fmt: skip
    hiring.session.rollback()
    assert caught.value.problems == [
        "line 2: grace@example.org is already invited: resend their link instead"
    ]
    assert _invitations(hiring) == before
    assert hiring.session.scalar(select(Candidate).where(Candidate.name == "Alan Turing")) is None


def test_an_assessment_form_names_each_wrong_field(services: Services) -> None:
    form = {"title": " ", "pack_id": "nope", "time_box_minutes": "-5",
            "invitation_expiry_hours": "lots"}  # fmt: skip
    with pytest.raises(service.FormError) as caught:
        service.assessment_from_form(settings=services.settings, form=form)
    assert set(caught.value.problems) == {
        "title", "pack_id", "time_box_minutes", "invitation_expiry_hours"
    }  # fmt: skip
    assert "no pack 'nope'" in caught.value.problems["pack_id"]
    good = {"title": "Backend hire", "pack_id": "orders-api", "time_box_minutes": "",
            "feedback_visible": "on"}  # fmt: skip
    data = service.assessment_from_form(settings=services.settings, form=good)
    assert (data.time_box_minutes, data.invitation_expiry_hours, data.feedback_visible) == (
        None, 168, True,
    )  # fmt: skip


def test_compare_lays_out_each_candidates_figures_and_reviews(
    hiring: Round, graded: list[Graded], services: Services
) -> None:
    people = _stages(hiring, graded)
    chosen = [people["advanced"].id, people["rejected"].id, people["invited"].id]
    found = service.compare(
        session=hiring.session, principal=hiring.owner, blobs=hiring.blobs,
        settings=services.settings, assessment_id=hiring.assessment.id, candidate_ids=chosen,
    )  # fmt: skip
    assert [c.row.candidate_id for c in found.candidates] == chosen
    advanced, rejected, invited = found.candidates
    assert invited.figures is None and invited.scorecards == []
    assert advanced.figures is not None and rejected.figures is not None
    assert len(advanced.scorecards) == 2 and len(rejected.scorecards) == 1
    assert list(found.rules)[:3] == ["r1", "r2", "r3"] and found.rules["r6"] == "Stock"
    r6 = rejected.figures.rules["r6"]
    assert r6.total == 8 and len(r6.checks) == r6.failed
    assert all(c.startswith("R6 ") for c in r6.checks)
    assert rejected.figures.capacity is not None and rejected.figures.mutation_score is not None
    assert sum(rejected.figures.findings.values()) > 0
    assert advanced.similar is None, "not fingerprinted yet"


def test_compare_shows_who_shares_code_with_whom_among_the_compared(
    hiring: Round, graded: list[Graded], services: Services
) -> None:
    people = _stages(hiring, graded)
    ada, rob, rita, gus = (people[k].id for k in ("advanced", "rejected", "reviewed", "graded"))
    share_code(hiring.session, hiring.assessment, [(ada, rob, 0.72), (ada, gus, 0.5)], rita)
    found = service.compare(
        session=hiring.session, principal=hiring.owner, blobs=hiring.blobs,
        settings=services.settings, assessment_id=hiring.assessment.id,
        candidate_ids=[ada, rob, rita, people["invited"].id],
    )  # fmt: skip
    similar = {c.row.name: c.similar for c in found.candidates}
    submitted = {c.row.name: c.row.submission_id or "" for c in found.candidates}
    assert similar == {
        "Ada Advanced": [service.Similar("Rob Rejected", 0.72, 72, submitted["Rob Rejected"])],
        "Rob Rejected": [service.Similar("Ada Advanced", 0.72, 72, submitted["Ada Advanced"])],
        "Rita Reviewed": [],
        "Ivy Invited": None,
    }, "a pair with someone not compared (Gus) is left out"


def test_compare_takes_two_to_five_candidates_of_the_assessment(
    hiring: Round, services: Services
) -> None:
    people = [add_candidate(hiring.session, hiring.blobs, hiring.assessment, f"P{i}").id
              for i in range(6)]  # fmt: skip
    elsewhere = hiring_assessment(hiring.session, hiring.owner.org_id, "Elsewhere")
    stranger = add_candidate(hiring.session, hiring.blobs, elsewhere, "Stranger").id
    ask = dict(session=hiring.session, principal=hiring.owner, blobs=hiring.blobs,
               settings=services.settings, assessment_id=hiring.assessment.id)  # fmt: skip
    for chosen, status in ((people[:1], 422), (people, 422), ([people[0], stranger], 404)):
        with pytest.raises(ApiError) as caught:
            service.compare(**ask, candidate_ids=chosen)
        assert caught.value.status == status
    assert len(service.compare(**ask, candidate_ids=people[:5]).candidates) == 5


def test_the_api_resends_a_link_and_the_old_one_stops_working(
    client: TestClient, world: World
) -> None:
    invitation = world.ids["invitation_id"]
    old = world.headers("candidate")
    recruiter = world.headers("recruiter")
    response = client.post(f"/api/v1/invitations/{invitation}/resend", headers=recruiter)
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    files = {"file": ("work.tar.gz", tiny_archive(), "application/gzip")}
    assert client.post("/api/v1/submissions", headers=old, files=files).status_code == 401
    new = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/submissions", headers=new, files=files).status_code == 201
    reviewer = world.headers("reviewer")
    assert (
        client.post(f"/api/v1/invitations/{invitation}/resend", headers=reviewer).status_code == 403
    )


def test_figures_of_a_job_packs_report_read_its_speed_and_rules() -> None:
    report = {
        "metrics": {"scale.relative_speed": 0.8, "acceptance.r1.failed": 1,
                    "acceptance.r1.total": 3, "acceptance.r10.failed": 0,
                    "acceptance.r10.total": 2, "tests.passed": True},
        "findings": [{"probe": "acceptance", "message": "R1 totals (major): off by 1",
                      "severity": "high"}, {"probe": "static", "severity": "low"}],
        "integrity": {"status": "tampering"},
    }  # fmt: skip
    found = figures(report)
    assert (found.speed, found.capacity, found.tests_passed) == (0.8, None, None)
    assert list(found.rules) == ["r1", "r10"]
    assert found.rules["r1"].checks == ("R1 totals (major): off by 1",)
    assert found.findings == {"critical": 0, "high": 1, "medium": 0, "low": 1, "info": 0}
    assert found.integrity == "tampering"
