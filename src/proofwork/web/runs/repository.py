from __future__ import annotations

from typing import Any

from sqlalchemy import Row, Select, case, func, select
from sqlalchemy.orm import Session

from proofwork.store.models import Candidate, Run, RunEvent, RunState, Submission

RunRow = tuple[Run, Submission, Candidate | None]


def _joined() -> Select[Run, Submission, Candidate]:
    return (
        select(Run, Submission, Candidate)
        .join(Submission, Submission.id == Run.submission_id)
        .outerjoin(Candidate, Candidate.id == Submission.candidate_id)
    )


def get(session: Session, org_id: str, run_id: str) -> RunRow | None:
    """The organisation's run with its submission and candidate, or None."""
    row = session.execute(_joined().where(Run.id == run_id, Run.org_id == org_id)).first()
    return None if row is None else (row[0], row[1], row[2])


def _ahead() -> Any:
    # Queued runs ahead of this one, in the same statement (a page of queued runs is one query).
    other = Run.__table__.alias("ahead")
    ahead = (
        select(func.count())
        .where(other.c.state == RunState.QUEUED, other.c.queued_at < Run.queued_at)
        .scalar_subquery()
    )
    return case((Run.state == RunState.QUEUED, ahead), else_=None).label("queue_position")


# Built once: composing it costs more than running it.
_VIEWS = (
    select(
        Run.id,
        Run.state,
        Run.submission_id,
        Submission.candidate_id,
        Candidate.alias.label("candidate_alias"),
        Submission.assessment_id,
        Run.challenge,
        Run.probes,
        Run.phase,
        Run.attempts,
        _ahead(),
        Run.cancel_requested,
        Run.reason,
        Run.summary,
        Run.created_at,
        Run.started_at,
        Run.finished_at,
    )
    .join(Submission, Submission.id == Run.submission_id)
    .outerjoin(Candidate, Candidate.id == Submission.candidate_id)
)


def views(org_id: str) -> Select[*tuple[Any, ...]]:
    """The columns a run is shown with (plain rows, no objects to build), the organisation's."""
    return _VIEWS.where(Run.org_id == org_id)


def view(session: Session, org_id: str, run_id: str) -> Row[Any] | None:
    """The organisation's run as shown, or None."""
    return session.execute(views(org_id).where(Run.id == run_id)).first()


def listing(
    org_id: str,
    *,
    state: RunState | None,
    submission_id: str | None,
    candidate_id: str | None,
    assessment_id: str | None,
) -> Select[*tuple[Any, ...]]:
    """The organisation's runs matching the filters, as shown (for a page)."""
    query = views(org_id)
    if state is not None:
        query = query.where(Run.state == state)
    if submission_id is not None:
        query = query.where(Run.submission_id == submission_id)
    if candidate_id is not None:
        query = query.where(Submission.candidate_id == candidate_id)
    if assessment_id is not None:
        query = query.where(Submission.assessment_id == assessment_id)
    return query


def events(session: Session, run_id: str, after_id: int, limit: int = 500) -> list[RunEvent]:
    """The run's events after `after_id`, oldest first."""
    return list(
        session.scalars(
            select(RunEvent)
            .where(RunEvent.run_id == run_id, RunEvent.id > after_id)
            .order_by(RunEvent.id)
            .limit(limit)
        )
    )
