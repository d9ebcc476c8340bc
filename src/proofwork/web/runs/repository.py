from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row, Select, bindparam, case, func, select
from sqlalchemy.orm import Session

from proofwork.store.database import columns
from proofwork.store.models import Candidate, Run, RunEvent, RunState, Submission
from proofwork.web.pagination import keyset, page_of

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


_BY_ID = _VIEWS.where(Run.org_id == bindparam("org_id"), Run.id == bindparam("run_id"))


def view(session: Session, org_id: str, run_id: str) -> Row[*tuple[Any, ...]] | None:
    """The organisation's run as shown, or None."""
    return columns(session, _BY_ID, {"org_id": org_id, "run_id": run_id}).first()


FILTERS = {
    "state": Run.state,
    "submission_id": Run.submission_id,
    "candidate_id": Submission.candidate_id,
    "assessment_id": Submission.assessment_id,
}


@functools.cache
def _listing(filters: frozenset[str], after: bool) -> Select[*tuple[Any, ...]]:
    query = _VIEWS.where(Run.org_id == bindparam("org_id"))
    for name in sorted(filters):
        query = query.where(FILTERS[name] == bindparam(name))
    return keyset(query, Run.created_at, Run.id, after=after)


def listing(
    session: Session,
    org_id: str,
    filters: Mapping[str, object],
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[Row[*tuple[Any, ...]]], str | None]:
    """A page of the organisation's runs as shown, newest first, matching the filters (a
    name of FILTERS to its value; None: not filtered); the statement is built once per kind
    of filter."""
    used = {name: value for name, value in filters.items() if value is not None}
    statement = _listing(frozenset(used), bool(cursor))
    return page_of(session, statement, {"org_id": org_id, **used}, cursor=cursor, limit=limit)


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
