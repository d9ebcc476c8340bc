"""The hiring pages' queries: counts and the pipeline computed in SQL, a fixed number per page.

A candidate belongs to an assessment's pipeline when they were invited to it or submitted to it.
Their row carries the newest invitation, the newest run (its levels from `run.levels`), the
submitted scorecards' means on that run, and the newest decision; the stage is computed in SQL
too, so every column sorts on the server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Float,
    Select,
    String,
    Subquery,
    and_,
    bindparam,
    case,
    cast,
    distinct,
    func,
    literal,
    or_,
    select,
    union,
)
from sqlalchemy.orm import Session, aliased

from proofwork.challenges import HUMAN_SIGNALS, MACHINE_SIGNALS
from proofwork.store.models import (
    Assessment,
    Candidate,
    Decision,
    Invitation,
    InvitationState,
    Outcome,
    Run,
    RunState,
    Scorecard,
    Submission,
    SubmissionFingerprint,
    UTCDateTime,
    utcnow,
)

# A candidate's stage, in the order a hiring round moves them along (the state column sorts so).
STAGES = (
    "revoked",
    "expired",
    "invited",
    "started",
    "submitted",
    "graded",
    "reviewed",
    "rejected",
    "advanced",
)
COUNTED = ("invited", "started", "submitted", "graded", "reviewed", "decided")


@dataclass(frozen=True)
class AssessmentCounts:
    """An assessment and how many of its candidates reached each step."""

    assessment: Assessment
    counts: dict[str, int]


def _count(column: Any, *where: ColumnElement[bool]) -> Any:
    return select(func.count(distinct(column))).where(*where).correlate(Assessment)


def dashboard(session: Session, org_id: str) -> list[AssessmentCounts]:
    """The organisation's assessments, newest first, with their counts (one query)."""
    mine = Invitation.assessment_id == Assessment.id
    pending = Invitation.state != InvitationState.REVOKED
    submitted = Submission.assessment_id == Assessment.id
    ran = _count(Submission.candidate_id, submitted).join(Run, Run.submission_id == Submission.id)
    counts = {
        "invited": _count(Invitation.candidate_id, mine, pending),
        "started": _count(Invitation.candidate_id, mine, Invitation.opened_at.is_not(None)),
        "submitted": _count(Submission.candidate_id, submitted),
        "graded": ran.where(Run.state == RunState.DONE),
        "reviewed": ran.join(Scorecard, Scorecard.run_id == Run.id).where(
            Scorecard.submitted_at.is_not(None)
        ),
        "decided": _count(Decision.candidate_id, Decision.assessment_id == Assessment.id),
    }
    query = (
        select(Assessment, *(q.scalar_subquery().label(name) for name, q in counts.items()))
        .where(Assessment.org_id == org_id)
        .order_by(Assessment.created_at.desc(), Assessment.id)
    )
    return [
        AssessmentCounts(row[0], {name: row[i + 1] or 0 for i, name in enumerate(counts)})
        for row in session.execute(query)
    ]


@dataclass(frozen=True)
class PipelineRow:
    """One candidate of an assessment as the pipeline and compare views show them."""

    candidate_id: str
    name: str
    email: str
    stage: str
    invitation_id: str | None
    invitation_state: InvitationState | None
    opened_at: dt.datetime | None
    expires_at: dt.datetime | None
    run_id: str | None
    run_state: RunState | None
    run_created_at: dt.datetime | None
    submission_id: str | None
    levels: dict[str, int | None]
    reviews: int
    review_levels: dict[str, float | None]
    review_score: float | None
    outcome: Outcome | None
    reason: str | None


@dataclass(frozen=True)
class _Parts:
    """The pieces of the pipeline query: who belongs, and each one's newest rows."""

    members: Subquery
    invitation: Any
    run: Any
    reviews: Subquery
    decision: Any


# The statements are built once, with these parameters, and reused: building one (aliases of
# whole tables, a union, a grouped subquery) costs more than running it.
ASSESSMENT: BindParameter[str] = bindparam("assessment_id", type_=String())
ORG: BindParameter[str] = bindparam("org_id", type_=String())
ONLY: BindParameter[str] = bindparam("only", expanding=True, type_=String())
NOW: BindParameter[dt.datetime] = bindparam("now", type_=UTCDateTime())


def _parts(only: bool) -> _Parts:
    """The pieces for the assessment's candidates (only those in ONLY, when `only`). The
    caller has checked that the assessment is the organisation's."""
    assessment_id = ASSESSMENT
    invited = [Invitation.assessment_id == assessment_id]
    submitted = [Submission.assessment_id == assessment_id, Submission.candidate_id.is_not(None)]
    if only:
        invited.append(Invitation.candidate_id.in_(ONLY))
        submitted.append(Submission.candidate_id.in_(ONLY))
    members = union(
        select(Invitation.candidate_id.label("candidate_id")).where(*invited),
        select(Submission.candidate_id).where(*submitted),
    ).subquery("members")
    human = [Scorecard.levels[name].as_integer() for name in HUMAN_SIGNALS]
    reviews = (
        select(
            Scorecard.run_id,
            func.count().label("cards"),
            *(
                func.avg(level).label(f"avg_{n}")
                for n, level in zip(HUMAN_SIGNALS, human, strict=True)
            ),
            (
                cast(sum((func.coalesce(func.sum(level), 0) for level in human), literal(0)), Float)
                / func.nullif(sum((func.count(level) for level in human), literal(0)), 0)
            ).label("score"),
        )
        .join(Run, Run.id == Scorecard.run_id)
        .join(Submission, Submission.id == Run.submission_id)
        .where(*submitted, Scorecard.submitted_at.is_not(None))
        .group_by(Scorecard.run_id)
    ).subquery("reviews")
    return _Parts(members, aliased(Invitation), aliased(Run), reviews, aliased(Decision))


def _newest(column: Any, created_at: Any, *where: ColumnElement[bool]) -> Any:
    """The id of the newest row matching `where` (looked up per candidate through an index)."""
    return (
        select(column).where(*where).order_by(created_at.desc(), column.desc()).limit(1)
    ).scalar_subquery()


# What each sort key needs joined besides the candidate (the reviews come with the run).
NEEDS: dict[str, tuple[str, ...]] = {
    "name": (),
    "email": (),
    "run": ("run",),
    "review": ("run", "reviews"),
    **dict.fromkeys(MACHINE_SIGNALS, ("run",)),
    **dict.fromkeys(HUMAN_SIGNALS, ("run", "reviews")),
}
EVERYTHING = ("invitation", "run", "reviews", "decision")


def _joined(
    parts: _Parts, columns: Sequence[Any], needs: Sequence[str] = EVERYTHING
) -> Select[Any]:
    member, assessment_id = parts.members.c.candidate_id, ASSESSMENT
    query = (
        select(*columns)
        .select_from(parts.members)
        .join(Candidate, and_(Candidate.id == member, Candidate.org_id == ORG))
    )
    if "invitation" in needs:
        newest = _newest(
            Invitation.id, Invitation.created_at,
            Invitation.candidate_id == member, Invitation.assessment_id == assessment_id,
        )  # fmt: skip
        query = query.outerjoin(parts.invitation, parts.invitation.id == newest)
    if "run" in needs:
        newest = _newest(
            Run.id, Run.created_at,
            Submission.id == Run.submission_id, Submission.candidate_id == member,
            Submission.assessment_id == assessment_id,
        )  # fmt: skip
        query = query.outerjoin(parts.run, parts.run.id == newest)
    if "reviews" in needs:
        query = query.outerjoin(parts.reviews, parts.reviews.c.run_id == parts.run.id)
    if "decision" in needs:
        newest = _newest(
            Decision.id, Decision.created_at,
            Decision.candidate_id == member, Decision.assessment_id == assessment_id,
        )  # fmt: skip
        query = query.outerjoin(parts.decision, parts.decision.id == newest)
    return query


def _stage(parts: _Parts) -> ColumnElement[int]:
    inv, run, reviews, decision = parts.invitation, parts.run, parts.reviews, parts.decision
    rank = {stage: STAGES.index(stage) for stage in STAGES}
    return case(
        (decision.outcome == Outcome.ADVANCE, rank["advanced"]),
        (decision.outcome == Outcome.REJECT, rank["rejected"]),
        (reviews.c.cards > 0, rank["reviewed"]),
        (run.state == RunState.DONE, rank["graded"]),
        (
            or_(run.id.is_not(None), inv.state == InvitationState.SUBMITTED),
            rank["submitted"],
        ),
        (inv.state == InvitationState.REVOKED, rank["revoked"]),
        (inv.expires_at <= NOW, rank["expired"]),
        (inv.opened_at.is_not(None), rank["started"]),
        else_=rank["invited"],
    )


SORTS = ("name", "email", "stage", "run", *MACHINE_SIGNALS, *HUMAN_SIGNALS, "review")


def _sort_key(parts: _Parts, key: str) -> Any:
    run, reviews = parts.run, parts.reviews
    if key in MACHINE_SIGNALS:
        return run.levels[key].as_integer()
    if key in HUMAN_SIGNALS:
        return reviews.c[f"avg_{key}"]
    columns: dict[str, Any] = {
        "name": func.lower(Candidate.name),
        "email": func.lower(Candidate.email),
        "stage": _stage(parts),
        "run": run.created_at,
        "review": reviews.c.score,
    }
    return columns[key]


def _row_columns(parts: _Parts) -> list[Any]:
    inv, run, reviews, decision = parts.invitation, parts.run, parts.reviews, parts.decision
    return [
        Candidate.id, Candidate.name, Candidate.email, _stage(parts).label("stage"),
        inv.id.label("invitation_id"), inv.state.label("invitation_state"),
        inv.opened_at, inv.expires_at,
        run.id.label("run_id"), run.state.label("run_state"),
        run.created_at.label("run_created_at"), run.submission_id, run.levels,
        reviews.c.cards, reviews.c.score,
        *(reviews.c[f"avg_{name}"] for name in HUMAN_SIGNALS),
        decision.outcome, decision.reason,
    ]  # fmt: skip


def _row(found: Any) -> PipelineRow:
    levels = found.levels or {}
    return PipelineRow(
        candidate_id=found.id,
        name=found.name,
        email=found.email,
        stage=STAGES[found.stage],
        invitation_id=found.invitation_id,
        invitation_state=(
            InvitationState(found.invitation_state) if found.invitation_state else None
        ),
        opened_at=_aware(found.opened_at),
        expires_at=_aware(found.expires_at),
        run_id=found.run_id,
        run_state=RunState(found.run_state) if found.run_state else None,
        run_created_at=_aware(found.run_created_at),
        submission_id=found.submission_id,
        levels={name: levels.get(name) for name in MACHINE_SIGNALS},
        reviews=found.cards or 0,
        review_levels={name: _float(getattr(found, f"avg_{name}")) for name in HUMAN_SIGNALS},
        review_score=_float(found.score),
        outcome=Outcome(found.outcome) if found.outcome else None,
        reason=found.reason,
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # Columns of a subquery come back as the driver gives them (naive on SQLite).
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def pipeline(
    session: Session,
    org_id: str,
    assessment_id: str,
    *,
    sort: str = "name",
    descending: bool = False,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[PipelineRow], int]:
    """One page of the assessment's candidates sorted by `sort` (one of SORTS), and how many
    there are in all. Missing values sort last either way; ties by name.

    Three queries: the page's candidate ids (only the sort key is worked out for everyone),
    their rows, the count."""
    params = {"assessment_id": assessment_id, "org_id": org_id, "now": utcnow()}
    page = _page_query(sort, descending)
    ids = list(session.scalars(page, {**params, "offset": offset, "limit": limit}))
    total = session.scalar(_count_query(), params) or 0
    return pipeline_rows(session, org_id, assessment_id, ids), total


@cache
def _page_query(sort: str, descending: bool) -> Select[Any]:
    parts = _parts(only=False)
    key = _sort_key(parts, sort)
    ordered = key.desc() if descending else key.asc()
    return (
        _joined(parts, [Candidate.id], NEEDS.get(sort, EVERYTHING))
        .order_by(ordered.nulls_last(), func.lower(Candidate.name), Candidate.id)
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )


@cache
def _count_query() -> Select[Any]:
    return select(func.count()).select_from(_parts(only=False).members)


@cache
def _rows_query() -> Select[Any]:
    parts = _parts(only=True)
    return _joined(parts, _row_columns(parts))


def pipeline_rows(
    session: Session, org_id: str, assessment_id: str, candidate_ids: Sequence[str]
) -> list[PipelineRow]:
    """These candidates' pipeline rows, in the order asked (unknown ids left out)."""
    if not candidate_ids:
        return []
    params = {"assessment_id": assessment_id, "org_id": org_id, "now": utcnow()}
    rows = session.execute(_rows_query(), {**params, "only": list(candidate_ids)})
    found = {row.candidate_id: row for row in map(_row, rows)}
    return [found[c] for c in candidate_ids if c in found]


def scorecards_on(session: Session, run_ids: Sequence[str]) -> list[Scorecard]:
    """The submitted scorecards on these runs, oldest first."""
    if not run_ids:
        return []
    query = (
        select(Scorecard)
        .where(Scorecard.run_id.in_(run_ids), Scorecard.submitted_at.is_not(None))
        .order_by(Scorecard.submitted_at, Scorecard.id)
    )
    return list(session.scalars(query))


def candidate_by_email(session: Session, org_id: str, email: str) -> Candidate | None:
    """The organisation's candidate with this e-mail (any case), the oldest if several."""
    query = (
        select(Candidate)
        .where(Candidate.org_id == org_id, func.lower(Candidate.email) == email.lower())
        .order_by(Candidate.created_at, Candidate.id)
        .limit(1)
    )
    return session.scalar(query)


def invitations_of(
    session: Session, org_id: str, assessment_id: str, candidate_ids: Sequence[str]
) -> dict[str, Invitation]:
    """The newest invitation to the assessment of each of these candidates."""
    if not candidate_ids:
        return {}
    query = (
        select(Invitation)
        .where(
            Invitation.org_id == org_id,
            Invitation.assessment_id == assessment_id,
            Invitation.candidate_id.in_(candidate_ids),
        )
        .order_by(Invitation.created_at, Invitation.id)
    )
    return {invitation.candidate_id: invitation for invitation in session.scalars(query)}


def runs_of(session: Session, org_id: str, assessment_id: str, candidate_id: str) -> list[Run]:
    """The candidate's runs on the assessment, newest first."""
    query = (
        select(Run)
        .join(Submission, Submission.id == Run.submission_id)
        .where(
            Run.org_id == org_id,
            Submission.assessment_id == assessment_id,
            Submission.candidate_id == candidate_id,
        )
        .order_by(Run.created_at.desc(), Run.id.desc())
    )
    return list(session.scalars(query))


def decisions_of(
    session: Session, org_id: str, assessment_id: str, candidate_id: str
) -> list[Decision]:
    """The decisions on the candidate for the assessment, newest first."""
    query = (
        select(Decision)
        .where(
            Decision.org_id == org_id,
            Decision.assessment_id == assessment_id,
            Decision.candidate_id == candidate_id,
        )
        .order_by(Decision.created_at.desc(), Decision.id.desc())
    )
    return list(session.scalars(query))


def fingerprinted_among(session: Session, submission_ids: Sequence[str]) -> set[str]:
    """Which of these submissions have been fingerprinted for the similarity check."""
    if not submission_ids:
        return set()
    query = select(SubmissionFingerprint.submission_id).where(
        SubmissionFingerprint.submission_id.in_(submission_ids)
    )
    return set(session.scalars(query))
