"""The hiring workflow: assessments from packs, invitations one by one or by the file,
the pipeline and the comparison of candidates. Callers commit; nothing here sends mail."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from proofwork.challenges import HUMAN_SIGNALS, MACHINE_SIGNALS, Pack, PackError, discover
from proofwork.config import Settings
from proofwork.similarity.compare import DEFAULT_THRESHOLD
from proofwork.store.blobs import BlobStore
from proofwork.store.models import (
    Assessment,
    Candidate,
    Invitation,
    InvitationState,
    Run,
    Scorecard,
)
from proofwork.web.assessments.schemas import AssessmentCreate
from proofwork.web.assessments.service import create_assessment, get_assessment
from proofwork.web.auth import Principal
from proofwork.web.candidates.schemas import CandidateCreate
from proofwork.web.candidates.service import create_candidate
from proofwork.web.errors import ApiError
from proofwork.web.hiring import repository
from proofwork.web.hiring.compare import Figures, figures, rule_titles
from proofwork.web.hiring.repository import AssessmentCounts, PipelineRow
from proofwork.web.hiring.roster import Entry, RosterError, check_person
from proofwork.web.invitations.schemas import InvitationCreate
from proofwork.web.invitations.service import create_invitation
from proofwork.web.similarity.service import pairs_among

PAGE_SIZE = 50
COMPARE_MIN, COMPARE_MAX = 2, 5


def dashboard(*, session: Session, principal: Principal) -> list[AssessmentCounts]:
    """The organisation's assessments with how many candidates reached each step."""
    return repository.dashboard(session, principal.org_id)


def packs(settings: Settings) -> dict[str, Pack]:
    """The packs an assessment can be made from, by id."""
    return dict(sorted(discover(settings.challenges_path).packs.items()))


class FormError(Exception):
    """A form that cannot be used: a message per field (by the field's name)."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


FIELD_HINTS = {
    "title": "Give the assessment a title (up to 200 characters).",
    "pack_id": "Choose one of the listed packs.",
    "time_box_minutes": "The time box is a whole number of minutes, from 1 to 10080 (a week).",
    "invitation_expiry_hours": "Invitations expire after a whole number of hours, 1 to 8760.",
}


def _whole(value: str | None) -> int | str | None:
    value = (value or "").strip()
    return None if not value else int(value) if value.isdigit() else value


def assessment_from_form(*, settings: Settings, form: Mapping[str, str]) -> AssessmentCreate:
    """The assessment a create form asks for; FormError naming each field that is wrong."""
    data: dict[str, Any] = {
        "title": (form.get("title") or "").strip(),
        "pack_id": form.get("pack_id") or None,
        "time_box_minutes": _whole(form.get("time_box_minutes")),
        "invitation_expiry_hours": _whole(form.get("invitation_expiry_hours")) or 168,
        "feedback_visible": form.get("feedback_visible") in ("on", "true", "1"),
    }
    problems: dict[str, str] = {}
    try:
        parsed = AssessmentCreate.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "form"
            problems.setdefault(name, FIELD_HINTS.get(name, error["msg"]))
    if data["pack_id"] is None:
        problems["pack_id"] = FIELD_HINTS["pack_id"]
    elif data["pack_id"] not in packs(settings):
        problems["pack_id"] = f"There is no pack {data['pack_id']!r}. " + FIELD_HINTS["pack_id"]
    if problems:
        raise FormError(problems)
    return parsed


def create_from_form(
    *, session: Session, principal: Principal, settings: Settings, form: Mapping[str, str]
) -> Assessment:
    """A new assessment on a pack from the create form."""
    data = assessment_from_form(settings=settings, form=form)
    return create_assessment(session=session, principal=principal, settings=settings, data=data)


@dataclass(frozen=True)
class Invited:
    """A candidate invited, and the token of their link (to mail; only its hash is kept)."""

    candidate: Candidate
    invitation: Invitation
    token: str


def invite(
    *, session: Session, principal: Principal, assessment_id: str, name: str, email: str
) -> Invited:
    """Invite a person by name and e-mail: the organisation's candidate with that address, or
    a new one. 422 when the values are unusable, 409 when they already hold a pending link."""
    name, email = name.strip(), email.strip()
    problems = check_person(name, email)
    if problems:
        raise ApiError(422, "; ".join(problems).capitalize())
    return _invite(session, principal, get_assessment(
        session=session, principal=principal, assessment_id=assessment_id
    ), Entry(0, name, email))  # fmt: skip


def _invite(
    session: Session, principal: Principal, assessment: Assessment, entry: Entry
) -> Invited:
    candidate = repository.candidate_by_email(session, principal.org_id, entry.email)
    if candidate is not None:
        held = repository.invitations_of(session, principal.org_id, assessment.id, [candidate.id])
        if candidate.id in held and held[candidate.id].state == InvitationState.PENDING:
            raise ApiError(409, f"{entry.email} is already invited: resend their link instead")
    else:
        data = CandidateCreate(name=entry.name, email=entry.email)
        candidate = create_candidate(session=session, principal=principal, data=data)
    request = InvitationCreate(assessment_id=assessment.id, candidate_id=candidate.id)
    invitation, token = create_invitation(session=session, principal=principal, data=request)
    return Invited(candidate, invitation, token)


def invite_roster(
    *, session: Session, principal: Principal, assessment_id: str, entries: list[Entry]
) -> list[Invited]:
    """Invite everyone in a parsed roster, or nobody: RosterError lists the lines that cannot
    be invited (the caller rolls back)."""
    assessment = get_assessment(session=session, principal=principal, assessment_id=assessment_id)
    invited, problems = [], []
    for entry in entries:
        try:
            invited.append(_invite(session, principal, assessment, entry))
        except ApiError as exc:
            problems.append(f"line {entry.line}: {exc.message}")
    if problems:
        raise RosterError(problems)
    return invited


def invitation_mail(assessment: Assessment, candidate: Candidate, link: str) -> tuple[str, str]:
    """The subject and text of an invitation mail."""
    hours = assessment.invitation_expiry_hours
    expiry = f"{hours // 24} days" if hours % 24 == 0 else f"{hours} hours"
    text = (
        f"Hello {candidate.name},\n\n"
        f"You are invited to a work sample: {assessment.title}.\n"
        f"It is meant to take about {assessment.time_box_minutes} minutes of your time.\n\n"
        f"Open this link to read the brief, download the starter and submit your work:\n"
        f"{link}\n\n"
        f"The link is yours alone and works for {expiry}.\n"
    )
    return f"Your work sample: {assessment.title}", text


@dataclass(frozen=True)
class PipelinePage:
    """One page of the pipeline, sorted as asked."""

    rows: list[PipelineRow]
    total: int
    page: int
    pages: int
    sort: str
    descending: bool


def parse_sort(value: str | None) -> tuple[str, bool]:
    """`?sort=name` or `?sort=-production_readiness` (descending); unknown keys sort by name."""
    value = value or "name"
    key, descending = value.removeprefix("-"), value.startswith("-")
    return (key, descending) if key in repository.SORTS else ("name", False)


def pipeline(
    *, session: Session, principal: Principal, assessment_id: str, sort: str | None, page: int
) -> PipelinePage:
    """A page of the assessment's candidates (404 for another organisation's)."""
    get_assessment(session=session, principal=principal, assessment_id=assessment_id)
    key, descending = parse_sort(sort)
    page = max(page, 1)
    rows, total = repository.pipeline(
        session, principal.org_id, assessment_id, sort=key, descending=descending,
        offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE,
    )  # fmt: skip
    pages = max(math.ceil(total / PAGE_SIZE), 1)
    return PipelinePage(rows, total, page, pages, key, descending)


@dataclass
class Compared:
    """One candidate in the compare view."""

    row: PipelineRow
    figures: Figures | None
    scorecards: list[Scorecard] = field(default_factory=list)
    # The others this candidate's newest submission shares code with, most similar first;
    # None until the submission has been fingerprinted (or when there is none).
    similar: list[Similar] | None = None


@dataclass(frozen=True)
class Similar:
    """Another compared candidate whose submission shares code with this one's."""

    name: str
    similarity: float
    shared: int
    submission_id: str  # the other's: the pair's regions are at /assessments/…/similarity/…


@dataclass
class Comparison:
    """2-5 candidates side by side, and the business rules their checks belong to."""

    assessment: Assessment
    candidates: list[Compared]
    rules: dict[str, str]
    machine_signals: tuple[str, ...] = MACHINE_SIGNALS
    human_signals: tuple[str, ...] = HUMAN_SIGNALS
    similarity_threshold: float = DEFAULT_THRESHOLD


def compare(
    *,
    session: Session,
    principal: Principal,
    blobs: BlobStore,
    settings: Settings,
    assessment_id: str,
    candidate_ids: list[str],
) -> Comparison:
    """The figures of 2-5 candidates' newest runs side by side; 422 for other counts."""
    assessment = get_assessment(session=session, principal=principal, assessment_id=assessment_id)
    wanted = list(dict.fromkeys(candidate_ids))
    if not COMPARE_MIN <= len(wanted) <= COMPARE_MAX:
        raise ApiError(422, f"choose {COMPARE_MIN} to {COMPARE_MAX} candidates to compare")
    rows = repository.pipeline_rows(session, principal.org_id, assessment.id, wanted)
    if len(rows) != len(wanted):
        raise ApiError(404, "a candidate chosen is not in this assessment")
    run_ids = [r.run_id for r in rows if r.run_id]
    cards: dict[str, list[Scorecard]] = {}
    for card in repository.scorecards_on(session, run_ids):
        cards.setdefault(card.run_id, []).append(card)
    compared = [
        Compared(row, _figures(session, blobs, row.run_id), cards.get(row.run_id or "", []))
        for row in rows
    ]
    _similar(session, principal.org_id, assessment.id, compared)
    rules = {r: "" for c in compared if c.figures for r in c.figures.rules}
    titles = _rule_titles(settings.challenges_path, assessment.pack_id, assessment.pack_version)
    return Comparison(assessment, compared, {r: titles.get(r, "") for r in rules})


def _similar(session: Session, org_id: str, assessment_id: str, compared: list[Compared]) -> None:
    """Fill in who shares code with whom among the compared (their newest submissions)."""
    by_submission = {c.row.submission_id: c for c in compared if c.row.submission_id}
    fingerprinted = repository.fingerprinted_among(session, list(by_submission))
    for submission_id in fingerprinted:
        by_submission[submission_id].similar = []
    for pair in pairs_among(session, org_id, assessment_id, list(by_submission)):
        a, b = by_submission[pair.a_submission_id], by_submission[pair.b_submission_id]
        for one, other in ((a, b), (b, a)):
            found = Similar(
                other.row.name, pair.similarity, pair.shared, other.row.submission_id or ""
            )
            one.similar = [*(one.similar or []), found]


def _figures(session: Session, blobs: BlobStore, run_id: str | None) -> Figures | None:
    run = session.get(Run, run_id) if run_id else None
    if run is None or run.report_sha256 is None:
        return None
    return figures(json.loads(blobs.read(session, run.report_sha256)))


@lru_cache(maxsize=32)
def _rule_titles(challenges_path: str, pack_id: str | None, version: str | None) -> dict[str, str]:
    # Kept per pack version (an assessment pins it), so a page does not load every pack.
    if pack_id is None:
        return {}
    try:
        pack = discover(challenges_path).get(pack_id)
    except PackError:
        return {}
    return rule_titles(pack.brief) if pack.spec.version == version else {}
