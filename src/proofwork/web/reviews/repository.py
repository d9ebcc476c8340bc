from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofwork.store.models import Decision, Scorecard


def scorecards(session: Session, run_id: str) -> list[Scorecard]:
    """The run's scorecards, oldest first."""
    query = select(Scorecard).where(Scorecard.run_id == run_id).order_by(Scorecard.created_at)
    return list(session.scalars(query))


def scorecard_of(session: Session, run_id: str, reviewer_id: str) -> Scorecard | None:
    """One reviewer's scorecard on the run, or None."""
    return session.scalar(
        select(Scorecard).where(Scorecard.run_id == run_id, Scorecard.reviewer_id == reviewer_id)
    )


def decisions(session: Session, candidate_id: str) -> list[Decision]:
    """The candidate's decisions, oldest first."""
    query = select(Decision).where(Decision.candidate_id == candidate_id)
    return list(session.scalars(query.order_by(Decision.created_at)))
