from __future__ import annotations

from sqlalchemy import Select, select
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


def listing(
    org_id: str,
    *,
    state: RunState | None,
    submission_id: str | None,
    candidate_id: str | None,
    assessment_id: str | None,
) -> Select[Run]:
    """The organisation's runs matching the filters (for a page)."""
    query = select(Run).join(Submission, Submission.id == Run.submission_id)
    query = query.where(Run.org_id == org_id)
    if state is not None:
        query = query.where(Run.state == state)
    if submission_id is not None:
        query = query.where(Run.submission_id == submission_id)
    if candidate_id is not None:
        query = query.where(Submission.candidate_id == candidate_id)
    if assessment_id is not None:
        query = query.where(Submission.assessment_id == assessment_id)
    return query


def rows_for(session: Session, runs: list[Run]) -> list[RunRow]:
    """The runs with their submissions and candidates, in the same order."""
    if not runs:
        return []
    found = {
        row[0].id: (row[0], row[1], row[2])
        for row in session.execute(_joined().where(Run.id.in_([r.id for r in runs])))
    }
    return [found[r.id] for r in runs]


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
