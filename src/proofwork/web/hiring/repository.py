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
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    Subquery,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    or_,
    select,
    union,
)
from sqlalchemy.orm import Session

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


def _newest(partition: Any, *order: Any) -> Any:
    return func.row_number().over(partition_by=partition, order_by=order).label("newest")


def _subqueries(org_id: str, assessment_id: str) -> dict[str, Subquery]:
    invited = Invitation.assessment_id == assessment_id, Invitation.org_id == org_id
    submitted = Submission.assessment_id == assessment_id, Submission.org_id == org_id
    members = union(
        select(Invitation.candidate_id.label("candidate_id")).where(*invited),
        select(Submission.candidate_id).where(*submitted, Submission.candidate_id.is_not(None)),
    ).subquery("members")
    invitation = (
        select(
            Invitation.candidate_id, Invitation.id, Invitation.state, Invitation.opened_at,
            Invitation.expires_at,
            _newest(Invitation.candidate_id, Invitation.created_at.desc(), Invitation.id.desc()),
        ).where(*invited)
    ).subquery("invitation")  # fmt: skip
    run = (
        select(
            Submission.candidate_id, Run.id, Run.state, Run.created_at, Run.levels,
            Run.submission_id,
            _newest(Submission.candidate_id, Run.created_at.desc(), Run.id.desc()),
        )
        .join(Submission, Submission.id == Run.submission_id)
        .where(*submitted)
    ).subquery("run")  # fmt: skip
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
    decision = (
        select(
            Decision.candidate_id, Decision.outcome, Decision.reason,
            _newest(Decision.candidate_id, Decision.created_at.desc(), Decision.id.desc()),
        ).where(Decision.assessment_id == assessment_id, Decision.org_id == org_id)
    ).subquery("decision")  # fmt: skip
    return {
        "members": members,
        "invitation": invitation,
        "run": run,
        "reviews": reviews,
        "decision": decision,
    }


def _stage(q: dict[str, Subquery]) -> ColumnElement[int]:
    inv, run, reviews, decision = q["invitation"], q["run"], q["reviews"], q["decision"]
    rank = {stage: STAGES.index(stage) for stage in STAGES}
    return case(
        (decision.c.outcome == Outcome.ADVANCE.value, rank["advanced"]),
        (decision.c.outcome == Outcome.REJECT.value, rank["rejected"]),
        (reviews.c.cards > 0, rank["reviewed"]),
        (run.c.state == RunState.DONE.value, rank["graded"]),
        (
            or_(run.c.id.is_not(None), inv.c.state == InvitationState.SUBMITTED.value),
            rank["submitted"],
        ),
        (inv.c.state == InvitationState.REVOKED.value, rank["revoked"]),
        (inv.c.expires_at <= utcnow(), rank["expired"]),
        (inv.c.opened_at.is_not(None), rank["started"]),
        else_=rank["invited"],
    )


SORTS = ("name", "email", "stage", "run", *MACHINE_SIGNALS, *HUMAN_SIGNALS, "review")


def _sort_key(q: dict[str, Subquery], stage: ColumnElement[int], key: str) -> Any:
    run, reviews = q["run"], q["reviews"]
    if key in MACHINE_SIGNALS:
        return run.c.levels[key].as_integer()
    if key in HUMAN_SIGNALS:
        return reviews.c[f"avg_{key}"]
    columns: dict[str, Any] = {
        "name": func.lower(Candidate.name),
        "email": func.lower(Candidate.email),
        "stage": stage,
        "run": run.c.created_at,
        "review": reviews.c.score,
    }
    return columns[key]


def _pipeline_query(org_id: str, assessment_id: str) -> tuple[Select[Any], Any]:
    q = _subqueries(org_id, assessment_id)
    members, inv, run, reviews, decision = (
        q["members"], q["invitation"], q["run"], q["reviews"], q["decision"]
    )  # fmt: skip
    stage = _stage(q)
    query = (
        select(
            Candidate.id, Candidate.name, Candidate.email, stage.label("stage"),
            inv.c.id.label("invitation_id"), inv.c.state.label("invitation_state"),
            inv.c.opened_at, inv.c.expires_at,
            run.c.id.label("run_id"), run.c.state.label("run_state"),
            run.c.created_at.label("run_created_at"), run.c.submission_id, run.c.levels,
            reviews.c.cards, reviews.c.score,
            *(reviews.c[f"avg_{name}"] for name in HUMAN_SIGNALS),
            decision.c.outcome, decision.c.reason,
        )
        .select_from(members)
        .join(Candidate, and_(Candidate.id == members.c.candidate_id, Candidate.org_id == org_id))
        .outerjoin(inv, and_(inv.c.candidate_id == Candidate.id, inv.c.newest == 1))
        .outerjoin(run, and_(run.c.candidate_id == Candidate.id, run.c.newest == 1))
        .outerjoin(reviews, reviews.c.run_id == run.c.id)
        .outerjoin(decision, and_(decision.c.candidate_id == Candidate.id, decision.c.newest == 1))
    )  # fmt: skip
    return query, (q, stage)


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
    there are in all (two queries). Missing values sort last either way; ties by name."""
    query, (q, stage) = _pipeline_query(org_id, assessment_id)
    key = _sort_key(q, stage, sort)
    ordered = key.desc() if descending else key.asc()
    query = query.order_by(
        ordered.nulls_last(), func.lower(Candidate.name), Candidate.id
    ).offset(offset).limit(limit)  # fmt: skip
    rows = [_row(found) for found in session.execute(query)]
    members = q["members"]
    total = session.scalar(select(func.count()).select_from(members)) or 0
    return rows, total


def pipeline_rows(
    session: Session, org_id: str, assessment_id: str, candidate_ids: Sequence[str]
) -> list[PipelineRow]:
    """These candidates' pipeline rows, in the order asked (unknown ids left out)."""
    query, _ = _pipeline_query(org_id, assessment_id)
    found = {
        row.candidate_id: row
        for row in map(_row, session.execute(query.where(Candidate.id.in_(candidate_ids))))
    }
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
